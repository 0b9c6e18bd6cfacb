import { LitElement, css, html, nothing } from 'lit';
import { listAudio } from '../api/audio';
import { deleteScript, deployScript, getScript, listIcons, listScripts, saveScript, type Icon, type PlaylistTrack, type Script, type ScriptInput } from '../api/content';
import type { AudioFile } from '../api/types';
import { formatDuration } from '../components/format';
import '../components/confirm-delete';
import { sharedStyles } from '../components/shared-styles';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import { internalState } from '../components/internal-state';
import { cardList } from '../components/card-list';

const NAVIGATE_EVENT = 'yoto-navigate';

/** A track in the editor: a key for drag and drop and lit's repeat, plus the wire fields. */
interface DraftTrack {
  key: number;
  audioFileId: string;
  title: string;
  icon: string;
}

interface Draft {
  name: string;
  type: 'simple' | 'playlist';
  tracks: DraftTrack[];
}

const SLEEP_CHOICES = [0, 5, 10, 15, 20, 30, 45, 60];

/**
 * Scripts: the list at /scripts and the editor at /scripts/:id ("new" for a
 * new one). A simple script plays one file, a playlist several in order
 * (drag or the up/down buttons); either deploys to a player with a volume
 * and a sleep timer.
 */
export class YotoScriptsView extends LitElement {
  static override properties = {
    scriptId: {},
    ...internalState('scripts', 'draft', 'saved', 'audio', 'icons', 'iconError', 'error', 'notice', 'dragKey', 'deployDevice', 'volume', 'sleepMinutes'),
  };

  declare scriptId: string;
  declare scripts: Script[] | undefined;
  declare draft: Draft | undefined;
  declare saved: Script | undefined;
  declare audio: AudioFile[];
  declare icons: Icon[];
  declare iconError: string | undefined;
  declare error: string | undefined;
  declare notice: string | undefined;
  declare dragKey: number | undefined;
  declare deployDevice: string;
  declare volume: number;
  declare sleepMinutes: number;
  private readonly stream = new DeviceStreamController(this);
  private nextKey = 1;

  constructor() {
    super();
    this.scriptId = '';
    this.audio = [];
    this.icons = [];
    this.deployDevice = '';
    this.volume = 50;
    this.sleepMinutes = 0;
  }

  static override styles = [
    sharedStyles,
    css`
      .scripts, .tracks { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.5rem; }
      .scripts li { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      .scripts li a { flex: 1; font-weight: 600; }
      form.editor { display: flex; flex-direction: column; gap: 0.75rem; }
      label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.875rem; }
      fieldset { border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 10px; display: flex; flex-direction: column; gap: 0.5rem; }
      .track { display: grid; grid-template-columns: auto minmax(0, 2fr) minmax(0, 1.5fr) minmax(0, 1fr) auto; gap: 0.4rem; align-items: end; padding: 0.5rem; }
      .track.dragging { opacity: 0.5; }
      .grip { cursor: grab; font-size: 1.2rem; align-self: center; padding: 0 0.25rem; }
      .moves { display: flex; gap: 0.25rem; }
      section { margin-top: 1rem; }
      @media (max-width: 700px) {
        .track { grid-template-columns: auto minmax(0, 1fr); }
        .track > label, .track > .moves { grid-column: 2; }
      }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('scriptId')) void this.load();
  }

  private async load(): Promise<void> {
    this.error = undefined;
    this.notice = undefined;
    this.draft = undefined;
    this.saved = undefined;
    try {
      if (!this.scriptId) {
        this.scripts = await listScripts();
        return;
      }
      const [audio, script] = await Promise.all([listAudio({ sort: 'title', pageSize: 200 }), this.scriptId === 'new' ? Promise.resolve(undefined) : getScript(this.scriptId)]);
      this.audio = audio.items;
      this.saved = script;
      this.draft = script ? this.draftOf(script) : { name: '', type: 'playlist', tracks: [] };
      if (script?.options?.volume !== undefined) this.volume = script.options.volume;
      void this.loadIcons();
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private async loadIcons(): Promise<void> {
    try {
      this.icons = await listIcons();
      this.iconError = undefined;
    } catch (error) {
      this.iconError = `Icons are not available: ${(error as Error).message}`;
    }
  }

  private draftOf(script: Script): Draft {
    const track = (t: { audioFileId?: string; title?: string; icon?: string }): DraftTrack => ({ key: this.nextKey++, audioFileId: t.audioFileId ?? '', title: t.title ?? '', icon: t.icon ?? '' });
    if (script.type === 'simple') return { name: script.name, type: 'simple', tracks: [track(script.definition)] };
    if (script.type === 'playlist') return { name: script.name, type: 'playlist', tracks: script.definition.tracks.map(track) };
    return { name: script.name, type: 'playlist', tracks: [] };
  }

  private patchDraft(patch: Partial<Draft>): void {
    if (this.draft) this.draft = { ...this.draft, ...patch };
  }

  private setTrack(key: number, patch: Partial<DraftTrack>): void {
    if (this.draft) this.patchDraft({ tracks: this.draft.tracks.map((track) => (track.key === key ? { ...track, ...patch } : track)) });
  }

  private addTrack(): void {
    if (!this.draft) return;
    this.patchDraft({ tracks: [...this.draft.tracks, { key: this.nextKey++, audioFileId: this.audio[0]?.id ?? '', title: '', icon: '' }] });
  }

  private moveTrack(key: number, to: number): void {
    if (!this.draft) return;
    const tracks = [...this.draft.tracks];
    const from = tracks.findIndex((track) => track.key === key);
    if (from < 0 || to < 0 || to >= tracks.length) return;
    const [moved] = tracks.splice(from, 1);
    tracks.splice(to, 0, moved!);
    this.patchDraft({ tracks });
  }

  private input(): ScriptInput | undefined {
    const draft = this.draft;
    if (!draft) return undefined;
    const wire = (track: DraftTrack): PlaylistTrack => ({ audioFileId: track.audioFileId, ...(track.title.trim() ? { title: track.title.trim() } : {}), ...(track.icon ? { icon: track.icon } : {}) });
    if (draft.type === 'simple') {
      const first = draft.tracks[0];
      if (!first?.audioFileId) return undefined;
      return { name: draft.name.trim(), type: 'simple', definition: wire(first) as { audioFileId: string } };
    }
    const tracks = draft.tracks.filter((track) => track.audioFileId).map(wire);
    if (tracks.length === 0) return undefined;
    return { name: draft.name.trim(), type: 'playlist', definition: { tracks } };
  }

  private async save(event?: SubmitEvent): Promise<Script | undefined> {
    event?.preventDefault();
    const input = this.input();
    if (!input || !input.name) {
      this.error = 'Give the script a name and at least one audio file.';
      return undefined;
    }
    try {
      const script = await saveScript(this.saved?.id, input);
      this.saved = script;
      this.error = undefined;
      this.notice = 'Saved.';
      if (this.scriptId === 'new') {
        // The URL follows the new script without reloading the editor.
        history.replaceState({}, '', `/scripts/${script.id}`);
      }
      return script;
    } catch (error) {
      this.error = (error as Error).message;
      return undefined;
    }
  }

  private async deploy(): Promise<void> {
    const deviceId = this.deployDevice || this.stream.store.list()[0]?.deviceId;
    if (!deviceId) return;
    const script = await this.save();
    if (!script) return;
    const name = this.stream.store.get(deviceId)?.name ?? deviceId;
    this.notice = `Deploying to ${name}…`;
    try {
      await deployScript(script.id, { deviceId, volume: this.volume, ...(this.sleepMinutes > 0 ? { sleepSeconds: this.sleepMinutes * 60 } : {}) });
      this.notice = `Deployed to ${name}: it is playing now.`;
    } catch (error) {
      this.notice = undefined;
      this.error = `Deploy failed: ${(error as Error).message}`;
    }
  }

  private async removeItem(script: Script): Promise<void> {
    try {
      await deleteScript(script.id);
      if (this.scriptId) this.go('/scripts');
      else this.scripts = (this.scripts ?? []).filter((candidate) => candidate.id !== script.id);
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private go(path: string): void {
    this.dispatchEvent(new CustomEvent(NAVIGATE_EVENT, { detail: path, bubbles: true, composed: true }));
  }

  override render() {
    return this.scriptId ? this.renderEditor() : this.renderList();
  }

  private renderList() {
    return html`
      <div class="row" style="justify-content: space-between"><h2>Scripts</h2><a class="button" href="/scripts/new">+ New script</a></div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${cardList(this.scripts, { label: 'Scripts', className: 'scripts', empty: 'No scripts yet.' }, (script) => html`
        <a href="/scripts/${script.id}">${script.name}</a>
        <span class="muted">${describe(script)}</span>
        ${this.renderDelete(script)}
      `)}
    `;
  }

  private renderDelete(script: Script) {
    return html`<yoto-confirm-delete .name=${script.name} @confirm-delete=${() => void this.removeItem(script)}></yoto-confirm-delete>`;
  }

  private renderEditor() {
    const draft = this.draft;
    if (!draft) return html`<h2>Script</h2>${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<p class="muted" aria-busy="true">Loading…</p>`}`;
    const tracks = draft.type === 'simple' ? draft.tracks.slice(0, 1) : draft.tracks;
    const entries = this.stream.store.list();
    return html`
      <p><a href="/scripts">← Scripts</a></p>
      <h2>${this.saved ? `Script: ${this.saved.name}` : 'New script'}</h2>
      <form class="editor card" @submit=${(event: SubmitEvent) => void this.save(event)}>
        <label>Name <input .value=${draft.name} required maxlength="100" @input=${(event: Event) => this.patchDraft({ name: (event.target as HTMLInputElement).value })}></label>
        <label>Type
          <select @change=${(event: Event) => this.patchDraft({ type: (event.target as HTMLSelectElement).value as Draft['type'] })}>
            <option value="simple" ?selected=${draft.type === 'simple'}>Simple: one audio file</option>
            <option value="playlist" ?selected=${draft.type === 'playlist'}>Playlist: several files in order</option>
          </select>
        </label>
        <fieldset>
          <legend>${draft.type === 'simple' ? 'Audio' : 'Tracks'}</legend>
          ${this.iconError ? html`<p class="muted">${this.iconError}</p>` : nothing}
          ${this.audio.length === 0 ? html`<p class="muted">The library is empty: <a href="/library">upload audio</a> first.</p>` : nothing}
          <ol class="tracks" aria-label="Tracks">${tracks.map((track, index) => this.renderTrack(track, index, tracks.length, draft.type === 'playlist'))}</ol>
          ${draft.type === 'playlist' || tracks.length === 0 ? html`<div><button type="button" @click=${() => this.addTrack()} ?disabled=${this.audio.length === 0}>+ Add track</button></div>` : nothing}
        </fieldset>
        <div class="row">
          <button type="submit" class="primary">Save</button>
          ${this.saved ? this.renderDelete(this.saved) : nothing}
        </div>
      </form>
      <section class="card" aria-labelledby="deploy-title">
        <h3 id="deploy-title">Deploy to a player</h3>
        <div class="row">
          <label>Player
            <select aria-label="Player to deploy to" @change=${(event: Event) => { this.deployDevice = (event.target as HTMLSelectElement).value; }}>
              ${entries.map((entry) => html`<option value=${entry.deviceId} ?selected=${entry.deviceId === this.deployDevice}>${entry.name}</option>`)}
            </select>
          </label>
          <label>Volume ${this.volume}%
            <input type="range" min="0" max="100" step="5" .value=${String(this.volume)} @input=${(event: Event) => { this.volume = Number((event.target as HTMLInputElement).value); }}>
          </label>
          <label>Sleep timer
            <select @change=${(event: Event) => { this.sleepMinutes = Number((event.target as HTMLSelectElement).value); }}>
              ${SLEEP_CHOICES.map((minutes) => html`<option value=${minutes} ?selected=${minutes === this.sleepMinutes}>${minutes === 0 ? 'Off' : `${minutes} minutes`}</option>`)}
            </select>
          </label>
          <button type="button" class="primary" ?disabled=${entries.length === 0} @click=${() => void this.deploy()}>Deploy</button>
        </div>
      </section>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.notice ? html`<p class="ok" role="status" data-testid="script-notice">${this.notice}</p>` : nothing}
    `;
  }

  private renderTrack(track: DraftTrack, index: number, count: number, playlist: boolean) {
    const file = this.audio.find((candidate) => candidate.id === track.audioFileId);
    const n = index + 1;
    return html`<li class="card track ${this.dragKey === track.key ? 'dragging' : ''}" data-track=${index} draggable=${playlist ? 'true' : 'false'}
      @dragstart=${(event: DragEvent) => { this.dragKey = track.key; event.dataTransfer?.setData('text/plain', String(track.key)); }}
      @dragend=${() => { this.dragKey = undefined; }}
      @dragover=${(event: DragEvent) => { if (this.dragKey !== undefined) event.preventDefault(); }}
      @drop=${(event: DragEvent) => { event.preventDefault(); if (this.dragKey !== undefined) this.moveTrack(this.dragKey, index); this.dragKey = undefined; }}>
      <span class="grip" aria-hidden="true">${playlist ? '⠿' : '♪'}</span>
      <label>Audio file${playlist ? ` ${n}` : ''}
        <select aria-label="Audio file for track ${n}" @change=${(event: Event) => this.setTrack(track.key, { audioFileId: (event.target as HTMLSelectElement).value })}>
          ${this.audio.map((candidate) => html`<option value=${candidate.id} ?selected=${candidate.id === track.audioFileId}>${candidate.title} (${formatDuration(candidate.durationSeconds)})</option>`)}
        </select>
      </label>
      <label>Title on the card
        <input aria-label="Title of track ${n}" .value=${track.title} placeholder=${file?.title ?? ''} maxlength="100" @input=${(event: Event) => this.setTrack(track.key, { title: (event.target as HTMLInputElement).value })}>
      </label>
      <label>Icon
        <select aria-label="Icon of track ${n}" @change=${(event: Event) => this.setTrack(track.key, { icon: (event.target as HTMLSelectElement).value })}>
          <option value="" ?selected=${!track.icon}>Default</option>
          ${track.icon && !this.icons.some((icon) => icon.iconRef === track.icon) ? html`<option value=${track.icon} selected>${track.icon}</option>` : nothing}
          ${this.icons.map((icon) => html`<option value=${icon.iconRef} ?selected=${icon.iconRef === track.icon}>${icon.title ?? icon.mediaId}</option>`)}
        </select>
      </label>
      <div class="moves">
        ${playlist
          ? html`<button type="button" aria-label="Move track ${n} up" ?disabled=${index === 0} @click=${() => this.moveTrack(track.key, index - 1)}>↑</button>
              <button type="button" aria-label="Move track ${n} down" ?disabled=${index === count - 1} @click=${() => this.moveTrack(track.key, index + 1)}>↓</button>
              <button type="button" class="danger" aria-label="Remove track ${n}" @click=${() => this.patchDraft({ tracks: (this.draft?.tracks ?? []).filter((t) => t.key !== track.key) })}>✕</button>`
          : nothing}
      </div>
    </li>`;
  }
}

function describe(script: Script): string {
  if (script.type === 'simple') return 'Simple';
  if (script.type === 'playlist') return `Playlist · ${script.definition.tracks.length} track${script.definition.tracks.length === 1 ? '' : 's'}`;
  return 'Story';
}

customElements.define('yoto-scripts-view', YotoScriptsView);
