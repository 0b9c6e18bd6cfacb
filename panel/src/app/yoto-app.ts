import { LitElement, css, html, nothing } from 'lit';
import { Router } from '@lit-labs/router';
import { AuthController } from '../controllers/auth-controller';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import { auth } from '../state/auth-store';
import { preloadView } from './view-preload';
import { DEVICE_COMMAND_EVENT, sendDeviceCommand, type DeviceCommandDetail } from '../state/commands';
// The start page comes with the shell (one chunk, asked for with main.js): a returning user's
// Dashboard waits for no further module once the shell runs. The other views load on first visit.
import '../views/dashboard-view';

/** Fired (bubbling, composed) by a view that wants to go somewhere: `detail` is the path. */
export const NAVIGATE_EVENT = 'yoto-navigate';

type Access = 'public' | 'onboarding' | 'signed-out' | 'signed-in';

const NAV = [
  { path: '/', label: 'Dashboard' },
  { path: '/devices', label: 'Devices' },
  { path: '/library', label: 'Library' },
  { path: '/cards', label: 'Cards' },
  { path: '/scripts', label: 'Scripts' },
  { path: '/stories', label: 'Stories' },
  { path: '/settings', label: 'Settings' },
  { path: '/system', label: 'System' },
];

/**
 * The panel's shell: header, navigation and the routed view. It owns the
 * route guard (onboarding first, then sign-in), sends the device commands
 * views fire as events, and loads each view's code when it is first visited.
 */
export class YotoApp extends LitElement {
  static override styles = css`
    :host { display: block; min-height: 100vh; }
    header { display: flex; align-items: center; gap: 0.5rem 1rem; padding: 0.5rem 1rem; background: var(--card); border-bottom: 1px solid color-mix(in srgb, var(--fg) 12%, transparent); flex-wrap: wrap; }
    h1 { font-size: 1.1rem; margin: 0; }
    h1 span { color: var(--accent); }
    nav { display: flex; gap: 0.25rem; flex-wrap: wrap; }
    nav a { color: inherit; text-decoration: none; padding: 0.35rem 0.6rem; border-radius: 6px; }
    nav a[aria-current='page'] { background: color-mix(in srgb, var(--accent) 22%, transparent); }
    nav a:hover, nav a:focus-visible { background: color-mix(in srgb, var(--accent) 15%, transparent); outline: none; }
    .spacer { flex: 1; }
    .who { display: flex; gap: 0.5rem; align-items: center; font-size: 0.875rem; }
    .live { font-size: 0.8rem; color: var(--muted); }
    .live.open { color: var(--ok); }
    button { font: inherit; font-size: 0.875rem; border: 1px solid color-mix(in srgb, var(--fg) 20%, transparent); background: transparent; color: var(--fg); border-radius: 8px; padding: 0.3rem 0.7rem; cursor: pointer; min-height: 2.25rem; }
    button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
    main { padding: 1rem; max-width: 1100px; margin: 0 auto; }
    .toast { position: fixed; bottom: 1rem; left: 50%; transform: translateX(-50%); background: var(--bad); color: #fff; padding: 0.5rem 1rem; border-radius: 8px; max-width: 90vw; }
    @media (max-width: 600px) {
      header { padding: 0.5rem; }
      main { padding: 0.75rem 0.5rem; }
      .who .name { display: none; }
    }
  `;

  static override properties = {
    commandError: { state: true },
  };

  declare commandError: string | undefined;
  private errorTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly authState = new AuthController(this);
  private readonly stream = new DeviceStreamController(this);

  private readonly router = new Router(this, [
    { path: '/onboarding', render: () => html`<yoto-auth-view mode="onboarding"></yoto-auth-view>`, enter: () => this.guard('onboarding', 'auth-view', () => import('../views/auth-view')) },
    { path: '/login', render: () => html`<yoto-auth-view mode="login"></yoto-auth-view>`, enter: () => this.guard('signed-out', 'auth-view', () => import('../views/auth-view')) },
    { path: '/', render: () => html`<yoto-dashboard-view></yoto-dashboard-view>`, enter: () => this.guard('signed-in') },
    { path: '/library', render: () => html`<yoto-library-view></yoto-library-view>`, enter: () => this.guard('signed-in', 'library-view', () => import('../views/library-view')) },
    { path: '/cards', render: () => html`<yoto-cards-view></yoto-cards-view>`, enter: () => this.guard('signed-in', 'cards-view', () => import('../views/cards-view')) },
    { path: '/devices', render: () => html`<yoto-devices-view></yoto-devices-view>`, enter: () => this.guard('signed-in', 'devices-view', () => import('../views/devices-view')) },
    { path: '/devices/:id', render: ({ id }) => html`<yoto-device-detail-view .deviceId=${id ?? ''}></yoto-device-detail-view>`, enter: () => this.guard('signed-in', 'device-detail-view', () => import('../views/device-detail-view')) },
    { path: '/scripts', render: () => html`<yoto-scripts-view></yoto-scripts-view>`, enter: () => this.guard('signed-in', 'scripts-view', () => import('../views/scripts-view')) },
    { path: '/scripts/:id', render: ({ id }) => html`<yoto-scripts-view .scriptId=${id ?? ''}></yoto-scripts-view>`, enter: () => this.guard('signed-in', 'scripts-view', () => import('../views/scripts-view')) },
    { path: '/stories', render: () => html`<yoto-stories-view></yoto-stories-view>`, enter: () => this.guard('signed-in', 'stories-view', () => import('../views/stories-view')) },
    { path: '/stories/:id', render: ({ id }) => html`<yoto-stories-view .storyId=${id ?? ''}></yoto-stories-view>`, enter: () => this.guard('signed-in', 'stories-view', () => import('../views/stories-view')) },
    { path: '/settings', render: () => html`<yoto-settings-view></yoto-settings-view>`, enter: () => this.guard('signed-in', 'settings-view', () => import('../views/settings-view')) },
    { path: '/system', render: () => html`<yoto-system-view></yoto-system-view>`, enter: () => this.guard('public', 'system-view', () => import('../views/system-view')) },
    { path: '/*', render: () => html`<p role="alert">This page does not exist. <a href="/">Go to the start page</a>.</p>` },
  ]);

  constructor() {
    super();
    this.addEventListener(DEVICE_COMMAND_EVENT, (event: Event) => void this.onDeviceCommand(event as CustomEvent<DeviceCommandDetail>));
    this.addEventListener(NAVIGATE_EVENT, (event: Event) => this.navigate((event as CustomEvent<string>).detail));
    // Signing in or out from anywhere moves the panel to where it belongs.
    let phase = auth.phase;
    auth.subscribe(() => {
      if (auth.phase === phase) return;
      phase = auth.phase;
      void this.router.goto(location.pathname).then(() => this.requestUpdate());
    });
  }

  /** Waits for the first auth check, sends the user where the hub's state requires, then loads the view's code (none for the start page: it is loaded). */
  private async guard(access: Access, view?: string, importView?: () => Promise<unknown>): Promise<boolean> {
    const load = (): Promise<unknown> => {
      if (view === undefined || importView === undefined) return Promise.resolve();
      preloadView(view);
      return importView();
    };
    // With a stored session, fetch the view's code while the session is checked, not after.
    const early = access === 'signed-in' && auth.phase === 'unknown' && auth.hasSession ? load() : undefined;
    early?.catch(() => undefined);
    await auth.ready;
    const target = where(access, auth.phase);
    if (target !== undefined) {
      // Redirect after this navigation is refused, so the URL and the view agree.
      queueMicrotask(() => this.navigate(target, true));
      return false;
    }
    await (early ?? load());
    return true;
  }

  navigate(path: string, replace = false): void {
    if (location.pathname !== path) {
      if (replace) history.replaceState({}, '', path);
      else history.pushState({}, '', path);
    }
    void this.router.goto(path).then(() => this.requestUpdate());
  }

  private async onDeviceCommand(event: CustomEvent<DeviceCommandDetail>): Promise<void> {
    const { deviceId, command, done } = event.detail;
    try {
      await sendDeviceCommand(deviceId, command);
      done?.();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.commandError = `${command.command} failed: ${failure.message}`;
      clearTimeout(this.errorTimer);
      this.errorTimer = setTimeout(() => { this.commandError = undefined; }, 6000);
      done?.(failure);
    }
  }

  private async logout(): Promise<void> {
    await auth.logout();
    this.navigate('/login');
  }

  override render() {
    const signedIn = this.authState.auth.phase === 'signed-in';
    const connection = this.stream.store.connection;
    const path = location.pathname;
    return html`
      <header>
        <h1><span>Yoto</span> Smart Stream</h1>
        ${signedIn
          ? html`<nav aria-label="Main">
              ${NAV.map((item) => html`<a href=${item.path} aria-current=${isCurrent(item.path, path) ? 'page' : 'false'}>${item.label}</a>`)}
            </nav>`
          : html`<nav aria-label="Main"><a href="/system" aria-current=${path === '/system' ? 'page' : 'false'}>System</a></nav>`}
        <span class="spacer"></span>
        ${signedIn
          ? html`<div class="who">
              <span class="live ${connection}" role="status" data-testid="connection">${connectionLabel(connection)}</span>
              <span class="name">${this.authState.auth.user?.name ?? ''}</span>
              <button type="button" @click=${() => void this.logout()}>Log out</button>
            </div>`
          : nothing}
      </header>
      <main>${this.router.outlet()}</main>
      ${this.commandError ? html`<div class="toast" role="alert">${this.commandError}</div>` : nothing}
    `;
  }
}

/** Where a user in `phase` must go instead of a route needing `access`; undefined when they may stay. */
function where(access: Access, phase: string): string | undefined {
  if (access === 'public') return undefined;
  if (phase === 'onboarding') return access === 'onboarding' ? undefined : '/onboarding';
  if (phase === 'signed-in') return access === 'signed-in' ? undefined : '/';
  return access === 'signed-out' ? undefined : '/login';
}

function isCurrent(item: string, path: string): boolean {
  return item === '/' ? path === '/' : path === item || path.startsWith(`${item}/`);
}

function connectionLabel(state: string): string {
  switch (state) {
    case 'open': return '● Live';
    case 'connecting': return 'Connecting…';
    case 'reconnecting': return 'Reconnecting…';
    default: return 'Offline';
  }
}

// Defined by main.ts, once the boot script's refresh is answered.
