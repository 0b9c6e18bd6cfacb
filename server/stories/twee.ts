import { trimChar } from '../text/trim';
import { indexStory, SAFE_ID, type Choice, type Story, type StoryConnection, type StoryNode } from './model';

export type TweeFindingCode =
  | 'special_passage_ignored'
  | 'macro_ignored'
  | 'empty_link'
  | 'too_many_links'
  | 'no_audio'
  | 'duplicate_passage'
  | 'unknown_link_target'
  | 'no_passages'
  | 'bad_metadata';

/** Something an import skipped or could not use; imports never fail on these. */
export interface TweeFinding {
  severity: 'warning';
  code: TweeFindingCode;
  nodeIds: string[];
  message: string;
}

export interface FromTweeOptions {
  /** The audio file id for a passage (e.g. audio/<Passage>.mp3 uploaded to the library); metadata written by toTwee wins. */
  audioFor?(passageName: string): string | undefined;
  /** An icon ("yoto:#..." or https URL) for a passage. */
  iconFor?(passageName: string): string | undefined;
  /** Used when the file names none (default "imported-story"). */
  id?: string;
  userId?: string;
  /** Timestamps of the new story (default the current time). */
  now?: string;
  /** Most passages (`::` headers, special ones included) the text may have; more throws TooManyPassagesError. No limit when omitted. */
  maxPassages?: number;
}

/** The Twee text has more passages than FromTweeOptions.maxPassages allows. */
export class TooManyPassagesError extends Error {
  constructor(readonly maxPassages: number) {
    super(`the Twee text has more than ${maxPassages} passages`);
    this.name = 'TooManyPassagesError';
  }
}

/** Passage tags that carry story semantics (written by toTwee, read by fromTwee). */
export const TAG_ENDING = 'ending';
/** The third link is taken when the passage's audio ends (choice `end`) rather than as the default. */
export const TAG_ON_END = 'on-end';
/** `timeout-<seconds>`: the default (third) link is taken after this many seconds without a choice. */
const TIMEOUT_TAG = /^timeout-(\d+(?:\.\d+)?)$/;

const SPECIAL = new Set(['StoryTitle', 'StoryData', 'StoryInit', 'StoryMenu', 'StoryCaption', 'StoryBanner', 'StorySubtitle', 'StoryAuthor', 'StoryShare', 'StoryIncludes', 'PassageReady', 'PassageDone', 'PassageHeader', 'PassageFooter']);
const SPECIAL_TAGS = new Set(['script', 'stylesheet', 'header', 'footer', 'startup', 'debug-startup', 'debug-header', 'debug-footer', 'Twine.private', 'widget']);
const SLOTS: readonly Choice[] = ['left', 'right', 'default'];
/** Passage-header lines between two chances for a long import to let the event loop run. */
const YIELD_EVERY_LINES = 500;
/** Passages between two such chances. */
const YIELD_EVERY_PASSAGES = 50;
const MACRO_START = /\((?:[A-Za-z][\w-]*):/g;

interface RawPassage {
  name: string;
  tags: string[];
  meta: Record<string, unknown>;
  text: string;
}

interface YotoMeta {
  id?: string;
  title?: string;
  audioFileId?: string;
  icon?: string;
  ending?: boolean;
  links?: Partial<Record<Choice, string>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function* parsePassages(text: string, findings: TweeFinding[], out: RawPassage[], maxPassages = Infinity): Generator<void, void, void> {
  let current: RawPassage | undefined;
  let body: string[] = [];
  const close = (): void => {
    if (current) {
      current.text = body.join('\n').trim();
      out.push(current);
    }
  };
  let lineNumber = 0;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (++lineNumber % YIELD_EVERY_LINES === 0) yield;
    if (!line.startsWith('::')) {
      body.push(line);
      continue;
    }
    close();
    if (out.length >= maxPassages) throw new TooManyPassagesError(maxPassages);
    body = [];
    const header = parseHeader(line);
    const name = unescapeTwee(header?.name ?? line.slice(2)).trim();
    const tags = (header?.tags ?? '').split(/\s+/).filter(Boolean);
    let meta: Record<string, unknown> = {};
    if (header?.meta) {
      try {
        const parsed: unknown = JSON.parse(header.meta);
        if (isRecord(parsed)) meta = parsed;
      } catch {
        findings.push({ severity: 'warning', code: 'bad_metadata', nodeIds: [], message: `The passage "${name}" has metadata that is not valid JSON; it was ignored.` });
      }
    }
    current = { name, tags, meta, text: '' };
  }
  close();
}

/**
 * A passage header `:: name [tags] {metadata}` read in one pass (no regular
 * expression: a backtracking one froze the process on a few hundred spaces).
 * The name runs to the first unescaped `[` or `{`; tags to the first unescaped
 * `]`; the metadata from `{` to the `}` that ends the line. Undefined when the
 * line is not of that form (the whole line is then the name).
 */
function parseHeader(line: string): { name: string; tags?: string; meta?: string } | undefined {
  let i = 2;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      if (i + 1 >= line.length) return undefined;
      i++;
    } else if (c === '[' || c === '{') break;
  }
  const name = line.slice(2, i);
  let tags: string | undefined;
  if (line[i] === '[') {
    let j = i + 1;
    for (; j < line.length && line[j] !== ']'; j++) if (line[j] === '\\') j++;
    if (j >= line.length) return undefined;
    tags = line.slice(i + 1, j);
    i = j + 1;
  }
  const rest = line.slice(i).trim();
  if (rest === '') return { name, ...(tags !== undefined ? { tags } : {}) };
  if (!rest.startsWith('{') || !rest.endsWith('}')) return undefined;
  return { name, ...(tags !== undefined ? { tags } : {}), meta: rest };
}

/** `\x` -> `x`. */
function unescapeTwee(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) i++;
    out += text[i];
  }
  return out;
}

/** The insides of every `[[...]]` link (none spans lines), and the text without them; one linear scan (see parseHeader). */
function extractLinks(text: string): { links: string[]; rest: string } {
  const links: string[] = [];
  let rest = '';
  let from = 0;
  let close = -2;
  let lineEnd = -2;
  for (;;) {
    const open = text.indexOf('[[', from);
    if (open === -1) break;
    // Both only move forward, so the whole scan stays linear.
    if (close !== -1 && close < open + 2) close = text.indexOf(']]', open + 2);
    if (close === -1) break;
    if (lineEnd !== -1 && lineEnd < open) lineEnd = text.indexOf('\n', open);
    if (lineEnd !== -1 && lineEnd < close) {
      // No link starts on this line after `open` (`.` does not cross lines): go on after it.
      rest += text.slice(from, lineEnd);
      from = lineEnd;
      continue;
    }
    rest += text.slice(from, open);
    links.push(text.slice(open + 2, close));
    from = close + 2;
  }
  return { links, rest: rest + text.slice(from) };
}

/** Splits a link's inside into label and target, per Twee 3 / Harlowe link forms. */
function parseLink(inner: string): { label: string; target: string; simple: boolean } {
  const arrow = inner.lastIndexOf('->');
  if (arrow !== -1) return { label: inner.slice(0, arrow), target: inner.slice(arrow + 2).trim(), simple: false };
  const back = inner.indexOf('<-');
  if (back !== -1) return { label: inner.slice(back + 2), target: inner.slice(0, back).trim(), simple: false };
  const bar = inner.lastIndexOf('|');
  if (bar !== -1) return { label: inner.slice(0, bar), target: inner.slice(bar + 1).trim(), simple: false };
  return { label: inner, target: inner.trim(), simple: true };
}

/** Removes Harlowe macros `(name: ...)` (nested parentheses included); returns how many. */
function stripMacros(text: string): { text: string; count: number } {
  let out = '';
  let count = 0;
  let last = 0;
  MACRO_START.lastIndex = 0;
  for (let match = MACRO_START.exec(text); match; match = MACRO_START.exec(text)) {
    let depth = 0;
    let end = match.index;
    for (; end < text.length; end++) {
      if (text[end] === '(') depth++;
      else if (text[end] === ')' && --depth === 0) break;
    }
    out += text.slice(last, match.index);
    last = Math.min(end + 1, text.length);
    MACRO_START.lastIndex = last;
    count++;
  }
  return { text: out + text.slice(last), count };
}

function safeId(name: string, used: Set<string>): string {
  const base = (trimChar(name.replace(/[^A-Za-z0-9_-]+/g, '_'), '_') || 'passage').slice(0, 120);
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/** What Yoto's converter takes from `StoryInit`: `(set: $cover to "...")`, `(set: $resumeTimeout to 1000)`. */
export interface StoryInitSettings {
  cover?: string;
  resumeTimeout?: number;
}

function readStoryInit(text: string): StoryInitSettings {
  const settings: StoryInitSettings = {};
  for (const match of text.matchAll(/\(set:\s*\$(\w+)\s+to\s([^)\n]*)\)/g)) {
    const [, name, raw] = match;
    const value = raw!.trim();
    const text = /^"(.*)"$/.exec(value)?.[1];
    if (name === 'cover' && text !== undefined && /^https?:\/\/\S+$/.test(text)) settings.cover = text;
    if (name === 'resumeTimeout' && /^\d+$/.test(value)) settings.resumeTimeout = Number(value);
  }
  return settings;
}

/**
 * Imports a Twee 3 story (Twine's text format). Passages become nodes (name
 * -> title, text -> prompt, `{"position":"x,y"}` -> position); the first,
 * second and third links of a passage are the left button, the right button
 * and the default (tags: `on-end` makes the third the end-of-audio choice,
 * `timeout-<s>` gives the default a waiting time, `ending` marks an ending).
 * As in Yoto's converter (twee2json + twee2yoto), an empty link (`[[]]`,
 * `[[|]]`) is a placeholder that keeps its slot and goes nowhere, so a passage
 * whose links are all empty, or that has none, is an ending; `[[|Target]]` is
 * a normal link. `StoryInit`'s `$cover` and `$resumeTimeout` are kept for the
 * card (story metadata `yotoCard`); other Harlowe code is ignored with a warning.
 */
export function fromTwee(text: string, options: FromTweeOptions = {}): { story: Story; findings: TweeFinding[] } {
  const steps = tweeSteps(text, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * fromTwee for a request handler: the same result, but the work is cut into
 * slices of at most `sliceMs` (default 10 ms) with the event loop let run between
 * them, so a large import never holds up the rest of the process (the lights,
 * the heating flows) for long.
 */
export async function importTwee(text: string, options: FromTweeOptions = {}, sliceMs = 10): Promise<{ story: Story; findings: TweeFinding[] }> {
  const steps = tweeSteps(text, options);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** fromTwee's work, yielding between small steps (see importTwee). */
function* tweeSteps(text: string, options: FromTweeOptions): Generator<void, { story: Story; findings: TweeFinding[] }, void> {
  const findings: TweeFinding[] = [];
  const warn = (code: TweeFindingCode, nodeIds: string[], message: string): void => {
    findings.push({ severity: 'warning', code, nodeIds, message });
  };
  const passages: RawPassage[] = [];
  yield* parsePassages(text, findings, passages, options.maxPassages);
  let title = 'Untitled story';
  let data: Record<string, unknown> = {};
  let init: StoryInitSettings = {};
  const story: RawPassage[] = [];
  const seen = new Set<string>();
  for (const passage of passages) {
    if (passage.name === 'StoryTitle') {
      title = passage.text.split('\n')[0]!.trim().slice(0, 100) || title;
    } else if (passage.name === 'StoryData') {
      try {
        const parsed: unknown = JSON.parse(passage.text);
        if (isRecord(parsed)) data = parsed;
      } catch {
        warn('bad_metadata', [], 'StoryData is not valid JSON; it was ignored.');
      }
    } else if (passage.name === 'StoryInit') {
      init = readStoryInit(passage.text);
      const used = Object.keys(init).map((key) => `$${key}`);
      warn('special_passage_ignored', [], `"StoryInit" is Harlowe set-up code (variables); a Yoto player cannot run it, so ${used.length ? `only ${used.join(' and ')} ${used.length > 1 ? 'were' : 'was'} used (for the card) and the rest was ignored` : 'it was ignored'}.`);
    } else if (SPECIAL.has(passage.name) || passage.tags.some((tag) => SPECIAL_TAGS.has(tag))) {
      warn('special_passage_ignored', [], `"${passage.name}" is ${passage.name === 'StoryInit' ? 'Harlowe set-up code (variables)' : 'a special Twine passage'}; a Yoto player cannot run it, so it was ignored.`);
    } else if (seen.has(passage.name)) {
      warn('duplicate_passage', [], `There are two passages called "${passage.name}"; the second one was ignored.`);
    } else {
      seen.add(passage.name);
      story.push(passage);
    }
  }
  const yotoData = isRecord(data.yoto) ? data.yoto : undefined;
  // Ids first, so links can refer to them.
  const used = new Set<string>();
  const idOf = new Map<string, string>();
  const yotoOf = new Map<string, YotoMeta>();
  for (const passage of story) {
    const yoto: YotoMeta = isRecord(passage.meta.yoto) ? (passage.meta.yoto as YotoMeta) : {};
    yotoOf.set(passage.name, yoto);
    const wanted = typeof yoto.id === 'string' && SAFE_ID.test(yoto.id) && !used.has(yoto.id) ? yoto.id : undefined;
    if (wanted !== undefined) used.add(wanted);
    idOf.set(passage.name, wanted ?? '');
  }
  for (const passage of story) if (idOf.get(passage.name) === '') idOf.set(passage.name, safeId(passage.name, used));

  const nodes: StoryNode[] = [];
  const connections: StoryConnection[] = [];
  const connectionIds = new Set<string>();
  for (const [i, passage] of story.entries()) {
    if (i % YIELD_EVERY_PASSAGES === YIELD_EVERY_PASSAGES - 1) yield;
    const id = idOf.get(passage.name)!;
    const yoto = yotoOf.get(passage.name)!;
    const extracted = extractLinks(passage.text);
    const links = extracted.links.map(parseLink);
    const withoutLinks = extracted.rest;
    const { text: prompt, count: macros } = stripMacros(withoutLinks);
    if (macros > 0) warn('macro_ignored', [id], `"${passage.name}" uses ${macros} Harlowe macro${macros > 1 ? 's' : ''}; a Yoto player cannot run them, so they were left out.`);
    const position = parsePosition(passage.meta.position) ?? { x: 100 + (i % 8) * 150, y: 100 + Math.floor(i / 8) * 150 };
    const audioFileId = typeof yoto.audioFileId === 'string' ? yoto.audioFileId : options.audioFor?.(passage.name);
    const icon = typeof yoto.icon === 'string' ? yoto.icon : options.iconFor?.(passage.name);
    const fromOurExport = isRecord(passage.meta.yoto);
    const realLinks = links.filter((link) => link.target !== '');
    const ending = typeof yoto.ending === 'boolean' ? yoto.ending : passage.tags.includes(TAG_ENDING) ? true : !fromOurExport && realLinks.length === 0 ? true : undefined;
    const cleanPrompt = prompt.replace(/\n{3,}/g, '\n\n').trim();
    const node: StoryNode = {
      id,
      title: (typeof yoto.title === 'string' && yoto.title ? yoto.title : passage.name).slice(0, 100) || id,
      ...(audioFileId !== undefined ? { audioFileId } : {}),
      ...(cleanPrompt ? { prompt: cleanPrompt.slice(0, 5000) } : {}),
      ...(icon !== undefined ? { icon } : {}),
      ...(ending !== undefined ? { ending } : {}),
      position,
    };
    nodes.push(node);
    if (audioFileId === undefined) warn('no_audio', [id], `"${passage.name}" has no recording: add audio for it before the story can go on a card.`);
    if (links.length > SLOTS.length) warn('too_many_links', [id], `"${passage.name}" has ${links.length} links; a player has two buttons and one automatic choice, so only the first three were kept.`);
    const timeoutTag = passage.tags.map((tag) => TIMEOUT_TAG.exec(tag)).find((match) => match !== null);
    links.slice(0, SLOTS.length).forEach((link, slot) => {
      const choice: Choice = slot === 2 && passage.tags.includes(TAG_ON_END) ? 'end' : SLOTS[slot]!;
      if (link.target === '') {
        // `[[]]` and `[[|]]` are placeholders in Yoto's stories; only words that lead nowhere are worth a warning.
        if (link.label.trim() !== '') warn('empty_link', [id], `"${passage.name}" has a link "${link.label.trim()}" that leads nowhere in the ${choice} place; it was left out.`);
        return;
      }
      const to = idOf.get(link.target);
      if (to === undefined) warn('unknown_link_target', [id], `"${passage.name}" links to "${link.target}", which is not a passage.`);
      const wantedId = yoto.links?.[choice];
      let connectionId = typeof wantedId === 'string' && SAFE_ID.test(wantedId) && !connectionIds.has(wantedId) ? wantedId : `${id}-${choice}`.slice(0, 128);
      for (let n = 2; connectionIds.has(connectionId); n++) connectionId = `${id}-${choice}-${n}`;
      connectionIds.add(connectionId);
      connections.push({
        id: connectionId,
        from: id,
        to: to ?? safeId(link.target, new Set()),
        choice,
        ...(choice === 'default' && timeoutTag ? { timeoutSeconds: Number(timeoutTag[1]) } : {}),
        ...(link.simple ? {} : { label: link.label.slice(0, 500) }),
      });
    });
  }
  if (nodes.length === 0) warn('no_passages', [], 'The file has no story passages.');

  const startName = typeof data.start === 'string' ? data.start : typeof data.startnode === 'string' ? data.startnode : undefined;
  const startId = startName !== undefined ? idOf.get(startName) : idOf.get('Start') ?? nodes[0]?.id;
  const now = options.now ?? new Date().toISOString();
  const twine: Record<string, unknown> = {};
  for (const key of ['ifid', 'format', 'format-version', 'creator', 'creator-version']) if (typeof data[key] === 'string') twine[key] = data[key];
  const fromExport = yotoData ? (isRecord(yotoData.metadata) ? yotoData.metadata : undefined) : Object.keys(twine).length ? { twine } : undefined;
  const metadata = Object.keys(init).length ? { ...(fromExport ?? {}), yotoCard: init } : fromExport;
  const description = yotoData && typeof yotoData.description === 'string' ? yotoData.description : undefined;
  const result: Story = {
    id: yotoData && typeof yotoData.id === 'string' && SAFE_ID.test(yotoData.id) ? yotoData.id : options.id ?? 'imported-story',
    userId: options.userId ?? (yotoData && typeof yotoData.userId === 'string' ? yotoData.userId : 'unknown'),
    title,
    ...(description !== undefined ? { description } : {}),
    ...(startId !== undefined ? { startNodeId: startId } : {}),
    nodes,
    connections,
    ...(yotoData && Array.isArray(yotoData.expect) ? { expect: yotoData.expect as Story['expect'] } : {}),
    ...(metadata ? { metadata } : {}),
    createdAt: now,
    updatedAt: now,
  };
  return { story: result, findings };
}

function parsePosition(value: unknown): { x: number; y: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const [x, y] = value.split(',').map((part) => Number(part.trim()));
  return x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) ? { x, y } : undefined;
}

const UNSAFE_NAME = /[[\]{}|\\]|->|<-|^\s|\s$|^::/;

/**
 * Exports a story as Twee 3 (Harlowe format). Each passage keeps its position
 * and, under "yoto" in its metadata, what Twine has no place for (id, audio
 * file, icon, connection ids), so fromTwee(toTwee(story)) gives the same story.
 */
export function toTwee(story: Story): string {
  const index = indexStory(story);
  const titleCount = new Map<string, number>();
  for (const node of story.nodes) titleCount.set(node.title, (titleCount.get(node.title) ?? 0) + 1);
  const reserved = (name: string): boolean => SPECIAL.has(name);
  const nameOf = new Map<string, string>();
  const usedNames = new Set<string>();
  for (const node of story.nodes) {
    const byTitle = titleCount.get(node.title) === 1 && !UNSAFE_NAME.test(node.title) && !reserved(node.title) && !usedNames.has(node.title);
    const name = byTitle ? node.title : node.id;
    nameOf.set(node.id, name);
    usedNames.add(name);
  }
  const linkTo = (connection: StoryConnection): string => {
    const target = nameOf.get(connection.to) ?? connection.to;
    if (connection.label === undefined) return `[[${target}]]`;
    return `[[${connection.label.replace(/\]\]/g, '] ]').replace(/->/g, '- >').replace(/\|/g, '/')}->${target}]]`;
  };
  const ifid = typeof story.metadata?.twine === 'object' && story.metadata.twine !== null && typeof (story.metadata.twine as Record<string, unknown>).ifid === 'string'
    ? String((story.metadata.twine as Record<string, unknown>).ifid)
    : ifidFor(story.id);
  const storyData = {
    ifid,
    format: 'Harlowe',
    'format-version': '3.3.9',
    ...(story.startNodeId !== undefined && nameOf.has(story.startNodeId) ? { start: nameOf.get(story.startNodeId) } : {}),
    zoom: 1,
    yoto: {
      id: story.id,
      userId: story.userId,
      ...(story.description !== undefined ? { description: story.description } : {}),
      ...(story.metadata !== undefined ? { metadata: story.metadata } : {}),
      ...(story.expect !== undefined ? { expect: story.expect } : {}),
    },
  };
  const out: string[] = [':: StoryTitle', story.title, '', ':: StoryData', JSON.stringify(storyData, null, 2), ''];
  for (const node of story.nodes) {
    const name = nameOf.get(node.id)!;
    const exits = index.exits.get(node.id) ?? {};
    const auto = exits.end ?? exits.default;
    const tags: string[] = [];
    if (node.ending) tags.push(TAG_ENDING);
    if (auto?.choice === 'end') tags.push(TAG_ON_END);
    if (auto?.choice === 'default' && auto.timeoutSeconds !== undefined) tags.push(`timeout-${auto.timeoutSeconds}`);
    const links: Partial<Record<Choice, string>> = {};
    const slots = [exits.left, exits.right, auto];
    let lastSlot = -1;
    slots.forEach((connection, slot) => {
      if (connection) lastSlot = slot;
    });
    const lines: string[] = [];
    for (let slot = 0; slot <= lastSlot; slot++) {
      const connection = slots[slot];
      if (!connection) {
        lines.push('[[|]]');
        continue;
      }
      links[connection.choice] = connection.id;
      lines.push(linkTo(connection));
    }
    const yoto = {
      id: node.id,
      ...(name !== node.title ? { title: node.title } : {}),
      ...(node.audioFileId !== undefined ? { audioFileId: node.audioFileId } : {}),
      ...(node.icon !== undefined ? { icon: node.icon } : {}),
      ...(node.ending === false ? { ending: false } : {}),
      links,
    };
    const meta = { position: `${node.position.x},${node.position.y}`, size: '100,100', yoto };
    out.push(`:: ${escapeName(name)}${tags.length ? ` [${tags.join(' ')}]` : ''} ${JSON.stringify(meta)}`);
    if (node.prompt) out.push(node.prompt);
    out.push(...lines, '');
  }
  return out.join('\n');
}

function escapeName(name: string): string {
  return name.replace(/([\\[\]{}])/g, '\\$1');
}

/** A stable IFID (UUID form, upper case) for a story that has none. */
function ifidFor(id: string): string {
  let h = 0x811c9dc5;
  const parts: string[] = [];
  for (let round = 0; round < 4; round++) {
    for (const char of `${round}:${id}`) h = Math.imul(h ^ char.codePointAt(0)!, 0x01000193) >>> 0;
    parts.push(h.toString(16).padStart(8, '0'));
  }
  const hex = parts.join('').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-A${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
