/**
 * Dashboard time to first render with 200 players: a hub whose virtual cloud
 * has 200 players, the panel in headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium), signed in through the API (onboarding answers a refresh
 * token, put in localStorage before the page loads), then `/` loaded with the
 * HTTP cache cleared (every file of the panel asked for again), measured until
 * every player's device card has rendered. The time is the panel's own User
 * Timing mark `yoto:dashboard-cards` (dashboard-view.ts: recorded once the
 * Dashboard rendered the players' first picture, every card with it;
 * performance.now(), i.e. since navigation start), awaited in the page with a
 * PerformanceObserver installed once the navigation committed (one
 * DevTools evaluation, no polling); the DOM is then checked once (every card
 * has its article). The same run with the 2 default players gives the
 * per-player ratio: both hubs run throughout, and the loads alternate between
 * them, so a slower spell of the machine falls on both sides of the ratio.
 *
 * Two ways to open the page, interleaved:
 * - warm tab (the headline figure): the tab first shows /api/system/health of
 *   the same hub, so its renderer process is running, as in a user's browser
 *   reloading or opening the panel; the HTTP cache is cleared over CDP;
 * - fresh context: a new browser context per load, whose renderer process is
 *   started for it (60-110 ms on this machine before the HTML is parsed),
 *   the way this bench measured until now.
 * Neither injects Playwright's selector engine or polls the page while it loads
 * (page.waitForFunction with raf polling did: ~47 ms of script in the middle of
 * the render and a function every frame; page.evaluate every 5 ms, as this bench
 * did next, ran Playwright's utility script in the page 40-60 times per load,
 * 5-15 ms of its main thread in CPU profiles).
 *
 * The hub gets its players through `deps.cloud.virtual.players`. Loads start once the
 * hub has every player's first answers (events, status, full status): until then the
 * hub is still following its players (about 0.6 s of both cores for 200 on this
 * machine), which the first loads used to share the CPU with.
 *
 * Run alone (after a build): node dist/bench/scenarios/dashboard-200-players.js
 */
import * as fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { startTestHub, stopTestHub } from '../../test/helpers/test-hub';
import { runWhenMain, type BenchResult } from '../bench-result';
import { median, round, until } from '../measure';
import { benchPlayers } from '../players';

const CHROMIUM_PATH = '/usr/bin/chromium';
const SIZES = [2, 200] as const;
/** Per way of loading: with one warm-up each, 10 sign-in refreshes per hub, the hub's limit per address and minute. */
const RUNS = 4;
const MODES: readonly Mode[] = ['warm', 'fresh'];
const ADMIN = { name: 'Bench Admin', email: 'bench@example.test', password: 'correct horse battery' };
/** How long a load may take before the run fails (BENCH_DASHBOARD_TIMEOUT_MS, e.g. shorter while changing the panel). */
const READY_TIMEOUT_MS = Number(process.env['BENCH_DASHBOARD_TIMEOUT_MS'] ?? 120_000);

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
 * In the page (a function, not a string: the panel's CSP forbids eval): how many device cards have
 * rendered their article (in the Dashboard's shadow root, inside yoto-app's).
 */
function renderedCards(): number {
  const doc = (globalThis as unknown as { document: QueryRoot }).document;
  const root = doc.querySelector('yoto-app')?.shadowRoot?.querySelector('yoto-dashboard-view')?.shadowRoot;
  return [...(root?.querySelectorAll('article[data-device]') ?? [])].length;
}

interface PanelMarks {
  /** The Dashboard's first render (before the players, unless they were already in). */
  shell: number | undefined;
  /** Every card of the players' first picture rendered; undefined until then. */
  cards: number | undefined;
  players: number | undefined;
}

/**
 * In the page, run once the navigation committed: the panel's User Timing marks (dashboard-view.ts),
 * once the cards' mark is recorded (a PerformanceObserver, buffered: a mark already made counts) or
 * after `timeoutMs` without it. Runs as a DevTools evaluation (not subject to the page's CSP) from
 * its source text, so it uses nothing outside itself.
 */
function marksOnceCardsRendered(timeoutMs: number): Promise<PanelMarks> {
  interface Mark { name: string; startTime: number; detail?: unknown }
  const read = (): PanelMarks => {
    const first = (name: string): Mark | undefined => performance.getEntriesByName(name, 'mark')[0] as Mark | undefined;
    const cards = first('yoto:dashboard-cards');
    const detail = cards?.detail as { players?: number } | undefined;
    return { shell: first('yoto:dashboard-shell')?.startTime, cards: cards?.startTime, players: detail?.players };
  };
  return new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      if (!list.getEntries().some((entry) => entry.name === 'yoto:dashboard-cards')) return;
      finish();
    });
    const timer = setTimeout(() => finish(), timeoutMs);
    function finish(): void {
      observer.disconnect();
      clearTimeout(timer);
      resolve(read());
    }
    observer.observe({ type: 'mark', buffered: true });
  });
}

function storeRefreshToken(token: string): void {
  (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('yoto.refreshToken', token);
}

function readRefreshToken(): string | null {
  return (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem('yoto.refreshToken');
}

type Mode = 'warm' | 'fresh';

interface Timing {
  /** The Dashboard view's first render (yoto:dashboard-shell). */
  shellMs: number;
  /** Every player's card rendered (yoto:dashboard-cards). */
  inPageMs: number;
  /** From page.goto() in Node to the marks' answer back in Node (a few ms late). */
  wallMs: number;
}

/**
 * The page's marks once the cards are in: one evaluation right after the navigation committed
 * (over CDP, as Playwright's page.evaluate would first run its utility script in the page), its
 * observer then waits in the page without polling.
 */
async function cardsMark(page: Page, cdp: CDPSession): Promise<PanelMarks & { cards: number; shell: number }> {
  const answer = (await cdp.send('Runtime.evaluate', {
    expression: `(${marksOnceCardsRendered.toString()})(${READY_TIMEOUT_MS})`,
    awaitPromise: true,
    returnByValue: true,
  })) as { result: { value?: PanelMarks }; exceptionDetails?: { text: string } };
  const marks = answer.result.value;
  if (answer.exceptionDetails || !marks) throw new Error(`the marks could not be read (${page.url()}): ${answer.exceptionDetails?.text ?? 'no answer'}`);
  if (marks.cards === undefined || marks.shell === undefined) throw new Error(`the Dashboard never marked its cards rendered (${page.url()}: ${JSON.stringify(marks)})`);
  return { ...marks, cards: marks.cards, shell: marks.shell };
}

/** The page to load `/` in: a warm tab (renderer running, HTTP cache cleared) or a fresh context's first page. */
async function openPage(context: BrowserContext, hub: Hub, refreshToken: string, mode: Mode): Promise<Page> {
  if (mode === 'fresh') await context.addInitScript(storeRefreshToken, refreshToken);
  const page = await context.newPage();
  if (mode === 'warm') {
    await page.goto(`${hub.url}/api/system/health`);
    await page.evaluate(storeRefreshToken, refreshToken);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
  }
  return page;
}

async function measure(browser: Browser, hub: Hub, refreshToken: string, count: number, mode: Mode): Promise<Timing> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await openPage(context, hub, refreshToken, mode);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Opened before the load, so nothing but the one evaluation reaches the page while it loads.
    const cdp = await context.newCDPSession(page);
    const started = performance.now();
    await page.goto(`${hub.url}/`, { waitUntil: 'commit' });
    const marks = await cardsMark(page, cdp).catch((error: unknown) => {
      throw new Error(`${mode} load of ${count} players: ${String(error)}`);
    });
    const wallMs = performance.now() - started;
    await cdp.detach();
    if (new URL(page.url()).pathname !== '/') throw new Error(`the panel went to ${page.url()} instead of the Dashboard`);
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    const rendered = await page.evaluate(renderedCards);
    if (marks.players !== count || rendered !== count) throw new Error(`the Dashboard marked ${marks.players} cards and shows ${rendered}, not ${count}`);
    // The refresh token is single use: keep the rotated one for the next run.
    const rotated = await page.evaluate(readRefreshToken);
    if (typeof rotated === 'string') refreshTokens.set(hub, rotated);
    return { shellMs: marks.shell, inPageMs: marks.cards, wallMs };
  } finally {
    await context.close();
  }
}

const refreshTokens = new Map<Hub, string>();

/** A hub of `count` players, ready as a user finds one that has been running, with its admin's refresh token. */
interface SizedHub {
  count: number;
  hub: Hub;
  hubStartMs: number;
}

async function openSize(count: number): Promise<SizedHub> {
  const hubStarted = performance.now();
  const hub = await startHubWith(count);
  try {
    await until(`${count} players online`, () => hub.devices.list().filter((device) => device.online).length >= count, READY_TIMEOUT_MS);
    // Online comes from the cloud's device list; the adapter then subscribes to each player and asks for its events
    // and status, 600 answers for 200 players, the hub's busiest second. Loads start once every player answered, as
    // a user opens the panel of a hub that has been running, not of one still following its players.
    await until(`every player's first answers`, () => {
      const byKind = hub.cloud.mqtt?.stats().byKind;
      return byKind !== undefined && byKind.events >= count && byKind.status >= count && byKind.fullStatus >= count;
    }, READY_TIMEOUT_MS);
    const hubStartMs = performance.now() - hubStarted;
    const response = await fetch(`${hub.url}/api/auth/onboarding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    if (response.status !== 201) throw new Error(`onboarding answered ${response.status}: ${await response.text()}`);
    refreshTokens.set(hub, ((await response.json()) as { refreshToken: string }).refreshToken);
    return { count, hub, hubStartMs };
  } catch (error) {
    await stopTestHub(hub);
    throw error;
  }
}

async function closeSize({ hub }: SizedHub): Promise<void> {
  refreshTokens.delete(hub);
  await stopTestHub(hub);
}

/**
 * Both hubs running, one warm-up load each way on each, then the measured loads interleaved across
 * the sizes and the ways of loading (2 then 200, 200 then 2, ...), so a slower spell of the machine
 * falls on both sides of the ratio alike.
 */
async function measureSizes(browser: Browser, sized: readonly SizedHub[]): Promise<Map<number, Record<Mode, Timing[]>>> {
  const runs = new Map(sized.map(({ count }) => [count, { warm: [], fresh: [] } as Record<Mode, Timing[]>]));
  for (const { hub, count } of sized) for (const mode of MODES) await measure(browser, hub, refreshTokens.get(hub)!, count, mode);
  for (let i = 0; i < RUNS; i++) {
    for (const { hub, count } of i % 2 === 0 ? sized : [...sized].reverse()) {
      for (const mode of i % 2 === 0 ? MODES : [...MODES].reverse()) runs.get(count)![mode].push(await measure(browser, hub, refreshTokens.get(hub)!, count, mode));
    }
  }
  return runs;
}

function medianTiming(timings: readonly Timing[]): Timing {
  return { shellMs: median(timings.map((t) => t.shellMs)), inPageMs: median(timings.map((t) => t.inPageMs)), wallMs: median(timings.map((t) => t.wallMs)) };
}

export async function run(): Promise<BenchResult> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`chromium is not installed at ${CHROMIUM_PATH}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const results: Record<string, number | string> = {};
  const medians = new Map<string, Timing>();
  const sized: SizedHub[] = [];
  try {
    for (const count of SIZES) sized.push(await openSize(count));
    const runsBySize = await measureSizes(browser, sized);
    for (const { count, hubStartMs } of sized) {
      const runs = runsBySize.get(count)!;
      const warm = medianTiming(runs.warm);
      const fresh = medianTiming(runs.fresh);
      medians.set(`warm${count}`, warm);
      medians.set(`fresh${count}`, fresh);
      results[`players${count}FirstRenderMs`] = round(warm.inPageMs, 1);
      results[`players${count}DashboardShellMs`] = round(warm.shellMs, 1);
      results[`players${count}CardsAfterShellMs`] = round(median(runs.warm.map((t) => t.inPageMs - t.shellMs)), 1);
      results[`players${count}WallMs`] = round(warm.wallMs, 1);
      results[`players${count}FirstRenderRunsMs`] = runs.warm.map((t) => round(t.inPageMs, 1)).join(' ');
      results[`players${count}FreshContextFirstRenderMs`] = round(fresh.inPageMs, 1);
      results[`players${count}FreshContextShellMs`] = round(fresh.shellMs, 1);
      results[`players${count}FreshContextRunsMs`] = runs.fresh.map((t) => round(t.inPageMs, 1)).join(' ');
      results[`players${count}HubReadyMs`] = round(hubStartMs, 0);
    }
  } finally {
    for (const size of sized) await closeSize(size);
    await browser.close();
  }
  const [small, large] = SIZES;
  const at = (key: string): Timing => medians.get(key)!;
  return {
    name: 'dashboard-200-players',
    description: `Time to first render of the Dashboard (the panel's mark once every device card rendered), / loaded with the HTTP cache cleared in a warm tab (its renderer running, as in a user's browser), with ${large} virtual players against ${small}; beside it the same in a fresh browser context (its renderer process started for the load); median of ${RUNS} runs each, interleaved across both sizes and both ways (both hubs running throughout), after a warm-up.`,
    results,
    ratios: {
      firstRender200Over2: round(at(`warm${large}`).inPageMs / at(`warm${small}`).inPageMs),
      perPlayer200Over2: round(at(`warm${large}`).inPageMs / large / (at(`warm${small}`).inPageMs / small)),
      wall200Over2: round(at(`warm${large}`).wallMs / at(`warm${small}`).wallMs),
      cardsAfterShell200Over2: round(Number(results[`players${large}CardsAfterShellMs`]) / Math.max(Number(results[`players${small}CardsAfterShellMs`]), 0.1)),
      freshContextFirstRender200Over2: round(at(`fresh${large}`).inPageMs / at(`fresh${small}`).inPageMs),
    },
    notes: [
      'FirstRenderMs: the panel\'s User Timing mark yoto:dashboard-cards (the Dashboard rendered the players\' first picture, every card with it), performance.now() since navigation start of / (HTML, JS, sign-in refresh, WebSocket snapshot, render), in a warm tab with the HTTP cache cleared. WallMs is from page.goto() in Node to the marks\' answer back in Node (an observer in the page, no polling).',
      'DashboardShellMs: the mark yoto:dashboard-shell, the Dashboard view\'s first render (equal to FirstRenderMs when the players were in by then).',
      'CardsAfterShellMs: from that first render to the cards\' mark, the part that grows with the players (0 when they render in the first pass).',
      'FreshContext*: the same load in a new browser context, which includes starting its renderer process (a user\'s browser has one running); the way this bench measured before, now also read from the marks.',
      'perPlayer200Over2: milliseconds per player with 200 against with 2; well under 1 means the fixed cost (page load, sign-in, WebSocket) dominates.',
    ],
  };
}

runWhenMain(module, run);
