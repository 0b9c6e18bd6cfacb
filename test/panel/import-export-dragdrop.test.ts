import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Locator, Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import type { Story } from '../../server/stories/model';
import { fromTwee } from '../../server/stories/twee';
import { artifactPath } from '../helpers/chromium';
import { fixturesDir } from '../helpers/fixtures';
import { apiClient, DESKTOP, onboard, uploadAudio, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Ivy Importer', email: 'ivy@example.test', password: 'correct horse battery' };
const SPY = path.join(fixturesDir, 'twine-spyshort');
const TWEE = path.join(SPY, 'spyshort.twee');
const AUDIO = path.join(SPY, 'audio');
const PASSAGES = ['Start', 'SolveRiddle', 'SearchElsewhere', 'End'];

interface Box { x: number; y: number; width: number; height: number }

function node(page: Page, title: string): Locator {
  return page.locator('.node').filter({ has: page.getByTestId('node-title').getByText(title, { exact: true }) });
}

async function boxOf(target: Locator): Promise<Box> {
  const box = await target.boundingBox();
  if (!box) throw new Error('the element is not visible');
  return box;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(inner: Box, outer: Box): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
}

/** A story's links as a person reads them: "From --choice--> To (label)", by passage title. */
function linksOf(story: Pick<Story, 'nodes' | 'connections'>): string[] {
  const title = (id: string): string => story.nodes.find((candidate) => candidate.id === id)?.title ?? `?${id}`;
  return story.connections.map((c) => `${title(c.from)} --${c.choice}--> ${title(c.to)} (${c.label ?? ''})`).sort();
}

/** The passages' visible content: title and prompt, in file order. */
function passagesOf(story: Pick<Story, 'nodes'>): Array<{ title: string; prompt: string | undefined }> {
  return story.nodes.map((n) => ({ title: n.title, prompt: n.prompt }));
}

/**
 * Twee import and export in the CYOA builder, uploading by dropping a file on
 * the Library's drop zone, and reordering a playlist's tracks by dragging them
 * in the Scripts editor, all in real headless Chromium.
 */
describe('Twee import/export and drag and drop in headless Chromium', function () {
  this.timeout(90_000);
  let page: Page;
  let hub: Hub;
  let token: string;
  let storyId = '';
  const { story: original, findings: importFindings } = fromTwee(fs.readFileSync(TWEE, 'utf8'));

  const api = apiClient(() => hub, () => token);

  const nav = (name: string): Locator => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

  const panel = usePanelPage({ viewport: DESKTOP, acceptDownloads: true });
  before(async () => {
    ({ hub, page } = panel);
    token = await onboard(page, hub, ADMIN);
  });

  it('imports the Twine fixture from the Stories view: passages laid out on the canvas, links as choices, findings shown', async () => {
    expect(original.nodes.map((n) => n.title)).to.deep.equal(PASSAGES);
    await nav('Stories').click();
    await page.waitForURL('**/stories');
    await page.getByText('No stories yet.').waitFor();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByLabel('Import a Twee 3 file').click()]);
    await chooser.setFiles(TWEE);
    await page.waitForURL(/\/stories\/[0-9a-f-]{36}$/);
    storyId = new URL(page.url()).pathname.split('/').pop()!;
    // The URL changes before the builder has loaded the story; until then the list's "New story title" box is on screen.
    const title = page.getByRole('textbox', { name: 'Story title', exact: true });
    await title.waitFor();
    expect(await title.inputValue()).to.equal('Spy Mission Shortened Version');

    // What the import changed or left out is listed above the canvas, as a status, until dismissed.
    const notes = page.getByTestId('import-notes');
    await notes.waitFor();
    expect(await notes.getAttribute('role')).to.equal('status');
    // Passages with no recording are left to the Checks list, which follows the fixes live.
    const expectedNotes = importFindings.filter((finding) => finding.code !== 'no_audio');
    // Its [[|]] placeholder and [[|End]] link are read as Yoto's converter reads them: no note for those.
    expect(expectedNotes.length).to.be.at.least(1).and.to.be.lessThan(importFindings.length);
    expect((await notes.getByRole('heading').textContent())?.trim()).to.equal(`Imported with ${expectedNotes.length} note${expectedNotes.length === 1 ? '' : 's'}`);
    const noteTexts = (await notes.locator('li').allTextContents()).map((text) => text.trim());
    expect(noteTexts).to.deep.equal(expectedNotes.map((finding) => finding.message));
    expect(noteTexts.join('\n')).to.contain('"StoryInit" is Harlowe set-up code').and.to.contain('$cover and $resumeTimeout were used');
    const notesBox = await boxOf(notes);
    expect(notesBox.y + notesBox.height, 'the notes are above the canvas').to.be.at.most((await boxOf(page.getByTestId('canvas'))).y);

    // Every story passage is a node; StoryTitle, StoryData and StoryInit are not.
    for (const title of PASSAGES) await node(page, title).waitFor();
    expect(await page.locator('.node').count()).to.equal(PASSAGES.length);
    await node(page, 'Start').locator('.meta').filter({ hasText: /^Start · no audio$/ }).waitFor();

    // Automatic layout: distinct positions, no overlaps, all on screen, read left to right by depth from Start.
    const canvas = await boxOf(page.getByTestId('canvas'));
    const boxes = new Map<string, Box>();
    for (const title of PASSAGES) boxes.set(title, await boxOf(node(page, title)));
    const all = [...boxes.entries()];
    expect(new Set(all.map(([, b]) => `${b.x},${b.y}`)).size).to.equal(PASSAGES.length);
    for (let i = 0; i < all.length; i++) {
      expect(inside(all[i]![1], canvas), `${all[i]![0]} is inside the canvas`).to.equal(true);
      for (let j = i + 1; j < all.length; j++) expect(overlaps(all[i]![1], all[j]![1]), `${all[i]![0]} overlaps ${all[j]![0]}`).to.equal(false);
    }
    const [start, riddle, elsewhere, end] = PASSAGES.map((title) => boxes.get(title)!);
    expect(start!.x).to.be.lessThan(riddle!.x);
    expect(riddle!.x).to.equal(elsewhere!.x);
    expect(riddle!.x).to.be.lessThan(end!.x);

    // Links become connections: seven arrows, labelled with the link text, and the side panel names each choice.
    const edges = page.locator('svg.edges g[data-connection]');
    await edges.nth(6).waitFor({ state: 'attached' });
    expect(await edges.count()).to.equal(7);
    expect(await page.locator('svg.edges text').allTextContents()).to.include.members(['To solve the riddle straight away', 'To search elsewhere', 'To end the story']);
    const { story: imported } = await api<{ story: Story }>('GET', `/api/stories/${storyId}`);
    const idOf = (title: string): string => imported.nodes.find((n) => n.title === title)!.id;
    const label = (connectionId: string): Locator => page.locator(`svg.edges g[data-connection="${connectionId}"] text`);
    // The link with no words shows its choice's name.
    const silent = imported.connections.find((c) => c.from === idOf('SearchElsewhere') && c.choice === 'default')!;
    expect(silent.to).to.equal(idOf('End'));
    expect(silent.label ?? '').to.equal('');
    expect(await label(silent.id).textContent()).to.equal('Default');
    // The links both ways between Start and SolveRiddle keep their labels apart; so does every other label.
    const pair = imported.connections.filter((c) => [c.from, c.to].sort().join() === [idOf('Start'), idOf('SolveRiddle')].sort().join());
    expect(pair.map((c) => c.from === idOf('Start'))).to.have.members([true, false]);
    const [there, back] = await Promise.all(pair.map((c) => boxOf(label(c.id))));
    expect(overlaps(there!, back!), 'the labels of Start → SolveRiddle and SolveRiddle → Start overlap').to.equal(false);
    const labels = await Promise.all(imported.connections.map(async (c) => ({ id: c.id, box: await boxOf(label(c.id)) })));
    for (let i = 0; i < labels.length; i++) {
      expect(inside(labels[i]!.box, canvas), `the label of ${labels[i]!.id} is inside the canvas`).to.equal(true);
      for (let j = i + 1; j < labels.length; j++) expect(overlaps(labels[i]!.box, labels[j]!.box), `${labels[i]!.id} overlaps ${labels[j]!.id}`).to.equal(false);
    }
    // Every arrow, the links back to Start included, is drawn inside the visible canvas.
    const lines = await page.locator('svg.edges path.line').all();
    expect(lines).to.have.length(7);
    for (const line of lines) {
      const id = await line.evaluate((element: Element) => element.parentElement?.getAttribute('data-connection'));
      expect(inside(await boxOf(line), canvas), `the arrow of ${id} is inside the canvas`).to.equal(true);
    }
    const choices: Record<string, string[]> = {
      Start: ['Left → SolveRiddle', 'Right → SearchElsewhere'],
      SolveRiddle: ['Left → Start', 'Right → End'],
      SearchElsewhere: ['Left → Start', 'Default → End'],
      End: ['Left → Start'],
    };
    for (const [title, expected] of Object.entries(choices)) {
      await node(page, title).locator('.name').click();
      const list = page.getByTestId('node-panel').getByRole('list', { name: `Choices from ${title}` });
      await list.waitFor();
      expect((await list.locator('li span').allTextContents()).map((text) => text.trim())).to.deep.equal(expected);
    }

    // Validator findings: each passage lacks audio (an error badge on it and a line in Checks); the one-sided passages warn.
    await page.getByTestId('findings').waitFor();
    const missing = page.locator('button.finding.error[data-code="missing_audio"]');
    expect(await missing.count()).to.equal(4);
    const missingText = (await missing.allTextContents()).join('\n');
    for (const title of PASSAGES) expect(missingText).to.contain(`"${title}" has no recording yet`);
    const oneSided = page.locator('button.finding.warning[data-code="one_side_missing"]');
    expect(await oneSided.count()).to.equal(2);
    expect((await oneSided.allTextContents()).join('\n')).to.match(/SearchElsewhere[\s\S]*End|End[\s\S]*SearchElsewhere/);
    const badges: Record<string, string> = { Start: '1', SolveRiddle: '1', SearchElsewhere: '2', End: '2' };
    for (const [title, count] of Object.entries(badges)) {
      const badge = node(page, title).getByTestId('node-badge');
      expect((await badge.textContent())?.trim(), `badge of ${title}`).to.equal(count);
      expect(await badge.getAttribute('class')).to.match(/\berror\b/);
    }
    // Deploying is refused until the audio is there.
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByTestId('deploy-result').filter({ hasText: 'problems to fix' }).waitFor();
    expect(await page.getByTestId('deploy-result').textContent()).to.contain('has no recording yet');

    await page.getByTestId('canvas').click({ position: { x: 10, y: 540 } });
    await page.getByTestId('save-state').filter({ hasText: 'All changes saved' }).waitFor();
    await page.screenshot({ path: artifactPath('panel-twee-imported-story.png'), fullPage: true });
    await page.getByTestId('canvas').screenshot({ path: artifactPath('panel-twee-imported-canvas.png') });

    await page.getByRole('button', { name: 'Dismiss the import notes' }).click();
    await notes.waitFor({ state: 'detached' });
    await node(page, 'Start').waitFor();
  });

  it('exports the story as a Twee download that parses back to the same passages, links and layout', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export Twee' }).click()]);
    expect(download.suggestedFilename()).to.equal('Spy-Mission-Shortened-Version.twee');
    const file = await download.path();
    const exported = fromTwee(fs.readFileSync(file, 'utf8')).story;
    expect(exported.title).to.equal('Spy Mission Shortened Version');
    expect(passagesOf(exported)).to.deep.equal(passagesOf(original));
    expect(linksOf(exported)).to.deep.equal(linksOf(original));
    expect(exported.nodes.find((n) => n.id === exported.startNodeId)?.title).to.equal('Start');
    // The positions are the builder's automatic layout, as saved on the hub and shown on the canvas.
    const { story: saved } = await api<{ story: Story }>('GET', `/api/stories/${storyId}`);
    const positionsOf = (story: Story): Record<string, { x: number; y: number }> => Object.fromEntries(story.nodes.map((n) => [n.title, n.position]));
    expect(positionsOf(exported)).to.deep.equal(positionsOf(saved));
    for (const n of saved.nodes) {
      const style = await node(page, n.title).evaluate((element: HTMLElement) => ({ left: element.style.left, top: element.style.top }));
      expect(style, n.title).to.deep.equal({ left: `${n.position.x}px`, top: `${n.position.y}px` });
    }
    await download.delete();
  });

  it('uploads an mp3 dropped on the Library drop zone: highlight, progress, then its duration', async () => {
    await nav('Library').click();
    await page.waitForURL('**/library');
    await page.getByTestId('library-count').filter({ hasText: '0 files' }).waitFor();
    const zone = page.getByTestId('drop-zone');
    const bytes = fs.readFileSync(path.join(AUDIO, 'SolveRiddle.mp3')).toString('base64');
    const dataTransfer = await page.evaluateHandle(({ name, base64 }) => {
      const data = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name, { type: 'audio/mpeg' }));
      return transfer;
    }, { name: 'SolveRiddle.mp3', base64: bytes });
    await zone.dispatchEvent('dragenter', { dataTransfer });
    await zone.dispatchEvent('dragover', { dataTransfer });
    await page.locator('[data-testid="drop-zone"].over').waitFor();
    await zone.dispatchEvent('drop', { dataTransfer });
    await page.locator('[data-testid="drop-zone"]:not(.over)').waitFor();
    await dataTransfer.dispose();

    const upload = page.getByTestId('upload').filter({ hasText: 'SolveRiddle.mp3' });
    const progress = upload.locator('progress[aria-label="Upload of SolveRiddle.mp3"]');
    await progress.waitFor();
    await upload.getByTestId('upload-state').filter({ hasText: 'Uploaded' }).waitFor();
    expect(await progress.evaluate((element: HTMLProgressElement) => element.value === element.max && element.max === 16276)).to.equal(true);
    const row = page.locator('li.file').filter({ hasText: 'SolveRiddle' });
    await row.waitFor();
    // ffprobe: 2.184 s.
    expect(await row.getByTestId('file-duration').textContent()).to.equal('0:02');
    expect(await row.getByTestId('file-format').textContent()).to.equal('MP3');
    await page.getByTestId('library-count').filter({ hasText: '1 file' }).waitFor();
  });

  it('reorders a playlist by dragging a track with the mouse, and saves the new order', async () => {
    const files = [
      await uploadAudio(hub, token, path.join(AUDIO, 'Start.mp3'), 'Opening'),
      await uploadAudio(hub, token, path.join(AUDIO, 'SolveRiddle.mp3'), 'Riddle'),
      await uploadAudio(hub, token, path.join(AUDIO, 'SearchElsewhere.mp3'), 'Elsewhere'),
    ];
    const created = await api<{ id: string }>('POST', '/api/scripts', {
      name: 'Road trip',
      type: 'playlist',
      definition: { tracks: files.map((file, i) => ({ audioFileId: file.id, title: ['One', 'Two', 'Three'][i] })) },
    });
    await nav('Scripts').click();
    await page.getByRole('link', { name: 'Road trip' }).click();
    await page.waitForURL(`**/scripts/${created.id}`);
    const titles = async (): Promise<string[]> => Promise.all([1, 2, 3].map((n) => page.getByLabel(`Title of track ${n}`).inputValue()));
    await page.getByLabel('Title of track 3').waitFor();
    expect(await titles()).to.deep.equal(['One', 'Two', 'Three']);

    // Drag track 3 by its grip and drop it on track 1: it fades while dragged, then becomes the first track.
    const grip = await boxOf(page.locator('li.track[data-track="2"] .grip'));
    const target = await boxOf(page.locator('li.track[data-track="0"]'));
    await page.mouse.move(grip.x + grip.width / 2, grip.y + grip.height / 2);
    await page.mouse.down();
    await page.mouse.move(grip.x + grip.width / 2, grip.y - 20, { steps: 5 });
    await page.locator('li.track.dragging').waitFor();
    await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 10 });
    await page.mouse.up();
    await page.locator('li.track.dragging').waitFor({ state: 'detached' });
    expect(await titles()).to.deep.equal(['Three', 'One', 'Two']);
    expect(await page.getByLabel('Audio file for track 1').inputValue()).to.equal(files[2]!.id);

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('script-notice').filter({ hasText: 'Saved.' }).waitFor();
    const script = await api<{ type: string; definition: { tracks: Array<{ audioFileId: string; title?: string }> } }>('GET', `/api/scripts/${created.id}`);
    expect(script.type).to.equal('playlist');
    expect(script.definition.tracks.map((track) => [track.title, track.audioFileId])).to.deep.equal([
      ['Three', files[2]!.id],
      ['One', files[0]!.id],
      ['Two', files[1]!.id],
    ]);
    expect(panel.errors).to.deep.equal([]);
  });
});
