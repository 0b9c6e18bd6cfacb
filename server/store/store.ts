import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log/logger';
import { assembleStore, countsByCollection } from './assemble-store';
import type { CollectionName, CollectionRecords } from './collections';
import { Database, LowdbWriter } from './database';
import { removeTempLeftovers } from '../files/atomic-file';
import { loadDbFile } from './db-file';
import { EventLog, type DeviceEventLog, type EventLogOptions, type EventLogStats } from './event-log';
import { openPostgresStore } from './postgres-store';
import { MIGRATIONS, assertMigrationsAreSequential, type Migration } from './migrations';
import type { RecordValidator, Repository } from './repository';

export interface OpenStoreOptions {
  /** Holds db.json and the events/ folder (embedded store) and the audio files; created when missing. */
  dataDir: string;
  /**
   * postgres://user:password@host:port/database: records and events live in PostgreSQL
   * (several hub instances may share it) instead of db.json and events/.
   */
  databaseUrl?: string;
  /** Called before every write; a throw refuses the write. */
  validate: RecordValidator;
  logger?: Logger;
  /** Event log settings; `dir` defaults to `<dataDir>/events` (retentionDays applies to PostgreSQL too). */
  eventLog?: Partial<EventLogOptions>;
  /** The schema migrations (tests pass their own); the last one's version is the current version. */
  migrations?: readonly Migration[];
  /** The clock for `updatedAt` (tests pin it). */
  now?: () => Date;
}

export type StoreBackend = 'embedded' | 'postgres';

/** A record another hub instance changed in the shared database. */
export interface ExternalChange {
  collection: CollectionName;
  id: string;
  op: 'set' | 'delete';
}

export interface StoreHealth {
  status: 'ok' | 'error';
  backend: StoreBackend;
  dataDir: string;
  schemaVersion: number;
  collections: Record<CollectionName, number>;
  events: EventLogStats;
  error?: string;
}

export interface Store {
  readonly backend: StoreBackend;
  readonly dataDir: string;
  /** Where the records are: the lowdb file `<dataDir>/db.json`, or the database URL without its password. */
  readonly file: string;
  readonly schemaVersion: number;
  readonly users: Repository<CollectionRecords['users']>;
  readonly devices: Repository<CollectionRecords['devices']>;
  readonly audioFiles: Repository<CollectionRecords['audio_files']>;
  readonly scripts: Repository<CollectionRecords['scripts']>;
  readonly stories: Repository<CollectionRecords['cyoa_stories']>;
  readonly playbackHistory: Repository<CollectionRecords['playback_history']>;
  readonly events: DeviceEventLog;
  /** The repository of a collection by its stored name. */
  collection<N extends CollectionName>(name: N): Repository<CollectionRecords[N]>;
  health(): StoreHealth;
  /** Resolves once every change asked for so far is written (or has failed): what a read after it sees. */
  settled(): Promise<void>;
  /**
   * Pulls every change another hub instance committed so far to the shared database, so the
   * next read sees it (the hub calls it before each API request). Nothing to do on the embedded store.
   */
  catchUp(): Promise<void>;
  /**
   * Calls `listener` with the records another instance changed, each time this instance pulls
   * such changes (after catchUp or a notification); resolves to a function that stops it.
   * Never called on the embedded store.
   */
  onExternalChanges(listener: (changes: ExternalChange[]) => void): () => void;
  /** Waits for queued writes, flushes and closes the event log. Safe to call twice. */
  close(): Promise<void>;
}

export const DB_FILE_NAME = 'db.json';

/**
 * Opens (or creates) the embedded store in `dataDir`: entities in db.json
 * through lowdb, device events in the append-only log under events/.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    return openPostgresStore({ ...options, databaseUrl: options.databaseUrl });
  }
  const logger = options.logger ?? silentLogger;
  const migrations = options.migrations ?? MIGRATIONS;
  assertMigrationsAreSequential(migrations);
  const file = path.join(options.dataDir, DB_FILE_NAME);
  await fs.mkdir(options.dataDir, { recursive: true });
  // Temporary files of writes a killed process never finished: the targets still hold their last complete state.
  const leftovers = await removeTempLeftovers(options.dataDir);
  if (leftovers.length > 0) logger.info('removed temporary files left by an interrupted write', { count: leftovers.length, files: leftovers.slice(0, 10) });

  const loaded = await loadDbFile(file, migrations, logger);
  const db = new Database(loaded.data, loaded.schemaVersion, new LowdbWriter(loaded.low, loaded.data, loaded.schemaVersion), logger);
  const events = await EventLog.open({
    ...options.eventLog,
    dir: options.eventLog?.dir ?? path.join(options.dataDir, 'events'),
    logger: options.eventLog?.logger ?? logger.child({ part: 'event-log' }),
  });
  const store = assembleStore({
    backend: 'embedded',
    file,
    options,
    db,
    events,
    logger,
    catchUp: () => Promise.resolve(),
    onExternalChanges: () => () => undefined,
    closeBackend: () => Promise.resolve(),
  });
  logger.info('store opened', { file, schemaVersion: loaded.schemaVersion, ...countsByCollection(db) });
  return store;
}

