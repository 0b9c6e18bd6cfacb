import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { liveMode } from '../helpers/day-mode';
import { onboard, unnamedControls, usePanelPage } from '../panel/panel-helpers';
import { KIDS } from './announce-world';

const ADMIN = { name: 'Ann Ouncer', email: 'ann@example.test', password: 'correct horse battery' };

/** Keeps a player in day mode whatever the time of day (night mode refuses normal announcements), through the settings API. */
async function dayMode(hub: Hub, token: string, deviceId: string): Promise<void> {
  const answer = await fetch(`${hub.url}/api/devices/${deviceId}/settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dayTime: '00:00', nightTime: '23:59' }),
  });
  expect(answer.status, await answer.text()).to.equal(200);
  await liveMode(hub, deviceId, 'day');
}

/** The Dashboard's "Announce…" form in headless Chromium: it posts to /api/announcements and shows each player's outcome. */
describe('Announce… on the Dashboard in headless Chromium', function () {
  this.timeout(60_000);
  let page: Page;
  let hub: Hub;
  const panel = usePanelPage();
  before(async () => {
    ({ hub, page } = panel);
    const token = await onboard(page, hub, ADMIN);
    await dayMode(hub, token, KIDS);
  });
  after(() => {
    expect(panel.errors, 'uncaught page errors').to.deep.equal([]);
  });

  it('says a text on the ticked player with a chime at a volume, and shows it finished there', async () => {
    await page.goto(hub.url + '/');
    await page.getByText('Announce…').click();
    await page.getByLabel('Text to say').fill('Dinner is ready');
    await page.getByLabel('Announce on Kids Bedroom').check();
    await page.getByLabel('Announcement volume (percent)').fill('40');
    await page.getByLabel('Chime first').check();
    expect(await unnamedControls(page), 'every control has an accessible name').to.deep.equal([]);
    await page.getByRole('button', { name: 'Announce', exact: true }).click();
    const row = page.getByTestId('announce-outcome').locator(`li[data-device="${KIDS}"]`);
    await row.waitFor();
    await page.getByTestId('announce-outcome').locator(`li[data-device="${KIDS}"][data-status="finished"]`).waitFor({ timeout: 30_000 });
    expect(await row.textContent()).to.match(/Kids Bedroom: Finished/);
    const [announcement] = hub.announcements.list();
    expect(announcement?.request).to.deep.equal({ text: 'Dinner is ready', device_ids: [KIDS], volume: 40, chime: true });
    expect(announcement).to.include({ source: 'api' });
  });

  it('shows the hub\'s refusal when the player may not take it (quiet hours for a normal announcement in night mode)', async () => {
    await hub.settings.update(KIDS, { dayTime: '23:59', nightTime: '00:00' });
    await liveMode(hub, KIDS, 'night');
    await page.getByLabel('Text to say').fill('Too late');
    await page.getByRole('button', { name: 'Announce', exact: true }).click();
    const row = page.getByTestId('announce-outcome').locator(`li[data-device="${KIDS}"][data-status="skipped"]`);
    await row.waitFor();
    expect(await row.textContent()).to.match(/Skipped \(Quiet hours\)/);
  });
});
