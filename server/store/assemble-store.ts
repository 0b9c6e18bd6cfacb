import type { Logger } from '../log/logger';
import { COLLECTION_NAMES, TIMESTAMPED_COLLECTIONS, type CollectionName, type CollectionRecords } from './collections';
import type { Database } from './database';
import { errorMessage } from './errors';
import type { DeviceEventLog } from './event-log';
import { CollectionRepository, type RecordValidator, type Repository } from './repository';
import type { OpenStoreOptions, Store, StoreBackend, StoreHealth } from './store';

export interface StoreParts {
  backend: StoreBackend;
  file: string;
  options: OpenStoreOptions;
  db: Database;
  events: DeviceEventLog;
  logger: Logger;
  catchUp(): Promise<void>;
  /** Why the backend's database cannot be reached now, if it cannot. */
  unreachable?(): string | undefined;
  onExternalChanges: Store['onExternalChanges'];
  /** Releases what the backend holds, once the records and events are written. */
  closeBackend(): Promise<void>;
}

/** The Store around a loaded Database and an opened event log (either backend). */
export function assembleStore(parts: StoreParts): Store {
  const { options, db, events, logger } = parts;
  const now = options.now ?? (() => new Date());
  const repositories = new Map<CollectionName, CollectionRepository<{ id: string }>>(
    COLLECTION_NAMES.map((name) => [
      name,
      new CollectionRepository(db, name, { validate: options.validate, touchUpdatedAt: TIMESTAMPED_COLLECTIONS.has(name), now }),
    ]),
  );
  warnAboutInvalidRecords(repositories, options.validate, logger);

  const collection = <N extends CollectionName>(name: N): Repository<CollectionRecords[N]> =>
    repositories.get(name) as unknown as Repository<CollectionRecords[N]>;

  let closing: Promise<void> | undefined;
  return {
    backend: parts.backend,
    dataDir: options.dataDir,
    file: parts.file,
    schemaVersion: db.schemaVersion,
    users: collection('users'),
    devices: collection('devices'),
    audioFiles: collection('audio_files'),
    scripts: collection('scripts'),
    stories: collection('cyoa_stories'),
    playbackHistory: collection('playback_history'),
    events,
    collection,
    health: () => storeHealth(parts, closing !== undefined),
    settled: () => db.settled(),
    catchUp: () => (closing ? Promise.resolve() : parts.catchUp()),
    onExternalChanges: parts.onExternalChanges,
    close() {
      closing ??= Promise.allSettled([db.close(), events.close()]).then(async ([dbResult, eventsResult]) => {
        await parts.closeBackend();
        for (const result of [dbResult, eventsResult]) if (result.status === 'rejected') throw result.reason;
      });
      return closing;
    },
  };
}

function storeHealth({ backend, options: { dataDir }, db, events, unreachable }: StoreParts, closed: boolean): StoreHealth {
  const down = unreachable?.();
  const error = closed
    ? 'the store is closed'
    : down !== undefined
      ? `the database cannot be reached: ${down}`
      : db.writeError
        ? `the last write failed: ${errorMessage(db.writeError)}`
        : undefined;
  return {
    status: error ? 'error' : 'ok',
    backend,
    dataDir,
    schemaVersion: db.schemaVersion,
    collections: countsByCollection(db),
    events: events.stats(),
    ...(error ? { error } : {}),
  };
}

export function countsByCollection(db: Database): Record<CollectionName, number> {
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
