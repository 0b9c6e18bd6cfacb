import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { snapshotWhen } from '../helpers/virtual-player';
import { KIDS, LIVING, onboard, unnamedControls, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Sam Settings', email: 'sam@example.test', password: 'correct horse battery' };

describe('Player settings and the Cards view in headless Chromium', function () {
  let page: Page;
  let hub: Hub;
  const panel = usePanelPage();
  before(async () => {
    ({ hub, page } = panel);
    await onboard(page, hub, ADMIN);
  });
  after(() => {
    expect(panel.errors, 'uncaught page errors').to.deep.equal([]);
  });

  it('changes a player\'s settings and alarms from its page, and each change reaches the player\'s config alone', async () => {
    await page.goto(`${hub.url}/devices/${LIVING}`);
    const nightVolume = page.getByLabel('Night maximum volume of Living Room (0 to 16)');
    await nightVolume.waitFor();
    expect(await nightVolume.inputValue()).to.equal('10');
    const before = hub.cloud.virtualCloud!.devices.config(LIVING).config;
    await nightVolume.fill('5');
    await nightVolume.press('Enter');
    await nightVolume.blur();
    await page.getByTestId('settings-message').filter({ hasText: 'Saved: night maximum volume' }).waitFor();
    expect(hub.cloud.virtualCloud!.devices.config(LIVING).config).to.deep.equal({ ...before, nightMaxVolumeLimit: '5' });

    await page.getByLabel('Night night light of Living Room').selectOption('Lilac');
    await page.getByTestId('settings-message').filter({ hasText: 'Saved: night night light' }).waitFor();
    expect(hub.cloud.virtualCloud!.devices.config(LIVING).config.nightAmbientColour).to.equal('#f57399');

    await page.getByLabel('Time of a new alarm on Living Room').fill('06:45');
    await page.getByRole('button', { name: 'Add alarm' }).click();
    await page.getByTestId('alarms').getByText('06:45').waitFor();
    await page.getByLabel('Alarm at 06:45 enabled').uncheck();
    await page.getByTestId('settings-message').filter({ hasText: 'Alarm at 06:45 disabled' }).waitFor();
    expect(hub.cloud.virtualCloud!.devices.config(LIVING).config.alarms?.[0]).to.match(/^1111111,0645,.*,0$/);
    expect(await unnamedControls(page), 'every control has an accessible name').to.deep.equal([]);
  });

  it('offers a Mini no night light and no automatic brightness', async () => {
    await page.goto(`${hub.url}/devices/${KIDS}`);
    await page.getByLabel('Night maximum volume of Kids Bedroom (0 to 16)').waitFor();
    expect(await page.getByLabel('Day night light of Kids Bedroom').count()).to.equal(0);
    const options = await page.getByLabel('Day screen brightness of Kids Bedroom').locator('option').allTextContents();
    expect(options).to.not.include('Automatic');
  });

  it('lists the family library with covers, searches it, filters by group and plays a card on a player', async () => {
    await page.goto(hub.url + '/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cards' }).click();
    await page.getByRole('img', { name: 'Cover of Rockets and Planets' }).waitFor();
    const titles = async (): Promise<string[]> => page.getByTestId('cards').locator('li strong').allTextContents();
    expect(await titles()).to.include.members(['Rockets and Planets', 'The Sleepy Dragon (demo)', 'Fun Facts Podcast']);
    await page.getByLabel('Search cards').fill('rocket');
    await page.getByTestId('cards').locator('li').filter({ hasText: 'Lullabies' }).waitFor({ state: 'detached' });
    expect(await titles()).to.deep.equal(['Rockets and Planets']);
    await page.getByLabel('Search cards').fill('');
    await page.getByLabel('Card group').selectOption({ label: 'Bedtime' });
    await page.getByTestId('cards').locator('li').filter({ hasText: 'Rockets' }).waitFor({ state: 'detached' });
    expect(await titles()).to.include.members(['Lullabies for Little Ones', 'The Forest Mouse']);

    const playing = snapshotWhen(hub.cloud.virtualCloud!.fleet.player(KIDS)!, (s) => s.cardId === 'vbLullaby01' && s.playbackStatus === 'playing');
    await page.getByLabel('Play Lullabies for Little Ones on…').selectOption({ label: 'Kids Bedroom' });
    await playing;
    await page.getByTestId('cards-note').filter({ hasText: 'Playing Lullabies for Little Ones on Kids Bedroom' }).waitFor();
  });
});
