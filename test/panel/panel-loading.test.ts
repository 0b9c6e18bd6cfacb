import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { launchChromium } from '../helpers/chromium';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboardAdmin } from '../hub/api-world';

/**
 * How the panel loads for someone who signed in before: the stored session is
 * the only auth round trip, and each view's code (its chunk and the chunks it
 * imports) is asked for at once, while the session is being checked.
 */
describe('panel loading with a stored session (headless Chromium)', function () {
  let browser: Browser;
  let hub: Hub;
  let refreshToken: string;

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
    ({ refreshToken } = await onboardAdmin(hub, { email: 'returning@example.test', name: 'Returning Parent', password: 'correct horse battery' }));
  });
  after(async () => {
    await browser?.close();
    await stopTestHub(hub);
  });

  it('preloads main.js imports and each view\'s chunks, and checks a stored session in one round trip', async () => {
    const html = await (await fetch(`${hub.url}/`)).text();
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((match) => match[1]!);
    const viewChunks = JSON.parse(/<script type="application\/json" id="view-chunks">([^<]*)<\/script>/.exec(html)![1]!) as Record<string, string[]>;
    expect(preloaded.length, 'main.js imports shared chunks').to.be.greaterThan(0);
    expect(Object.keys(viewChunks)).to.include.members(['dashboard-view', 'library-view', 'stories-view', 'auth-view']);
    expect(preloaded, 'the start page\'s code is asked for with main.js').to.include.members(viewChunks['dashboard-view']!);
    for (const file of [...preloaded, ...Object.values(viewChunks).flat()]) {
      expect((await fetch(`${hub.url}${file}`)).status, file).to.equal(200);
    }

    const context = await browser.newContext();
    try {
      await context.addInitScript((token: string) => {
        (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('yoto.refreshToken', token);
      }, refreshToken);
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(new URL(request.url()).pathname));
      const sockets: string[] = [];
      page.on('websocket', (socket) => sockets.push(new URL(socket.url()).pathname));
      await page.goto(`${hub.url}/`);
      await page.locator('article[data-device]').first().waitFor();

      expect(requested.filter((p) => p === '/api/auth/refresh')).to.have.length(1);
      expect(requested, 'a good stored session needs no status check').to.not.include('/api/auth/status');
      // The boot script asks for the session and opens the WebSocket while the modules load; the panel takes both over.
      expect(html.indexOf('/assets/boot.js'), 'the boot script runs before the modules').to.be.lessThan(html.indexOf('/assets/main.js'));
      expect(sockets, 'one WebSocket').to.deep.equal(['/ws']);
      await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
      expect(requested).to.include.members(viewChunks['dashboard-view']!);
      const links = await page.locator('link[rel="modulepreload"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('href')));
      expect(links).to.include.members(viewChunks['dashboard-view']!);
      expect(links, 'views not visited are not loaded').to.not.include.members(viewChunks['stories-view']!.slice(0, 1));

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
      await page.waitForURL('**/library');
      const after = await page.locator('link[rel="modulepreload"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('href')));
      expect(after).to.include.members(viewChunks['library-view']!);
    } finally {
      await context.close();
    }
  });
});
