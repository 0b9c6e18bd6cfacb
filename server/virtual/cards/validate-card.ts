import type { CardInput } from '../../yoto/card';

/** One reason the virtual cloud refuses a card, with the field it is about. */
export interface CardIssue {
  /** e.g. `content.chapters[1].tracks[0].key` */
  path: string;
  message: string;
}

export const TRACK_FORMATS = ['mp3', 'aac', 'opus', 'ogg'] as const;
export const AUTOADVANCE_VALUES = ['none', 'next', 'repeat'] as const;
export const TITLE_MAX = 100;

const CARD_ID = /^[A-Za-z0-9]{5}$/;
/**
 * Real keys are not only "01": Yoto's own Twine converter uses passage names
 * ("TEMPLATE PASSAGE", "20001") and store cards use "01-INT". Any text
 * without control characters or surrounding spaces is a key.
 */
export const CARD_KEY = /^(?=\S)[^\u0000-\u001f\u007f]{0,99}[^\s\u0000-\u001f\u007f]$/;
const MEDIA_REF = /^yoto:#[A-Za-z0-9_-]+$/;

type Json = Record<string, unknown>;

/**
 * The checks the Yoto cloud applies to `POST /content`, plus the ones that
 * stop a card failing silently on the player: every field of the card
 * document with the right type and range, chapter and track keys unique and
 * keeping their zero padding ("08", not "8"), and every `goto` pointing at a
 * chapter and track that exist. Returns the issues (empty when valid).
 */
export function validateCard(input: unknown): CardIssue[] {
  const issues: CardIssue[] = [];
  if (!isRecord(input)) return [{ path: '', message: 'the card must be a JSON object' }];
  checkCardId(input.cardId, issues);
  checkText(input.title, 'title', issues, { required: true, min: 1, max: TITLE_MAX });
  if (input.metadata !== undefined) checkMetadata(input.metadata, issues);
  if (!isRecord(input.content)) {
    issues.push({ path: 'content', message: `is required and must be an object${got(input.content)}` });
    return issues;
  }
  checkContent(input.content, issues);
  return issues;
}

/** The issues as one sentence for an error message: the first one names its field. */
export function describeIssues(issues: CardIssue[]): string {
  const [first, ...rest] = issues;
  if (!first) return 'the card is valid';
  const head = first.path ? `${first.path}: ${first.message}` : first.message;
  return rest.length ? `${head} (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : head;
}

export class CardValidationError extends Error {
  readonly code = 'invalid_card';

  constructor(readonly issues: CardIssue[]) {
    super(describeIssues(issues));
    this.name = 'CardValidationError';
  }
}

/** Validates and returns the card typed, or throws CardValidationError. */
export function assertValidCard(input: unknown): CardInput {
  const issues = validateCard(input);
  if (issues.length) throw new CardValidationError(issues);
  return input as CardInput;
}

function checkCardId(cardId: unknown, issues: CardIssue[]): void {
  if (cardId === undefined || cardId === null) return;
  if (typeof cardId !== 'string' || !CARD_ID.test(cardId)) {
    issues.push({ path: 'cardId', message: `must be 5 letters or digits${got(cardId)}` });
  }
}

function checkMetadata(metadata: unknown, issues: CardIssue[]): void {
  if (!checkObject(metadata, 'metadata', issues)) return;
  checkText(metadata.description, 'metadata.description', issues, { max: 5000 });
  checkText(metadata.author, 'metadata.author', issues, { max: 200 });
  if (metadata.cover !== undefined && metadata.cover !== null) {
    if (checkObject(metadata.cover, 'metadata.cover', issues) && metadata.cover.imageL !== undefined && metadata.cover.imageL !== null) {
      checkText(metadata.cover.imageL, 'metadata.cover.imageL', issues, {});
    }
  }
  if (metadata.media !== undefined) {
    if (checkObject(metadata.media, 'metadata.media', issues)) {
      checkNumber(metadata.media.duration, 'metadata.media.duration', issues, { min: 0 });
      checkNumber(metadata.media.fileSize, 'metadata.media.fileSize', issues, { min: 0, integer: true });
      checkBoolean(metadata.media.hasStreams, 'metadata.media.hasStreams', issues);
    }
  }
}

function checkContent(content: Json, issues: CardIssue[]): void {
  checkOneOf(content.playbackType, 'content.playbackType', ['linear', 'interactive'], issues);
  if (content.config !== undefined) checkContentConfig(content.config, issues);
  if (content.editSettings !== undefined) checkEditSettings(content.editSettings, issues);
  if (!Array.isArray(content.chapters)) {
    issues.push({ path: 'content.chapters', message: `is required and must be an array${got(content.chapters)}` });
    return;
  }
  const chapters = content.chapters as unknown[];
  chapters.forEach((chapter, index) => checkChapter(chapter, `content.chapters[${index}]`, issues));
  const chapterRecords = chapters.filter(isRecord);
  checkKeys(chapters, 'content.chapters', issues);
  chapters.forEach((chapter, index) => {
    if (isRecord(chapter) && Array.isArray(chapter.tracks)) checkKeys(chapter.tracks, `content.chapters[${index}].tracks`, issues);
  });
  checkGotoTargets(chapterRecords, chapters, issues);
}

function checkContentConfig(config: unknown, issues: CardIssue[]): void {
  if (!checkObject(config, 'content.config', issues)) return;
  checkOneOf(config.autoadvance, 'content.config.autoadvance', AUTOADVANCE_VALUES, issues);
  checkNumber(config.resumeTimeout, 'content.config.resumeTimeout', issues, { min: 0, max: 31_536_000, integer: true });
  for (const flag of ['onlineOnly', 'disableTrackNav', 'disableChapterNav'] as const) {
    checkBoolean(config[flag], `content.config.${flag}`, issues);
  }
}

function checkEditSettings(settings: unknown, issues: CardIssue[]): void {
  if (!checkObject(settings, 'content.editSettings', issues)) return;
  checkBoolean(settings.transcodeAudioUploads, 'content.editSettings.transcodeAudioUploads', issues);
  checkBoolean(settings.interactiveContent, 'content.editSettings.interactiveContent', issues);
  checkText(settings.autoOverlayLabels, 'content.editSettings.autoOverlayLabels', issues, {});
}

function checkChapter(chapter: unknown, path: string, issues: CardIssue[]): void {
  if (!checkObject(chapter, path, issues)) return;
  checkKey(chapter.key, `${path}.key`, issues);
  checkText(chapter.title, `${path}.title`, issues, { required: true, max: TITLE_MAX });
  checkText(chapter.overlayLabel, `${path}.overlayLabel`, issues, { max: 20 });
  checkDisplay(chapter.display, `${path}.display`, issues);
  checkNumber(chapter.duration, `${path}.duration`, issues, { min: 0 });
  if (!Array.isArray(chapter.tracks) || chapter.tracks.length === 0) {
    issues.push({ path: `${path}.tracks`, message: `must be an array with at least one track${got(chapter.tracks)}` });
    return;
  }
  (chapter.tracks as unknown[]).forEach((track, index) => checkTrack(track, `${path}.tracks[${index}]`, issues));
}

function checkTrack(track: unknown, path: string, issues: CardIssue[]): void {
  if (!checkObject(track, path, issues)) return;
  checkKey(track.key, `${path}.key`, issues);
  checkText(track.title, `${path}.title`, issues, { required: true, max: TITLE_MAX });
  checkOneOf(track.type, `${path}.type`, ['audio', 'stream'], issues, true);
  checkOneOf(track.format, `${path}.format`, TRACK_FORMATS, issues, true);
  checkTrackUrl(track, path, issues);
  checkNumber(track.duration, `${path}.duration`, issues, { min: 0 });
  checkNumber(track.fileSize, `${path}.fileSize`, issues, { min: 0, integer: true });
  checkText(track.overlayLabel, `${path}.overlayLabel`, issues, { max: 20 });
  checkDisplay(track.display, `${path}.display`, issues);
  if (track.events !== undefined) checkEvents(track.events, `${path}.events`, issues);
}

function checkTrackUrl(track: Json, path: string, issues: CardIssue[]): void {
  const url = track.trackUrl;
  if (typeof url !== 'string' || url === '') {
    issues.push({ path: `${path}.trackUrl`, message: `is required${got(url)}` });
    return;
  }
  if (track.type === 'stream' && !isHttpUrl(url)) {
    issues.push({ path: `${path}.trackUrl`, message: `a stream track needs an http(s) URL the player can fetch${got(url)}` });
  }
  // A card read back from the real cloud carries its audio as signed https://secure-media.yotoplay.com/... URLs;
  // saving it back unchanged is accepted there, so it is here.
  if (track.type === 'audio' && !MEDIA_REF.test(url) && !isHttpsUrl(url)) {
    issues.push({ path: `${path}.trackUrl`, message: `an audio track refers to uploaded audio as "yoto:#<transcodedSha256>" (or the https URL the cloud gave it)${got(url)}` });
  }
}

function checkDisplay(display: unknown, path: string, issues: CardIssue[]): void {
  if (display === undefined || display === null) return;
  if (!checkObject(display, path, issues)) return;
  const icon = display.icon16x16;
  // Cards read back from the cloud name their icons by https URL (https://card-content.yotoplay.com/...).
  if (icon !== undefined && icon !== null && (typeof icon !== 'string' || (!MEDIA_REF.test(icon) && !isHttpsUrl(icon)))) {
    issues.push({ path: `${path}.icon16x16`, message: `must refer to an icon as "yoto:#<mediaId>" or an https URL${got(icon)}` });
  }
}

function checkEvents(events: unknown, path: string, issues: CardIssue[]): void {
  if (!checkObject(events, path, issues)) return;
  for (const [name, event] of Object.entries(events)) {
    if (!['onLhb', 'onRhb', 'onEnd'].includes(name)) {
      issues.push({ path: `${path}.${name}`, message: 'is not an event a player knows (onLhb, onRhb, onEnd)' });
      continue;
    }
    checkEvent(event, `${path}.${name}`, issues);
  }
}

function checkEvent(event: unknown, path: string, issues: CardIssue[]): void {
  if (!isRecord(event)) {
    issues.push({ path, message: `must be an object like {"cmd": "goto", "params": {...}}${got(event)}` });
    return;
  }
  if (event.cmd === 'stop') return;
  if (event.cmd !== 'goto') {
    issues.push({ path: `${path}.cmd`, message: `must be "goto" or "stop"${got(event.cmd)}` });
    return;
  }
  if (!isRecord(event.params) || typeof event.params.chapterKey !== 'string' || typeof event.params.trackKey !== 'string') {
    issues.push({ path: `${path}.params`, message: 'a goto needs params {chapterKey, trackKey} as strings' });
  }
}

/** Keys unique in their list, and numeric keys padded to the list's width (at least two digits). */
function checkKeys(items: unknown[], listPath: string, issues: CardIssue[]): void {
  const keys = items.map((item) => (isRecord(item) && typeof item.key === 'string' ? item.key : undefined));
  const width = Math.max(2, ...keys.filter((key): key is string => key !== undefined && /^\d+$/.test(key)).map((key) => key.length));
  const firstUse = new Map<string, number>();
  keys.forEach((key, index) => {
    if (key === undefined) return;
    const path = `${listPath}[${index}].key`;
    if (/^\d+$/.test(key) && key.length < width) {
      issues.push({ path, message: `"${key}" is not zero-padded like the other keys (expected "${key.padStart(width, '0')}")` });
    }
    const earlier = firstUse.get(key);
    if (earlier !== undefined) issues.push({ path, message: `"${key}" is already the key of ${listPath}[${earlier}]` });
    else firstUse.set(key, index);
  });
}

function checkGotoTargets(chapterRecords: Json[], chapters: unknown[], issues: CardIssue[]): void {
  const tracksByChapter = new Map<string, Set<string>>();
  for (const chapter of chapterRecords) {
    if (typeof chapter.key !== 'string' || !Array.isArray(chapter.tracks)) continue;
    const trackKeys = (chapter.tracks as unknown[]).filter(isRecord).map((track) => track.key).filter((key): key is string => typeof key === 'string');
    tracksByChapter.set(chapter.key, new Set(trackKeys));
  }
  chapters.forEach((chapter, chapterIndex) => {
    if (!isRecord(chapter) || !Array.isArray(chapter.tracks)) return;
    (chapter.tracks as unknown[]).forEach((track, trackIndex) => {
      if (!isRecord(track) || !isRecord(track.events)) return;
      for (const [name, event] of Object.entries(track.events)) {
        if (!isRecord(event) || event.cmd !== 'goto' || !isRecord(event.params)) continue;
        const { chapterKey, trackKey } = event.params;
        if (typeof chapterKey !== 'string' || typeof trackKey !== 'string') continue;
        const path = `content.chapters[${chapterIndex}].tracks[${trackIndex}].events.${name}.params`;
        const trackKeys = tracksByChapter.get(chapterKey);
        if (!trackKeys) issues.push({ path: `${path}.chapterKey`, message: `goes to chapter "${chapterKey}", which is not on this card` });
        else if (!trackKeys.has(trackKey)) issues.push({ path: `${path}.trackKey`, message: `goes to track "${trackKey}", which chapter "${chapterKey}" does not have` });
      }
    });
  });
}

function checkKey(key: unknown, path: string, issues: CardIssue[]): void {
  if (typeof key !== 'string' || !CARD_KEY.test(key)) {
    issues.push({ path, message: `must be 1 to 100 characters, without control characters or spaces at either end${got(key)}` });
  }
}

function checkText(value: unknown, path: string, issues: CardIssue[], rule: { required?: boolean; min?: number; max?: number }): void {
  if (value === undefined) {
    if (rule.required) issues.push({ path, message: 'is required' });
    return;
  }
  if (typeof value !== 'string') {
    issues.push({ path, message: `must be a string${got(value)}` });
    return;
  }
  const length = value.trim().length;
  if (rule.min !== undefined && length < rule.min) issues.push({ path, message: `must not be empty` });
  if (rule.max !== undefined && value.length > rule.max) issues.push({ path, message: `must be at most ${rule.max} characters (got ${value.length})` });
}

function checkNumber(value: unknown, path: string, issues: CardIssue[], rule: { min?: number; max?: number; integer?: boolean }): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.push({ path, message: `must be a number${got(value)}` });
    return;
  }
  if (rule.integer && !Number.isInteger(value)) issues.push({ path, message: `must be a whole number (got ${value})` });
  if (rule.min !== undefined && value < rule.min) issues.push({ path, message: `must be at least ${rule.min} (got ${value})` });
  if (rule.max !== undefined && value > rule.max) issues.push({ path, message: `must be at most ${rule.max} (got ${value})` });
}

function checkBoolean(value: unknown, path: string, issues: CardIssue[]): void {
  if (value !== undefined && typeof value !== 'boolean') issues.push({ path, message: `must be true or false${got(value)}` });
}

function checkOneOf(value: unknown, path: string, allowed: readonly string[], issues: CardIssue[], required = false): void {
  if (value === undefined) {
    if (required) issues.push({ path, message: `is required: one of ${allowed.map((a) => `"${a}"`).join(', ')}` });
    return;
  }
  if (typeof value !== 'string' || !allowed.includes(value)) {
    issues.push({ path, message: `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}${got(value)}` });
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** True when `value` is an object; otherwise records "must be an object" at `path`. */
function checkObject(value: unknown, path: string, issues: CardIssue[]): value is Json {
  if (isRecord(value)) return true;
  issues.push({ path, message: `must be an object${got(value)}` });
  return false;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function got(value: unknown): string {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return ` (got ${text === undefined ? typeof value : text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}
