/**
 * Copies a store between an embedded data folder (db.json and events/) and
 * PostgreSQL, either way, losing nothing: every record in its order, the
 * schema version as it is (an older one is migrated by the next open, with
 * the same migrations), the other top-level fields, and every event. Audio
 * files and the rest of the folder are not copied: they stay in the data
 * folder the hub keeps using (YOTO_DATA_DIR).
 */
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import { Client, Pool } from 'pg';
import { writeJsonAtomic } from '../files/atomic-file';
import { silentLogger, type Logger } from '../log/logger';
import { StoreError } from './errors';
import { CURRENT_LOG_NAME, listRotatedLogs, openForReading, scanEvents } from './event-log-files';
import { CURRENT_SCHEMA_VERSION, type StoredData } from './migrations';
import { PostgresEventLog } from './postgres-event-log';
import { ensureSchema, inLockedTransaction, isEmptyStore, readSchemaVersion, readStoredData, WRITE_LOCK, writeMeta, writeStoredData } from './postgres-schema';
import { redactedUrl } from './postgres-store';
import { DB_FILE_NAME } from './store';

export interface CopySummary {
  schemaVersion: number | undefined;
  records: Record<string, number>;
  events: number;
  /** Unreadable event lines skipped in the source files (a line torn by a crash). */
  skippedLines: number;
}

export interface CopyOptions {
  /** Replace what the target holds instead of refusing a target that is not empty. */
  replace?: boolean;
  logger?: Logger;
}

const EVENT_CHUNK = 5_000;

function recordCounts(data: StoredData): Record<string, number> {
  return Object.fromEntries(Object.entries(data).filter(([, value]) => Array.isArray(value)).map(([key, value]) => [key, (value as unknown[]).length]));
}

async function readDbJson(dataDir: string): Promise<StoredData> {
  const file = path.join(dataDir, DB_FILE_NAME);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError('not_found', `${dataDir} holds no store (no ${DB_FILE_NAME})`, { file });
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new StoreError('store_corrupt', `${file} is not valid JSON; nothing was copied`, { file });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new StoreError('store_corrupt', `${file} does not hold a JSON object; nothing was copied`, { file });
  const version = (data as StoredData)['schemaVersion'];
  if (typeof version === 'number' && version > CURRENT_SCHEMA_VERSION) {
    throw new StoreError('schema_too_new', `${file} has schema version ${version}, newer than this package knows (${CURRENT_SCHEMA_VERSION})`, { file });
  }
  return data as StoredData;
}

/** The event files of an embedded log, oldest first: the rotated ones, then the current one. */
async function eventFiles(dataDir: string): Promise<string[]> {
  const dir = path.join(dataDir, 'events');
  try {
    await fs.access(dir);
  } catch {
    return [];
  }
  return [...(await listRotatedLogs(dir)).map((file) => path.join(dir, file.name)), path.join(dir, CURRENT_LOG_NAME)];
}

/** db.json and events/ of `dataDir` into the PostgreSQL database at `databaseUrl`. */
export async function copyDataDirToPostgres(dataDir: string, databaseUrl: string, options: CopyOptions = {}): Promise<CopySummary> {
  const logger = options.logger ?? silentLogger;
  const data = await readDbJson(dataDir);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  try {
    const client = await pool.connect();
    try {
      await inLockedTransaction(client, WRITE_LOCK, async () => {
        await ensureSchema(client);
        if (!options.replace && ((await readSchemaVersion(client)) !== undefined || !(await isEmptyStore(client)))) {
          throw new StoreError('conflict', `${redactedUrl(databaseUrl)} already holds a store; pass --replace to overwrite it`);
        }
        await client.query('TRUNCATE device_events');
        await client.query('DELETE FROM store_changes');
        await writeStoredData(client, data);
        // Hub instances that were following this database reload everything.
        await writeMeta(client, 'changes_pruned_through', (await client.query<{ seq: string }>("SELECT nextval('store_change_seq')::text AS seq")).rows[0]!.seq);
      });
    } finally {
      client.release();
    }
    logger.info('copied the records', { records: recordCounts(data) });

    // Nothing expires on the way: retention applies when the hub opens the store.
    const events = await PostgresEventLog.open({ pool, retentionDays: Number.POSITIVE_INFINITY, batchRows: EVENT_CHUNK, logger });
    let copied = 0;
    let skippedLines = 0;
    try {
      for (const file of await eventFiles(dataDir)) {
        const handle = await openForReading(file);
        if (!handle) continue;
        const { size } = await handle.stat();
        const counts = await scanEvents(handle, size, (event) => {
          events.append(event);
          copied++;
        });
        skippedLines += counts.corruptLines;
        await events.flush();
      }
    } finally {
      await events.close();
    }
    logger.info('copied the events', { events: copied, skippedLines });
    return { schemaVersion: data['schemaVersion'] as number | undefined, records: recordCounts(data), events: copied, skippedLines };
  } finally {
    await pool.end();
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** The store in the PostgreSQL database at `databaseUrl` into db.json and events/ of `dataDir`. */
export async function copyPostgresToDataDir(databaseUrl: string, dataDir: string, options: CopyOptions = {}): Promise<CopySummary> {
  const logger = options.logger ?? silentLogger;
  const file = path.join(dataDir, DB_FILE_NAME);
  const eventsDir = path.join(dataDir, 'events');
  const occupied = (await fs.stat(file).then(() => true, () => false)) || !(await isEmptyDir(eventsDir));
  if (occupied && !options.replace) throw new StoreError('conflict', `${dataDir} already holds a store; pass --replace to overwrite it`, { file });

  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // One snapshot: the records and the events as they were at one moment.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const version = await readSchemaVersion(client);
    const hasStore = version !== undefined || !(await isEmptyStore(client));
    if (!hasStore) throw new StoreError('not_found', `${redactedUrl(databaseUrl)} holds no store`);
    const data = await readStoredData(client);
    await fs.rm(eventsDir, { recursive: true, force: true });
    await fs.mkdir(eventsDir, { recursive: true });
    const out = createWriteStream(path.join(eventsDir, CURRENT_LOG_NAME));
    let copied = 0;
    try {
      await client.query('DECLARE store_events NO SCROLL CURSOR FOR SELECT event::text AS line FROM device_events ORDER BY seq');
      for (;;) {
        const rows = await client.query<{ line: string }>(`FETCH ${EVENT_CHUNK} FROM store_events`);
        if (rows.rows.length === 0) break;
        if (!out.write(rows.rows.map((row) => row.line + '\n').join(''))) await once(out, 'drain');
        copied += rows.rows.length;
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    await client.query('COMMIT');
    await writeJsonAtomic(file, data);
    logger.info('copied the store to the data folder', { records: recordCounts(data), events: copied });
    return { schemaVersion: version, records: recordCounts(data), events: copied, skippedLines: 0 };
  } finally {
    await client.end();
  }
}
