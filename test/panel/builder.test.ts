import { expect } from 'chai';
import type { Locator, Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { KIDS, onboard, screenshots, START_MP3, uploadAudio, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Bea Builder', email: 'bea@example.test', password: 'correct horse battery' };

function node(page: Page, title: string): Locator {
  return page.locator('.node').filter({ has: page.getByTestId('node-title').getByText(title, { exact: true }) });
}

async function dragBy(page: Page, target: Locator, dx: number, dy: number): Promise<void> {
  const box = await target.locator('.name').boundingBox();
  if (!box) throw new Error('nothing to drag');
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 5 });
  await page.mouse.move(x + dx, y + dy, { steps: 5 });
  await page.mouse.up();
}

async function leftOf(target: Locator): Promise<string> {
  return target.evaluate((element: HTMLElement) => element.style.left);
}

/** Selects a passage by clicking it, then edits its side panel. */
async function editPassage(page: Page, title: string, edit: { title?: string; audio?: string; ending?: boolean }): Promise<void> {
  await node(page, title).locator('.name').click();
  const panel = page.getByTestId('node-panel');
  await panel.getByLabel('Title').waitFor();
  if (edit.audio) await panel.getByLabel('Audio file').selectOption({ label: edit.audio });
  if (edit.ending !== undefined) await panel.getByLabel('The story ends here').setChecked(edit.ending);
  if (edit.title) {
    await panel.getByLabel('Title').fill(edit.title);
    await panel.getByLabel('Title').press('Enter');
    await node(page, edit.title).waitFor();
  }
}

async function saved(page: Page): Promise<void> {
  await page.getByTestId('save-state').filter({ hasText: 'All changes saved' }).waitFor();
}

describe('CYOA builder in headless Chromium', function () {
  let page: Page;
  let hub: Hub;
  let audioTitle: string;

  const panel = usePanelPage();
  before(async () => {
    ({ hub, page } = panel);
    const token = await onboard(page, hub, ADMIN);
    audioTitle = (await uploadAudio(hub, token, START_MP3, 'Spy opening')).title;
  });

  it('creates a story from the Stories view and opens it in the builder', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stories' }).click();
    await page.waitForURL('**/stories');
    await page.getByText('No stories yet.').waitFor();
    await page.getByLabel('New story title').fill('The spy test');
    await page.getByRole('button', { name: 'New story' }).click();
    await page.waitForURL(/\/stories\/[0-9a-f-]{36}$/);
    await node(page, 'Start').waitFor();
    await page.getByTestId('findings').waitFor();
  });

  it('builds a three-node story with the mouse: add, drag, undo/redo, connect left and right', async () => {
    await page.getByRole('button', { name: '+ Add passage' }).click();
    await node(page, 'Passage 2').waitFor();
    await page.getByRole('button', { name: '+ Add passage' }).click();
    const b = node(page, 'Passage 3');
    await b.waitFor();
    // New passages land in free space, beside the one selected, never on top of another.
    const boxes = await Promise.all(['Start', 'Passage 2', 'Passage 3'].map(async (title) => (await node(page, title).boundingBox())!));
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [p, q] = [boxes[i]!, boxes[j]!];
        const overlap = p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
        expect(overlap, `passages ${i + 1} and ${j + 1} overlap`).to.equal(false);
      }
    }
    expect(boxes[2]!.x, 'Passage 3 goes to the right of Passage 2, which was selected').to.be.greaterThan(boxes[1]!.x + boxes[1]!.width);
    const before = await leftOf(b);
    await dragBy(page, b, 160, 140);
    const after = await leftOf(b);
    expect(after).to.not.equal(before);
    // Undo and redo the move with the keyboard (focus on the canvas, not a field).
    await page.getByTestId('canvas').click({ position: { x: 10, y: 300 } });
    await page.keyboard.press('Control+z');
    await page.locator(`.node[style*="left: ${before};"]`).filter({ hasText: 'Passage 3' }).waitFor();
    await page.keyboard.press('Control+Shift+z');
    await page.locator(`.node[style*="left: ${after};"]`).filter({ hasText: 'Passage 3' }).waitFor();

    await editPassage(page, 'Passage 2', { title: 'A' });
    await editPassage(page, 'Passage 3', { title: 'B' });
    await node(page, 'Start').getByRole('button', { name: 'Connect Left from Start' }).click();
    await page.getByRole('status').filter({ hasText: 'Left choice of “Start”' }).waitFor();
    await node(page, 'A').locator('.name').click();
    await node(page, 'Start').getByRole('button', { name: 'Connect Right from Start' }).click();
    await node(page, 'B').locator('.name').click();
    await page.locator('svg.edges g[data-connection]').nth(1).waitFor();
    expect(await page.locator('svg.edges g[data-connection]').count()).to.equal(2);
    await saved(page);
  });

  it('shows validator findings on the nodes and in the list, and clears them when fixed', async () => {
    await editPassage(page, 'Start', { audio: audioTitle });
    await editPassage(page, 'B', { audio: audioTitle, ending: true });
    await saved(page);
    // A has neither audio nor a way on: its badge and the list say so.
    await node(page, 'A').getByTestId('node-badge').waitFor();
    const finding = page.locator('button.finding[data-code="missing_audio"]').filter({ hasText: 'A' });
    await finding.waitFor();
    expect(await node(page, 'B').getByTestId('node-badge').count()).to.equal(0);
    // Clicking a finding selects its node.
    await page.getByTestId('canvas').click({ position: { x: 10, y: 300 } });
    await finding.click();
    await page.getByTestId('node-panel').getByLabel('Title').and(page.locator('input')).waitFor();
    expect(await page.getByTestId('node-panel').getByLabel('Title').inputValue()).to.equal('A');
    await screenshots(page, 'builder-findings');
    await editPassage(page, 'A', { audio: audioTitle, ending: true });
    await saved(page);
    await page.locator('button.finding[data-code="missing_audio"]').waitFor({ state: 'detached' });
    await page.locator('button.finding[data-code="dead_end"]').waitFor({ state: 'detached' });
    expect(await node(page, 'A').getByTestId('node-badge').count()).to.equal(0);
  });

  it('simulates the story: Left from the start reaches A', async () => {
    await page.getByRole('button', { name: '▶ Play from the start' }).click();
    await page.getByTestId('sim-current').filter({ hasText: 'Start' }).waitFor();
    await page.getByTestId('sim-audio').filter({ hasText: /playing|loading/ }).waitFor();
    await page.getByRole('button', { name: 'Simulate the left button' }).click();
    await page.getByTestId('sim-current').filter({ hasText: /^A$/ }).waitFor();
    await page.getByTestId('sim-audio').filter({ hasText: '(playing)' }).waitFor();
    expect(await page.getByRole('button', { name: 'Simulate the left button' }).isDisabled()).to.equal(true);
  });

  it('zooms with the buttons and the wheel', async () => {
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByTestId('zoom-level').filter({ hasText: '125%' }).waitFor();
    const canvas = await page.getByTestId('canvas').boundingBox();
    await page.mouse.move(canvas!.x + 50, canvas!.y + 400);
    await page.mouse.wheel(0, 200);
    await page.getByTestId('zoom-level').filter({ hasText: /^(?!125%)\d+%$/ }).waitFor();
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await page.getByTestId('zoom-level').filter({ hasText: '100%' }).waitFor();
  });

  it('deploys the story to Kids Bedroom, which plays it on the Devices view and the Dashboard', async () => {
    await page.getByRole('combobox', { name: 'Player to deploy to' }).selectOption({ label: 'Kids Bedroom' });
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByTestId('deploy-result').filter({ hasText: 'Deployed to Kids Bedroom' }).waitFor();
    await screenshots(page, 'builder');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    const kids = page.locator(`article[data-device="${KIDS}"]`);
    await kids.getByTestId('playback-state').filter({ hasText: 'Playing' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await kids.getByTestId('playback-state').filter({ hasText: 'Playing' }).waitFor();
  });

  it('refuses to deploy a story with errors and shows why', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stories' }).click();
    await page.getByRole('link', { name: 'The spy test' }).waitFor();
    await screenshots(page, 'stories');
    await page.getByRole('link', { name: 'The spy test' }).click();
    await node(page, 'A').waitFor();
    // Deleting A with the Delete key leaves the left choice of Start missing (a warning, still deployable).
    await node(page, 'A').locator('.name').click();
    await page.keyboard.press('Delete');
    await node(page, 'A').waitFor({ state: 'detached' });
    await page.keyboard.press('Control+z');
    await node(page, 'A').waitFor();
    // B no longer an ending: a dead end, an error that blocks deploy.
    await editPassage(page, 'B', { ending: false });
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByTestId('deploy-result').filter({ hasText: 'problems to fix' }).waitFor();
    expect(await page.getByTestId('deploy-result').textContent()).to.match(/B/);
    await node(page, 'B').getByTestId('node-badge').waitFor();
    await page.getByTestId('canvas').click({ position: { x: 10, y: 300 } });
    await page.keyboard.press('Control+z');
    await saved(page);
    await page.getByTestId('no-findings').waitFor();
    expect(panel.errors).to.deep.equal([]);
  });
});
