import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { LIVING, onboard, screenshots, START_MP3, uploadAudio, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Sam Scripts', email: 'sam@example.test', password: 'correct horse battery' };

describe('Scripts and Settings views in headless Chromium', function () {
  let page: Page;
  let hub: Hub;
  let first: string;
  let second: string;

  const panel = usePanelPage();
  before(async () => {
    ({ hub, page } = panel);
    const token = await onboard(page, hub, ADMIN);
    first = (await uploadAudio(hub, token, START_MP3, 'First song')).id;
    second = (await uploadAudio(hub, token, START_MP3, 'Second song')).id;
  });

  it('creates a playlist, reorders its tracks and deploys it to Living Room', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scripts' }).click();
    await page.getByText('No scripts yet.').waitFor();
    await page.getByRole('link', { name: '+ New script' }).click();
    await page.waitForURL('**/scripts/new');
    await page.getByLabel('Name').fill('Bedtime songs');
    await page.getByRole('button', { name: '+ Add track' }).click();
    await page.getByRole('button', { name: '+ Add track' }).click();
    await page.getByLabel('Audio file for track 1').selectOption(first);
    await page.getByLabel('Audio file for track 2').selectOption(second);
    await page.getByLabel('Title of track 2').fill('The second one');
    await page.getByRole('button', { name: 'Move track 2 up' }).click();
    expect(await page.getByLabel('Title of track 1').inputValue()).to.equal('The second one');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('script-notice').filter({ hasText: 'Saved.' }).waitFor();
    await page.waitForURL(/\/scripts\/[0-9a-f-]{36}$/);
    await page.getByRole('combobox', { name: 'Player to deploy to' }).selectOption({ label: 'Living Room' });
    await page.getByLabel('Sleep timer').selectOption({ label: '30 minutes' });
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByTestId('script-notice').filter({ hasText: 'Deployed to Living Room' }).waitFor();
    await screenshots(page, 'script-editor');
    const living = page.locator(`article[data-device="${LIVING}"]`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await living.getByTestId('playback-state').filter({ hasText: 'Playing' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scripts' }).click();
    await page.getByRole('link', { name: 'Bedtime songs' }).waitFor();
    expect(await page.locator('.scripts li').first().textContent()).to.match(/Playlist · 2 tracks/);
    await screenshots(page, 'scripts');
  });

  it('shows the cloud and the hub settings and invites a user', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('cloud-mode').waitFor();
    await page.getByLabel(/MQTT broker URL/).waitFor();
    await page.getByLabel('Email to invite').fill('guest@example.test');
    await page.getByLabel('Role of the invited user').selectOption('member');
    await page.getByRole('button', { name: 'Invite' }).click();
    const token = (await page.getByTestId('invitation-token').textContent()) ?? '';
    expect(token.split('.')).to.have.length(3);
    // The token registers the guest, who then shows in the users list after a reload.
    const register = await fetch(`${hub.url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invitationToken: token, name: 'Guest', password: 'another long password' }) });
    expect(register.status).to.equal(201);
    await page.reload();
    const row = page.locator('tr[data-user="guest@example.test"]');
    await row.waitFor();
    await row.getByRole('button', { name: 'Disable guest@example.test' }).click();
    await row.getByText('Disabled').waitFor();
    await screenshots(page, 'settings');
    // Delete asks first; confirmed, the user leaves the list and the hub.
    await row.getByRole('button', { name: 'Delete guest@example.test' }).click();
    await row.getByRole('button', { name: 'Confirm deleting guest@example.test' }).click();
    await row.waitFor({ state: 'detached' });
    expect(hub.store.users.list().map((user) => user.email)).to.not.include('guest@example.test');
    expect(panel.errors).to.deep.equal([]);
  });
});
