import * as fs from 'node:fs/promises';
import { Pool, type ClientBase } from 'pg';
import { silentLogger } from '../log/logger';
import { Database, type BatchWriter } from './database';
import { StoreError } from './errors';
import { assertMigrationsAreSequential, findLayoutProblem, latestVersion, migrate, MIGRATIONS, type StoredData } from './migrations';
import { PostgresEventLog } from './postgres-event-log';
import { ensureSchema, inLockedTransaction, readMeta, readSchemaVersion, readStoredData, WRITE_LOCK, writeMeta, writeStoredData } from './postgres-schema';
import { PostgresSync } from './postgres-sync';
import { assembleStore, countsByCollection } from './assemble-store';
import type { OpenStoreOptions, Store } from './store';
import { redactUrlCredentials } from '../log/redact';

export type OpenPostgresStoreOptions = OpenStoreOptions & { databaseUrl: string };

/** The URL without its credentials (the one redaction of log/redact), for logs, health and errors; an unparsable one is not shown at all. */
export function redactedUrl(databaseUrl: string): string {
  return URL.canParse(databaseUrl) ? redactUrlCredentials(databaseUrl) : 'postgres://(unparsable URL)';
}

export interface LoadedPostgresData {
  data: StoredData;
  schemaVersion: number;
  /** The change sequence number the loaded state includes. */
  lastSeq: bigint;
  migratedFrom?: number;
}

/**
 * Creates the schema when missing and loads the store at the current schema
 * version, in one transaction holding the write lock: a fresh database gets
 * the layout the migrations build from nothing; an older one is migrated with
 * the same migration functions as db.json (its previous content kept in
 * store_backups); a newer one is refused untouched.
 */
export async function loadPostgresData(client: ClientBase, migrations = MIGRATIONS, where = 'the database'): Promise<LoadedPostgresData> {
  assertMigrationsAreSequential(migrations);
  const targetVersion = latestVersion(migrations);
  return inLockedTransaction(client, WRITE_LOCK, async () => {
    await ensureSchema(client);
    const version = await readSchemaVersion(client);
    if (version !== undefined && (!Number.isInteger(version) || version < 0)) {
      throw new StoreError('store_corrupt', `cannot open the store: ${where} has schema version ${JSON.stringify(version)}, not a non-negative integer`);
    }
    if (version !== undefined && version > targetVersion) {
      throw new StoreError(
        'schema_too_new',
        `${where} has schema version ${version}, but this version of the package only knows up to ${targetVersion}; upgrade the package to open it (the store never downgrades data)`,
        { database: where, fileVersion: version, knownVersion: targetVersion },
      );
    }
    // A store written without a schema version (copied from a db.json older than versions) is
    // version 0; a database that never held a store has no layout at all.
    const fresh = version === undefined && (await readMeta(client, 'collections')) === undefined;
    let data = await readStoredData(client);
    let migratedFrom: number | undefined;
    if (fresh || version !== targetVersion) {
      const original = data;
      data = migrate(fresh ? {} : data, version ?? 0, migrations);
      const problem = findLayoutProblem(data);
      if (problem) throw new StoreError('store_corrupt', `cannot open the store: ${where} is unreadable because ${problem}; nothing was changed`, { database: where });
      if (!fresh) {
        await client.query('INSERT INTO store_backups (schema_version, data) VALUES ($1, $2::jsonb)', [version ?? 0, JSON.stringify(original)]);
        migratedFrom = version ?? 0;
      }
      await writeStoredData(client, data);
      // Instances still following the old change log reload everything.
      await client.query('DELETE FROM store_changes');
      await writeMeta(client, 'changes_pruned_through', (await client.query<{ seq: string }>("SELECT nextval('store_change_seq')::text AS seq")).rows[0]!.seq);
    } else {
      const problem = findLayoutProblem(data);
      if (problem) throw new StoreError('store_corrupt', `cannot open the store: ${where} is unreadable because ${problem}; nothing was changed`, { database: where });
    }
    const seq = await client.query<{ last_value: string; is_called: boolean }>('SELECT last_value::text, is_called FROM store_change_seq');
    const lastSeq = seq.rows[0]!.is_called ? BigInt(seq.rows[0]!.last_value) : 0n;
    return { data, schemaVersion: targetVersion, lastSeq, ...(migratedFrom !== undefined ? { migratedFrom } : {}) };
  });
}

/**
 * The store on PostgreSQL: every collection in memory (reads stay
 * synchronous), written through in transactions, followed across instances
 * (PostgresSync); device events in the partitioned device_events table.
 * Audio files and the rest of the data folder stay in `dataDir`.
 */
export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  const where = redactedUrl(options.databaseUrl);
  await fs.mkdir(options.dataDir, { recursive: true });
  // A database that does not answer fails a request after 5 s (503) instead of holding it open.
  const pool = new Pool({ connectionString: options.databaseUrl, max: 8, connectionTimeoutMillis: 5_000 });
  pool.on('error', (error) => logger.warn('an idle PostgreSQL connection failed', { err: error }));
  // A connection lost while checked out (the server restarted, an administrator ended it) emits
  // 'error' on the client itself, where the pool has no listener: without this the process would crash.
  pool.on('connect', (client) => client.on('error', (error) => logger.warn('a PostgreSQL connection in use failed', { err: error })));
  let sync: PostgresSync | undefined;
  try {
    const client = await pool.connect();
    let loaded: LoadedPostgresData;
    try {
      loaded = await loadPostgresData(client, options.migrations ?? MIGRATIONS, where);
    } finally {
      client.release();
    }
    if (loaded.migratedFrom !== undefined) logger.info('migrated the store', { database: where, fromVersion: loaded.migratedFrom, toVersion: loaded.schemaVersion });
    sync = new PostgresSync({ pool, connectionString: options.databaseUrl, logger });
    const writer: BatchWriter = sync;
    const db = new Database(loaded.data, loaded.schemaVersion, writer, logger);
    await sync.start(db, loaded.lastSeq);
    const events = await PostgresEventLog.open({
      pool,
      ...(options.eventLog?.retentionDays !== undefined ? { retentionDays: options.eventLog.retentionDays } : {}),
      ...(options.eventLog?.now ? { now: options.eventLog.now } : {}),
      logger: options.eventLog?.logger ?? logger.child({ part: 'event-log' }),
    });
    const following = sync;
    const store = assembleStore({
      backend: 'postgres',
      file: where,
      options,
      db,
      events,
      logger,
      catchUp: () => following.catchUp(),
      unreachable: () => following.unreachable(),
      onExternalChanges: (listener) => following.onExternalChanges(listener),
      closeBackend: async () => {
        await following.close();
        await pool.end();
        // A socket is still listed as active in the turn its close completes; one more turn and close() leaves nothing behind.
        await new Promise<void>((resolve) => setImmediate(resolve));
      },
    });
    logger.info('store opened', { database: where, schemaVersion: loaded.schemaVersion, ...countsByCollection(db) });
    return store;
  } catch (error) {
    await sync?.close();
    await pool.end().catch(() => undefined);
    throw error;
  }
}
