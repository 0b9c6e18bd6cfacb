import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { ApiError, type ErrorDetail } from '../http/api-error';
import { readJsonSync, writeFileAtomic, WriteQueue } from '../files/atomic-file';

/** A time-of-day window, hub local time; `to` before `from` runs over midnight, `from` equal to `to` is all day. */
export interface SmartWindow {
  /** "HH:MM", inclusive */
  from: string;
  /** "HH:MM", exclusive */
  to: string;
  fileId: string;
}

/**
 * How a smart stream chooses its audio each time a player fetches it, first
 * match wins: the value a flow set (`setValue`), then the first time window
 * that contains the current time, then the next playlist entry (advancing on
 * every fetch, wrapping around), then `fallbackFileId`.
 */
export interface SmartStreamDefinition {
  /** Letters, digits, '-' and '_' (1..128): it is part of the URL. */
  id: string;
  name?: string;
  /** Who made it (informational; the scripts service checks ownership of what it deploys). */
  userId?: string;
  windows?: SmartWindow[];
  playlist?: string[];
  fallbackFileId?: string;
}

export interface SmartStream extends SmartStreamDefinition {
  /** Index of the playlist entry the next fetch plays. */
  position: number;
  /** The file a flow chose with setValue; it wins over every rule until cleared. */
  value?: string;
}

export type SmartRule = 'value' | 'window' | 'playlist' | 'fallback';

export interface SmartChoice {
  streamId: string;
  fileId: string;
  rule: SmartRule;
}

export interface SmartStreamsEvents {
  /** A player fetched a smart stream and got `choice`. */
  chosen: [choice: SmartChoice];
}

interface SmartFile {
  streams: SmartStream[];
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * The smart streams of the hub, kept in `<dataDir>/streams/smart.json`
 * (definitions with their playlist position and flow value; written
 * atomically, one write after the other).
 */
export class SmartStreams extends EventEmitter<SmartStreamsEvents> {
  private readonly file: string;
  private readonly streams = new Map<string, SmartStream>();
  private readonly writes = new WriteQueue();

  constructor(
    dataDir: string,
    private readonly now: () => Date,
    /** Does this library file exist? Definitions that name a missing file are refused. */
    private readonly fileExists: (fileId: string) => boolean,
  ) {
    super();
    this.file = path.join(dataDir, 'streams', 'smart.json');
    const raw = readJsonSync(this.file) as Partial<SmartFile> | undefined;
    for (const stream of raw?.streams ?? []) {
      if (typeof stream === 'object' && stream !== null && typeof stream.id === 'string') this.streams.set(stream.id, stream);
    }
  }

  list(): SmartStream[] {
    return [...this.streams.values()].map((s) => structuredClone(s));
  }

  get(id: string): SmartStream | undefined {
    const stream = this.streams.get(id);
    return stream ? structuredClone(stream) : undefined;
  }

  /** Creates or replaces a smart stream (its position and value are kept on replace). Throws ApiError 400 naming the bad field. */
  async define(definition: SmartStreamDefinition): Promise<SmartStream> {
    const details = this.check(definition);
    if (details.length > 0) throw new ApiError(400, 'validation_failed', `invalid smart stream: ${details[0]!.path} ${details[0]!.message}`, details);
    const existing = this.streams.get(definition.id);
    const stream: SmartStream = {
      id: definition.id,
      ...(definition.name !== undefined ? { name: definition.name } : {}),
      ...(definition.userId !== undefined ? { userId: definition.userId } : {}),
      ...(definition.windows !== undefined ? { windows: definition.windows.map((w) => ({ from: w.from, to: w.to, fileId: w.fileId })) } : {}),
      ...(definition.playlist !== undefined ? { playlist: [...definition.playlist] } : {}),
      ...(definition.fallbackFileId !== undefined ? { fallbackFileId: definition.fallbackFileId } : {}),
      position: existing && definition.playlist ? existing.position % definition.playlist.length : 0,
      ...(existing?.value !== undefined ? { value: existing.value } : {}),
    };
    this.streams.set(stream.id, stream);
    await this.persist();
    return structuredClone(stream);
  }

  async remove(id: string): Promise<boolean> {
    const deleted = this.streams.delete(id);
    if (deleted) await this.persist();
    return deleted;
  }

  /** What a flow says the stream plays from now on (undefined clears it, so the rules apply again). */
  async setValue(streamId: string, fileId: string | undefined): Promise<void> {
    const stream = this.streams.get(streamId);
    if (!stream) throw ApiError.notFound(`smart stream "${streamId}"`);
    if (fileId === undefined) {
      delete stream.value;
    } else {
      if (!this.fileExists(fileId)) throw new ApiError(400, 'validation_failed', `audio file "${fileId}" not found`, [{ path: '/fileId', message: 'names no audio file' }]);
      stream.value = fileId;
    }
    await this.persist();
  }

  /** What the stream would play now, without advancing its playlist. */
  peek(streamId: string): SmartChoice | undefined {
    const stream = this.streams.get(streamId);
    return stream ? this.choose(stream) : undefined;
  }

  /** What a fetch plays: chooses, advances the playlist when that rule chose, and tells `chosen` listeners. */
  next(streamId: string): SmartChoice | undefined {
    const stream = this.streams.get(streamId);
    if (!stream) return undefined;
    const choice = this.choose(stream);
    if (!choice) return undefined;
    if (choice.rule === 'playlist' && stream.playlist) {
      stream.position = (stream.position + 1) % stream.playlist.length;
      void this.persist().catch(() => undefined);
    }
    this.emit('chosen', choice);
    return choice;
  }

  /** Ids of the smart streams that name this file anywhere. */
  usingFile(fileId: string): string[] {
    return [...this.streams.values()]
      .filter((s) => s.value === fileId || s.fallbackFileId === fileId || (s.playlist ?? []).includes(fileId) || (s.windows ?? []).some((w) => w.fileId === fileId))
      .map((s) => s.id);
  }

  idle(): Promise<void> {
    return this.writes.idle();
  }

  private choose(stream: SmartStream): SmartChoice | undefined {
    const at = (fileId: string, rule: SmartRule): SmartChoice => ({ streamId: stream.id, fileId, rule });
    if (stream.value !== undefined) return at(stream.value, 'value');
    const now = this.now();
    const minute = now.getHours() * 60 + now.getMinutes();
    const window = (stream.windows ?? []).find((w) => inWindow(minute, minutesOf(w.from), minutesOf(w.to)));
    if (window) return at(window.fileId, 'window');
    const playlist = stream.playlist ?? [];
    if (playlist.length > 0) return at(playlist[stream.position % playlist.length]!, 'playlist');
    if (stream.fallbackFileId !== undefined) return at(stream.fallbackFileId, 'fallback');
    return undefined;
  }

  private check(def: SmartStreamDefinition): ErrorDetail[] {
    const details: ErrorDetail[] = [];
    const file = (fileId: unknown, where: string): void => {
      if (typeof fileId !== 'string' || !ID.test(fileId)) details.push({ path: where, message: 'must be an audio file id' });
      else if (!this.fileExists(fileId)) details.push({ path: where, message: `names no audio file ("${fileId}")` });
    };
    if (typeof def.id !== 'string' || !ID.test(def.id)) details.push({ path: '/id', message: "must be 1 to 128 letters, digits, '-' or '_'" });
    if (def.name !== undefined && (typeof def.name !== 'string' || def.name.length === 0 || def.name.length > 255)) details.push({ path: '/name', message: 'must be 1 to 255 characters' });
    if (def.windows !== undefined) {
      if (!Array.isArray(def.windows)) details.push({ path: '/windows', message: 'must be an array' });
      else def.windows.forEach((w, i) => {
        for (const key of ['from', 'to'] as const) {
          if (typeof w?.[key] !== 'string' || !HH_MM.test(w[key])) details.push({ path: `/windows/${i}/${key}`, message: 'must be a time "HH:MM" (00:00 to 23:59)' });
        }
        file(w?.fileId, `/windows/${i}/fileId`);
      });
    }
    if (def.playlist !== undefined) {
      if (!Array.isArray(def.playlist) || def.playlist.length === 0) details.push({ path: '/playlist', message: 'must be a non-empty array of audio file ids' });
      else def.playlist.forEach((id, i) => file(id, `/playlist/${i}`));
    }
    if (def.fallbackFileId !== undefined) file(def.fallbackFileId, '/fallbackFileId');
    if (!def.windows?.length && !def.playlist?.length && def.fallbackFileId === undefined) {
      details.push({ path: '/windows', message: 'a smart stream needs at least one of windows, playlist or fallbackFileId' });
    }
    return details;
  }

  private persist(): Promise<void> {
    return this.writes.run(() => writeFileAtomic(this.file, `${JSON.stringify({ streams: [...this.streams.values()] } satisfies SmartFile, null, 2)}\n`));
  }
}

function minutesOf(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** Is `minute` in [from, to), wrapping over midnight when to < from; from === to is the whole day. */
export function inWindow(minute: number, from: number, to: number): boolean {
  if (from === to) return true;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}
