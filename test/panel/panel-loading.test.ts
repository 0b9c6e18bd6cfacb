import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { launchChromium } from '../helpers/chromium';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboardAdmin } from '../hub/api-world';

/**
 * How the panel loads for someone who signed in before: the stored session is
 * the only auth round trip (asked for by the inline boot script), the shell and
 * the Dashboard are one chunk, and each other view's code (its chunk and the
 * chunks it imports) is asked for at once on its first visit.
 */
describe('panel loading with a stored session (headless Chromium)', function () {
  let browser: Browser;
  let hub: Hub;
  let refreshToken: string;

  const ADMIN = { email: 'returning@example.test', name: 'Returning Parent', password: 'correct horse battery' };

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
    ({ refreshToken } = await onboardAdmin(hub, ADMIN));
  });
  after(async () => {
    await browser?.close();
    await stopTestHub(hub);
  });

  it('serves the start page with its code in one chunk, the boot script inline and allowed by the CSP, and caches hashed chunks for good', async () => {
    const page = await fetch(`${hub.url}/`);
    const html = await page.text();
    expect(page.headers.get('cache-control')).to.equal('no-cache');
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((match) => match[1]!);
    expect(preloaded, 'the shell and the Dashboard: one chunk, asked for with main.js').to.have.length(1);
    expect(html, 'the boot script is inline, not a request of its own').to.not.include('/assets/boot.js');
    const inline = /<script>([^<]+)<\/script>/.exec(html)?.[1];
    expect(inline, 'an inline boot script').to.be.a('string');
    const hash = `'sha256-${createHash('sha256').update(inline!, 'utf8').digest('base64')}'`;
    const policy = page.headers.get('content-security-policy') ?? '';
    const scriptSources = /(?:^|;)\s*script-src ([^;]*)/.exec(policy)?.[1]?.split(' ');
    expect(scriptSources, 'the CSP lets that one inline script run').to.include.members(["'self'", hash]);
    expect(scriptSources, 'and no other').to.not.include("'unsafe-inline'");
    expect(policy, 'the rest of the policy stays').to.include('frame-ancestors');
    expect(html.indexOf(inline!), 'the boot script runs before the modules').to.be.lessThan(html.indexOf('/assets/main.js'));

    const chunk = await fetch(`${hub.url}${preloaded[0]!}`);
    expect(chunk.status).to.equal(200);
    expect(chunk.headers.get('cache-control'), 'a hashed chunk never changes').to.equal('public, max-age=31536000, immutable');
    const main = await fetch(`${hub.url}/assets/main.js`);
    expect(main.headers.get('cache-control'), 'main.js keeps its name across builds: checked each time').to.equal('no-cache');
    expect(await main.text()).to.include(preloaded[0]!.split('/').pop()!);
    expect((await fetch(`${hub.url}/assets/chunks/gone-AAAAAAAA.js`)).status, 'a chunk of an older build is a 404, not the page').to.equal(404);
    for (const route of ['/devices/some-player', '/index.html']) {
      const other = await fetch(`${hub.url}${route}`);
      expect(other.headers.get('content-security-policy'), `${route} gets the page with its CSP`).to.equal(policy);
      expect(await other.text()).to.equal(html);
    }
  });

  it('loads the Dashboard with one chunk and one auth round trip, and each other view\'s chunks at once on its first visit', async () => {
    const html = await (await fetch(`${hub.url}/`)).text();
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((match) => match[1]!);
    const viewChunks = JSON.parse(/<script type="application\/json" id="view-chunks">([^<]*)<\/script>/.exec(html)![1]!) as Record<string, string[]>;
    expect(Object.keys(viewChunks)).to.include.members(['library-view', 'stories-view', 'auth-view']);
    expect(Object.keys(viewChunks), 'the Dashboard comes with the shell').to.not.include('dashboard-view');
    for (const file of Object.values(viewChunks).flat()) {
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
      // In order: the players' first frame, then the request for today's figures (they wait for the players).
      const order: string[] = [];
      page.on('websocket', (socket) => {
        sockets.push(new URL(socket.url()).pathname);
        socket.once('framereceived', () => order.push('players'));
      });
      page.on('request', (request) => {
        if (new URL(request.url()).pathname === '/api/analytics/overview') order.push('today');
      });
      const refused: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
      });
      await page.goto(`${hub.url}/`);
      await page.locator('article[data-device]').first().waitFor();

      expect(refused, 'no script refused by the CSP').to.deep.equal([]);
      expect(requested.filter((p) => p === '/api/auth/refresh')).to.have.length(1);
      expect(requested, 'a good stored session needs no status check').to.not.include('/api/auth/status');
      expect(requested.filter((p) => p.startsWith('/assets/')).sort(), 'main.js and the one chunk, nothing else').to.deep.equal(['/assets/main.js', ...preloaded].sort());
      // The boot script asks for the session and opens the WebSocket while the modules load; the panel takes both over.
      expect(await page.evaluate(() => '__yotoBoot' in globalThis), 'the inline boot script ran').to.equal(true);
      expect(sockets, 'one WebSocket').to.deep.equal(['/ws']);
      await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
      await page.getByTestId('today').waitFor();
      expect(order, 'today\'s figures are asked for once the players are in').to.deep.equal(['players', 'today']);
      const links = await page.locator('link[rel="modulepreload"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('href')));
      expect(links, 'views not visited are not loaded').to.not.include.members(viewChunks['stories-view']!.slice(0, 1));

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
      await page.waitForURL('**/library');
      const after = await page.locator('link[rel="modulepreload"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('href')));
      expect(after).to.include.members(viewChunks['library-view']!);
      expect(requested, 'the Library\'s code was fetched on the visit').to.include.members(viewChunks['library-view']!);
    } finally {
      await context.close();
    }
  });

  it('asks for the players in the WebSocket\'s URL: they arrive without a message from the page; a socket with bad options is refused and the panel stays live', async () => {
    const login = await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }) });
    expect(login.status).to.equal(200);
    const session = (await login.json()) as { accessToken: string; refreshToken: string };
    const context = await browser.newContext();
    try {
      await context.addInitScript((token: string) => {
        (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('yoto.refreshToken', token);
      }, session.refreshToken);
      const page = await context.newPage();
      const sockets: Array<{ url: URL; sentBeforePlayers: string[] }> = [];
      page.on('websocket', (socket) => {
        const seen = { url: new URL(socket.url()), sentBeforePlayers: [] as string[] };
        sockets.push(seen);
        let players = false;
        socket.on('framereceived', () => (players = true));
        socket.on('framesent', (frame) => {
          if (!players) seen.sentBeforePlayers.push(String(frame.payload));
        });
      });
      await page.goto(`${hub.url}/`);
      await page.locator('article[data-device]').first().waitFor();
      // The Dashboard renders once, with every player: its first render waited for the players' first picture.
      const players = await page.locator('article[data-device]').count();
      expect(players).to.equal(hub.devices.list().length).and.to.be.greaterThan(0);
      const firstRender = await page.evaluate(() => (performance.getEntriesByName('yoto:dashboard-shell')[0] as PerformanceMark | undefined)?.detail as { players: number } | undefined);
      expect(firstRender, 'the Dashboard\'s first render had every card').to.deep.equal({ players });
      expect(sockets).to.have.length(1);
      expect(sockets[0]!.url.pathname).to.equal('/ws');
      expect(sockets[0]!.url.searchParams.get('batch')).to.equal('true');
      expect(sockets[0]!.url.searchParams.getAll('subscribe')).to.deep.equal(['device.*']);
      expect(sockets[0]!.sentBeforePlayers, 'no options or subscribe message').to.deep.equal([]);

      // A page's own socket with options the hub does not take: the upgrade is refused (the browser only sees it fail).
      const outcomes = await page.evaluate(async (accessToken: string) => {
        const tries = ['subscribe=devices', 'batch=maybe', 'batch=true&subscribe=device.*'];
        return Promise.all(tries.map((query) => new Promise<string>((resolve) => {
          const socket = new WebSocket(`ws://${location.host}/ws?${query}`, ['bearer', accessToken]);
          socket.addEventListener('message', () => {
            resolve(`${query}: players`);
            socket.close();
          });
          socket.addEventListener('close', (event) => resolve(`${query}: closed ${event.code}`));
        })));
      }, session.accessToken);
      expect(outcomes).to.deep.equal(['subscribe=devices: closed 1006', 'batch=maybe: closed 1006', 'batch=true&subscribe=device.*: players']);
      await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
      expect(await page.locator('article[data-device]').count(), 'the panel\'s cards are still there').to.be.greaterThan(0);
    } finally {
      await context.close();
    }
  });
});
