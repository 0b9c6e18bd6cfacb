import type { Low } from 'lowdb';
import type { Logger } from '../log/logger';
import { COLLECTION_NAMES, type CollectionName } from './collections';
import { StoreError } from './errors';
import type { StoredData } from './migrations';

export interface StoredRecord {
  readonly id: string;
}

export type RecordMap = Map<string, StoredRecord>;

/**
 * A change to one collection. `apply` gets a private draft of the collection
 * and must either throw before touching it or finish its change: that is what
 * makes a refused write leave nothing behind.
 */
export type ChangeFn<R> = (draft: RecordMap) => { value: R; changed: boolean };

interface QueuedChange {
  collection: CollectionName;
  apply: ChangeFn<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The entity collections in memory plus db.json on disk. Changes run one at a
 * time in the order they were asked for; those asked for in the same
 * synchronous run, and those queued while a write is on its way, are applied
 * together and written with the next single write (group
 * commit), so each write of the whole file carries as many changes as
 * possible. A change is acknowledged (its promise resolves) only once the file
 * holding it has been renamed into place.
 */
export class Database {
  private committed: Map<CollectionName, RecordMap>;
  private readonly extraFields: StoredData;
  private queue: QueuedChange[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  private lastWriteError: Error | undefined;

  constructor(
    private readonly low: Low<StoredData>,
    data: StoredData,
    readonly schemaVersion: number,
    private readonly logger: Logger,
  ) {
    this.committed = new Map(COLLECTION_NAMES.map((name) => [name, toRecordMap(data[name])]));
    this.extraFields = Object.fromEntries(Object.entries(data).filter(([key]) => key !== 'schemaVersion' && !isKnownCollection(key)));
  }

  records(collection: CollectionName): ReadonlyMap<string, StoredRecord> {
    return this.committed.get(collection)!;
  }

  get writeError(): Error | undefined {
    return this.lastWriteError;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  change<R>(collection: CollectionName, apply: ChangeFn<R>): Promise<R> {
    if (this.closed) return Promise.reject(new StoreError('store_closed', 'the store is closed'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ collection, apply, resolve: resolve as (value: unknown) => void, reject });
      this.startWriting();
    });
  }

  /** Resolves once the changes queued so far (and any queued meanwhile) are committed or refused. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Lets queued changes finish, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
  }

  private startWriting(): void {
    if (this.writing) return;
    // From the next turn: the caller's own work (copying a large record) and applying the change
    // are separate pieces of work, and changes asked for in this turn (a refresh-token rotation:
    // spend the old one, drop older ones, store the new one) go out in the same write.
    this.writing = nextTurn().then(() => this.writeQueued());
  }

  private async writeQueued(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.commitBatch(batch);
      }
    } finally {
      // Cleared in the same turn as the empty-queue check, so a change queued
      // right after always finds either a running loop or none.
      this.writing = undefined;
    }
  }

  private async commitBatch(batch: QueuedChange[]): Promise<void> {
    const drafts = new Map<CollectionName, RecordMap>();
    const accepted: Array<{ change: QueuedChange; value: unknown }> = [];
    let anyChange = false;
    for (const change of batch) {
      let draft = drafts.get(change.collection);
      if (!draft) {
        draft = new Map(this.committed.get(change.collection));
        drafts.set(change.collection, draft);
      }
      try {
        const { value, changed } = change.apply(draft);
        accepted.push({ change, value });
        anyChange ||= changed;
      } catch (error) {
        change.reject(error);
      }
    }
    if (anyChange) {
      try {
        // Checking and copying the changes, then serialising the whole file, are each one piece of
        // work; the event loop runs between them, so a large record (a 1,000-passage story) does not
        // hold up the rest of the process for both at once.
        await nextTurn();
        await this.writeFile(drafts);
      } catch (error) {
        this.lastWriteError = error instanceof Error ? error : new Error(String(error));
        this.logger.error('could not write the store file', { err: error });
        for (const { change } of accepted) change.reject(error);
        return;
      }
      for (const [collection, draft] of drafts) this.committed.set(collection, draft);
      this.lastWriteError = undefined;
    }
    for (const { change, value } of accepted) change.resolve(value);
  }

  private async writeFile(drafts: Map<CollectionName, RecordMap>): Promise<void> {
    const data: StoredData = { schemaVersion: this.schemaVersion };
    for (const name of COLLECTION_NAMES) data[name] = [...(drafts.get(name) ?? this.committed.get(name)!).values()];
    Object.assign(data, this.extraFields);
    this.low.data = data;
    await this.low.write();
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function toRecordMap(records: unknown): RecordMap {
  const list = records as StoredRecord[];
  return new Map(list.map((record) => [record.id, deepFreeze(record)]));
}

function isKnownCollection(key: string): boolean {
  return (COLLECTION_NAMES as readonly string[]).includes(key);
}

/** Stored records are frozen so no caller can change them behind the store's back. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
