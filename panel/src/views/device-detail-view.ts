import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { deviceListeningByDay, type AnalyticsDay } from '../api/analytics';
import type { BrokerCommandMessage } from '../api/types';
import '../components/device-card';
import '../components/usage-chart';
import '../components/player-settings';
import { sharedStyles } from '../components/shared-styles';
import { formatTime, humanize } from '../components/format';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import { deviceCommandEvent } from '../state/commands';
import { isOnline } from '../state/device-store';
import { internalState } from '../components/internal-state';

const SLEEP_CHOICES = [
  { seconds: 0, label: 'Off' },
  { seconds: 5 * 60, label: '5 minutes' },
  { seconds: 15 * 60, label: '15 minutes' },
  { seconds: 30 * 60, label: '30 minutes' },
  { seconds: 60 * 60, label: '1 hour' },
];

/**
 * One player, live, with its controls. Controls fire `yoto-device-command`
 * events (bubbling, composed); the shell sends them, the store shows the
 * expected result at once and the next `device.playback` confirms it.
 */
export class YotoDeviceDetailView extends LitElement {
  static override properties = {
    deviceId: { type: String },
    ...internalState('note', 'volumeDraft', 'usage', 'usageError'),
  };

  declare deviceId: string;
  /** What the last sleep or night-light command did (no playback field shows them). */
  declare note: string | undefined;
  /** The slider's value while it is being dragged. */
  declare volumeDraft: number | undefined;
  /** Listening time per day, last 7 days, for `deviceId` (undefined until read). */
  declare usage: { deviceId: string; days: AnalyticsDay[] } | undefined;
  declare usageError: string | undefined;
  private readonly stream = new DeviceStreamController(this, { tick: true });

  constructor() {
    super();
    this.deviceId = '';
  }

  static override styles = [
    sharedStyles,
    css`
      .layout { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1rem; align-items: start; }
      @media (max-width: 700px) { .layout { grid-template-columns: 1fr; } }
      fieldset { border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 10px; padding: 0.75rem; margin: 0 0 0.75rem; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
      legend { font-weight: 600; padding: 0 0.25rem; }
      label { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      input[type='range'] { flex: 1; min-width: 160px; }
      input.card-id { width: 8rem; }
      input[type='color'] { width: 3rem; padding: 0.1rem; }
      .events { list-style: none; margin: 0; padding: 0; font-size: 0.9rem; }
      .events li { padding: 0.25rem 0; border-bottom: 1px solid color-mix(in srgb, var(--fg) 8%, transparent); }
      .back { display: inline-block; margin-bottom: 0.75rem; }
    `,
  ];

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('deviceId') && this.deviceId) void this.loadUsage(this.deviceId);
  }

  private async loadUsage(deviceId: string): Promise<void> {
    try {
      const days = await deviceListeningByDay(deviceId, 7);
      if (deviceId !== this.deviceId) return;
      this.usage = { deviceId, days };
      this.usageError = undefined;
    } catch (error) {
      if (deviceId === this.deviceId) this.usageError = error instanceof Error ? error.message : String(error);
    }
  }

  private send(command: BrokerCommandMessage, note?: string): void {
    this.dispatchEvent(deviceCommandEvent({
      deviceId: this.deviceId,
      command,
      done: (error) => {
        if (!error && note) this.note = note;
      },
    }));
  }

  private playCard(event: SubmitEvent): void {
    event.preventDefault();
    const cardId = String(new FormData(event.target as HTMLFormElement).get('card') ?? '').trim();
    if (cardId) this.send({ command: 'play', card_id: cardId });
  }

  private setVolume(event: Event): void {
    const volume = Number((event.target as HTMLInputElement).value);
    this.volumeDraft = undefined;
    this.send({ command: 'volume', volume });
  }

  private setSleep(event: SubmitEvent): void {
    event.preventDefault();
    const seconds = Number(new FormData(event.target as HTMLFormElement).get('sleep') ?? 0);
    const choice = SLEEP_CHOICES.find((item) => item.seconds === seconds);
    this.send({ command: 'sleep', seconds }, seconds === 0 ? 'Sleep timer cancelled' : `Sleep timer set: ${choice?.label ?? `${seconds} s`}`);
  }

  private setLight(event: SubmitEvent): void {
    event.preventDefault();
    const color = String(new FormData(event.target as HTMLFormElement).get('color') ?? '#ffb347');
    this.send({ command: 'nightlight', color }, `Night light ${color}`);
  }

  override render() {
    const store = this.stream.store;
    const entry = store.get(this.deviceId);
    if (!entry) {
      return html`<a class="back" href="/devices">← All devices</a>
        ${store.synced ? html`<p role="alert">There is no player "${this.deviceId}".</p>` : html`<p aria-busy="true" class="muted">Waiting for the player…</p>`}`;
    }
    const playback = store.playbackOf(entry);
    const online = isOnline(entry);
    const volume = this.volumeDraft ?? playback.volume ?? 0;
    const events = store.events.filter((item) => item.deviceId === entry.deviceId).slice(0, 20);
    const name = entry.name;
    return html`
      <a class="back" href="/devices">← All devices</a>
      <h2>${name}</h2>
      <div class="layout">
        <div>
          <yoto-device-card .entry=${entry} .now=${this.stream.now}></yoto-device-card>
          <h3 style="margin-top:1rem" id="usage-heading">Listening, last 7 days</h3>
          <section aria-labelledby="usage-heading" data-testid="usage">
            ${this.usage?.deviceId === entry.deviceId
              ? html`<yoto-usage-chart .days=${this.usage.days} label="Listening time per day on ${name}, last 7 days"></yoto-usage-chart>`
              : this.usageError
                ? html`<p class="muted" role="status">Usage is not available: ${this.usageError}</p>`
                : html`<p class="muted" aria-busy="true">Reading usage…</p>`}
          </section>
          <h3 style="margin-top:1rem">Recent events</h3>
          ${events.length === 0
            ? html`<p class="muted">None since the panel opened.</p>`
            : html`<ul class="events" data-testid="event-log" aria-live="polite">${events.map(({ event }) => html`<li><time class="muted" datetime=${event.timestamp}>${formatTime(event.timestamp)}</time> ${humanize(event.type)}${typeof event['title'] === 'string' ? html`: ${event['title']}` : typeof event['message'] === 'string' ? html`: ${event['message']}` : nothing}</li>`)}</ul>`}
        </div>
        <div aria-label="Controls for ${name}" role="group">
          ${online ? nothing : html`<p class="warn" role="status">${name} is offline: commands will fail until it is back.</p>`}
          <fieldset>
            <legend>Playback</legend>
            <form class="row" @submit=${(event: SubmitEvent) => this.playCard(event)}>
              <label>Card <input class="card-id" name="card" value="demo1" aria-label="Card id to play" required pattern="[A-Za-z0-9_-]+"></label>
              <button class="primary" type="submit">Play card</button>
            </form>
            <div class="row">
              <button type="button" @click=${() => this.send({ command: 'previous' })} aria-label="Previous track on ${name}">Previous</button>
              <button type="button" @click=${() => this.send({ command: 'pause' })} aria-label="Pause ${name}" ?disabled=${playback.state !== 'playing'}>Pause</button>
              <button type="button" @click=${() => this.send({ command: 'resume' })} aria-label="Resume ${name}" ?disabled=${playback.state !== 'paused'}>▶ Resume</button>
              <button type="button" @click=${() => this.send({ command: 'stop' })} aria-label="Stop ${name}">Stop</button>
              <button type="button" @click=${() => this.send({ command: 'next' })} aria-label="Next track on ${name}">Next</button>
            </div>
          </fieldset>
          <fieldset>
            <legend>Volume</legend>
            <label style="flex:1">
              <span class="visually-hidden">Volume of ${name}</span>
              <input type="range" min="0" max="100" step="1" .value=${String(volume)} aria-label="Volume of ${name}" aria-valuetext="${volume}%"
                @input=${(event: Event) => { this.volumeDraft = Number((event.target as HTMLInputElement).value); }}
                @change=${(event: Event) => this.setVolume(event)}>
              <output>${volume}%</output>
            </label>
          </fieldset>
          <fieldset>
            <legend>Sleep timer</legend>
            <form class="row" @submit=${(event: SubmitEvent) => this.setSleep(event)}>
              <label>Stop after
                <select name="sleep" aria-label="Sleep timer for ${name}">${SLEEP_CHOICES.map((choice) => html`<option value=${choice.seconds}>${choice.label}</option>`)}</select>
              </label>
              <button type="submit">Set timer</button>
            </form>
          </fieldset>
          <fieldset>
            <legend>Night light</legend>
            <form class="row" @submit=${(event: SubmitEvent) => this.setLight(event)}>
              <label>Colour <input type="color" name="color" value="#ffb347" aria-label="Night light colour for ${name}"></label>
              <button type="submit">Turn on</button>
              <button type="button" @click=${() => this.send({ command: 'nightlight', color: 'off' }, 'Night light off')}>Turn off</button>
            </form>
          </fieldset>
          <fieldset>
            <legend>Player</legend>
            <div class="row">
              <button type="button" @click=${() => this.send({ command: 'reboot' }, `${name} is restarting`)} aria-label="Restart ${name}">Restart</button>
            </div>
          </fieldset>
          ${this.note ? html`<p class="muted" role="status">${this.note}</p>` : nothing}
          <h3 id="settings-heading">Settings</h3>
          <section aria-labelledby="settings-heading"><yoto-player-settings .deviceId=${entry.deviceId} .name=${name}></yoto-player-settings></section>
        </div>
      </div>
    `;
  }
}

customElements.define('yoto-device-detail-view', YotoDeviceDetailView);
