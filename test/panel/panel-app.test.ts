import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { card, KIDS, LIVING, screenshots, START_MP3, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Ada Admin', email: 'ada@example.test', password: 'correct horse battery' };

describe('panel app in headless Chromium', function () {
  let page: Page;
  let hub: Hub;

  const panel = usePanelPage();
  before(async () => {
    ({ hub, page } = panel);
  });

  it('sends a fresh hub to onboarding, creates the admin and lands on the Dashboard with both players live', async () => {
    await page.goto(hub.url + '/');
    await page.waitForURL('**/onboarding');
    await page.getByRole('heading', { name: /create the admin account/ }).waitFor();
    await screenshots(page, 'onboarding');
    await page.getByLabel('Name').fill(ADMIN.name);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await card(page, LIVING).getByText('Online').waitFor();
    await card(page, KIDS).getByText('Online').waitFor();
    expect(await card(page, LIVING).getByRole('heading').textContent()).to.equal('Living Room');
    expect(await card(page, KIDS).getByRole('heading').textContent()).to.equal('Kids Bedroom');
    await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
  });

  it('shows Kids Bedroom playing the demo card, live, when the player starts it', async () => {
    await hub.cloud.execute(KIDS, { type: 'play', cardId: 'demo1' });
    const kids = card(page, KIDS);
    await kids.getByTestId('playback-state').filter({ hasText: 'Playing' }).waitFor();
    const title = await kids.getByTestId('playback-title').textContent();
    expect(title).to.match(/Sleepy Dragon|The cave/);
    // The card the chapter is on, named once the hub has looked it up.
    await kids.getByTestId('playback-card').filter({ hasText: 'The Sleepy Dragon (demo)' }).waitFor();
    await kids.locator('progress').waitFor();
    await page.getByTestId('events').waitFor();
    // Today's figures follow: the player that started counts as active without waiting for the minute's refresh.
    await page.getByTestId('today-active').filter({ hasText: /^1$/ }).waitFor();
    await screenshots(page, 'dashboard');
  });

  it('warns on the Dashboard when a player cannot fetch its stream, until it plays again', async () => {
    // A stream link signed for Kids Bedroom, for audio that is no longer on the hub: what a player
    // holding an old card meets. The player's request is refused and the hub raises an alert.
    const url = hub.streams.urlFor({ kind: 'audio', fileId: 'audio-that-was-deleted' }, { deviceId: KIDS });
    expect((await fetch(url)).status).to.equal(404);
    const alert = page.getByTestId('alerts').locator('li[data-kind="stream_failed"]');
    await alert.filter({ hasText: 'Kids Bedroom could not play an audio stream: the audio is no longer on the hub' }).waitFor();
    await screenshots(page, 'dashboard-stream-alert');
    await hub.cloud.execute(KIDS, { type: 'stop' });
    await hub.cloud.execute(KIDS, { type: 'play', cardId: 'demo1' });
    await card(page, KIDS).getByTestId('playback-state').filter({ hasText: 'Playing' }).waitFor();
    await alert.waitFor({ state: 'detached' });
  });

  it('shows on the card, live, when headphones are plugged in or the player goes on its charger', async () => {
    const living = card(page, LIVING);
    const virtual = hub.cloud.virtualCloud!.url;
    expect((await fetch(`${virtual}/virtual/devices/${LIVING}/headphones/in`, { method: 'POST' })).status).to.equal(200);
    await living.getByTestId('audio-output').filter({ hasText: 'Headphones' }).waitFor();
    expect((await fetch(`${virtual}/virtual/devices/${LIVING}/charger/on`, { method: 'POST' })).status).to.equal(200);
    await living.getByTestId('battery').filter({ hasText: '(charging)' }).waitFor();
    await fetch(`${virtual}/virtual/devices/${LIVING}/headphones/out`, { method: 'POST' });
    await fetch(`${virtual}/virtual/devices/${LIVING}/charger/off`, { method: 'POST' });
    await living.getByTestId('battery').filter({ hasNotText: 'charging' }).waitFor();
    expect(await living.getByTestId('audio-output').textContent()).to.equal('');
  });

  it('lists the devices and opens one with its controls', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await page.waitForURL('**/devices');
    await card(page, LIVING).waitFor();
    await screenshots(page, 'devices');
    await page.getByRole('link', { name: 'Open Kids Bedroom' }).click();
    await page.waitForURL(`**/devices/${KIDS}`);
    await page.getByRole('heading', { name: 'Kids Bedroom', level: 2 }).waitFor();
    for (const label of ['Pause Kids Bedroom', 'Resume Kids Bedroom', 'Stop Kids Bedroom', 'Next track on Kids Bedroom', 'Previous track on Kids Bedroom', 'Play card']) {
      expect(await page.getByRole('button', { name: label }).count(), label).to.equal(1);
    }
    expect(await page.getByRole('slider', { name: 'Volume of Kids Bedroom' }).count()).to.equal(1);
    expect(await page.getByRole('combobox', { name: 'Sleep timer for Kids Bedroom' }).count()).to.equal(1);
    await screenshots(page, 'device-detail');
  });

  it('pauses and resumes the player from its controls, confirmed by the player', async () => {
    const kids = card(page, KIDS);
    await page.getByRole('button', { name: 'Pause Kids Bedroom' }).click();
    await kids.getByTestId('playback-state').filter({ hasText: 'Paused' }).waitFor();
    // Confirmed by the player: the optimistic state is gone and the hub says paused.
    await page.locator(`article[data-device="${KIDS}"] div[aria-live]:not(.pending)`).filter({ hasText: 'Paused' }).waitFor();
    await page.getByRole('button', { name: 'Resume Kids Bedroom' }).click();
    await kids.getByTestId('playback-state').filter({ hasText: 'Playing' }).waitFor();
    const slider = page.getByRole('slider', { name: 'Volume of Kids Bedroom' });
    await slider.fill('30');
    await kids.getByTestId('volume').filter({ hasText: /Volume (2[5-9]|3[0-5])%/ }).waitFor();
  });

  it('restarts the player from its page: it goes, and comes back online', async () => {
    const kids = card(page, KIDS);
    await page.getByRole('button', { name: 'Restart Kids Bedroom' }).click();
    await page.getByRole('status').filter({ hasText: 'Kids Bedroom is restarting' }).waitFor();
    await kids.getByTestId('online').filter({ hasText: 'Offline' }).waitFor();
    await kids.getByTestId('online').filter({ hasText: 'Online' }).waitFor();
  });

  it('uploads an mp3 through the file picker with progress, then lists it with its duration', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
    await page.waitForURL('**/library');
    await page.getByTestId('library-count').filter({ hasText: '0 files' }).waitFor();
    await page.getByLabel('Choose files to upload').setInputFiles(START_MP3);
    const upload = page.getByTestId('upload').filter({ hasText: 'Start.mp3' });
    await upload.locator('progress[aria-label="Upload of Start.mp3"]').waitFor();
    await upload.getByTestId('upload-state').filter({ hasText: 'Uploaded' }).waitFor();
    const progress = upload.locator('progress');
    expect(await progress.evaluate((element: HTMLProgressElement) => element.value === element.max && element.max > 0)).to.equal(true);
    const row = page.locator('li.file').filter({ hasText: 'Start' });
    await row.waitFor();
    const duration = (await row.getByTestId('file-duration').textContent()) ?? '';
    expect(duration).to.match(/^\d+:\d{2}$/);
    expect(duration).to.not.equal('0:00');
    expect(await row.getByTestId('file-format').textContent()).to.equal('MP3');
    await page.getByTestId('library-count').filter({ hasText: '1 file' }).waitFor();
    await screenshots(page, 'library');
  });

  it('renames a file and finds it by search', async () => {
    const row = page.locator('li.file').first();
    await row.getByRole('button', { name: /^Rename / }).click();
    await row.getByRole('textbox', { name: /^New title for / }).fill('Spy story opening');
    await row.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('file-title').filter({ hasText: 'Spy story opening' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search the library' }).fill('no such thing');
    await page.getByTestId('library-count').filter({ hasText: '0 files' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search the library' }).fill('spy');
    await page.getByTestId('library-count').filter({ hasText: '1 file' }).waitFor();
  });

  it('can be used by keyboard alone: Tab to the Library, search, rename and delete with Enter, cancel with Escape', async () => {
    /** What has the focus, through shadow roots: its accessible label or text. */
    const focused = (): Promise<string> =>
      page.evaluate(() => {
        let element = document.activeElement;
        while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
        return element ? (element.getAttribute('aria-label') ?? element.textContent ?? '').trim() : '';
      });
    /** Presses Tab until `name` has the focus; fails if it is not reachable. */
    const tabTo = async (name: string): Promise<void> => {
      const seen: string[] = [];
      for (let presses = 0; presses < 60; presses++) {
        if ((await focused()) === name) return;
        await page.keyboard.press('Tab');
        seen.push(await focused());
      }
      expect.fail(`"${name}" was not reached by Tab; the focus went through: ${seen.join(' | ')}`);
    };
    await page.goto(hub.url + '/');
    await page.getByRole('heading', { name: 'Players' }).waitFor();
    await tabTo('Library');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/library');
    await page.getByTestId('library-count').filter({ hasText: '1 file' }).waitFor();
    await tabTo('Search the library');
    await page.keyboard.type('opening');
    await page.getByTestId('library-count').filter({ hasText: '1 file' }).waitFor();

    // Rename puts the focus in the title box with the title selected; Enter saves and gives the focus back.
    await tabTo('Rename Spy story opening');
    await page.keyboard.press('Enter');
    await page.getByRole('textbox', { name: 'New title for Spy story opening' }).waitFor();
    expect(await focused()).to.equal('New title for Spy story opening');
    await page.keyboard.type('Opening, renamed by keyboard');
    await page.keyboard.press('Enter');
    await page.getByTestId('file-title').filter({ hasText: 'Opening, renamed by keyboard' }).waitFor();
    await page.getByRole('button', { name: 'Rename Opening, renamed by keyboard' }).waitFor();
    expect(await focused()).to.equal('Rename Opening, renamed by keyboard');

    // Escape closes the form without saving.
    await page.keyboard.press('Enter');
    await page.getByRole('textbox', { name: 'New title for Opening, renamed by keyboard' }).waitFor();
    await page.keyboard.type('Not saved');
    await page.keyboard.press('Escape');
    await page.getByRole('textbox', { name: 'New title for Opening, renamed by keyboard' }).waitFor({ state: 'detached' });
    expect(await focused()).to.equal('Rename Opening, renamed by keyboard');
    expect(await page.getByTestId('file-title').allTextContents()).to.deep.equal(['Opening, renamed by keyboard']);

    // Back to the title the next tests use.
    await page.keyboard.press('Enter');
    await page.keyboard.type('Spy story opening');
    await page.keyboard.press('Enter');
    await page.getByTestId('file-title').filter({ hasText: 'Spy story opening' }).waitFor();

    // Delete asks first, with the focus on the question; Escape keeps the file and the focus.
    await tabTo('Delete Spy story opening');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Confirm deleting Spy story opening' }).waitFor();
    expect(await focused()).to.equal('Confirm deleting Spy story opening');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Delete Spy story opening', exact: true }).waitFor();
    expect(await focused()).to.equal('Delete Spy story opening');
    expect(await page.getByTestId('file-title').allTextContents()).to.deep.equal(['Spy story opening']);
    await page.getByRole('searchbox', { name: 'Search the library' }).fill('');
  });

  it('previews a file in the browser, then deletes it after confirmation', async () => {
    const row = page.locator('li.file').first();
    await row.getByRole('button', { name: 'Preview Spy story opening' }).click();
    await row.getByRole('button', { name: 'Stop preview of Spy story opening' }).filter({ hasText: 'Stop' }).waitFor();
    expect(await page.locator('p.error[role="alert"]').count()).to.equal(0);
    await row.getByRole('button', { name: 'Stop preview of Spy story opening' }).click();
    await row.getByRole('button', { name: 'Preview Spy story opening' }).waitFor();
    await row.getByRole('button', { name: 'Delete Spy story opening' }).click();
    await row.getByRole('button', { name: 'Confirm deleting Spy story opening' }).click();
    await page.getByTestId('library-count').filter({ hasText: '0 files' }).waitFor();
    expect(await page.locator('li.file').count()).to.equal(0);
  });

  it('shows the system view', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'System' }).click();
    await page.getByTestId('overall-status').waitFor();
    await screenshots(page, 'system');
  });

  it('logs out, refuses the Dashboard while signed out, and logs in again', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    expect(await page.evaluate(() => localStorage.getItem('yoto.refreshToken'))).to.equal(null);
    await page.goto(hub.url + '/');
    await page.waitForURL('**/login');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshots(page, 'login');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong email or password' }).waitFor();
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await card(page, KIDS).getByText('Online').waitFor();
    await card(page, LIVING).getByText('Online').waitFor();
  });

  it('keeps the session across a reload (refresh token) and had no page errors', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    await card(page, KIDS).getByText('Online').waitFor();
    // prefers-color-scheme: dark switches the palette (index.html's custom properties).
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).to.equal('rgb(20, 20, 22)');
    await screenshots(page, 'dashboard-dark');
    expect(page.url()).to.equal(hub.url + '/');
    expect(panel.errors).to.deep.equal([]);
  });
});
