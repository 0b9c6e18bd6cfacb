import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { DEFAULT_SCOPES } from '../../server/yoto/auth/scopes';
import { launchChromium } from '../helpers/chromium';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { finalAddress, startYotoCloudStandIn, type YotoCloudStandIn } from '../helpers/yoto-cloud-stand-in';
import { DESKTOP, onboard, screenshots } from './panel-helpers';

const ADMIN = { name: 'Pat Pi', email: 'pat@example.test', password: 'correct horse battery' };

describe('Signing a headless hub in to Yoto from the panel (Chromium)', function () {
  // Chromium, a hub and a stand-in cloud start in the before hook; on a loaded machine that takes a while.
  this.timeout(120_000);
  let standIn: YotoCloudStandIn | undefined;
  let hub: Hub | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    standIn = await startYotoCloudStandIn({ players: 3 });
    hub = await startTestHub(standIn.settings);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await onboard(page, hub, ADMIN);
  });
  after(async () => {
    await browser?.close();
    await stopTestHub(hub);
    await standIn?.stop();
  });

  it('shows the scopes and the link, refuses a wrong address, gives a fresh link, and signs in from the pasted final address', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    const section = page.getByTestId('yoto-sign-in');
    await section.waitFor();
    expect(await page.getByTestId('sign-in-scopes').textContent()).to.equal(DEFAULT_SCOPES.join(' '));
    // The hub runs in mode yoto without a sign-in: a link waits.
    const link = page.getByTestId('sign-in-link');
    await link.waitFor();
    const first = (await link.getAttribute('href'))!;
    expect(new URL(first).searchParams.get('scope')).to.equal(DEFAULT_SCOPES.join(' '));

    const address = page.getByLabel(/paste the address the browser ended on/);
    await address.fill('I signed in, what now?');
    await page.getByRole('button', { name: 'Finish sign-in' }).click();
    await page.getByTestId('sign-in-notice').filter({ hasText: 'not a web address' }).waitFor();

    const stale = await finalAddress(first);
    await page.getByRole('button', { name: 'New sign-in link' }).click();
    await page.getByTestId('sign-in-notice').filter({ hasText: 'A new sign-in link is ready.' }).waitFor();
    const fresh = (await link.getAttribute('href'))!;
    expect(fresh).to.not.equal(first);
    await address.fill(stale);
    await page.getByRole('button', { name: 'Finish sign-in' }).click();
    await page.getByTestId('sign-in-notice').filter({ hasText: 'older' }).waitFor();

    // The user signs in on a laptop; the browser ends on 127.0.0.1:<port>/callback?code=... of the laptop.
    await address.fill(await finalAddress(fresh));
    await page.getByRole('button', { name: 'Finish sign-in' }).click();
    await page.getByTestId('sign-in-notice').filter({ hasText: 'Signed in' }).waitFor();
    await page.getByTestId('cloud-active').filter({ hasText: 'Yoto' }).waitFor();
    expect(hub!.cloud.active).to.equal('yoto');
    await screenshots(page, 'settings-headless-sign-in');
    expect(errors).to.deep.equal([]);
  });
});
