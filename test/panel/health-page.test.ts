import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { artifactPath, launchChromium } from '../helpers/chromium';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboard } from './panel-helpers';

describe('panel in headless Chromium', function () {
  let browser: Browser;
  let hub: Hub;

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
  });
  after(async () => {
    await browser?.close();
    await stopTestHub(hub);
  });

  it('renders the hub status page: before sign-in only the overall status, signed in as the admin every component and the broker connected', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(hub.url + '/system');
    await page.getByTestId('overall-status').filter({ hasText: 'ok' }).waitFor();
    await page.getByTestId('sign-in-hint').waitFor();
    expect(await page.locator('[data-component]').count(), 'components shown to an anonymous visitor').to.equal(0);
    await onboard(page, hub, { name: 'Admin', email: 'admin@example.org', password: 'correct horse battery' });
    await page.goto(hub.url + '/system');
    await page.locator('[data-component="broker"]').waitFor();
    const broker = page.locator('[data-component="broker"]');
    expect(await broker.getByTestId('component-status').textContent()).to.equal('connected');
    expect(await broker.getByRole('heading').textContent()).to.equal('Home broker');
    for (const component of ['store', 'broker', 'cloud', 'http']) {
      expect(await page.locator(`[data-component="${component}"]`).count()).to.equal(1);
    }
    await page.screenshot({ path: artifactPath('panel-health-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: artifactPath('panel-health-phone.png'), fullPage: true });
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it('shows a not-found message for an unknown panel route', async () => {
    const page = await browser.newPage();
    await page.goto(hub.url + '/no-such-view');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).to.include('This page does not exist');
    await page.close();
  });
});
