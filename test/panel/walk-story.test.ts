import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { apiClient, card, KIDS, LIVING, onboard, screenshots, START_MP3, uploadAudio, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Walt Walker', email: 'walt@example.test', password: 'correct horse battery' };

/**
 * Issue 7's done-when, end to end: a fresh hub is onboarded in the panel, both
 * virtual players are live on the Dashboard, a story goes on one of them, and
 * pressing the player's buttons (through the virtual cloud's control API, as a
 * child would) walks it: the Devices view follows the passage titles.
 */
describe('walking a story on a virtual player, seen in the panel (headless Chromium)', function () {
  this.timeout(120_000);
  let page: Page;
  let hub: Hub;
  let token: string;

  const api = apiClient(() => hub, () => token);

  const press = async (deviceId: string, button: 'left' | 'right'): Promise<void> => {
    const response = await fetch(`${hub.cloud.virtualCloud!.url}/virtual/devices/${deviceId}/press/${button}`, { method: 'POST' });
    expect(response.ok, `press ${button}: ${response.status} ${await response.clone().text()}`).to.equal(true);
    await response.body?.cancel();
  };

  const panel = usePanelPage();
  before(async () => {
    ({ hub, page } = panel);
  });

  it('onboards the admin and shows both virtual players live on the Dashboard, with today\'s listening time', async () => {
    token = await onboard(page, hub, ADMIN);
    await card(page, LIVING).getByText('Online').waitFor();
    await card(page, KIDS).getByText('Online').waitFor();
    await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
    expect(await page.getByTestId('today-listening').textContent()).to.match(/^(< 1 min|\d+ min|\d+ h \d{2} min)$/);
  });

  it('raises a Dashboard alert when a player reports a stream failure', async () => {
    hub.devices.recordEvent(KIDS, 'alert', { alert: 'stream_failed', message: 'the stream sent nothing for 10 s' });
    const alert = page.locator('[data-testid="alerts"] li[data-kind="stream_failed"]');
    await alert.filter({ hasText: 'Kids Bedroom' }).waitFor();
    expect(await alert.textContent()).to.contain('the stream sent nothing for 10 s');
  });

  it('walks a deployed story when the player\'s right button is pressed, and the Devices view follows the passages', async () => {
    const audio = await uploadAudio(hub, token, START_MP3, 'Walk narration');
    const node = (id: string, title: string, x: number, ending = false) => ({ id, title, audioFileId: audio.id, position: { x, y: 0 }, ...(ending ? { ending: true } : {}) });
    const created = await api<{ story: { id: string } }>('POST', '/api/stories', {
      title: 'Walk in the woods',
      startNodeId: 'gate',
      nodes: [node('gate', 'The Garden Gate', 0), node('wood', 'Into the Wood', 200), node('home', 'Home for Tea', 400, true)],
      connections: [
        { id: 'c1', from: 'gate', to: 'wood', choice: 'right', label: 'Go in' },
        { id: 'c2', from: 'wood', to: 'home', choice: 'right', label: 'Go home' },
      ],
    });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await page.waitForURL('**/devices');
    const kids = card(page, KIDS);
    await kids.getByText('Online').waitFor();

    await api('POST', `/api/stories/${created.story.id}/deploy`, { deviceId: KIDS });
    await kids.getByTestId('playback-title').filter({ hasText: 'The Garden Gate' }).waitFor();

    await press(KIDS, 'right');
    await kids.getByTestId('playback-title').filter({ hasText: 'Into the Wood' }).waitFor();
    await screenshots(page, 'walk-story-devices');

    await press(KIDS, 'right');
    await kids.getByTestId('playback-title').filter({ hasText: 'Home for Tea' }).waitFor();
    expect(await card(page, LIVING).getByTestId('playback-title').count()).to.equal(0);
  });

  it('shows the walk in the device detail: the live event log and a 7-day usage chart with a table', async () => {
    await page.getByRole('link', { name: 'Open Kids Bedroom' }).click();
    await page.waitForURL(`**/devices/${KIDS}`);
    await page.getByTestId('event-log').filter({ hasText: 'Story node entered' }).waitFor();
    const chart = page.getByTestId('usage-chart');
    await chart.waitFor();
    expect(await chart.getAttribute('role')).to.equal('img');
    expect(await chart.getAttribute('aria-label')).to.match(/^Listening time per day on Kids Bedroom, last 7 days: /);
    expect(await chart.locator('rect.bar').count()).to.equal(7);
    expect(await page.getByTestId('usage-table').locator('tbody tr').count()).to.equal(7);
    await screenshots(page, 'walk-story-detail');
    expect(panel.errors).to.deep.equal([]);
  });
});
