import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { artifactPath, launchChromium } from '../helpers/chromium';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call } from '../hub/api-world';

/** The virtual players and the audio file the panel suites use. */
export { KIDS, LIVING, START_MP3 } from '../hub/api-world';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** What a panel suite drives: set in its `before` hook, so read it inside hooks and tests. */
export interface PanelPage {
  readonly hub: Hub;
  readonly page: Page;
  /** Uncaught errors the page threw; a suite ends by expecting none. */
  readonly errors: string[];
}

/**
 * Registers a panel suite's hooks: headless Chromium, a fresh test hub and one page in its
 * own browser context (desktop size unless told otherwise), all closed after the suite.
 */
export function usePanelPage(contextOptions: BrowserContextOptions = { viewport: DESKTOP }): PanelPage {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let hub: Hub | undefined;
  let page: Page | undefined;
  const errors: string[] = [];
  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
    context = await browser.newContext(contextOptions);
    page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    if (hub) await stopTestHub(hub);
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the panel suite's ${what} is not ready: read it inside a hook or test`);
    return value;
  };
  return {
    get hub() {
      return ready(hub, 'hub');
    },
    get page() {
      return ready(page, 'page');
    },
    errors,
  };
}

/** A player's card on the Dashboard or the Devices view. */
export function card(page: Page, deviceId: string): Locator {
  return page.locator(`article[data-device="${deviceId}"]`);
}

/**
 * A screenshot at desktop and at phone width, back at desktop after; and, as the panel
 * promises labelled controls, a check that every control on screen has an accessible name.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  expect(await unnamedControls(page), `controls without an accessible name on ${name}`).to.deep.equal([]);
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: artifactPath(`panel-${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: artifactPath(`panel-${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Roles a person operates; each needs a name a screen reader can say. */
const CONTROL_ROLES = new Set(['button', 'link', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'switch', 'slider', 'spinbutton', 'tab', 'menuitem', 'option']);

interface AxNode {
  ignored?: boolean;
  role?: { value?: unknown };
  name?: { value?: unknown };
  backendDOMNodeId?: number;
}

/**
 * The controls on the page that have no accessible name (as Chromium's accessibility tree
 * computes it, shadow roots included), each as `role <outer HTML start>`.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: AxNode[] };
    const unnamed: string[] = [];
    for (const node of nodes) {
      const role = String(node.role?.value ?? '');
      if (node.ignored || !CONTROL_ROLES.has(role) || String(node.name?.value ?? '').trim() !== '') continue;
      let html = '?';
      if (node.backendDOMNodeId !== undefined) {
        const { outerHTML } = (await cdp.send('DOM.getOuterHTML', { backendNodeId: node.backendDOMNodeId })) as { outerHTML: string };
        html = outerHTML.slice(0, 120);
      }
      unnamed.push(`${role} ${html}`);
    }
    return unnamed;
  } finally {
    await cdp.detach();
  }
}

/** Onboards the admin in the page, then answers an access token for API shortcuts. */
export async function onboard(page: Page, hub: Hub, admin: { name: string; email: string; password: string }): Promise<string> {
  await page.goto(hub.url + '/');
  await page.waitForURL('**/onboarding');
  await page.getByLabel('Name').fill(admin.name);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  const login = await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: admin.email, password: admin.password }) });
  return ((await login.json()) as { accessToken: string }).accessToken;
}

/** Uploads an audio file through the API (faster than the Library view). */
export async function uploadAudio(hub: Hub, token: string, file: string, title: string): Promise<{ id: string; title: string }> {
  const form = new FormData();
  form.append('file', new Blob([fs.readFileSync(file)], { type: 'audio/mpeg' }), path.basename(file));
  const response = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  expect(response.status, await response.clone().text()).to.equal(201);
  const created = (await response.json()) as { id: string };
  const renamed = await fetch(`${hub.url}/api/audio/${created.id}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title }) });
  expect(renamed.status).to.equal(200);
  return { id: created.id, title };
}

/** A JSON client for the hub's API with the token `token()` answers; a failed answer fails the test with the hub's error. */
export function apiClient(hub: () => Hub, token: () => string): <T>(method: string, route: string, body?: unknown) => Promise<T> {
  return async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const answer = await call(hub(), method, route, token(), body);
    expect(answer.status >= 200 && answer.status < 300, `${method} ${route}: ${answer.status} ${answer.text}`).to.equal(true);
    return JSON.parse(answer.text) as T;
  };
}
