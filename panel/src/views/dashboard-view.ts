import { LitElement, css, html, nothing } from 'lit';
import '../components/device-card';
import { formatTime, humanize } from '../components/format';
import { sharedStyles } from '../components/shared-styles';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import { alertsOf } from '../state/device-store';

/** Every player at a glance, alerts (offline, battery low) and the latest events. */
export class YotoDashboardView extends LitElement {
  private readonly stream = new DeviceStreamController(this, { tick: true });

  static override styles = [
    sharedStyles,
    css`
      section { margin-bottom: 1.25rem; }
      .alerts { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.4rem; }
      .alerts li { border-left: 4px solid var(--warn); }
      .alerts li.offline { border-left-color: var(--bad); }
      .events { list-style: none; padding: 0; margin: 0; }
      .events li { display: flex; gap: 0.75rem; padding: 0.35rem 0; border-bottom: 1px solid color-mix(in srgb, var(--fg) 8%, transparent); flex-wrap: wrap; }
      .events time { color: var(--muted); font-variant-numeric: tabular-nums; min-width: 5.5rem; }
    `,
  ];

  override render() {
    const store = this.stream.store;
    const entries = store.list();
    const alerts = alertsOf(entries);
    return html`
      <section aria-labelledby="players">
        <h2 id="players">Players</h2>
        ${entries.length === 0
          ? html`<p class="muted" aria-busy=${store.synced ? 'false' : 'true'}>${store.synced ? 'No players yet: connect the hub to a Yoto account.' : 'Waiting for the players…'}</p>`
          : html`<div class="grid" data-testid="device-grid">${entries.map((entry) => html`<yoto-device-card .entry=${entry} .now=${this.stream.now} link></yoto-device-card>`)}</div>`}
      </section>
      <section aria-labelledby="alerts">
        <h2 id="alerts">Alerts</h2>
        ${alerts.length === 0
          ? html`<p class="muted">No alerts.</p>`
          : html`<ul class="alerts" data-testid="alerts">${alerts.map((alert) => html`<li class="card ${alert.kind === 'offline' ? 'offline' : ''}" role="alert">${alert.message}</li>`)}</ul>`}
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
