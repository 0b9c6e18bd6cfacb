import { randomUUID } from 'node:crypto';
import { Client, type Pool, type PoolClient } from 'pg';
import type { Logger } from '../log/logger';
import { COLLECTION_NAMES, type CollectionName } from './collections';
import type { AppliedBatch, BatchWriter, Database, RecordOp, StoredRecord } from './database';
import { asUnavailable, isStoreError } from './errors';
import type { ExternalChange } from './store';
import { CHANGES_CHANNEL, inLockedTransaction, readStoredData, tableOf, WRITE_LOCK } from './postgres-schema';

export interface PostgresSyncOptions {
  pool: Pool;
  /** Where the LISTEN connection connects (the pool's URL). */
  connectionString: string;
  logger: Logger;
  /** Change log entries older than this are deleted (an instance further behind reloads everything). */
  changeLogMaxAgeMs?: number;
  /** How often old change log entries are pruned and changes pulled without a notification. */
  maintenanceEveryMs?: number;
  /** Wait before reconnecting the LISTEN connection. */
  reconnectMs?: number;
}

interface ChangeRow {
  pruned: string;
  seq: string | null;
  collection: CollectionName | null;
  record_id: string | null;
  op: 'set' | 'delete' | null;
  data: StoredRecord | null;
}

/**
 * Keeps the in-memory collections of one hub instance in step with
 * PostgreSQL, which several instances may share.
 *
 * Writes: each batch is one transaction holding `pg_advisory_xact_lock`, so
 * writers on every instance are serialized and change sequence numbers
 * commit in order. Inside it the instance first pulls every change committed
 * so far, then applies its batch to that state (a duplicate id made on
 * another instance is refused here as it would be locally), writes the
 * records and one store_changes row per change, and NOTIFYs.
 *
 * Reads stay synchronous from memory; `catchUp()` pulls every change
 * committed so far (the hub calls it before each API request, so an
 * acknowledged write on any instance is seen by the next read), and a
 * LISTEN connection pulls promptly when another instance writes.
 */
export class PostgresSync implements BatchWriter {
  readonly instance = randomUUID();
  private lastSeq = 0n;
  private db: Database | undefined;
  private exclusive: Promise<unknown> = Promise.resolve();
  private listener: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private maintaining: Promise<void> | undefined;
  private scheduledPull: NodeJS.Immediate | undefined;
  private closed = false;
  private unreachableReason: string | undefined;
  private readonly changeLogMaxAgeMs: number;
  private readonly listeners = new Set<(changes: ExternalChange[]) => void>();

  constructor(private readonly options: PostgresSyncOptions) {
    this.changeLogMaxAgeMs = options.changeLogMaxAgeMs ?? 60 * 60_000;
  }

  /** Starts following: `db` gets other instances' changes from `lastSeq` on. */
  async start(db: Database, lastSeq: bigint): Promise<void> {
    this.db = db;
    this.lastSeq = lastSeq;
    await this.listen();
    this.maintenanceTimer = setInterval(() => {
      if (this.maintaining) return;
      this.maintaining = this.maintain()
        .catch((error: unknown) => this.options.logger.warn('store change log maintenance failed', { err: error }))
        .finally(() => (this.maintaining = undefined));
    }, this.options.maintenanceEveryMs ?? 60_000);
  }

  /** Pulls every change committed so far by any instance into memory. */
  catchUp(): Promise<void> {
    if (this.closed || !this.db) return Promise.resolve();
    return this.serially(async () => {
      const client = await this.options.pool.connect();
      try {
        await this.pull(client);
      } finally {
        client.release();
      }
    });
  }

  commit(applyBatch: () => AppliedBatch, install: () => void): Promise<void> {
    return this.serially(async () => {
      const client = await this.options.pool.connect();
      let broken: Error | undefined;
      try {
        const lastSeq = await inLockedTransaction(client, WRITE_LOCK, async () => {
          await this.pull(client, true);
          const batch = applyBatch();
          let seq = this.lastSeq;
          for (const op of batch.ops) seq = (await this.persist(client, op)) ?? seq;
          if (seq !== this.lastSeq) await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, `${seq} ${this.instance}`]);
          return seq;
        });
        this.lastSeq = lastSeq;
        install();
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  onExternalChanges(listener: (changes: ExternalChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private announce(changes: ExternalChange[]): void {
    if (changes.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (error) {
        this.options.logger.warn('a store change listener failed', { err: error });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    clearImmediate(this.scheduledPull);
    this.scheduledPull = undefined;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.maintenanceTimer);
    await this.maintaining;
    await this.exclusive.catch(() => undefined);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** One write or pull at a time in this instance, so memory follows the change log in order. */
  /** Why the last pull or write failed to reach the database; undefined once one succeeds again. */
  unreachable(): string | undefined {
    return this.unreachableReason;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = (): Promise<T> =>
      work().then(
        (value) => {
          this.unreachableReason = undefined;
          return value;
        },
        (error: unknown) => {
          const failure = asUnavailable(error);
          if (isStoreError(failure, 'store_unavailable')) this.unreachableReason = String(failure.details['reason']);
          throw failure;
        },
      );
    const result = this.exclusive.then(run, run);
    this.exclusive = result.catch(() => undefined);
    return result;
  }

  private async persist(client: PoolClient, op: RecordOp): Promise<bigint | undefined> {
    const table = tableOf(op.collection);
    const log = `INSERT INTO store_changes (seq, collection, record_id, op, data, instance)
                 SELECT nextval('store_change_seq'), $2, $1, '${op.op}', ${op.op === 'set' ? '$3::jsonb' : 'NULL'}, ${op.op === 'set' ? '$4' : '$3'} FROM w RETURNING seq`;
    const result =
      op.op === 'set'
        ? await client.query<{ seq: string }>(
            `WITH w AS (INSERT INTO ${table} (id, data) VALUES ($1, $3::jsonb) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data RETURNING 1) ${log}`,
            [op.id, op.collection, JSON.stringify(op.record), this.instance],
          )
        : await client.query<{ seq: string }>(`WITH w AS (DELETE FROM ${table} WHERE id = $1 RETURNING 1) ${log}`, [op.id, op.collection, this.instance]);
    const seq = result.rows[0]?.seq;
    return seq === undefined ? undefined : BigInt(seq);
  }

  /** Applies the changes committed after `lastSeq`; reloads everything when the log no longer reaches back that far. */
  private async pull(client: PoolClient, inTransaction = false): Promise<void> {
    const result = await client.query<ChangeRow>(
      `SELECT m.pruned, c.seq, c.collection, c.record_id, c.op, c.data
       FROM (SELECT coalesce((SELECT (value #>> '{}')::bigint FROM store_meta WHERE key = 'changes_pruned_through'), 0) AS pruned) m
       LEFT JOIN store_changes c ON c.seq > $1
       ORDER BY c.seq`,
      [this.lastSeq.toString()],
    );
    const pruned = BigInt(result.rows[0]?.pruned ?? '0');
    if (pruned > this.lastSeq) {
      await this.reload(client, inTransaction);
      return;
    }
    const ops: RecordOp[] = [];
    let last = this.lastSeq;
    for (const row of result.rows) {
      if (row.seq === null) continue;
      last = BigInt(row.seq);
      if (row.op === 'set') ops.push({ collection: row.collection!, op: 'set', id: row.record_id!, record: row.data! });
      else ops.push({ collection: row.collection!, op: 'delete', id: row.record_id! });
    }
    if (ops.length > 0) this.db!.applyCommitted(ops);
    this.lastSeq = last;
    this.announce(ops.map(({ collection, id, op }) => ({ collection, id, op })));
  }

  /** In a write transaction (WRITE_LOCK held) nothing moves; otherwise one snapshot reads it all. */
  private async reload(client: PoolClient, inTransaction: boolean): Promise<void> {
    if (!inTransaction) await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      const data = await readStoredData(client);
      const seq = await client.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM store_changes');
      const pruned = await client.query<{ value: unknown }>("SELECT value FROM store_meta WHERE key = 'changes_pruned_through'");
      if (!inTransaction) await client.query('COMMIT');
      this.db!.replaceAll(data);
      this.announce(COLLECTION_NAMES.flatMap((collection) => [...this.db!.records(collection).keys()].map((id) => ({ collection, id, op: 'set' as const }))));
      const candidates = [seq.rows[0]?.seq, pruned.rows[0]?.value].filter((v) => v !== null && v !== undefined).map((v) => BigInt(String(v)));
      this.lastSeq = candidates.reduce((a, b) => (a > b ? a : b), 0n);
      this.options.logger.info('reloaded the store from PostgreSQL (fell behind the change log)');
    } catch (error) {
      if (!inTransaction) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private schedulePull(): void {
    if (this.scheduledPull || this.closed) return;
    this.scheduledPull = setImmediate(() => {
      this.scheduledPull = undefined;
      this.catchUp().catch((error: unknown) => this.options.logger.warn('could not pull store changes', { err: error }));
    });
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.options.connectionString });
    // Payload: "<seq> <instance>". This instance's own writes are in memory already.
    client.on('notification', (message) => {
      const [seq, instance] = (message.payload ?? '').split(' ');
      if (message.channel !== CHANGES_CHANNEL || instance === this.instance || !seq || !/^\d+$/.test(seq)) return;
      if (BigInt(seq) > this.lastSeq) this.schedulePull();
    });
    client.on('error', (error) => {
      this.options.logger.warn('the store lost its PostgreSQL notification connection; reconnecting', { err: error });
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen()
        .then(() => this.schedulePull())
        .catch(() => this.scheduleReconnect());
    }, this.options.reconnectMs ?? 1_000);
  }

  /** Deletes change log entries older than changeLogMaxAgeMs and pulls what a lost notification may have missed. */
  private async maintain(): Promise<void> {
    const client = await this.options.pool.connect();
    try {
      await inLockedTransaction(client, WRITE_LOCK, async () => {
        await client.query(
          `WITH d AS (DELETE FROM store_changes WHERE committed_at < now() - make_interval(secs => $1) RETURNING seq)
           INSERT INTO store_meta (key, value) SELECT 'changes_pruned_through', to_jsonb(max(seq)) FROM d HAVING count(*) > 0
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [this.changeLogMaxAgeMs / 1000],
        );
      });
    } finally {
      client.release();
    }
    await this.catchUp();
  }
}
