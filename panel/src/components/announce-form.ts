import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { getAnnouncement, isSettled, postAnnouncement } from '../api/announcements';
import { listAudio } from '../api/audio';
import type { Announcement, AudioFile, BrokerAnnouncementMessage } from '../api/types';
import { humanize } from './format';
import { sharedStyles } from './shared-styles';

type Kind = 'text' | 'file' | 'url';

/** How often the outcome is read again while an announcement is under way. */
const OUTCOME_REFRESH_MS = 1000;

/**
 * "Announce…" on the Dashboard: say a text (or play a library file or a URL) on some players,
 * POST /api/announcements, then each player's outcome as the hub reports it (README "Announcements").
 */
export class YotoAnnounceForm extends LitElement {
  static override properties = {
    kind: { state: true },
    files: { state: true },
    sending: { state: true },
    error: { state: true },
    outcome: { state: true },
    expanded: { state: true },
    players: { attribute: false },
  };

  /** The players to offer (the Dashboard's live list). */
  declare players: ReadonlyArray<{ deviceId: string; name: string }>;

  declare kind: Kind;
  declare files: AudioFile[] | undefined;
  declare sending: boolean;
  declare error: string | undefined;
  declare outcome: Announcement | undefined;
  /** The form is open: the player list (one checkbox per player, 200 on a large Dashboard) is rendered only then. */
  declare expanded: boolean;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.kind = 'text';
    this.sending = false;
    this.expanded = false;
    this.players = [];
  }

  /** While closed, a new player list (each change of any player on the Dashboard) changes nothing shown. */
  override shouldUpdate(changed: PropertyValues<this>): boolean {
    return this.expanded || [...changed.keys()].some((key) => key !== 'players');
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.timer);
  }

  static override styles = [
    sharedStyles,
    css`
      form { display: grid; gap: 0.6rem; max-width: 36rem; }
      label { display: grid; gap: 0.2rem; }
      fieldset { border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 6px; display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; }
      fieldset label, .inline { display: flex; align-items: center; gap: 0.4rem; }
      .row { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: end; }
      .outcome { list-style: none; padding: 0; margin: 0.5rem 0 0; }
      .outcome li { padding: 0.2rem 0; }
      .status-finished { color: var(--ok, inherit); }
      .status-failed, .status-expired, .status-skipped { color: var(--bad, inherit); }
    `,
  ];

  private async loadFiles(): Promise<void> {
    if (this.files) return;
    try {
      this.files = (await listAudio({ sort: 'title', pageSize: 200 })).items;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  private onKind(event: Event): void {
    this.kind = (event.target as HTMLSelectElement).value as Kind;
    if (this.kind === 'file') void this.loadFiles();
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const what = String(data.get('what') ?? '').trim();
    const request: BrokerAnnouncementMessage =
      this.kind === 'text' ? { text: what } : this.kind === 'file' ? { audio_file_id: what } : { url: what };
    const players = data.getAll('player').map(String);
    if (players.length > 0) request.device_ids = players;
    const volume = String(data.get('volume') ?? '').trim();
    if (volume !== '') request.volume = Number(volume);
    if (data.get('priority') === 'high') request.priority = 'high';
    if (data.get('chime') === 'on') request.chime = true;
    this.sending = true;
    this.error = undefined;
    clearTimeout(this.timer);
    try {
      this.outcome = await postAnnouncement(request);
      this.follow();
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    } finally {
      this.sending = false;
    }
  }

  /** Reads the outcome again until every player is done with it. */
  private follow(): void {
    const current = this.outcome;
    if (!current || isSettled(current) || !this.isConnected) return;
    this.timer = setTimeout(async () => {
      try {
        this.outcome = await getAnnouncement(current.id);
      } catch (error) {
        this.error = error instanceof Error ? error.message : String(error);
        return;
      }
      this.follow();
    }, OUTCOME_REFRESH_MS);
  }

  override render() {
    const players = this.players;
    const nameOf = (deviceId: string): string => players.find((entry) => entry.deviceId === deviceId)?.name ?? deviceId;
    return html`
      <details @toggle=${(event: Event) => { this.expanded = (event.currentTarget as HTMLDetailsElement).open; }}>
        <summary>Announce…</summary>
        <form @submit=${(event: SubmitEvent) => void this.submit(event)} aria-label="Announce">
          <div class="row">
            <label>Announce
              <select name="kind" @change=${this.onKind} aria-label="What to announce">
                <option value="text" ?selected=${this.kind === 'text'}>Text to say</option>
                <option value="file" ?selected=${this.kind === 'file'}>Library file</option>
                <option value="url" ?selected=${this.kind === 'url'}>Audio URL</option>
              </select>
            </label>
          </div>
          ${this.kind === 'file'
            ? html`<label>File
                <select name="what" required aria-label="Library file to announce">
                  ${(this.files ?? []).map((file) => html`<option value=${file.id}>${file.title}</option>`)}
                </select>
              </label>`
            : html`<label>${this.kind === 'text' ? 'Text' : 'URL'}
                <input name="what" required type=${this.kind === 'url' ? 'url' : 'text'} maxlength="1000"
                  aria-label=${this.kind === 'text' ? 'Text to say' : 'Audio URL to play'} placeholder=${this.kind === 'text' ? 'Dinner is ready' : 'https://…'}>
              </label>`}
          <fieldset>
            <legend>Players (none ticked: every online player)</legend>
            ${(this.expanded ? players : []).map((entry) => html`<label><input type="checkbox" name="player" value=${entry.deviceId} aria-label=${`Announce on ${entry.name}`}> ${entry.name}</label>`)}
          </fieldset>
          <div class="row">
            <label>Volume (%)
              <input name="volume" type="number" min="0" max="100" step="1" placeholder="own" aria-label="Announcement volume (percent)">
            </label>
            <label>Priority
              <select name="priority" aria-label="Priority">
                <option value="normal">Normal: waits its turn, not in night mode</option>
                <option value="high">High: goes first, also at night</option>
              </select>
            </label>
            <label class="inline"><input type="checkbox" name="chime" aria-label="Chime first"> Chime first</label>
          </div>
          <div><button type="submit" ?disabled=${this.sending}>${this.sending ? 'Announcing…' : 'Announce'}</button></div>
        </form>
        ${this.error ? html`<p role="alert" data-testid="announce-error">${this.error}</p>` : nothing}
        ${this.outcome
          ? html`<ul class="outcome" data-testid="announce-outcome" aria-live="polite">
              ${this.outcome.players.map((player) => html`<li data-device=${player.deviceId} data-status=${player.status} class="status-${player.status}">
                <strong>${nameOf(player.deviceId)}</strong>: ${humanize(player.status)}${player.reason ? html` (${humanize(player.reason)})` : nothing}
              </li>`)}
            </ul>`
          : nothing}
      </details>
    `;
  }
}

customElements.define('yoto-announce-form', YotoAnnounceForm);
