import { once } from 'node:events';
import * as fs from 'node:fs/promises';
import * as readline from 'node:readline';
import type { DeviceEvent } from './collections';

export const CURRENT_LOG_NAME = 'events.jsonl';

const ROTATED_NAME = /^events-(\d{8}T\d{9}Z)-(\d+)\.jsonl$/;

/** A closed log file, named after the moment it was rotated (so after its newest event). */
export interface RotatedLogFile {
  name: string;
  rotatedAt: number;
  seq: number;
}

/** events-20240131T235959123Z-000042.jsonl: sortable, no characters Windows refuses. */
export function rotatedLogName(rotatedAt: number, seq: number): string {
  const stamp = new Date(rotatedAt).toISOString().replace(/[-:.]/g, '');
  return `events-${stamp}-${String(seq).padStart(6, '0')}.jsonl`;
}

export function parseRotatedLogName(name: string): RotatedLogFile | undefined {
  const match = ROTATED_NAME.exec(name);
  if (!match) return undefined;
  const s = match[1]!;
  const rotatedAt = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15), +s.slice(15, 18));
  if (Number.isNaN(rotatedAt)) return undefined;
  return { name, rotatedAt, seq: Number(match[2]) };
}

/** The rotated files in `dir`, oldest first (by rotation sequence, which never goes back). */
export async function listRotatedLogs(dir: string): Promise<RotatedLogFile[]> {
  const names = await fs.readdir(dir);
  return names
    .map(parseRotatedLogName)
    .filter((file): file is RotatedLogFile => file !== undefined)
    .sort((a, b) => a.seq - b.seq);
}

export function isDeviceEvent(value: unknown): value is DeviceEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (
    isNonEmptyString(event['id']) &&
    isNonEmptyString(event['deviceId']) &&
    isNonEmptyString(event['type']) &&
    isNonEmptyString(event['timestamp']) &&
    typeof event['data'] === 'object' &&
    event['data'] !== null &&
    !Array.isArray(event['data'])
  );
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** The event on a line, or undefined when the line is corrupt (torn by a crash, edited by hand). */
export function parseEventLine(line: string): DeviceEvent | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isDeviceEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface ScanCounts {
  corruptLines: number;
}

/**
 * Calls `onEvent` for each event of an open file, in file order, reading at
 * most `byteLimit` bytes; stops early when `onEvent` returns false. Closes the
 * handle before resolving.
 */
export async function scanEvents(
  handle: fs.FileHandle,
  byteLimit: number,
  onEvent: (event: DeviceEvent) => boolean | void,
): Promise<ScanCounts> {
  const counts: ScanCounts = { corruptLines: 0 };
  if (byteLimit <= 0) {
    await handle.close();
    return counts;
  }
  // The handle is closed here rather than by the stream: the stream reports
  // 'close' before the descriptor is released, this awaits the release.
  const stream = handle.createReadStream({ start: 0, end: byteLimit - 1, encoding: 'utf8', autoClose: false });
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const event = parseEventLine(line);
      if (event === undefined) counts.corruptLines++;
      else if (onEvent(event) === false) break;
    }
  } finally {
    lines.close();
    if (!stream.closed) {
      const closed = once(stream, 'close');
      stream.destroy();
      await closed;
    }
    await handle.close();
  }
  return counts;
}

/** Opens a log file for reading, or undefined when it is gone (deleted by retention meanwhile). */
export async function openForReading(file: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** True when the file is empty or its last byte is a newline. */
export async function endsWithNewline(file: string): Promise<boolean> {
  const handle = await openForReading(file);
  if (!handle) return true;
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}
