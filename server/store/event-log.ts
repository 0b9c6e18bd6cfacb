import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log/logger';
import type { DeviceEvent } from './collections';
import { StoreError } from './errors';
import {
  CURRENT_LOG_NAME,
  endsWithNewline,
  isDeviceEvent,
  listRotatedLogs,
  openForReading,
  parseRotatedLogName,
  rotatedLogName,
  scanEvents,
  type RotatedLogFile,
} from './event-log-files';
import { BufferedEventLog } from './event-buffer';
import { RingBuffer } from './ring-buffer';

export interface EventLogOptions {
  dir: string;
  /** A file is rotated before it would grow past this size. */
  maxFileBytes?: number;
  /** Rotated files whose newest event is older than this are deleted. */
  retentionDays?: number;
  /** Milliseconds since the epoch (tests move time). */
  now?: () => number;
  logger?: Logger;
  /** The shortest time between two scheduled writes, ms (default EVENT_WRITE_INTERVAL_MS). */
  writeIntervalMs?: number;
}

export interface EventQuery {
  deviceId?: string;
  types?: readonly string[];
  /** Only events whose timestamp is at or after this. */
  since?: string | number | Date;
  /** Only events whose timestamp is at or before this. */
  until?: string | number | Date;
  /** At most this many events (default 100). */
  limit?: number;
  /** Paging cursor: the id of an event; only events logged before it are returned. */
  before?: string;
}

export interface EventLogStats {
  /** Events appended since the log was opened. */
  appended: number;
  /** Bytes written to disk since the log was opened. */
  flushedBytes: number;
  /** Events appended but not yet handed to the disk. */
  pending: number;
  /** Write calls made (each writes a whole batch of pending events). */
  writes: number;
  rotations: number;
  /** Log files on disk, current one included. */
  files: number;
  /** Unreadable lines found in the files read so far (a line torn by a crash counts once). */
  corruptLines: number;
}

/**
 * The device event log as the hub uses it: the embedded JSON-lines log
 * (`EventLog`) or the partitioned PostgreSQL table (`PostgresEventLog`).
 */
export interface DeviceEventLog {
  /** Buffers the event (O(1)); a write is scheduled (within EVENT_WRITE_INTERVAL_MS of the last one). Do not change the object afterwards. */
  append(event: DeviceEvent): void;
  /** Resolves once every event appended before the call is durable. */
  flush(): Promise<void>;
  /** Durable events (pending ones are flushed first), newest first. */
  query(query?: EventQuery): Promise<DeviceEvent[]>;
  /**
   * Where the log can count for itself (PostgreSQL: GROUP BY, no event leaves the database):
   * durable events per device, UTC day and type, and which of `seen` (ids of events the caller
   * counted already, read when the counts are taken) those counts include.
   */
  dailyCounts?(seen: () => Iterable<string>): Promise<DailyEventCounts>;
  /** Deletes what is older than the retention period; resolves to how many files or partitions it deleted. */
  enforceRetention(): Promise<number>;
  stats(): EventLogStats;
  /** Writes what is pending and releases everything; later appends throw. Safe to call twice. */
  close(): Promise<void>;
}

export interface DailyEventCounts {
  counts: Array<{ deviceId: string; day: string; type: string; count: number }>;
  /** The ids given as seen that the counts include. */
  included: string[];
}

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

interface CurrentFileSnapshot {
  handle: fs.FileHandle;
  bytes: number;
}

interface ScanResult {
  /** Matching events, newest first. */
  events: DeviceEvent[];
  cursorFound: boolean;
  corruptLines: number;
}

/**
 * The append-only device event log: JSON lines in `dir/events.jsonl`, rotated
 * by size, old files deleted by age. append() only buffers (O(1)); one scheduled flush writes everything
 * pending with a single write, so ingest cost does not depend on the log size.
 */
export class EventLog extends BufferedEventLog implements DeviceEventLog {
  private readonly dir: string;
  private readonly currentPath: string;
  private readonly maxFileBytes: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;

  private handle: fs.FileHandle | undefined;
  private currentBytes = 0;
  private pendingLines: string[] = [];
  private pendingSizes: number[] = [];
  private rotated: RotatedLogFile[] = [];
  private nextSeq = 1;
  /** Odd while a rotation is moving files; readers retry when it changed under them. */
  private rotationEpoch = 0;
  private readonly corruptLinesByFile = new Map<string, number>();
  private counters = { flushedBytes: 0, writes: 0, rotations: 0 };

  private constructor(options: EventLogOptions) {
    super(options.logger ?? silentLogger, options.writeIntervalMs);
    this.dir = options.dir;
    this.currentPath = path.join(options.dir, CURRENT_LOG_NAME);
    this.maxFileBytes = options.maxFileBytes ?? 16 * MiB;
    this.retentionMs = (options.retentionDays ?? 30) * DAY_MS;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
  }

  static async open(options: EventLogOptions): Promise<EventLog> {
    const log = new EventLog(options);
    await log.start();
    return log;
  }

  private async start(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    this.rotated = await listRotatedLogs(this.dir);
    this.nextSeq = (this.rotated.at(-1)?.seq ?? 0) + 1;
    await this.countCorruptLinesInCurrentFile();
    // A crash can leave a torn last line; end it so the next event starts on a line of its own.
    const tornTail = !(await endsWithNewline(this.currentPath));
    this.handle = await fs.open(this.currentPath, 'a');
    if (tornTail) await this.handle.write('\n');
    this.currentBytes = (await this.handle.stat()).size;
    await this.enforceRetention();
  }

  /** A line torn by a crash is reported when the log opens (health, a warning), not only when a query reads it. */
  private async countCorruptLinesInCurrentFile(): Promise<void> {
    const handle = await openForReading(this.currentPath);
    if (!handle) return;
    const { size } = await handle.stat();
    const { corruptLines } = await scanEvents(handle, size, () => undefined);
    this.corruptLinesByFile.set(CURRENT_LOG_NAME, corruptLines);
    if (corruptLines > 0) this.logger.warn('skipped corrupt lines in the event log', { file: this.currentPath, corruptLines });
  }

  protected buffer(event: DeviceEvent): void {
    if (!isDeviceEvent(event)) {
      throw new StoreError('invalid_event', 'an event needs string id, deviceId, type and timestamp, and an object data', { event });
    }
    const line = JSON.stringify(event) + '\n';
    this.pendingLines.push(line);
    this.pendingSizes.push(Buffer.byteLength(line));
  }

  protected hasPending(): boolean {
    return this.pendingLines.length > 0;
  }

  /** Events from the files on disk, newest first. */
  protected async queryWritten(query: EventQuery, limit: number): Promise<DeviceEvent[]> {
    const matches = eventMatcher(query);
    const { current, epoch, rotatedNewestFirst } = await this.snapshotFiles();
    const results: DeviceEvent[] = [];
    let cursorFound = query.before === undefined;

    const collect = async (handle: fs.FileHandle, bytes: number): Promise<number> => {
      const scan = await this.scanFile(handle, bytes, matches, limit - results.length, cursorFound ? undefined : query.before);
      cursorFound ||= scan.cursorFound;
      if (cursorFound) for (const event of scan.events) results.push(event);
      return scan.corruptLines;
    };

    const corruptInCurrent = await collect(current.handle, current.bytes);
    // Counted under the current name only if no rotation renamed the file meanwhile.
    if (this.rotationEpoch === epoch) this.recordCorruptLines(CURRENT_LOG_NAME, corruptInCurrent);
    for (const file of rotatedNewestFirst) {
      if (results.length >= limit) break;
      const handle = await openForReading(path.join(this.dir, file.name));
      if (handle) this.recordCorruptLines(file.name, await collect(handle, (await handle.stat()).size));
    }
    return results.slice(0, limit);
  }

  /** Deletes rotated files older than the retention period; resolves to how many it deleted. */
  async enforceRetention(): Promise<number> {
    const cutoff = this.now() - this.retentionMs;
    const expired = this.rotated.filter((file) => file.rotatedAt < cutoff);
    if (expired.length === 0) return 0;
    // Taken off the list first, so a concurrent call does not count them again.
    this.rotated = this.rotated.filter((file) => file.rotatedAt >= cutoff);
    let deleted = 0;
    for (const file of expired) {
      try {
        await fs.rm(path.join(this.dir, file.name), { force: true });
        this.corruptLinesByFile.delete(file.name);
        deleted++;
      } catch (error) {
        this.logger.warn('could not delete an expired event log file', { file: file.name, err: error });
        this.rotated = [...this.rotated, file].sort((a, b) => a.seq - b.seq);
      }
    }
    if (deleted > 0) this.logger.info('deleted expired event log files', { deleted });
    return deleted;
  }

  stats(): EventLogStats {
    let corruptLines = 0;
    for (const count of this.corruptLinesByFile.values()) corruptLines += count;
    return {
      appended: this.appended,
      ...this.counters,
      pending: this.pendingLines.length,
      files: this.rotated.length + 1,
      corruptLines,
    };
  }

  /** Writes what is pending and releases the file; later appends throw. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.flusher.stop();
    try {
      await this.flusher.drain();
    } finally {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
      // The close request is still listed as active in the turn its promise
      // resolves; one more turn and close() leaves nothing behind.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Writes as many pending lines as fit in the current file, rotating first when the next one does not fit. */
  protected async writeNextBatch(): Promise<void> {
    if (this.currentBytes > 0 && this.currentBytes + this.pendingSizes[0]! > this.maxFileBytes) await this.rotate();
    const count = this.linesThatFit(this.maxFileBytes - this.currentBytes);
    const lines = this.pendingLines.splice(0, count);
    const sizes = this.pendingSizes.splice(0, count);
    const buffer = Buffer.from(lines.join(''));
    try {
      await writeAll(this.openHandle(), buffer);
    } catch (error) {
      this.pendingLines = lines.concat(this.pendingLines);
      this.pendingSizes = sizes.concat(this.pendingSizes);
      throw error;
    }
    this.counters.writes++;
    this.counters.flushedBytes += buffer.length;
    this.currentBytes += buffer.length;
  }

  /** At least one line, even one larger than a whole file. */
  private linesThatFit(room: number): number {
    let count = 0;
    let bytes = 0;
    while (count < this.pendingSizes.length) {
      const size = this.pendingSizes[count]!;
      if (count > 0 && bytes + size > room) break;
      bytes += size;
      count++;
    }
    return count;
  }

  private openHandle(): fs.FileHandle {
    if (!this.handle) throw new StoreError('store_closed', 'the event log file is not open');
    return this.handle;
  }

  private async rotate(): Promise<void> {
    const name = rotatedLogName(this.now(), this.nextSeq);
    this.rotationEpoch++;
    try {
      await this.openHandle().close();
      this.handle = undefined;
      await fs.rename(this.currentPath, path.join(this.dir, name));
      this.nextSeq++;
      this.rotated.push(parseRotatedLogName(name)!);
      this.corruptLinesByFile.set(name, this.corruptLinesByFile.get(CURRENT_LOG_NAME) ?? 0);
      this.corruptLinesByFile.delete(CURRENT_LOG_NAME);
      this.counters.rotations++;
    } finally {
      // Reopened even when the rename failed, so appends keep working.
      this.handle ??= await fs.open(this.currentPath, 'a');
      this.currentBytes = (await this.handle.stat()).size;
      this.rotationEpoch++;
    }
    await this.enforceRetention().catch((error: unknown) => this.logger.warn('event log retention failed', { err: error }));
  }

  /**
   * The current file (opened, with its flushed size) and the rotated files,
   * taken while no rotation is moving them, so no file is missed or read twice.
   */
  private async snapshotFiles(): Promise<{ current: CurrentFileSnapshot; epoch: number; rotatedNewestFirst: RotatedLogFile[] }> {
    for (;;) {
      const epoch = this.rotationEpoch;
      if (epoch % 2 === 1) {
        await this.flusher.inFlight?.catch(() => undefined);
        continue;
      }
      const bytes = this.currentBytes;
      const rotatedNewestFirst = [...this.rotated].reverse();
      const handle = await fs.open(this.currentPath, 'r');
      if (this.rotationEpoch === epoch) return { current: { handle, bytes }, epoch, rotatedNewestFirst };
      await handle.close();
    }
  }

  /**
   * Reads one file in order, keeping its last `keep` matches. With a cursor,
   * only matches before the cursor's line count, and they count only when the
   * cursor is in this file (everything in a newer file is after it).
   */
  private async scanFile(
    handle: fs.FileHandle,
    bytes: number,
    matches: (event: DeviceEvent) => boolean,
    keep: number,
    cursor: string | undefined,
  ): Promise<ScanResult> {
    const kept = new RingBuffer<DeviceEvent>(Math.max(1, keep));
    let cursorFound = false;
    const { corruptLines } = await scanEvents(handle, bytes, (event) => {
      if (cursor !== undefined && event.id === cursor) {
        cursorFound = true;
        return false;
      }
      if (matches(event)) kept.push(event);
      return true;
    });
    if (cursor !== undefined && !cursorFound) return { events: [], cursorFound: false, corruptLines };
    return { events: kept.newestFirst(keep), cursorFound, corruptLines };
  }

  /** A scan that stopped early (paging cursor) saw fewer lines: keep the larger count. */
  private recordCorruptLines(fileName: string, corruptLines: number): void {
    this.corruptLinesByFile.set(fileName, Math.max(corruptLines, this.corruptLinesByFile.get(fileName) ?? 0));
  }
}

async function writeAll(handle: fs.FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, null);
    offset += bytesWritten;
  }
}

export function eventMatcher(query: EventQuery): (event: DeviceEvent) => boolean {
  const types = query.types ? new Set(query.types) : undefined;
  const since = query.since === undefined ? undefined : toMillis(query.since, 'since');
  const until = query.until === undefined ? undefined : toMillis(query.until, 'until');
  return (event) => {
    if (query.deviceId !== undefined && event.deviceId !== query.deviceId) return false;
    if (types && !types.has(event.type)) return false;
    if (since === undefined && until === undefined) return true;
    const at = Date.parse(event.timestamp);
    return (since === undefined || at >= since) && (until === undefined || at <= until);
  };
}

export function toMillis(value: string | number | Date, name: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`query.${name} is not a valid time: ${String(value)}`);
  return ms;
}
