/**
 * Dashboard time to first render with 200 players: a hub whose virtual cloud
 * has 200 players, the panel in headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium), signed in through the API (onboarding answers a refresh
 * token, put in localStorage before the page loads), then `/` loaded cold in a
 * fresh browser context. Measured until every player's device card is in the
 * document: in the page (performance.now(), i.e. since navigation start) and
 * on the wall clock from page.goto(). The same run with the 2 default players
 * gives the per-player ratio.
 *
 * The hub gets its players through `deps.cloud.virtual.players`.
 *
 * Run alone (after a build): node dist/bench/scenarios/dashboard-200-players.js
 */
import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { startTestHub, stopTestHub } from '../../test/helpers/test-hub';
import { runWhenMain, type BenchResult } from '../bench-result';
import { median, round, until } from '../measure';
import { benchPlayers } from '../players';

const CHROMIUM_PATH = '/usr/bin/chromium';
const SIZES = [2, 200] as const;
const RUNS = 3;
const ADMIN = { name: 'Bench Admin', email: 'bench@example.test', password: 'correct horse battery' };
const READY_TIMEOUT_MS = 120_000;

/** A test hub whose virtual cloud starts with `count` players. */
function startHubWith(count: number): Promise<Hub> {
  return startTestHub({}, { cloud: { virtual: { players: benchPlayers(count) } } });
}

/** The little of the DOM the in-page check needs (the bench compiles without the DOM library). */
interface QueryRoot {
  querySelector(selector: string): ElementLike | null;
  querySelectorAll(selector: string): Iterable<ElementLike>;
}
interface ElementLike {
  readonly shadowRoot: QueryRoot | null;
}

/**
 * In the page (a function, not a string: the panel's CSP forbids eval): performance.now() once `count`
 * device cards have rendered their article (inside the shadow roots of yoto-app, the Dashboard and each card), else false.
 */
function cardsRendered(count: number): number | false {
  const doc = (globalThis as unknown as { document: QueryRoot }).document;
  const root = doc.querySelector('yoto-app')?.shadowRoot?.querySelector('yoto-dashboard-view')?.shadowRoot;
  if (!root) return false;
  let rendered = 0;
  for (const card of root.querySelectorAll('yoto-device-card')) if (card.shadowRoot?.querySelector('article[data-device]')) rendered++;
  return rendered >= count ? performance.now() : false;
}

/** In the page: performance.now() once the Dashboard view has rendered (its shadow root has content), else false. */
function dashboardShown(): number | false {
  const doc = (globalThis as unknown as { document: QueryRoot }).document;
  const root = doc.querySelector('yoto-app')?.shadowRoot?.querySelector('yoto-dashboard-view')?.shadowRoot;
  return root?.querySelector('section') ? performance.now() : false;
}

function storeRefreshToken(token: string): void {
  (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('yoto.refreshToken', token);
}

function readRefreshToken(): string | null {
  return (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem('yoto.refreshToken');
}

interface Timing {
  /** The Dashboard view's first render (before the players arrive). */
  shellMs: number;
  inPageMs: number;
  wallMs: number;
}

async function measure(browser: Browser, hub: Hub, refreshToken: string, count: number): Promise<Timing> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    await context.addInitScript(storeRefreshToken, refreshToken);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const started = performance.now();
    await page.goto(`${hub.url}/`);
    const shell = await page.waitForFunction(dashboardShown, undefined, { polling: 'raf', timeout: READY_TIMEOUT_MS });
    const shellMs = Number(await shell.jsonValue());
    const handle = await page.waitForFunction(cardsRendered, count, { polling: 'raf', timeout: READY_TIMEOUT_MS });
    const wallMs = performance.now() - started;
    const inPageMs = Number(await handle.jsonValue());
    if (new URL(page.url()).pathname !== '/') throw new Error(`the panel went to ${page.url()} instead of the Dashboard`);
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    // The refresh token is single use: keep the rotated one for the next run.
    const rotated = await page.evaluate(readRefreshToken);
    if (typeof rotated === 'string') refreshTokens.set(hub, rotated);
    return { shellMs, inPageMs, wallMs };
  } finally {
    await context.close();
  }
}

const refreshTokens = new Map<Hub, string>();

async function runSize(browser: Browser, count: number): Promise<{ timings: Timing[]; hubStartMs: number }> {
  const hubStarted = performance.now();
  const hub = await startHubWith(count);
  try {
    await until(`${count} players online`, () => hub.devices.list().filter((device) => device.online).length >= count, READY_TIMEOUT_MS);
    const hubStartMs = performance.now() - hubStarted;
    const response = await fetch(`${hub.url}/api/auth/onboarding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    if (response.status !== 201) throw new Error(`onboarding answered ${response.status}: ${await response.text()}`);
    refreshTokens.set(hub, ((await response.json()) as { refreshToken: string }).refreshToken);
    // One warm-up load (the hub's first answers, Chromium's first start of the page), then the measured ones.
    await measure(browser, hub, refreshTokens.get(hub)!, count);
    const timings: Timing[] = [];
    for (let i = 0; i < RUNS; i++) timings.push(await measure(browser, hub, refreshTokens.get(hub)!, count));
    return { timings, hubStartMs };
  } finally {
    refreshTokens.delete(hub);
    await stopTestHub(hub);
  }
}

export async function run(): Promise<BenchResult> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`chromium is not installed at ${CHROMIUM_PATH}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const results: Record<string, number | string> = {};
  const medians = new Map<number, Timing>();
  try {
    for (const count of SIZES) {
      const { timings, hubStartMs } = await runSize(browser, count);
      const timing = { shellMs: median(timings.map((t) => t.shellMs)), inPageMs: median(timings.map((t) => t.inPageMs)), wallMs: median(timings.map((t) => t.wallMs)) };
      medians.set(count, timing);
      results[`players${count}FirstRenderMs`] = round(timing.inPageMs, 1);
      results[`players${count}DashboardShellMs`] = round(timing.shellMs, 1);
      results[`players${count}CardsAfterShellMs`] = round(median(timings.map((t) => t.inPageMs - t.shellMs)), 1);
      results[`players${count}WallMs`] = round(timing.wallMs, 1);
      results[`players${count}FirstRenderRunsMs`] = timings.map((t) => round(t.inPageMs, 1)).join(' ');
      results[`players${count}HubReadyMs`] = round(hubStartMs, 0);
    }
  } finally {
    await browser.close();
  }
  const small = medians.get(SIZES[0])!;
  const large = medians.get(SIZES[1])!;
  return {
    name: 'dashboard-200-players',
    description: `Time to first render of the Dashboard (every device card in the document), cold load of / in a fresh headless Chromium context, with ${SIZES[1]} virtual players against ${SIZES[0]}; median of ${RUNS} runs after a warm-up.`,
    results,
    ratios: {
      firstRender200Over2: round(large.inPageMs / small.inPageMs),
      perPlayer200Over2: round(large.inPageMs / SIZES[1] / (small.inPageMs / SIZES[0])),
      wall200Over2: round(large.wallMs / small.wallMs),
      cardsAfterShell200Over2: round(Number(results[`players${SIZES[1]}CardsAfterShellMs`]) / Math.max(Number(results[`players${SIZES[0]}CardsAfterShellMs`]), 0.1)),
    },
    notes: [
      'FirstRenderMs is performance.now() in the page when the last card rendered (since navigation start: HTML, JS, sign-in refresh, WebSocket snapshot, render). WallMs is from page.goto() in Node.',
      'DashboardShellMs: when the Dashboard view first rendered (sign-in checked, view code loaded), before the WebSocket delivered the players.',
      'CardsAfterShellMs: from that first render to the last card (WebSocket snapshot and the cards), the part that grows with the players.',
      'perPlayer200Over2: milliseconds per player with 200 against with 2; well under 1 means the fixed cost (page load, sign-in, WebSocket) dominates.',
    ],
  };
}

runWhenMain(module, run);
