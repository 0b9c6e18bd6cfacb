import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { BATTERY_LOW_PERCENT, isOnline, livePosition, type DeviceEntry } from '../state/device-store';
import { formatDuration } from './format';
import { sharedStyles } from './shared-styles';

/**
 * A player's card's styles, for the shadow root it is rendered in (with sharedStyles): the card
 * element's own, or a view that renders the cards itself (deviceCard), as the Dashboard does.
 */
export const deviceCardStyles = css`
  .device { display: flex; flex-direction: column; gap: 0.4rem; height: 100%; box-sizing: border-box; }
  .device .head { display: flex; justify-content: space-between; gap: 0.5rem; align-items: baseline; }
  .device .head a { color: inherit; text-decoration: none; }
  .device .head a[href]:hover { text-decoration: underline; }
  .device .dot { display: inline-block; width: 0.6rem; height: 0.6rem; border-radius: 50%; background: var(--bad); margin-right: 0.35rem; }
  .device .dot.on { background: var(--ok); }
  .device .title { font-weight: 600; overflow-wrap: anywhere; }
  .device .meter { display: flex; justify-content: space-between; }
  .device .pending { opacity: 0.7; font-style: italic; }
`;

/** How a card is shown: `now` to compute the live position at; with `link`, the name links to the player's page; `extra` goes last in the card. */
export interface DeviceCardOptions {
  now: number;
  link: boolean;
  extra?: unknown;
}

/**
 * One player at a glance (online, battery, what plays with a progress bar, volume) as a template,
 * for a view that shows many: the Dashboard renders 200 players' cards in its own render and
 * shadow root this way, without an element, a shadow root and an update of its own per card.
 */
export function deviceCard(entry: DeviceEntry, options: DeviceCardOptions): TemplateResult {
  const online = isOnline(entry);
  const playback = { ...entry.playback, ...entry.optimistic };
  const battery = entry.status?.battery;
  const position = livePosition(entry, playback, options.now);
  const state = playback.state ?? 'idle';
  const active = state === 'playing' || state === 'paused' || state === 'loading';
  // Attribute and text bindings rather than nested templates where the markup is the same either
  // way: a Dashboard of 200 players clones a template per nested one per card on its first render.
  // Without `link` the name is an <a> without href: plain text, not a link.
  const batteryText = battery !== undefined ? `Battery ${battery}%${entry.status?.charging ? ' (charging)' : ''}` : 'Battery unknown';
  // Where the sound goes when not to the speaker (empty otherwise): what a parent checks when "it plays but nothing is heard".
  const output = entry.status?.headphones ? ' · Headphones' : entry.status?.bluetooth_audio ? ' · Bluetooth audio' : '';
  // The card the track is on, once the hub has named it (a chapter of "The Sleepy Dragon", say).
  const cardTitle = active && playback.card_title && playback.card_title !== playback.title ? ` · ${playback.card_title}` : '';
  return html`
    <article class="card device" aria-label=${entry.name} data-device=${entry.deviceId}>
      <div class="head">
        <h3><a href=${options.link ? `/devices/${encodeURIComponent(entry.deviceId)}` : nothing} .textContent=${entry.name}></a></h3>
        <span class=${online ? 'ok' : 'bad'} data-testid="online"><span class="dot ${online ? 'on' : ''}" aria-hidden="true"></span>${online ? 'Online' : 'Offline'}</span>
      </div>
      <div class="muted">
        <span class=${battery !== undefined && battery <= BATTERY_LOW_PERCENT ? 'bad' : ''} data-testid="battery" .textContent=${batteryText}></span>${entry.model ? ` · ${entry.model}` : ''}<span data-testid="audio-output" .textContent=${output}></span>
      </div>
      <div class=${entry.optimistic ? 'pending' : ''} aria-live="polite">
        <span data-testid="playback-state" .textContent=${stateLabel(state)}></span>${active && playback.title ? html`: <span class="title" data-testid="playback-title">${playback.title}</span>` : nothing}<span class="muted" data-testid="playback-card" .textContent=${cardTitle}></span>
      </div>
      ${active && playback.duration
        ? html`<progress max=${playback.duration} .value=${position ?? 0} aria-label="Progress of ${playback.title ?? 'the track'} on ${entry.name}"></progress>
            <div class="meter muted"><span>${formatDuration(position)}</span><span>${formatDuration(playback.duration)}</span></div>`
        : nothing}
      <div class="muted" data-testid="volume" .textContent=${`Volume ${playback.volume !== undefined ? `${playback.volume}%` : '–'}`}></div>
      ${options.extra ?? nothing}
    </article>
  `;
}

/** One player's card as an element (the Devices and a player's view): state comes down as `entry`; its children go last in the card. */
export class YotoDeviceCard extends LitElement {
  static override properties = {
    entry: { attribute: false },
    link: { type: Boolean },
    now: { type: Number },
  };

  declare entry: DeviceEntry | undefined;
  declare link: boolean;
  /** The time to compute the live position at (the host's ticker passes it down). */
  declare now: number | undefined;

  constructor() {
    super();
    this.link = false;
  }

  static override styles = [
    sharedStyles,
    deviceCardStyles,
    css`
      /* Off-screen cards skip style, layout and paint until scrolled near. */
      :host { content-visibility: auto; contain-intrinsic-size: auto 9rem; }
    `,
  ];

  override render() {
    if (!this.entry) return nothing;
    return deviceCard(this.entry, { now: this.now ?? Date.now(), link: this.link, extra: html`<slot></slot>` });
  }
}

export function stateLabel(state: string): string {
  switch (state) {
    case 'playing': return 'Playing';
    case 'paused': return 'Paused';
    case 'stopped': return 'Stopped';
    case 'loading': return 'Loading';
    default: return 'Idle';
  }
}

if (!customElements.get('yoto-device-card')) customElements.define('yoto-device-card', YotoDeviceCard);
