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

/** One record change, in the order the batch made it. */
export type RecordOp =
  | { collection: CollectionName; op: 'set'; id: string; record: StoredRecord }
  | { collection: CollectionName; op: 'delete'; id: string };

/** What a batch of changes did, handed to the writer that makes it durable. */
export interface AppliedBatch {
  /** Every record change in order (empty when the batch changed nothing). */
  ops: RecordOp[];
  /** Every collection as it is after the batch (drafts where changed, committed otherwise). */
  snapshot(): Map<CollectionName, RecordMap>;
}

/**
 * Makes batches durable. `commit` calls `applyBatch` (once, at the moment the
 * writer is ready to write: the changes are applied to the state it then
 * holds), writes its result, then calls `install` to make it what readers see;
 * it rejects when the write failed (nothing installed).
 */
export interface BatchWriter {
  commit(applyBatch: () => AppliedBatch, install: () => void): Promise<void>;
}

/** A collection draft that remembers each change made to it, in order. */
class TrackedMap extends Map<string, StoredRecord> {
  private log: RecordOp[] | undefined;

  constructor(
    entries: Iterable<readonly [string, StoredRecord]>,
    private readonly collectionName: CollectionName,
    ops: RecordOp[],
  ) {
    super(entries);
    this.log = ops;
  }

  override set(id: string, record: StoredRecord): this {
    this.log?.push({ collection: this.collectionName, op: 'set', id, record });
    return super.set(id, record);
  }

  override delete(id: string): boolean {
    const deleted = super.delete(id);
    if (deleted) this.log?.push({ collection: this.collectionName, op: 'delete', id });
    return deleted;
  }

  /** Stops recording: the draft becomes the committed collection. */
  detach(): RecordMap {
    this.log = undefined;
    return this;
  }
}

/** What repositories need from the database that holds their collection. */
export interface RecordsDatabase {
  records(collection: CollectionName): ReadonlyMap<string, StoredRecord>;
  /** A number that changes whenever what records(collection) holds changes (indexes over it compare it). */
  revision(collection: CollectionName): number;
  change<R>(collection: CollectionName, apply: ChangeFn<R>): Promise<R>;
}

/**
 * The entity collections in memory plus their durable copy (db.json through
 * lowdb, or PostgreSQL: the `BatchWriter`). Changes run one at a time in the
 * order they were asked for; those asked for in the same synchronous run, and
 * those queued while a write is on its way, are applied together and written
 * with the next single write (group commit), so each write carries as many
 * changes as possible. A change is acknowledged (its promise resolves) only
 * once the write holding it is durable.
 */
export class Database implements RecordsDatabase {
  private readonly committed: Map<CollectionName, RecordMap>;
  private readonly revisions = new Map<CollectionName, number>();
  private queue: QueuedChange[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  private lastWriteError: Error | undefined;

  constructor(
    data: StoredData,
    readonly schemaVersion: number,
    private readonly writer: BatchWriter,
    private readonly logger: Logger,
  ) {
    this.committed = new Map(COLLECTION_NAMES.map((name) => [name, toRecordMap(data[name])]));
  }

  records(collection: CollectionName): ReadonlyMap<string, StoredRecord> {
    return this.committed.get(collection)!;
  }

  revision(collection: CollectionName): number {
    return this.revisions.get(collection) ?? 0;
  }

  private changed(collection: CollectionName): void {
    this.revisions.set(collection, this.revision(collection) + 1);
  }

  get writeError(): Error | undefined {
    return this.lastWriteError;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Applies changes another writer made (another hub instance on the same database): set and delete, in order. */
  applyCommitted(ops: readonly RecordOp[]): void {
    for (const op of ops) {
      const records = this.committed.get(op.collection);
      if (!records) continue;
      this.changed(op.collection);
      if (op.op === 'set') {
        // Map order is insertion order: a replaced record keeps its place, as in the writer's own copy.
        records.set(op.id, deepFreeze(op.record));
      } else {
        records.delete(op.id);
      }
    }
  }

  /** Replaces every collection (a reload after falling too far behind the change log). */
  replaceAll(data: StoredData): void {
    for (const name of COLLECTION_NAMES) {
      this.committed.set(name, toRecordMap(data[name] ?? []));
      this.changed(name);
    }
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
    let drafts: Map<CollectionName, TrackedMap> | undefined;
    let accepted: Array<{ change: QueuedChange; value: unknown }> | undefined;
    const applyBatch = (): AppliedBatch => {
      const ops: RecordOp[] = [];
      const batchDrafts = new Map<CollectionName, TrackedMap>();
      const batchAccepted: Array<{ change: QueuedChange; value: unknown }> = [];
      for (const change of batch) {
        let draft = batchDrafts.get(change.collection);
        if (!draft) {
          draft = new TrackedMap(this.committed.get(change.collection)!, change.collection, ops);
          batchDrafts.set(change.collection, draft);
        }
        const opsBefore = ops.length;
        try {
          const { value } = change.apply(draft);
          batchAccepted.push({ change, value });
        } catch (error) {
          // A refused change throws before touching its draft (ChangeFn's contract).
          ops.length = opsBefore;
          change.reject(error);
        }
      }
      drafts = batchDrafts;
      accepted = batchAccepted;
      return { ops, snapshot: () => new Map(COLLECTION_NAMES.map((name) => [name, batchDrafts.get(name) ?? this.committed.get(name)!])) };
    };
    const install = (): void => {
      for (const [collection, draft] of drafts!) {
        this.committed.set(collection, draft.detach());
        this.changed(collection);
      }
      this.lastWriteError = undefined;
    };
    try {
      await this.writer.commit(applyBatch, install);
    } catch (error) {
      this.lastWriteError = error instanceof Error ? error : new Error(String(error));
      this.logger.error('could not write the store', { err: error });
      if (accepted) for (const { change } of accepted) change.reject(error);
      else for (const change of batch) change.reject(error);
      return;
    }
    for (const { change, value } of accepted!) change.resolve(value);
  }
}

/** db.json through lowdb: every batch that changed something rewrites the whole file. */
export class LowdbWriter implements BatchWriter {
  private readonly extraFields: StoredData;

  constructor(
    private readonly low: Low<StoredData>,
    data: StoredData,
    private readonly schemaVersion: number,
  ) {
    this.extraFields = Object.fromEntries(Object.entries(data).filter(([key]) => key !== 'schemaVersion' && !isKnownCollection(key)));
  }

  async commit(applyBatch: () => AppliedBatch, install: () => void): Promise<void> {
    const batch = applyBatch();
    if (batch.ops.length > 0) {
      // Checking and copying the changes, then serialising the whole file, are each one piece of
      // work; the event loop runs between them, so a large record (a 1,000-passage story) does not
      // hold up the rest of the process for both at once.
      await nextTurn();
      const data: StoredData = { schemaVersion: this.schemaVersion };
      for (const [name, records] of batch.snapshot()) data[name] = [...records.values()];
      Object.assign(data, this.extraFields);
      this.low.data = data;
      await this.low.write();
    }
    install();
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
