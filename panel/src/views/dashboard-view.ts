import { LitElement, css, html, nothing } from 'lit';
import { todayOverview, type AnalyticsOverview } from '../api/analytics';
import { deviceCard, deviceCardStyles } from '../components/device-card';
import '../components/announce-form';
import { formatListening, formatTime, humanize } from '../components/format';
import { sharedStyles } from '../components/shared-styles';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import { alertsOf } from '../state/device-store';
import { internalState } from '../components/internal-state';

/** How often today's listening time is read again while the Dashboard is open. */
const OVERVIEW_REFRESH_MS = 60_000;
/** How long today's figures wait for the players' first picture before they are read anyway. */
const OVERVIEW_WAIT_MS = 5_000;

/** User Timing marks: the Dashboard's first render (detail: the cards it had), and its first render with the players' first picture, every card in (detail: how many). */
export const DASHBOARD_SHELL_MARK = 'yoto:dashboard-shell';
export const DASHBOARD_CARDS_MARK = 'yoto:dashboard-cards';

/** Every player at a glance, today's listening time, alerts (offline, battery low, stream failures) and the latest events. */
export class YotoDashboardView extends LitElement {
  static override properties = internalState('overview', 'overviewError');

  /** Today's analytics overview; undefined until the first answer. */
  declare overview: AnalyticsOverview | undefined;
  declare overviewError: string | undefined;
  private readonly stream = new DeviceStreamController(this, { tick: true });
  private overviewTimer: ReturnType<typeof setInterval> | undefined;
  /** The newest event seen; a playback change after it reads today's figures again. */
  private newestEvent: unknown;
  private overviewLoading = false;
  private overviewStale = false;

  override connectedCallback(): void {
    super.connectedCallback();
    // Events from before the Dashboard opened are in the figures it is about to read.
    this.newestEvent = this.stream.store.events[0];
    this.loadOverviewAfterPlayers();
    this.overviewTimer = setInterval(() => void this.loadOverview(), OVERVIEW_REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.overviewTimer);
    this.stopWaitingForPlayers?.();
  }

  private stopWaitingForPlayers: (() => void) | undefined;

  /**
   * Today's figures are read once the players are in (or after OVERVIEW_WAIT_MS without them):
   * asked for at once, their request and their render took the hub's and the page's time while
   * the players' first picture was on its way.
   */
  private loadOverviewAfterPlayers(): void {
    const store = this.stream.store;
    if (store.synced) {
      void this.loadOverview();
      return;
    }
    const start = (): void => {
      this.stopWaitingForPlayers?.();
      if (this.isConnected) void this.loadOverview();
    };
    const unsubscribe = store.subscribe(() => {
      if (store.synced) start();
    });
    const timer = setTimeout(start, OVERVIEW_WAIT_MS);
    this.stopWaitingForPlayers = () => {
      this.stopWaitingForPlayers = undefined;
      unsubscribe();
      clearTimeout(timer);
    };
  }

  /** One request at a time; a reload asked for meanwhile runs once the current one is answered. */
  private async loadOverview(): Promise<void> {
    if (this.overviewLoading) {
      this.overviewStale = true;
      return;
    }
    this.overviewLoading = true;
    try {
      this.overview = await todayOverview();
      this.overviewError = undefined;
    } catch (error) {
      this.overviewError = error instanceof Error ? error.message : String(error);
    } finally {
      this.overviewLoading = false;
      if (this.overviewStale && this.isConnected) {
        this.overviewStale = false;
        void this.loadOverview();
      }
    }
  }

  /** The first render with the players' first picture in has been marked (see markCardsRendered). */
  private cardsMarked = false;

  override firstUpdated(): void {
    // How many cards the first render had: all of them when the players' first picture was in before it.
    performance.mark(DASHBOARD_SHELL_MARK, { detail: { players: this.cardCount() } });
  }

  /**
   * Records a User Timing mark once the players' first picture has rendered, every card with it
   * (the cards are part of this view's render; the bench reads the mark:
   * `performance.getEntriesByName('yoto:dashboard-cards')`, detail `{players}`).
   */
  override updated(): void {
    if (this.cardsMarked || !this.stream.store.synced) return;
    this.cardsMarked = true;
    performance.mark(DASHBOARD_CARDS_MARK, { detail: { players: this.cardCount() } });
  }

  private cardCount(): number {
    return this.renderRoot.querySelectorAll('article[data-device]').length;
  }

  /** A player started, paused or stopped: today's listening time and active players change, so read them again. */
  override willUpdate(): void {
    const events = this.stream.store.events;
    if (events.length === 0 || events[0] === this.newestEvent) return;
    let playbackChanged = false;
    for (const entry of events) {
      if (entry === this.newestEvent) break;
      if (/^playback_/.test(entry.event.type)) playbackChanged = true;
    }
    this.newestEvent = events[0];
    if (playbackChanged) void this.loadOverview();
  }

  static override styles = [
    sharedStyles,
    deviceCardStyles,
    css`
      /* Off-screen cards (a Dashboard of 200 players) skip style, layout and paint until scrolled near. */
      .grid > .device { content-visibility: auto; contain-intrinsic-size: auto 9rem; }
      section { margin-bottom: 1.25rem; }
      .alerts { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.4rem; }
      .alerts li { border-left: 4px solid var(--warn); }
      .alerts li.offline, .alerts li.stream_failed { border-left-color: var(--bad); }
      .today { display: flex; gap: 0.5rem 1.5rem; flex-wrap: wrap; align-items: baseline; margin: 0; }
      .today dt { color: var(--muted); }
      .today dd { margin: 0; font-size: 1.4rem; font-weight: 600; font-variant-numeric: tabular-nums; }
      .events { list-style: none; padding: 0; margin: 0; }
      .events li { display: flex; gap: 0.75rem; padding: 0.35rem 0; border-bottom: 1px solid color-mix(in srgb, var(--fg) 8%, transparent); flex-wrap: wrap; }
      .events time { color: var(--muted); font-variant-numeric: tabular-nums; min-width: 5.5rem; }
    `,
  ];

  override render() {
    const store = this.stream.store;
    const entries = store.list();
    const alerts = alertsOf(entries, store.events);
    return html`
      <section aria-labelledby="players">
        <h2 id="players">Players</h2>
        ${entries.length === 0
          ? html`<p class="muted" aria-busy=${store.synced ? 'false' : 'true'}>${store.synced ? 'No players yet: connect the hub to a Yoto account.' : 'Waiting for the players…'}</p>`
          : html`<div class="grid" data-testid="device-grid">${entries.map((entry) => deviceCard(entry, { now: this.stream.now, link: true }))}</div>`}
      </section>
      <section aria-labelledby="announce">
        <h2 id="announce">Announcements</h2>
        <yoto-announce-form .players=${entries.map((entry) => ({ deviceId: entry.deviceId, name: entry.name }))}></yoto-announce-form>
      </section>
      <section aria-labelledby="today">
        <h2 id="today">Today</h2>
        ${this.overview
          ? html`<dl class="today card" data-testid="today">
              <div><dt>Listening time</dt><dd data-testid="today-listening">${formatListening(this.overview.listeningSeconds)}</dd></div>
              <div><dt>Sessions</dt><dd>${this.overview.sessions}</dd></div>
              <div><dt>Active players</dt><dd data-testid="today-active">${this.overview.activeDevices}</dd></div>
            </dl>`
          : this.overviewError
            ? html`<p class="muted" role="status">Today's listening time is not available: ${this.overviewError}</p>`
            : html`<p class="muted" aria-busy="true">Reading today's listening time…</p>`}
      </section>
      <section aria-labelledby="alerts">
        <h2 id="alerts">Alerts</h2>
        ${alerts.length === 0
          ? html`<p class="muted">No alerts.</p>`
          : html`<ul class="alerts" data-testid="alerts">${alerts.map((alert) => html`<li class="card ${alert.kind}" data-kind=${alert.kind} role="alert">${alert.message}</li>`)}</ul>`}
      </section>
      <section aria-labelledby="events">
        <h2 id="events">Recent events</h2>
        ${store.events.length === 0
          ? html`<p class="muted">Nothing has happened since the panel opened.</p>`
          : html`<ul class="events card" data-testid="events">
              ${store.events.slice(0, 15).map(({ deviceId, event }) => html`<li>
                <time datetime=${event.timestamp}>${formatTime(event.timestamp)}</time>
                <strong>${store.get(deviceId)?.name ?? deviceId}</strong>
                <span>${humanize(event.type)}${typeof event['title'] === 'string' ? html`: ${event['title']}` : nothing}</span>
              </li>`)}
            </ul>`}
      </section>
    `;
  }
}

customElements.define('yoto-dashboard-view', YotoDashboardView);
