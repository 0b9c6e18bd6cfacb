import type { CollectionName } from './collections';
import { deepFreeze, type RecordMap, type RecordsDatabase, type StoredRecord } from './database';
import { StoreError } from './errors';

/**
 * Throws (an Error with `code` and `details`) when `record` is not a valid
 * record of `collection`. Injected by the caller so the store does not depend
 * on how schemas are compiled; it may fill defaults into the record it gets.
 */
export type RecordValidator = (collection: CollectionName, record: unknown) => void;

/**
 * The storage interface the rest of the hub uses. Reads are synchronous from
 * memory, return copies and see acknowledged writes only; writes resolve once
 * the change is on disk, and take a copy of their argument at call time.
 */
export interface Repository<T extends { id: string }> {
  readonly collection: CollectionName;
  /** Copies of the records `filter` accepts (all when omitted). `filter` sees read-only records. */
  list(filter?: (record: Readonly<T>) => boolean): T[];
  get(id: string): T | undefined;
  /** The stored record itself, not a copy: frozen, so a caller cannot change it (for hot paths that only read). */
  peek(id: string): Readonly<T> | undefined;
  /**
   * The stored record (frozen, not a copy) whose `field` holds `value`, the first in insertion order as
   * list() would give it: found through an index over that field, rebuilt only when the collection changes,
   * for lookups made per message (a player's record by its Yoto device id).
   */
  findBy<K extends keyof T & string>(field: K, value: T[K]): Readonly<T> | undefined;
  count(): number;
  /** Refuses an id that exists already (code 'conflict'). */
  insert(record: T): Promise<T>;
  /** Merges `patch` into the record (code 'not_found' when there is none); `id` cannot change. */
  update(id: string, patch: Partial<T>): Promise<T>;
  /** Replaces the record with this id, or inserts it. */
  upsert(record: T): Promise<T>;
  /** Resolves false when there was nothing to delete. */
  delete(id: string): Promise<boolean>;
}

export interface RepositoryOptions {
  validate: RecordValidator;
  /** When set, update() refreshes `updatedAt` unless the patch sets it. */
  touchUpdatedAt: boolean;
  now: () => Date;
}

export class CollectionRepository<T extends { id: string }> implements Repository<T> {
  /** findBy()'s indexes, per field: the collection's revision each was built from. */
  private readonly indexes = new Map<string, { revision: number; byValue: Map<unknown, Readonly<T>> }>();

  constructor(
    private readonly db: RecordsDatabase,
    readonly collection: CollectionName,
    private readonly options: RepositoryOptions,
  ) {}

  list(filter?: (record: Readonly<T>) => boolean): T[] {
    const result: T[] = [];
    for (const record of this.records().values()) {
      if (!filter || filter(record)) result.push(structuredClone(record));
    }
    return result;
  }

  get(id: string): T | undefined {
    const record = this.records().get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  peek(id: string): Readonly<T> | undefined {
    return this.records().get(id);
  }

  findBy<K extends keyof T & string>(field: K, value: T[K]): Readonly<T> | undefined {
    const revision = this.db.revision(this.collection);
    let index = this.indexes.get(field);
    if (index?.revision !== revision) {
      const byValue = new Map<unknown, Readonly<T>>();
      for (const record of this.records().values()) if (!byValue.has(record[field])) byValue.set(record[field], record);
      index = { revision, byValue };
      this.indexes.set(field, index);
    }
    return index.byValue.get(value);
  }

  count(): number {
    return this.records().size;
  }

  async insert(record: T): Promise<T> {
    const candidate = structuredClone(record);
    return this.db.change(this.collection, (draft) => {
      const id = requireId(this.collection, candidate);
      if (draft.has(id)) {
        throw new StoreError('conflict', `${this.collection} already holds a record with id "${id}"`, { collection: this.collection, id });
      }
      return { value: this.store(draft, candidate), changed: true };
    });
  }

  async update(id: string, patch: Partial<T>): Promise<T> {
    const changes = structuredClone(patch);
    return this.db.change(this.collection, (draft) => {
      const existing = draft.get(id) as T | undefined;
      if (existing === undefined) throw notFound(this.collection, id);
      const merged: T = { ...structuredClone(existing), ...changes, id };
      if (this.options.touchUpdatedAt && changes['updatedAt' as keyof T] === undefined) {
        (merged as Record<string, unknown>)['updatedAt'] = this.options.now().toISOString();
      }
      return { value: this.store(draft, merged), changed: true };
    });
  }

  async upsert(record: T): Promise<T> {
    const candidate = structuredClone(record);
    return this.db.change(this.collection, (draft) => {
      requireId(this.collection, candidate);
      return { value: this.store(draft, candidate), changed: true };
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.db.change(this.collection, (draft) => {
      const deleted = draft.delete(id);
      return { value: deleted, changed: deleted };
    });
  }

  private records(): ReadonlyMap<string, T> {
    return this.db.records(this.collection) as ReadonlyMap<string, unknown> as ReadonlyMap<string, T>;
  }

  /** Validates, then stores a frozen copy; returns a copy the caller may change. */
  private store(draft: RecordMap, record: T): T {
    this.options.validate(this.collection, record);
    draft.set(record.id, deepFreeze(structuredClone(record)) as StoredRecord);
    return record;
  }
}

function requireId(collection: CollectionName, record: { id?: unknown }): string {
  if (typeof record.id !== 'string' || record.id === '') {
    throw new StoreError('invalid_record', `a record of ${collection} needs a non-empty string id`, { collection });
  }
  return record.id;
}

function notFound(collection: CollectionName, id: string): StoreError {
  return new StoreError('not_found', `${collection} has no record with id "${id}"`, { collection, id });
}
