import { LitElement, css, html, nothing } from 'lit';
import { addAlarm, deleteAlarm, getSettings, patchAlarm, patchSettings, type PlayerSettingsChange, type PlayerSettingsView } from '../api/player';
import { sharedStyles } from './shared-styles';
import { internalState } from './internal-state';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * The Settings section of a player's page: day/night times, maximum volumes,
 * brightness, night light and alarms. Each change is sent alone (PATCH of one
 * field: the hub keeps every other setting) and the answer is shown.
 */
export class YotoPlayerSettings extends LitElement {
  static override properties = {
    deviceId: { type: String },
    name: { type: String },
    ...internalState('settings', 'message'),
  };

  declare deviceId: string;
  declare name: string;
  declare settings: PlayerSettingsView | undefined;
  declare message: string | undefined;
  private loadedFor = '';

  constructor() {
    super();
    this.deviceId = '';
    this.name = '';
  }

  static override styles = [
    sharedStyles,
    css`
      fieldset { border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 10px; padding: 0.75rem; margin: 0 0 0.75rem; display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0.5rem; }
      legend { font-weight: 600; padding: 0 0.25rem; }
      label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.9rem; }
      ul { list-style: none; margin: 0; padding: 0; grid-column: 1 / -1; }
      li { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; padding: 0.25rem 0; }
      form.add { grid-column: 1 / -1; display: flex; gap: 0.5rem; align-items: end; flex-wrap: wrap; }
    `,
  ];

  override updated(): void {
    if (this.deviceId && this.loadedFor !== this.deviceId) {
      this.loadedFor = this.deviceId;
      void this.load();
    }
  }

  private async load(): Promise<void> {
    try {
      this.settings = await getSettings(this.deviceId);
    } catch (error) {
      this.message = `Settings are not available: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private async change(change: PlayerSettingsChange, what: string): Promise<void> {
    try {
      this.settings = await patchSettings(this.deviceId, change);
      this.message = `Saved: ${what}`;
    } catch (error) {
      this.message = `Not saved (${what}): ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private async alarmAction(action: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await action();
      this.settings = await getSettings(this.deviceId);
      this.message = what;
    } catch (error) {
      this.message = `Alarm not changed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private addAlarm(event: SubmitEvent): void {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const time = String(form.get('time') ?? '');
    if (time) void this.alarmAction(() => addAlarm(this.deviceId, { time }), `Alarm added at ${time}`);
  }

  override render() {
    const s = this.settings;
    if (!s) return html`<p class="muted" role="status">${this.message ?? 'Reading settings…'}</p>`;
    const name = this.name || this.deviceId;
    const presets = Object.keys(s.capabilities.nightLightPresets);
    const brightness = (mode: 'day' | 'night') => {
      const key = mode === 'day' ? 'dayBrightness' : 'nightBrightness';
      const value = s[key];
      return html`<label>${mode === 'day' ? 'Day' : 'Night'} brightness
        <select aria-label="${mode === 'day' ? 'Day' : 'Night'} screen brightness of ${name}" @change=${(e: Event) => {
          const raw = (e.target as HTMLSelectElement).value;
          void this.change({ [key]: raw === 'auto' ? 'auto' : Number(raw) }, `${mode} brightness`);
        }}>
          ${s.capabilities.lightSensor ? html`<option value="auto" ?selected=${value === 'auto'}>Automatic</option>` : nothing}
          ${[10, 25, 50, 75, 100].map((level) => html`<option value=${level} ?selected=${value === level}>${level}%</option>`)}
          ${typeof value === 'number' && ![10, 25, 50, 75, 100].includes(value) ? html`<option value=${value} selected>${value}%</option>` : nothing}
        </select></label>`;
    };
    const light = (mode: 'day' | 'night') => {
      const key = mode === 'day' ? 'dayNightLight' : 'nightNightLight';
      const current = s[key] ?? 'off';
      const currentName = Object.entries(s.capabilities.nightLightPresets).find(([, hex]) => hex === current)?.[0] ?? (current === 'off' ? 'off' : current);
      return html`<label>${mode === 'day' ? 'Day' : 'Night'} night light
        <select aria-label="${mode === 'day' ? 'Day' : 'Night'} night light of ${name}" @change=${(e: Event) => void this.change({ [key]: (e.target as HTMLSelectElement).value }, `${mode} night light`)}>
          <option value="off" ?selected=${currentName === 'off'}>Off</option>
          ${presets.map((preset) => html`<option value=${preset} ?selected=${currentName === preset}>${preset}</option>`)}
        </select></label>`;
    };
    return html`
      <fieldset>
        <legend>Day and night</legend>
        <label>Day starts <input type="time" .value=${s.dayTime} aria-label="Day mode starts on ${name}" @change=${(e: Event) => void this.change({ dayTime: (e.target as HTMLInputElement).value }, 'day start')}></label>
        <label>Night starts <input type="time" .value=${s.nightTime} aria-label="Night mode starts on ${name}" @change=${(e: Event) => void this.change({ nightTime: (e.target as HTMLInputElement).value }, 'night start')}></label>
        <label>Day maximum volume <input type="number" min="0" max="16" .value=${String(s.dayMaxVolume)} aria-label="Day maximum volume of ${name} (0 to 16)" @change=${(e: Event) => void this.change({ dayMaxVolume: Number((e.target as HTMLInputElement).value) }, 'day maximum volume')}></label>
        <label>Night maximum volume <input type="number" min="0" max="16" .value=${String(s.nightMaxVolume)} aria-label="Night maximum volume of ${name} (0 to 16)" @change=${(e: Event) => void this.change({ nightMaxVolume: Number((e.target as HTMLInputElement).value) }, 'night maximum volume')}></label>
        ${brightness('day')} ${brightness('night')}
        ${s.capabilities.nightLight ? html`${light('day')} ${light('night')}` : nothing}
        <label>Clock <select aria-label="Clock format of ${name}" @change=${(e: Event) => void this.change({ hourFormat: Number((e.target as HTMLSelectElement).value) as 12 | 24 }, 'clock format')}>
          <option value="12" ?selected=${s.hourFormat === 12}>12-hour</option><option value="24" ?selected=${s.hourFormat === 24}>24-hour</option></select></label>
        <label><span>Bluetooth</span><input type="checkbox" .checked=${s.bluetoothEnabled} aria-label="Bluetooth on ${name}" @change=${(e: Event) => void this.change({ bluetoothEnabled: (e.target as HTMLInputElement).checked }, 'Bluetooth')}></label>
      </fieldset>
      <fieldset>
        <legend>Alarms</legend>
        <ul data-testid="alarms">
          ${s.alarms.length === 0 ? html`<li class="muted">No alarms.</li>` : nothing}
          ${s.alarms.map((alarm) => html`<li>
            <strong>${alarm.time}</strong>
            <span class="muted">${DAYS.filter((_, i) => alarm.days[i] === '1').join(' ') || 'never'}</span>
            <label style="flex-direction:row"><input type="checkbox" .checked=${alarm.enabled} aria-label="Alarm at ${alarm.time} enabled"
              @change=${(e: Event) => void this.alarmAction(() => patchAlarm(this.deviceId, alarm.id, { enabled: (e.target as HTMLInputElement).checked }), `Alarm at ${alarm.time} ${(e.target as HTMLInputElement).checked ? 'enabled' : 'disabled'}`)}> on</label>
            <button type="button" aria-label="Delete the alarm at ${alarm.time}" @click=${() => void this.alarmAction(() => deleteAlarm(this.deviceId, alarm.id), `Alarm at ${alarm.time} deleted`)}>Delete</button>
          </li>`)}
        </ul>
        <form class="add" @submit=${(e: SubmitEvent) => this.addAlarm(e)}>
          <label>New alarm <input type="time" name="time" required aria-label="Time of a new alarm on ${name}"></label>
          <button type="submit">Add alarm</button>
        </form>
      </fieldset>
      ${this.message ? html`<p class="muted" role="status" data-testid="settings-message">${this.message}</p>` : nothing}
    `;
  }
}

customElements.define('yoto-player-settings', YotoPlayerSettings);
