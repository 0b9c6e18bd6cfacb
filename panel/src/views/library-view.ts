import { LitElement, css, html, nothing } from 'lit';
import { coverDataUrl, deleteAudio, fetchAudioBytes, listAudio, renameAudio, uploadAudio, type AudioSort, type UploadHandle } from '../api/audio';
import type { AudioFile } from '../api/types';
import { formatBytes, formatDuration } from '../components/format';
import '../components/confirm-delete';
import { sharedStyles } from '../components/shared-styles';
import { internalState } from '../components/internal-state';

interface Upload {
  key: number;
  name: string;
  loaded: number;
  total: number;
  state: 'uploading' | 'processing' | 'done' | 'failed';
  error?: string;
  handle?: UploadHandle;
}

const SORTS: Array<{ value: AudioSort; label: string }> = [
  { value: '-createdAt', label: 'Newest first' },
  { value: 'createdAt', label: 'Oldest first' },
  { value: 'title', label: 'Title A–Z' },
  { value: '-title', label: 'Title Z–A' },
  { value: 'duration', label: 'Shortest' },
  { value: '-duration', label: 'Longest' },
  { value: '-size', label: 'Largest' },
];
const PAGE_SIZE = 50;

/** The audio library: upload (drop or pick, progress per file), search, sort, preview, rename, delete. */
export class YotoLibraryView extends LitElement {
  static override properties = internalState('items', 'total', 'query', 'sort', 'uploads', 'dragging', 'error', 'loading', 'covers', 'editing', 'preview');

  declare items: AudioFile[];
  declare total: number;
  declare query: string;
  declare sort: AudioSort;
  declare uploads: Upload[];
  declare dragging: boolean;
  declare error: string | undefined;
  declare loading: boolean;
  declare covers: Record<string, string>;
  declare editing: string | undefined;
  declare preview: { id: string; state: 'loading' | 'playing' } | undefined;
  private nextKey = 1;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private listAbort: AbortController | undefined;
  private audioContext: AudioContext | undefined;
  private source: AudioBufferSourceNode | undefined;
  private previewAbort: AbortController | undefined;
  private readonly coverRequested = new Set<string>();

  constructor() {
    super();
    this.items = [];
    this.total = 0;
    this.query = '';
    this.sort = '-createdAt';
    this.uploads = [];
    this.dragging = false;
    this.loading = true;
    this.covers = {};
  }

  static override styles = [
    sharedStyles,
    css`
      .drop { border: 2px dashed color-mix(in srgb, var(--fg) 25%, transparent); border-radius: 12px; padding: 1.25rem; text-align: center; margin-bottom: 1rem; }
      .drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 8%, transparent); }
      .drop input[type='file'] { max-width: 100%; }
      .uploads { list-style: none; padding: 0; margin: 0 0 1rem; display: flex; flex-direction: column; gap: 0.4rem; }
      .uploads li { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 0.25rem 0.75rem; align-items: center; }
      .uploads progress { grid-column: 1 / -1; }
      .tools { display: flex; gap: 0.5rem; flex-wrap: wrap; margin-bottom: 0.75rem; }
      .tools input[type='search'] { flex: 1; min-width: 12rem; }
      .files { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.5rem; }
      .file { display: grid; grid-template-columns: 56px minmax(0, 1fr) auto; gap: 0.75rem; align-items: center; }
      .cover { width: 56px; height: 56px; border-radius: 8px; object-fit: cover; background: color-mix(in srgb, var(--accent) 25%, var(--card)); display: grid; place-items: center; font-size: 1.5rem; }
      .title { font-weight: 600; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.35rem; flex-wrap: wrap; justify-content: flex-end; }
      form.rename { display: flex; gap: 0.35rem; flex-wrap: wrap; }
      form.rename input { flex: 1; min-width: 8rem; }
      @media (max-width: 600px) {
        .file { grid-template-columns: 48px minmax(0, 1fr); }
        .cover { width: 48px; height: 48px; }
        .actions { grid-column: 1 / -1; justify-content: flex-start; }
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.listAbort?.abort();
    this.stopPreview();
    void this.audioContext?.close();
    this.audioContext = undefined;
    for (const upload of this.uploads) upload.handle?.abort();
  }

  private async load(): Promise<void> {
    this.listAbort?.abort();
    const controller = new AbortController();
    this.listAbort = controller;
    this.loading = true;
    try {
      const page = await listAudio({ q: this.query, sort: this.sort, pageSize: PAGE_SIZE }, controller.signal);
      this.items = page.items;
      this.total = page.total;
      this.error = undefined;
      for (const item of page.items) if (item.hasCover) void this.loadCover(item.id);
    } catch (error) {
      if ((error as Error).name === 'AbortError') return;
      this.error = (error as Error).message;
    } finally {
      if (this.listAbort === controller) this.loading = false;
    }
  }

  private async loadCover(id: string): Promise<void> {
    if (this.coverRequested.has(id)) return;
    this.coverRequested.add(id);
    const url = await coverDataUrl(id).catch(() => undefined);
    if (url) this.covers = { ...this.covers, [id]: url };
  }

  private onSearch(event: Event): void {
    this.query = (event.target as HTMLInputElement).value;
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => void this.load(), 250);
  }

  private onSort(event: Event): void {
    this.sort = (event.target as HTMLSelectElement).value as AudioSort;
    void this.load();
  }

  private onPick(event: Event): void {
    const input = event.target as HTMLInputElement;
    this.startUploads([...(input.files ?? [])]);
    input.value = '';
  }

  private onDrop(event: DragEvent): void {
    event.preventDefault();
    this.dragging = false;
    this.startUploads([...(event.dataTransfer?.files ?? [])]);
  }

  private onDragOver(event: DragEvent): void {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    this.dragging = true;
  }

  private startUploads(files: File[]): void {
    for (const file of files) {
      const upload: Upload = { key: this.nextKey++, name: file.name, loaded: 0, total: file.size, state: 'uploading' };
      this.uploads = [...this.uploads, upload];
      const update = (patch: Partial<Upload>): void => {
        this.uploads = this.uploads.map((item) => (item.key === upload.key ? { ...item, ...patch } : item));
      };
      const handle = uploadAudio(file, (loaded, total) => update({ loaded, total, state: loaded >= total ? 'processing' : 'uploading' }));
      update({ handle });
      handle.promise.then(
        () => {
          update({ state: 'done', loaded: file.size, total: file.size });
          void this.load();
        },
        (error: Error) => update({ state: 'failed', error: error.message }),
      );
    }
  }

  private async rename(event: SubmitEvent, file: AudioFile): Promise<void> {
    event.preventDefault();
    const title = String(new FormData(event.target as HTMLFormElement).get('title') ?? '').trim();
    if (!title || title === file.title) {
      void this.stopRename(file.id);
      return;
    }
    try {
      const updated = await renameAudio(file.id, title);
      this.items = this.items.map((item) => (item.id === file.id ? updated : item));
      this.error = undefined;
      void this.stopRename(file.id);
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  /** Opens the rename form with the title selected, so a keyboard user types straight into it. */
  private async startRename(fileId: string): Promise<void> {
    this.editing = fileId;
    await this.updateComplete;
    const input = this.renderRoot.querySelector<HTMLInputElement>(`li[data-file="${fileId}"] form.rename input`);
    input?.focus();
    input?.select();
  }

  /** Closes the rename form and gives the focus back to the file's Rename button. */
  private async stopRename(fileId: string): Promise<void> {
    this.editing = undefined;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLButtonElement>(`li[data-file="${fileId}"] button.rename`)?.focus();
  }

  private async deleteFile(file: AudioFile): Promise<void> {
    try {
      await deleteAudio(file.id);
      if (this.preview?.id === file.id) this.stopPreview();
      this.items = this.items.filter((item) => item.id !== file.id);
      this.total = Math.max(0, this.total - 1);
      this.error = undefined;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  /**
   * Plays the file in the browser. The stream needs the bearer header and the
   * hub's CSP allows no blob: media, so the bytes are fetched and played through Web Audio.
   */
  private async togglePreview(file: AudioFile): Promise<void> {
    const same = this.preview?.id === file.id;
    this.stopPreview();
    if (same) return;
    this.preview = { id: file.id, state: 'loading' };
    const controller = new AbortController();
    this.previewAbort = controller;
    try {
      this.audioContext ??= new AudioContext();
      const context = this.audioContext;
      if (context.state === 'suspended') await context.resume();
      const bytes = await fetchAudioBytes(file.id, controller.signal);
      const buffer = await context.decodeAudioData(bytes);
      if (this.previewAbort !== controller) return;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      source.addEventListener('ended', () => {
        if (this.source === source) this.stopPreview();
      });
      source.start();
      this.source = source;
      this.preview = { id: file.id, state: 'playing' };
    } catch (error) {
      if ((error as Error).name === 'AbortError') return;
      if (this.previewAbort === controller) {
        this.preview = undefined;
        this.error = `Cannot preview "${file.title}": ${(error as Error).message}`;
      }
    }
  }

  private stopPreview(): void {
    this.previewAbort?.abort();
    this.previewAbort = undefined;
    const source = this.source;
    this.source = undefined;
    if (source) {
      try {
        source.stop();
      } catch {
        // already stopped
      }
      source.disconnect();
    }
    this.preview = undefined;
  }

  override render() {
    return html`
      <h2>Audio library</h2>
      <div class="drop ${this.dragging ? 'over' : ''}" data-testid="drop-zone"
        @dragover=${(event: DragEvent) => this.onDragOver(event)}
        @dragleave=${() => { this.dragging = false; }}
        @drop=${(event: DragEvent) => this.onDrop(event)}>
        <p>Drop audio files here, or</p>
        <label>Choose files to upload
          <input type="file" accept="audio/*,.mp3,.m4a,.aac,.ogg,.opus,.flac,.wav" multiple @change=${(event: Event) => this.onPick(event)}>
        </label>
      </div>
      ${this.uploads.length > 0
        ? html`<ul class="uploads" aria-label="Uploads">
            ${this.uploads.map((upload) => html`<li class="card" data-testid="upload">
              <span class="title">${upload.name}</span>
              <span class=${upload.state === 'failed' ? 'bad' : upload.state === 'done' ? 'ok' : 'muted'} data-testid="upload-state">${uploadLabel(upload)}</span>
              ${upload.state === 'failed' ? nothing : html`<progress max=${upload.total || 1} .value=${upload.loaded} aria-label="Upload of ${upload.name}"></progress>`}
            </li>`)}
          </ul>`
        : nothing}
      <div class="tools" role="search">
        <input type="search" placeholder="Search titles and names" aria-label="Search the library" .value=${this.query} @input=${(event: Event) => this.onSearch(event)}>
        <select aria-label="Sort the library" @change=${(event: Event) => this.onSort(event)}>
          ${SORTS.map((sort) => html`<option value=${sort.value} ?selected=${sort.value === this.sort}>${sort.label}</option>`)}
        </select>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p class="muted" aria-live="polite" data-testid="library-count">${this.loading && this.items.length === 0 ? 'Loading…' : `${this.total} file${this.total === 1 ? '' : 's'}`}</p>
      <ul class="files" aria-label="Audio files">${this.items.map((file) => this.renderFile(file))}</ul>
    `;
  }

  private renderFile(file: AudioFile) {
    const cover = this.covers[file.id];
    const previewing = this.preview?.id === file.id ? this.preview.state : undefined;
    return html`
      <li class="card file" data-file=${file.id}>
        ${cover ? html`<img class="cover" src=${cover} alt="Cover of ${file.title}">` : html`<div class="cover" aria-hidden="true">♪</div>`}
        <div>
          ${this.editing === file.id
            ? html`<form class="rename" @submit=${(event: SubmitEvent) => void this.rename(event, file)}
                @keydown=${(event: KeyboardEvent) => { if (event.key === 'Escape') void this.stopRename(file.id); }}>
                <input name="title" .value=${file.title} aria-label="New title for ${file.title}" required maxlength="255">
                <button type="submit" class="primary">Save</button>
                <button type="button" @click=${() => void this.stopRename(file.id)}>Cancel</button>
              </form>`
            : html`<div class="title" data-testid="file-title">${file.title}</div>`}
          <div class="muted">
            <span data-testid="file-duration">${formatDuration(file.durationSeconds)}</span> ·
            <span data-testid="file-format">${file.format.toUpperCase()}</span> · ${formatBytes(file.fileSize)}
            ${file.originalName !== file.title ? html` · ${file.originalName}` : nothing}
          </div>
        </div>
        <div class="actions">
          <button type="button" @click=${() => void this.togglePreview(file)} aria-pressed=${previewing ? 'true' : 'false'} aria-label="${previewing ? 'Stop preview of' : 'Preview'} ${file.title}">
            ${previewing === 'loading' ? 'Loading…' : previewing ? '■ Stop' : '▶ Preview'}
          </button>
          <button type="button" class="rename" @click=${() => void this.startRename(file.id)} aria-label="Rename ${file.title}">Rename</button>
          <yoto-confirm-delete .name=${file.title} @confirm-delete=${() => void this.deleteFile(file)}></yoto-confirm-delete>
        </div>
      </li>
    `;
  }
}

function uploadLabel(upload: Upload): string {
  switch (upload.state) {
    case 'uploading': return `${upload.total ? Math.floor((upload.loaded / upload.total) * 100) : 0}%`;
    case 'processing': return 'Processing…';
    case 'done': return 'Uploaded';
    default: return `Failed: ${upload.error ?? 'unknown error'}`;
  }
}

customElements.define('yoto-library-view', YotoLibraryView);
