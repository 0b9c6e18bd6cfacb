import { LitElement, css, html, nothing, svg } from 'lit';
import { fetchAudioBytes, listAudio } from '../api/audio';
import {
  createStory, deleteStory, deployStory, exportTwee, getStory, importTwee, listStories, putStory, storyFindings,
  type Choice, type CyoaConnection, type CyoaNode, type CyoaStory, type Finding, type ImportFinding,
} from '../api/content';
import type { AudioFile } from '../api/types';
import '../components/confirm-delete';
import { sharedStyles } from '../components/shared-styles';
import { LABEL_LINE, extentOf, routeEdges, type EdgeRoute, type Rect } from '../components/story-edges';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import {
  CHOICE_LABEL, CHOICE_ORDER, GAP_X, NODE_HEIGHT, NODE_WIDTH, StoryEditor, addNode, autoLayout, freeSpot, connect, moveNodes, nextNode, removeConnection, removeNode, updateNode,
} from '../state/story-editor';
import { internalState } from '../components/internal-state';
import { cardList } from '../components/card-list';
import { removeListed } from '../components/remove-listed';

const NAVIGATE_EVENT = 'yoto-navigate';
const SAVE_DELAY_MS = 400;
const MIN_ZOOM = 0.3;
const MAX_ZOOM = 2.5;
/** Room kept between the canvas's edges and the drawing when a story opens. */
const VIEW_MARGIN = 16;

/** What the last Twee import changed, by story id: shown once when that story opens. */
const pendingImportNotes = new Map<string, ImportFinding[]>();
/**
 * Import findings the builder's Checks list already shows, live, on the passage itself
 * (a passage with no recording): repeating them as import notes would only double the list.
 */
const CHECKED_LIVE: ReadonlySet<ImportFinding['code']> = new Set(['no_audio']);

/** The text on a choice's arrow: its label, or the choice's name when it has no words. */
function edgeText(connection: Pick<CyoaConnection, 'label' | 'choice'>): string {
  const label = connection.label?.trim();
  return label ? label : CHOICE_LABEL[connection.choice];
}

type Drag =
  | { kind: 'node'; nodeId: string; startX: number; startY: number; origin: { x: number; y: number }; moved: boolean }
  | { kind: 'pan'; startX: number; startY: number; origin: { x: number; y: number }; moved: boolean };

interface SimState {
  path: string[];
  playing: 'loading' | 'playing' | 'stopped' | 'no-audio' | 'error';
}

/**
 * Stories: the list (create, import Twee, delete) at /stories and the CYOA
 * builder at /stories/:id: a pannable, zoomable canvas of passages and
 * choices, a side panel per passage, validator findings, a simulator that
 * plays the audio, Twee export and deploy to a player.
 */
export class YotoStoriesView extends LitElement {
  static override properties = {
    storyId: {},
    ...internalState('stories', 'story', 'findings', 'error', 'selected', 'selectedConnection', 'connecting', 'pan', 'zoom', 'dragPositions', 'saveState', 'audio', 'sim', 'deployDevice', 'deployResult', 'importNotes'),
  };

  declare storyId: string;
  declare stories: CyoaStory[] | undefined;
  declare story: CyoaStory | undefined;
  declare findings: Finding[];
  declare error: string | undefined;
  declare selected: string | undefined;
  declare selectedConnection: string | undefined;
  declare connecting: { from: string; choice: Choice } | undefined;
  declare pan: { x: number; y: number };
  declare zoom: number;
  declare dragPositions: Map<string, { x: number; y: number }> | undefined;
  declare saveState: 'saved' | 'saving' | 'pending' | 'failed';
  declare audio: AudioFile[];
  declare sim: SimState | undefined;
  declare deployDevice: string;
  declare deployResult: { ok: boolean; message: string; findings: Finding[] } | undefined;
  declare importNotes: ImportFinding[];

  private readonly stream = new DeviceStreamController(this);
  private editor: StoryEditor | undefined;
  private unsubscribeEditor: (() => void) | undefined;
  private drag: Drag | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> | undefined;
  private audioContext: AudioContext | undefined;
  private source: AudioBufferSourceNode | undefined;
  private playToken = 0;
  private measureContext: CanvasRenderingContext2D | null | undefined;
  private readonly onKey = (event: KeyboardEvent): void => this.keydown(event);
  private readonly onMove = (event: PointerEvent): void => this.pointerMove(event);
  private readonly onUp = (event: PointerEvent): void => this.pointerUp(event);

  constructor() {
    super();
    this.storyId = '';
    this.findings = [];
    this.pan = { x: 0, y: 0 };
    this.zoom = 1;
    this.saveState = 'saved';
    this.audio = [];
    this.deployDevice = '';
    this.importNotes = [];
  }

  static override styles = [
    sharedStyles,
    css`
      .top { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.5rem; }
      .top input.title { font-size: 1.1rem; font-weight: 600; flex: 1; min-width: 10rem; }
      .toolbar { display: flex; gap: 0.35rem; flex-wrap: wrap; align-items: center; margin-bottom: 0.5rem; }
      .layout { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 0.75rem; align-items: start; }
      .canvas { position: relative; height: 560px; overflow: hidden; border-radius: 10px; background: var(--card); cursor: grab; touch-action: none; user-select: none;
        background-image: radial-gradient(color-mix(in srgb, var(--fg) 14%, transparent) 1px, transparent 1px); background-size: 24px 24px; }
      .canvas.panning { cursor: grabbing; }
      .canvas.connecting .node { cursor: crosshair; }
      .world { position: absolute; left: 0; top: 0; transform-origin: 0 0; }
      svg.edges { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none; }
      svg.edges path.line { fill: none; stroke: color-mix(in srgb, var(--fg) 45%, transparent); stroke-width: 2; }
      svg.edges path.hit { fill: none; stroke: transparent; stroke-width: 12; pointer-events: stroke; cursor: pointer; }
      svg.edges g.selected path.line { stroke: var(--accent); stroke-width: 3; }
      svg.edges marker path { fill: color-mix(in srgb, var(--fg) 55%, transparent); }
      svg.edges text { font-size: 11px; fill: var(--fg); paint-order: stroke; stroke: var(--card); stroke-width: 3px; }
      .node { position: absolute; width: ${NODE_WIDTH}px; min-height: ${NODE_HEIGHT}px; box-sizing: border-box; background: var(--bg); border: 2px solid color-mix(in srgb, var(--fg) 25%, transparent);
        border-radius: 10px; padding: 0.35rem 0.5rem 0.35rem 0.5rem; cursor: move; box-shadow: 0 1px 3px rgb(0 0 0 / 0.15); }
      .node.selected { border-color: var(--accent); }
      .node.start { box-shadow: 0 0 0 3px color-mix(in srgb, var(--ok) 45%, transparent); }
      .node .name { font-weight: 600; font-size: 0.9rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: 1.5rem; }
      .node .meta { font-size: 0.75rem; color: var(--muted); }
      .badge { position: absolute; top: -0.6rem; right: -0.6rem; min-width: 1.3rem; height: 1.3rem; border-radius: 1rem; background: var(--warn); color: #000; font-size: 0.75rem; font-weight: 700; display: grid; place-items: center; padding: 0 0.2rem; }
      .badge.error { background: var(--bad); color: #fff; }
      .handles { display: flex; gap: 0.2rem; margin-top: 0.3rem; }
      .handles button { min-height: 1.6rem; padding: 0 0.35rem; font-size: 0.72rem; border-radius: 6px; }
      .handles button[aria-pressed='true'] { background: var(--accent); color: #fff; }
      .zoom { position: absolute; right: 0.5rem; bottom: 0.5rem; display: flex; gap: 0.25rem; }
      .import-notes { margin-bottom: 0.5rem; border-left: 4px solid var(--warn); }
      .import-notes .row { justify-content: space-between; }
      .import-notes ul { margin: 0.25rem 0 0; padding-left: 1.2rem; font-size: 0.875rem; }
      .hint { position: absolute; left: 0.5rem; top: 0.5rem; background: var(--accent); color: #fff; border-radius: 8px; padding: 0.25rem 0.6rem; font-size: 0.85rem; }
      aside { display: flex; flex-direction: column; gap: 0.75rem; }
      aside label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.875rem; }
      aside label.inline { flex-direction: row; align-items: center; gap: 0.4rem; }
      textarea { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid color-mix(in srgb, var(--fg) 25%, transparent); border-radius: 8px; padding: 0.4rem 0.6rem; min-height: 4rem; resize: vertical; }
      ul.plain { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.3rem; }
      .finding { text-align: left; width: 100%; }
      .finding.error { border-left: 4px solid var(--bad); }
      .finding.warning { border-left: 4px solid var(--warn); }
      .sim .now { font-weight: 600; }
      .stories { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.5rem; }
      .stories li { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      .stories li a { flex: 1; font-weight: 600; }
      form.row input { flex: 1; min-width: 10rem; }
      @media (max-width: 900px) {
        .layout { grid-template-columns: 1fr; }
        .canvas { height: 60vh; }
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('keydown', this.onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('keydown', this.onKey);
    window.removeEventListener('pointermove', this.onMove);
    window.removeEventListener('pointerup', this.onUp);
    this.unsubscribeEditor?.();
    if (this.saveState === 'pending') void this.save();
    this.stopAudio();
    void this.audioContext?.close();
    this.audioContext = undefined;
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('storyId')) void this.load();
  }

  private async load(): Promise<void> {
    this.unsubscribeEditor?.();
    this.editor = undefined;
    this.story = undefined;
    this.selected = undefined;
    this.sim = undefined;
    this.deployResult = undefined;
    this.error = undefined;
    this.importNotes = pendingImportNotes.get(this.storyId) ?? [];
    pendingImportNotes.delete(this.storyId);
    try {
      if (!this.storyId) {
        this.stories = await listStories();
        return;
      }
      const [answer, audio] = await Promise.all([getStory(this.storyId), listAudio({ sort: 'title', pageSize: 200 })]);
      this.audio = audio.items;
      this.findings = answer.findings;
      this.openEditor(answer.story);
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private openEditor(story: CyoaStory): void {
    const editor = new StoryEditor(story);
    this.editor = editor;
    this.story = story;
    this.zoom = 1;
    this.pan = this.homePan(story);
    this.unsubscribeEditor = editor.subscribe(() => {
      this.story = editor.story;
      if (this.selected && !editor.story.nodes.some((node) => node.id === this.selected)) this.selected = undefined;
      this.scheduleSave();
    });
  }

  // ---- saving ----

  private scheduleSave(): void {
    this.saveState = 'pending';
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.save(), SAVE_DELAY_MS);
  }

  /** PUTs the story (one save at a time), then asks the validator. */
  private async save(): Promise<void> {
    clearTimeout(this.saveTimer);
    while (this.saving) await this.saving;
    const editor = this.editor;
    if (!editor || this.saveState === 'saved') return;
    const story = editor.story;
    this.saveState = 'saving';
    this.saving = (async () => {
      try {
        await putStory(story);
        const { findings } = await storyFindings(story.id);
        if (this.editor !== editor) return;
        this.findings = findings;
        if (editor.story === story) this.saveState = 'saved';
        else this.scheduleSave();
      } catch (error) {
        this.saveState = 'failed';
        this.error = `Could not save: ${(error as Error).message}`;
      }
    })();
    await this.saving;
    this.saving = undefined;
  }

  // ---- editing ----

  private apply(label: string, change: (story: CyoaStory) => CyoaStory): void {
    this.editor?.apply(label, change);
  }

  private addNodeAtCenter(): void {
    const canvas = this.renderRoot.querySelector<HTMLElement>('.canvas');
    const width = canvas?.clientWidth ?? 600;
    const height = canvas?.clientHeight ?? 400;
    // Beside the selected passage (the next step of the story), else in the middle of the view;
    // either way in free space, never on top of another passage.
    const selected = this.story?.nodes.find((node) => node.id === this.selected);
    const preferred = selected
      ? { x: selected.position.x + NODE_WIDTH + GAP_X, y: selected.position.y }
      : { x: (width / 2 - this.pan.x) / this.zoom - NODE_WIDTH / 2, y: (height / 2 - this.pan.y) / this.zoom - NODE_HEIGHT / 2 };
    let created: string | undefined;
    this.apply('Add passage', (story) => {
      const result = addNode(story, freeSpot(story.nodes, preferred));
      created = result.nodeId;
      return result.story;
    });
    if (!created) return;
    this.selected = created;
    // Bring it into view when free space was only found off screen.
    const node = this.story?.nodes.find((candidate) => candidate.id === created);
    if (!node) return;
    const left = node.position.x * this.zoom + this.pan.x;
    const top = node.position.y * this.zoom + this.pan.y;
    if (left < 0 || top < 0 || left + NODE_WIDTH * this.zoom > width || top + NODE_HEIGHT * this.zoom > height) this.focusNode(created);
  }

  private deleteSelected(): void {
    if (this.selected) {
      const id = this.selected;
      this.apply('Delete passage', (story) => removeNode(story, id));
      this.selected = undefined;
    } else if (this.selectedConnection) {
      const id = this.selectedConnection;
      this.apply('Delete choice', (story) => removeConnection(story, id));
      this.selectedConnection = undefined;
    }
  }

  private keydown(event: KeyboardEvent): void {
    if (!this.editor) return;
    const target = event.composedPath()[0];
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    if (mod && key === 'z') {
      event.preventDefault();
      if (event.shiftKey) this.editor.redo();
      else this.editor.undo();
    } else if (mod && key === 'y') {
      event.preventDefault();
      this.editor.redo();
    } else if (!mod && (event.key === 'Delete' || event.key === 'Backspace')) {
      event.preventDefault();
      this.deleteSelected();
    } else if (!mod && !event.altKey && key === 'n') {
      event.preventDefault();
      this.addNodeAtCenter();
    } else if (event.key === 'Escape') {
      this.connecting = undefined;
    }
  }

  // ---- pointer: drag nodes, pan, connect ----

  private nodeDown(event: PointerEvent, node: CyoaNode): void {
    event.stopPropagation();
    if (event.button !== 0 || (event.target as HTMLElement).closest('button')) return;
    this.startDrag({ kind: 'node', nodeId: node.id, startX: event.clientX, startY: event.clientY, origin: { ...node.position }, moved: false });
  }

  private backgroundDown(event: PointerEvent): void {
    if (event.button !== 0) return;
    this.startDrag({ kind: 'pan', startX: event.clientX, startY: event.clientY, origin: { ...this.pan }, moved: false });
  }

  private startDrag(drag: Drag): void {
    this.drag = drag;
    window.addEventListener('pointermove', this.onMove);
    window.addEventListener('pointerup', this.onUp);
  }

  private pointerMove(event: PointerEvent): void {
    const drag = this.drag;
    if (!drag) return;
    const dx = event.clientX - drag.startX;
    const dy = event.clientY - drag.startY;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    if (drag.kind === 'pan') {
      this.pan = { x: drag.origin.x + dx, y: drag.origin.y + dy };
    } else {
      this.dragPositions = new Map([[drag.nodeId, { x: drag.origin.x + dx / this.zoom, y: drag.origin.y + dy / this.zoom }]]);
    }
  }

  private pointerUp(_event: PointerEvent): void {
    window.removeEventListener('pointermove', this.onMove);
    window.removeEventListener('pointerup', this.onUp);
    const drag = this.drag;
    this.drag = undefined;
    if (!drag) return;
    if (drag.kind === 'node') {
      const positions = this.dragPositions;
      this.dragPositions = undefined;
      if (drag.moved && positions) this.apply('Move passage', (story) => moveNodes(story, positions));
      else this.clickNode(drag.nodeId);
    } else if (!drag.moved) {
      this.selected = undefined;
      this.selectedConnection = undefined;
      this.connecting = undefined;
    }
  }

  private clickNode(nodeId: string): void {
    const pending = this.connecting;
    if (pending) {
      this.connecting = undefined;
      if (pending.from !== nodeId) this.apply(`Connect ${CHOICE_LABEL[pending.choice]}`, (story) => connect(story, pending.from, nodeId, pending.choice));
      this.selected = pending.from;
      return;
    }
    this.selected = nodeId;
    this.selectedConnection = undefined;
  }

  private pickHandle(event: Event, nodeId: string, choice: Choice): void {
    event.stopPropagation();
    this.connecting = this.connecting?.from === nodeId && this.connecting.choice === choice ? undefined : { from: nodeId, choice };
  }

  private onWheel(event: WheelEvent): void {
    event.preventDefault();
    const canvas = event.currentTarget as HTMLElement;
    const rect = canvas.getBoundingClientRect();
    this.zoomAt(event.deltaY < 0 ? 1.1 : 1 / 1.1, event.clientX - rect.left, event.clientY - rect.top);
  }

  private zoomAt(factor: number, cx?: number, cy?: number): void {
    const canvas = this.renderRoot.querySelector<HTMLElement>('.canvas');
    const x = cx ?? (canvas?.clientWidth ?? 0) / 2;
    const y = cy ?? (canvas?.clientHeight ?? 0) / 2;
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const k = zoom / this.zoom;
    this.pan = { x: x - (x - this.pan.x) * k, y: y - (y - this.pan.y) * k };
    this.zoom = zoom;
  }

  private focusNode(nodeId: string): void {
    const node = this.story?.nodes.find((candidate) => candidate.id === nodeId);
    const canvas = this.renderRoot.querySelector<HTMLElement>('.canvas');
    this.selected = nodeId;
    this.selectedConnection = undefined;
    if (!node || !canvas) return;
    const x = (node.position.x + NODE_WIDTH / 2) * this.zoom;
    const y = (node.position.y + NODE_HEIGHT / 2) * this.zoom;
    this.pan = { x: canvas.clientWidth / 2 - x, y: canvas.clientHeight / 2 - y };
  }

  // ---- simulator ----

  private simulate(input?: 'left' | 'right' | 'end'): void {
    const story = this.story;
    if (!story) return;
    let path: string[];
    if (!input || !this.sim) {
      if (!story.startNodeId) {
        this.sim = { path: [], playing: 'stopped' };
        return;
      }
      path = [story.startNodeId];
    } else {
      const current = this.sim.path.at(-1);
      const next = current ? nextNode(story, current, input) : undefined;
      if (!next) return;
      path = [...this.sim.path, next];
    }
    this.sim = { path, playing: 'loading' };
    void this.play(path.at(-1)!);
  }

  /** Plays a passage's audio through Web Audio (the stream needs the bearer header; the CSP allows no blob: media). */
  private async play(nodeId: string): Promise<void> {
    this.stopAudio();
    const token = ++this.playToken;
    const node = this.story?.nodes.find((candidate) => candidate.id === nodeId);
    const setPlaying = (playing: SimState['playing']): void => {
      if (token === this.playToken && this.sim) this.sim = { ...this.sim, playing };
    };
    if (!node?.audioFileId) {
      setPlaying('no-audio');
      return;
    }
    try {
      this.audioContext ??= new AudioContext();
      const context = this.audioContext;
      if (context.state === 'suspended') await context.resume();
      const buffer = await context.decodeAudioData(await fetchAudioBytes(node.audioFileId));
      if (token !== this.playToken) return;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      source.addEventListener('ended', () => { if (this.source === source) setPlaying('stopped'); });
      source.start();
      this.source = source;
      setPlaying('playing');
    } catch {
      setPlaying('error');
    }
  }

  private stopAudio(): void {
    this.playToken++;
    const source = this.source;
    this.source = undefined;
    if (!source) return;
    try {
      source.stop();
    } catch {
      // already stopped
    }
    source.disconnect();
  }

  // ---- list actions ----

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const title = String(new FormData(form).get('title') ?? '').trim();
    if (!title) return;
    try {
      const { story } = await createStory({ title, nodes: [{ id: 'start', title: 'Start', position: { x: 40, y: 120 } }], connections: [], startNodeId: 'start' });
      this.go(`/stories/${story.id}`);
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private async importFile(event: Event): Promise<void> {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    try {
      const { story, importFindings } = await importTwee(await file.text());
      // Twine's positions rarely suit the canvas: lay the imported story out by depth.
      await putStory(autoLayout(story));
      const notes = importFindings.filter((finding) => !CHECKED_LIVE.has(finding.code));
      if (notes.length > 0) pendingImportNotes.set(story.id, notes);
      this.go(`/stories/${story.id}`);
    } catch (error) {
      this.error = `Import failed: ${(error as Error).message}`;
    }
  }

  private async removeItem(story: CyoaStory): Promise<void> {
    const outcome = await removeListed(this.stories, story, deleteStory);
    if ('error' in outcome) this.error = outcome.error;
    else this.stories = outcome.list;
  }

  private async exportFile(): Promise<void> {
    const story = this.story;
    if (!story) return;
    try {
      await this.save();
      const text = await exportTwee(story.id);
      const link = document.createElement('a');
      link.href = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
      link.download = `${story.title.replace(/[^\w-]+/g, '-') || 'story'}.twee`;
      link.click();
    } catch (error) {
      this.error = `Export failed: ${(error as Error).message}`;
    }
  }

  private async deploy(): Promise<void> {
    const story = this.story;
    const deviceId = this.deployDevice || this.stream.store.list()[0]?.deviceId;
    if (!story || !deviceId) return;
    const name = this.stream.store.get(deviceId)?.name ?? deviceId;
    this.deployResult = { ok: true, message: `Deploying to ${name}…`, findings: [] };
    try {
      await this.save();
      const result = await deployStory(story.id, deviceId);
      this.deployResult = result.ok
        ? { ok: true, message: `Deployed to ${name}: it is playing now.`, findings: [] }
        : { ok: false, message: 'The story has problems to fix before it can go on a player:', findings: result.findings };
      if (!result.ok) this.findings = result.findings;
    } catch (error) {
      this.deployResult = { ok: false, message: `Deploy failed: ${(error as Error).message}`, findings: [] };
    }
  }

  private go(path: string): void {
    this.dispatchEvent(new CustomEvent(NAVIGATE_EVENT, { detail: path, bubbles: true, composed: true }));
  }

  // ---- rendering ----

  override render() {
    if (!this.storyId) return this.renderList();
    if (!this.story) return html`<h2>Story</h2>${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<p class="muted" aria-busy="true">Loading…</p>`}`;
    return this.renderBuilder(this.story);
  }

  private renderList() {
    return html`
      <h2>Stories</h2>
      <div class="card" style="margin-bottom: 1rem">
        <form class="row" @submit=${(event: SubmitEvent) => void this.create(event)}>
          <input name="title" aria-label="New story title" placeholder="Title of a new story" required maxlength="100">
          <button type="submit" class="primary">New story</button>
        </form>
        <p class="row"><label>Import a Twee 3 file <input type="file" accept=".twee,.tw,.txt,text/plain" @change=${(event: Event) => void this.importFile(event)}></label></p>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${cardList(this.stories, { label: 'Stories', className: 'stories', empty: 'No stories yet.' }, (story) => html`
        <a href="/stories/${story.id}">${story.title}</a>
        <span class="muted">${story.nodes.length} passages</span>
        <yoto-confirm-delete .name=${story.title} @confirm-delete=${() => void this.removeItem(story)}></yoto-confirm-delete>
      `)}
    `;
  }

  private positionOf(node: CyoaNode): { x: number; y: number } {
    return this.dragPositions?.get(node.id) ?? node.position;
  }

  /** Width of a text in the arrows' label font (11px, the view's font family). */
  private measure(text: string): number {
    if (this.measureContext === undefined) {
      this.measureContext = document.createElement('canvas').getContext('2d');
      if (this.measureContext) this.measureContext.font = `11px ${getComputedStyle(this).fontFamily || 'sans-serif'}`;
    }
    return this.measureContext ? this.measureContext.measureText(text).width : text.length * 6.5;
  }

  private nodeRects(story: CyoaStory): Map<string, Rect> {
    return new Map(story.nodes.map((node) => {
      const at = this.positionOf(node);
      return [node.id, { x: at.x, y: at.y, width: NODE_WIDTH, height: NODE_HEIGHT }];
    }));
  }

  private routes(story: CyoaStory, rects: Map<string, Rect>): Map<string, EdgeRoute> {
    const edges = story.connections.map((connection) => ({
      id: connection.id, from: connection.from, to: connection.to, port: Math.max(0, CHOICE_ORDER.indexOf(connection.choice)), text: edgeText(connection),
    }));
    return routeEdges(rects, edges, { measure: (text) => this.measure(text) });
  }

  /** The pan at 100% that shows the whole drawing (arcs over the top row included) from the top left. */
  private homePan(story: CyoaStory | undefined = this.story): { x: number; y: number } {
    if (!story) return { x: 0, y: 0 };
    const rects = this.nodeRects(story);
    const extent = extentOf(this.routes(story, rects).values(), rects.values());
    if (!extent) return { x: 0, y: 0 };
    return { x: Math.max(0, Math.ceil(VIEW_MARGIN - extent.x)), y: Math.max(0, Math.ceil(VIEW_MARGIN - extent.y)) };
  }

  private renderBuilder(story: CyoaStory) {
    const editor = this.editor;
    const selected = story.nodes.find((node) => node.id === this.selected);
    const byNode = new Map<string, Finding[]>();
    for (const finding of this.findings) for (const id of finding.nodeIds) byNode.set(id, [...(byNode.get(id) ?? []), finding]);
    const connectingFrom = this.connecting ? story.nodes.find((node) => node.id === this.connecting?.from) : undefined;
    const routes = this.routes(story, this.nodeRects(story));
    return html`
      <div class="top">
        <a href="/stories" aria-label="Back to the stories">← Stories</a>
        <input class="title" aria-label="Story title" .value=${story.title} maxlength="100"
          @change=${(event: Event) => { const title = (event.target as HTMLInputElement).value.trim(); if (title) this.apply('Rename story', (s) => ({ ...s, title })); }}>
        <span class="muted" role="status" data-testid="save-state">${saveLabel(this.saveState)}</span>
      </div>
      <div class="toolbar" role="toolbar" aria-label="Story tools">
        <button type="button" class="primary" @click=${() => this.addNodeAtCenter()} title="N">+ Add passage</button>
        <button type="button" @click=${() => editor?.undo()} ?disabled=${!editor?.canUndo} aria-label="Undo${editor?.undoLabel ? ` ${editor.undoLabel}` : ''}" title="Ctrl+Z">↶ Undo</button>
        <button type="button" @click=${() => editor?.redo()} ?disabled=${!editor?.canRedo} aria-label="Redo${editor?.redoLabel ? ` ${editor.redoLabel}` : ''}" title="Ctrl+Shift+Z">↷ Redo</button>
        <button type="button" @click=${() => this.deleteSelected()} ?disabled=${!this.selected && !this.selectedConnection} title="Delete">Delete selected</button>
        <button type="button" @click=${() => this.apply('Automatic layout', autoLayout)}>Auto layout</button>
        <button type="button" @click=${() => void this.exportFile()}>Export Twee</button>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.renderImportNotes()}
      <div class="layout">
        <div class="canvas ${this.drag?.kind === 'pan' && this.drag.moved ? 'panning' : ''} ${this.connecting ? 'connecting' : ''}" data-testid="canvas" role="application"
          aria-label="Story canvas: drag the background to pan, the wheel to zoom, N adds a passage, Delete removes the selection"
          @pointerdown=${(event: PointerEvent) => this.backgroundDown(event)} @wheel=${(event: WheelEvent) => this.onWheel(event)}>
          <div class="world" style="transform: translate(${this.pan.x}px, ${this.pan.y}px) scale(${this.zoom})">
            <svg class="edges" width="1" height="1" aria-hidden="true"><defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z"></path></marker></defs>${story.connections.map((connection) => this.renderEdge(connection, routes.get(connection.id)))}</svg>
            ${story.nodes.map((node) => this.renderNode(story, node, byNode.get(node.id) ?? []))}
          </div>
          ${connectingFrom && this.connecting
            ? html`<div class="hint" role="status">Click the passage the ${CHOICE_LABEL[this.connecting.choice]} choice of “${connectingFrom.title}” leads to (Esc cancels)</div>`
            : nothing}
          <div class="zoom" @pointerdown=${(event: Event) => event.stopPropagation()}>
            <button type="button" aria-label="Zoom out" @click=${() => this.zoomAt(1 / 1.25)}>−</button>
            <button type="button" aria-label="Reset zoom" @click=${() => { this.zoom = 1; this.pan = this.homePan(); }} data-testid="zoom-level">${Math.round(this.zoom * 100)}%</button>
            <button type="button" aria-label="Zoom in" @click=${() => this.zoomAt(1.25)}>+</button>
          </div>
        </div>
        <aside>
          ${selected ? this.renderNodePanel(story, selected) : html`<section class="card"><p class="muted">Select a passage to edit it. Use a passage's Left / Right / End / Default button, then click the passage that choice leads to.</p></section>`}
          ${this.renderFindings()}
          ${this.renderSimulator(story)}
          ${this.renderDeploy()}
        </aside>
      </div>
    `;
  }

  private renderImportNotes() {
    const notes = this.importNotes;
    if (notes.length === 0) return nothing;
    return html`<section class="card import-notes" role="status" aria-labelledby="import-notes-title" data-testid="import-notes">
      <div class="row">
        <h3 id="import-notes-title">Imported with ${notes.length} note${notes.length === 1 ? '' : 's'}</h3>
        <button type="button" aria-label="Dismiss the import notes" @click=${() => { this.importNotes = []; }}>Dismiss</button>
      </div>
      <ul>${notes.map((note) => html`<li data-code=${note.code}>${note.message}</li>`)}</ul>
    </section>`;
  }

  private renderEdge(connection: CyoaConnection, route: EdgeRoute | undefined) {
    if (!route) return nothing;
    const { d, label } = route;
    const last = label.lines.length - 1;
    const selectedClass = this.selectedConnection === connection.id ? 'selected' : '';
    // Lines end in a space (but the last) so the text reads as the label it wraps.
    return svg`<g class=${selectedClass} data-connection=${connection.id} data-route=${route.kind}>
      <path class="line" d=${d} marker-end="url(#arrow)"></path>
      <path class="hit" d=${d} @pointerdown=${(event: PointerEvent) => { event.stopPropagation(); this.selectedConnection = connection.id; this.selected = undefined; }}></path>
      <text x=${label.x} y=${label.y} text-anchor="middle">${label.lines.map((line, i) => svg`<tspan x=${label.x} dy=${i === 0 ? 0 : LABEL_LINE}>${i < last ? `${line} ` : line}</tspan>`)}</text>
    </g>`;
  }

  private renderNode(story: CyoaStory, node: CyoaNode, findings: Finding[]) {
    const at = this.positionOf(node);
    const errors = findings.filter((finding) => finding.severity === 'error').length;
    const classes = ['node', node.id === this.selected ? 'selected' : '', node.id === story.startNodeId ? 'start' : ''].join(' ');
    const audio = node.audioFileId ? this.audio.find((file) => file.id === node.audioFileId)?.title ?? 'audio' : undefined;
    return html`<div class=${classes} data-node=${node.id} style="left: ${at.x}px; top: ${at.y}px" role="group" aria-label="Passage ${node.title}"
      @pointerdown=${(event: PointerEvent) => this.nodeDown(event, node)}>
      <div class="name" data-testid="node-title">${node.title}</div>
      <div class="meta">${node.id === story.startNodeId ? 'Start · ' : ''}${audio ? `♪ ${audio}` : 'no audio'}${node.ending ? ' · ending' : ''}</div>
      ${findings.length > 0
        ? html`<span class="badge ${errors > 0 ? 'error' : ''}" data-testid="node-badge" title=${findings.map((finding) => finding.message).join('\n')}
            aria-label="${findings.length} finding${findings.length === 1 ? '' : 's'}">${findings.length}</span>`
        : nothing}
      <div class="handles">
        ${CHOICE_ORDER.map((choice) => html`<button type="button" aria-pressed=${this.connecting?.from === node.id && this.connecting.choice === choice ? 'true' : 'false'}
          aria-label="Connect ${CHOICE_LABEL[choice]} from ${node.title}" @click=${(event: Event) => this.pickHandle(event, node.id, choice)}>${CHOICE_LABEL[choice]}</button>`)}
      </div>
    </div>`;
  }

  private renderNodePanel(story: CyoaStory, node: CyoaNode) {
    const out = story.connections.filter((connection) => connection.from === node.id);
    const patch = (label: string, value: Partial<Omit<CyoaNode, 'id'>>): void => this.apply(label, (s) => updateNode(s, node.id, value));
    return html`<section class="card" aria-label="Passage ${node.title}" data-testid="node-panel">
      <h3>Passage</h3>
      <label>Title <input .value=${node.title} maxlength="100" required
        @change=${(event: Event) => { const title = (event.target as HTMLInputElement).value.trim(); if (title) patch('Rename passage', { title }); }}></label>
      <label>Prompt <textarea .value=${node.prompt ?? ''} maxlength="5000" @change=${(event: Event) => patch('Edit prompt', { prompt: (event.target as HTMLTextAreaElement).value })}></textarea></label>
      <label>Audio file
        <select @change=${(event: Event) => patch('Set audio', { audioFileId: (event.target as HTMLSelectElement).value })}>
          <option value="" ?selected=${!node.audioFileId}>No audio</option>
          ${this.audio.map((file) => html`<option value=${file.id} ?selected=${file.id === node.audioFileId}>${file.title}</option>`)}
        </select>
      </label>
      <label class="inline"><input type="checkbox" .checked=${node.ending === true} @change=${(event: Event) => patch('Toggle ending', { ending: (event.target as HTMLInputElement).checked })}> The story ends here</label>
      <div class="row">
        <button type="button" ?disabled=${story.startNodeId === node.id} @click=${() => this.apply('Set start', (s) => ({ ...s, startNodeId: node.id }))}>Make start</button>
        <button type="button" class="danger" @click=${() => this.deleteSelected()}>Delete passage</button>
      </div>
      ${out.length > 0
        ? html`<ul class="plain" aria-label="Choices from ${node.title}">${out.map((connection) => html`<li class="row">
            <span>${CHOICE_LABEL[connection.choice]} → ${story.nodes.find((candidate) => candidate.id === connection.to)?.title ?? connection.to}</span>
            <button type="button" aria-label="Remove the ${CHOICE_LABEL[connection.choice]} choice" @click=${() => this.apply('Delete choice', (s) => removeConnection(s, connection.id))}>✕</button>
          </li>`)}</ul>`
        : nothing}
    </section>`;
  }

  private renderFindings() {
    return html`<section class="card" aria-labelledby="findings-title">
      <h3 id="findings-title">Checks</h3>
      ${this.findings.length === 0
        ? html`<p class="ok" data-testid="no-findings">No problems found.</p>`
        : html`<ul class="plain" data-testid="findings">${this.findings.map((finding) => html`<li>
            <button type="button" class="finding ${finding.severity}" data-code=${finding.code} ?disabled=${finding.nodeIds.length === 0}
              @click=${() => { if (finding.nodeIds[0]) this.focusNode(finding.nodeIds[0]); }}>
              <strong>${finding.severity === 'error' ? 'Error' : 'Warning'}:</strong> ${finding.message}
            </button>
          </li>`)}</ul>`}
    </section>`;
  }

  private renderSimulator(story: CyoaStory) {
    const sim = this.sim;
    const currentId = sim?.path.at(-1);
    const current = story.nodes.find((node) => node.id === currentId);
    const can = (input: 'left' | 'right' | 'end'): boolean => currentId !== undefined && nextNode(story, currentId, input) !== undefined;
    return html`<section class="card sim" aria-labelledby="sim-title">
      <h3 id="sim-title">Simulator</h3>
      <div class="row">
        <button type="button" @click=${() => this.simulate()}>${sim ? 'Restart' : '▶ Play from the start'}</button>
        ${sim ? html`<button type="button" @click=${() => { this.stopAudio(); this.sim = undefined; }}>Stop</button>` : nothing}
      </div>
      ${sim
        ? html`
            <p aria-live="polite"><span class="now" data-testid="sim-current">${current?.title ?? 'No start passage'}</span>
              <span class="muted" data-testid="sim-audio">${simAudioLabel(sim.playing)}</span></p>
            ${current?.prompt ? html`<p>${current.prompt}</p>` : nothing}
            <div class="row">
              <button type="button" ?disabled=${!can('left')} @click=${() => this.simulate('left')} aria-label="Simulate the left button">◀ Left</button>
              <button type="button" ?disabled=${!can('right')} @click=${() => this.simulate('right')} aria-label="Simulate the right button">Right ▶</button>
              <button type="button" ?disabled=${!can('end')} @click=${() => this.simulate('end')} aria-label="Simulate the end of the passage">End</button>
            </div>
            <p class="muted">Path: ${sim.path.map((id) => story.nodes.find((node) => node.id === id)?.title ?? id).join(' → ')}</p>`
        : nothing}
    </section>`;
  }

  private renderDeploy() {
    const entries = this.stream.store.list();
    const result = this.deployResult;
    return html`<section class="card" aria-labelledby="deploy-title">
      <h3 id="deploy-title">Deploy</h3>
      <div class="row">
        <select aria-label="Player to deploy to" @change=${(event: Event) => { this.deployDevice = (event.target as HTMLSelectElement).value; }}>
          ${entries.map((entry) => html`<option value=${entry.deviceId} ?selected=${entry.deviceId === this.deployDevice}>${entry.name}</option>`)}
        </select>
        <button type="button" class="primary" ?disabled=${entries.length === 0} @click=${() => void this.deploy()}>Deploy</button>
      </div>
      ${result
        ? html`<div role=${result.ok ? 'status' : 'alert'} class=${result.ok ? 'ok' : 'bad'} data-testid="deploy-result">${result.message}
            ${result.findings.length > 0 ? html`<ul>${result.findings.filter((f) => f.severity === 'error').map((finding) => html`<li>${finding.message}</li>`)}</ul>` : nothing}</div>`
        : nothing}
    </section>`;
  }
}

function saveLabel(state: YotoStoriesView['saveState']): string {
  switch (state) {
    case 'saved': return 'All changes saved';
    case 'saving': return 'Saving…';
    case 'pending': return 'Unsaved changes';
    default: return 'Not saved';
  }
}

function simAudioLabel(state: SimState['playing']): string {
  switch (state) {
    case 'loading': return '(loading audio…)';
    case 'playing': return '(playing)';
    case 'no-audio': return '(no audio)';
    case 'error': return '(cannot play the audio)';
    default: return '';
  }
}

customElements.define('yoto-stories-view', YotoStoriesView);
