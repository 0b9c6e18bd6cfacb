import { LitElement, html } from 'lit';
import '../components/device-card';
import { sharedStyles } from '../components/shared-styles';
import { DeviceStreamController } from '../controllers/device-stream-controller';

/** The list of players; each links to its detail view with controls. */
export class YotoDevicesView extends LitElement {
  private readonly stream = new DeviceStreamController(this, { tick: true });

  static override styles = sharedStyles;

  override render() {
    const store = this.stream.store;
    const entries = store.list();
    return html`
      <h2>Devices</h2>
      ${entries.length === 0
        ? html`<p class="muted" aria-busy=${store.synced ? 'false' : 'true'}>${store.synced ? 'No players.' : 'Waiting for the players…'}</p>`
        : html`<div class="grid" role="list">
            ${entries.map((entry) => html`<div role="listitem"><yoto-device-card .entry=${entry} .now=${this.stream.now} link>
              <a class="button" href="/devices/${encodeURIComponent(entry.deviceId)}" aria-label="Open ${entry.name}">Controls</a>
            </yoto-device-card></div>`)}
          </div>`}
    `;
  }
}

customElements.define('yoto-devices-view', YotoDevicesView);
