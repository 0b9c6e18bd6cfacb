import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log/logger';
import { COLLECTION_NAMES, TIMESTAMPED_COLLECTIONS, type CollectionName, type CollectionRecords } from './collections';
import { Database } from './database';
import { removeTempLeftovers } from '../files/atomic-file';
import { loadDbFile } from './db-file';
import { errorMessage } from './errors';
import { EventLog, type EventLogOptions, type EventLogStats } from './event-log';
import { MIGRATIONS, assertMigrationsAreSequential, type Migration } from './migrations';
import { CollectionRepository, type RecordValidator, type Repository } from './repository';

export interface OpenStoreOptions {
  /** Holds db.json and the events/ folder; created when missing. */
  dataDir: string;
  /** Called before every write; a throw refuses the write. */
  validate: RecordValidator;
  logger?: Logger;
  /** Event log settings; `dir` defaults to `<dataDir>/events`. */
  eventLog?: Partial<EventLogOptions>;
  /** The schema migrations (tests pass their own); the last one's version is the current version. */
  migrations?: readonly Migration[];
  /** The clock for `updatedAt` (tests pin it). */
  now?: () => Date;
}

export interface StoreHealth {
  status: 'ok' | 'error';
  dataDir: string;
  schemaVersion: number;
  collections: Record<CollectionName, number>;
  events: EventLogStats;
  error?: string;
}

export interface Store {
  readonly dataDir: string;
  /** The lowdb file: `<dataDir>/db.json`. */
  readonly file: string;
  readonly schemaVersion: number;
  readonly users: Repository<CollectionRecords['users']>;
  readonly devices: Repository<CollectionRecords['devices']>;
  readonly audioFiles: Repository<CollectionRecords['audio_files']>;
  readonly scripts: Repository<CollectionRecords['scripts']>;
  readonly stories: Repository<CollectionRecords['cyoa_stories']>;
  readonly playbackHistory: Repository<CollectionRecords['playback_history']>;
  readonly events: EventLog;
  /** The repository of a collection by its stored name. */
  collection<N extends CollectionName>(name: N): Repository<CollectionRecords[N]>;
  health(): StoreHealth;
  /** Resolves once every change asked for so far is written (or has failed): what a read after it sees. */
  settled(): Promise<void>;
  /** Waits for queued writes, flushes and closes the event log. Safe to call twice. */
  close(): Promise<void>;
}

export const DB_FILE_NAME = 'db.json';

/**
 * Opens (or creates) the embedded store in `dataDir`: entities in db.json
 * through lowdb, device events in the append-only log under events/.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  const migrations = options.migrations ?? MIGRATIONS;
  assertMigrationsAreSequential(migrations);
  const file = path.join(options.dataDir, DB_FILE_NAME);
  await fs.mkdir(options.dataDir, { recursive: true });
  // Temporary files of writes a killed process never finished: the targets still hold their last complete state.
  const leftovers = await removeTempLeftovers(options.dataDir);
  if (leftovers.length > 0) logger.info('removed temporary files left by an interrupted write', { count: leftovers.length, files: leftovers.slice(0, 10) });

  const loaded = await loadDbFile(file, migrations, logger);
  const db = new Database(loaded.low, loaded.data, loaded.schemaVersion, logger);
  const now = options.now ?? (() => new Date());
  const repositories = new Map<CollectionName, CollectionRepository<{ id: string }>>(
    COLLECTION_NAMES.map((name) => [
      name,
      new CollectionRepository(db, name, { validate: options.validate, touchUpdatedAt: TIMESTAMPED_COLLECTIONS.has(name), now }),
    ]),
  );
  warnAboutInvalidRecords(repositories, options.validate, logger);

  const events = await EventLog.open({
    ...options.eventLog,
    dir: options.eventLog?.dir ?? path.join(options.dataDir, 'events'),
    logger: options.eventLog?.logger ?? logger.child({ part: 'event-log' }),
  });

  const collection = <N extends CollectionName>(name: N): Repository<CollectionRecords[N]> =>
    repositories.get(name) as unknown as Repository<CollectionRecords[N]>;

  let closing: Promise<void> | undefined;
  const store: Store = {
    dataDir: options.dataDir,
    file,
    schemaVersion: loaded.schemaVersion,
    users: collection('users'),
    devices: collection('devices'),
    audioFiles: collection('audio_files'),
    scripts: collection('scripts'),
    stories: collection('cyoa_stories'),
    playbackHistory: collection('playback_history'),
    events,
    collection,
    health: () => storeHealth(options.dataDir, db, events, closing !== undefined),
    settled: () => db.settled(),
    close() {
      closing ??= Promise.allSettled([db.close(), events.close()]).then(([dbResult, eventsResult]) => {
        for (const result of [dbResult, eventsResult]) if (result.status === 'rejected') throw result.reason;
      });
      return closing;
    },
  };
  logger.info('store opened', { file, schemaVersion: loaded.schemaVersion, ...countsByCollection(db) });
  return store;
}

function storeHealth(dataDir: string, db: Database, events: EventLog, closed: boolean): StoreHealth {
  const error = closed ? 'the store is closed' : db.writeError ? `the last write failed: ${errorMessage(db.writeError)}` : undefined;
  return {
    status: error ? 'error' : 'ok',
    dataDir,
    schemaVersion: db.schemaVersion,
    collections: countsByCollection(db),
    events: events.stats(),
    ...(error ? { error } : {}),
  };
}

function countsByCollection(db: Database): Record<CollectionName, number> {
  return Object.fromEntries(COLLECTION_NAMES.map((name) => [name, db.records(name).size])) as Record<CollectionName, number>;
}

/** Stored records that no longer pass validation are reported, not dropped: the data is the user's. */
function warnAboutInvalidRecords(
  repositories: Map<CollectionName, CollectionRepository<{ id: string }>>,
  validate: RecordValidator,
  logger: Logger,
): void {
  for (const [name, repository] of repositories) {
    const invalid: string[] = [];
    for (const record of repository.list()) {
      try {
        validate(name, record);
      } catch {
        invalid.push(record.id);
      }
    }
    if (invalid.length > 0) logger.warn('stored records fail validation', { collection: name, count: invalid.length, ids: invalid.slice(0, 10) });
  }
}
