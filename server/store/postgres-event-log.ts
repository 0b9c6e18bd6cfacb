import type { Pool } from 'pg';
import { silentLogger, type Logger } from '../log/logger';
import type { DeviceEvent } from './collections';
import { asUnavailable, StoreError } from './errors';
import { isDeviceEvent } from './event-log-files';
import { toMillis, type DailyEventCounts, type DeviceEventLog, type EventLogStats, type EventQuery } from './event-log';
import { inLockedTransaction, PARTITION_LOCK } from './postgres-schema';
import { BufferedEventLog } from './event-buffer';

export interface PostgresEventLogOptions {
  /** The pool the log queries through; the caller closes it after close(). */
  pool: Pool;
  /** Daily partitions whose whole day is older than this are dropped. */
  retentionDays?: number;
  /** Most events per INSERT statement. */
  batchRows?: number;
  now?: () => number;
  logger?: Logger;
  /** The shortest time between two scheduled writes (INSERTs), ms (default EVENT_WRITE_INTERVAL_MS). */
  writeIntervalMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PARTITION_NAME = /^device_events_p(\d{4})(\d{2})(\d{2})$/;

interface PendingEvent {
  event: DeviceEvent;
  at: number;
}

/** device_events_p20240501 holds [2024-05-01, 2024-05-02) UTC. */
export function partitionName(dayStart: number): string {
  return `device_events_p${new Date(dayStart).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function partitionDay(name: string): number | undefined {
  const match = PARTITION_NAME.exec(name);
  return match ? Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!) : undefined;
}

/** The day partitions of device_events, oldest first. */
export async function listPartitions(pool: Pool): Promise<Array<{ name: string; day: number }>> {
  const result = await pool.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'device_events'::regclass",
  );
  return result.rows
    .map((row) => ({ name: row.name, day: partitionDay(row.name) }))
    .filter((p): p is { name: string; day: number } => p.day !== undefined)
    .sort((a, b) => a.day - b.day);
}

/**
 * The device event log on PostgreSQL: the device_events table, partitioned by
 * day on the event timestamp, with the seed's (device_id, timestamp DESC)
 * index. append() only buffers (O(1)); one scheduled flush inserts everything
 * pending with one INSERT per `batchRows` events. Retention drops whole
 * partitions.
 */
export class PostgresEventLog extends BufferedEventLog implements DeviceEventLog {
  private readonly pool: Pool;
  private readonly retentionMs: number;
  private readonly batchRows: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private pending: PendingEvent[] = [];
  private readonly partitions = new Set<number>();
  private counters = { flushedBytes: 0, writes: 0, rotations: 0 };

  private constructor(options: PostgresEventLogOptions) {
    super(options.logger ?? silentLogger, options.writeIntervalMs);
    this.pool = options.pool;
    this.retentionMs = (options.retentionDays ?? 30) * DAY_MS;
    this.batchRows = options.batchRows ?? 5_000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
  }

  /** Expects the schema (postgres-schema.ts) to exist. */
  static async open(options: PostgresEventLogOptions): Promise<PostgresEventLog> {
    const log = new PostgresEventLog(options);
    for (const partition of await listPartitions(log.pool)) log.partitions.add(partition.day);
    await log.enforceRetention();
    return log;
  }

  protected buffer(event: DeviceEvent): void {
    const at = isDeviceEvent(event) ? Date.parse(event.timestamp) : Number.NaN;
    if (Number.isNaN(at)) {
      throw new StoreError('invalid_event', 'an event needs string id, deviceId, type and a valid timestamp, and an object data', { event });
    }
    this.pending.push({ event, at });
  }

  protected hasPending(): boolean {
    return this.pending.length > 0;
  }

  protected queryWritten(query: EventQuery, limit: number): Promise<DeviceEvent[]> {
    return this.reading(query, limit).catch((error: unknown) => {
      throw asUnavailable(error);
    });
  }

  private async reading(query: EventQuery, limit: number): Promise<DeviceEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.deviceId !== undefined) where.push(`device_id = ${param(query.deviceId)}`);
    if (query.types) where.push(`type = ANY(${param([...query.types])}::text[])`);
    if (query.since !== undefined) where.push(`"timestamp" >= ${param(new Date(toMillis(query.since, 'since')).toISOString())}::timestamptz`);
    if (query.until !== undefined) where.push(`"timestamp" <= ${param(new Date(toMillis(query.until, 'until')).toISOString())}::timestamptz`);
    if (query.before !== undefined) {
      const cursor = await this.pool.query<{ ts: Date; seq: string }>('SELECT "timestamp" AS ts, seq FROM device_events WHERE id = $1 ORDER BY seq DESC LIMIT 1', [query.before]);
      const row = cursor.rows[0];
      if (!row) return [];
      where.push(`("timestamp", seq) < (${param(row.ts)}::timestamptz, ${param(row.seq)}::bigint)`);
    }
    const sql = `SELECT event FROM device_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY "timestamp" DESC, seq DESC LIMIT ${param(Math.min(limit, Number.MAX_SAFE_INTEGER))}`;
    const result = await this.pool.query<{ event: DeviceEvent }>(sql, params);
    return result.rows.map((row) => row.event);
  }

  /**
   * Counts per device, UTC day and type in one snapshot (REPEATABLE READ), then which of the ids
   * `seen` holds at that point the snapshot includes: an event counted live and in the snapshot is
   * then counted once.
   */
  async dailyCounts(seen: () => Iterable<string>): Promise<DailyEventCounts> {
    await this.flush();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const counts = await client.query<{ deviceId: string; day: string; type: string; count: number }>(
        `SELECT device_id AS "deviceId", to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, type, count(*)::int AS count
         FROM device_events GROUP BY 1, 2, 3`,
      );
      const included = await client.query<{ id: string }>('SELECT DISTINCT id FROM device_events WHERE id = ANY($1::text[])', [[...seen()]]);
      await client.query('COMMIT');
      return { counts: counts.rows, included: included.rows.map((row) => row.id) };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Drops every day partition whose whole day is older than the retention period. */
  async enforceRetention(): Promise<number> {
    const cutoff = this.now() - this.retentionMs;
    const expired = (await listPartitions(this.pool)).filter((partition) => partition.day + DAY_MS <= cutoff);
    if (expired.length === 0) return 0;
    const client = await this.pool.connect();
    try {
      await inLockedTransaction(client, PARTITION_LOCK, async () => {
        for (const partition of expired) await client.query(`DROP TABLE IF EXISTS "${partition.name}"`);
      });
    } finally {
      client.release();
    }
    for (const partition of expired) this.partitions.delete(partition.day);
    this.logger.info('dropped expired event partitions', { dropped: expired.length, partitions: expired.map((p) => p.name) });
    return expired.length;
  }

  stats(): EventLogStats {
    return { appended: this.appended, ...this.counters, pending: this.pending.length, files: this.partitions.size, corruptLines: 0 };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flusher.stop();
      await this.flusher.drain();
    })();
    return this.closing;
  }

  protected async writeNextBatch(): Promise<void> {
    const batch = this.pending.splice(0, this.batchRows);
    try {
      const json = JSON.stringify(batch.map(({ event, at }) => ({ e: event, t: new Date(at).toISOString() })));
      try {
        await this.insert(batch, json);
      } catch (error) {
        // 23514: no partition for a row. Another instance dropped (retention) a day this one
        // still counted as there; learn the partitions again and retry once.
        if ((error as { code?: string }).code !== '23514') throw error;
        this.partitions.clear();
        for (const partition of await listPartitions(this.pool)) this.partitions.add(partition.day);
        await this.insert(batch, json);
      }
      this.counters.writes++;
      this.counters.flushedBytes += Buffer.byteLength(json);
    } catch (error) {
      this.pending = batch.concat(this.pending);
      throw error;
    }
  }

  private async insert(batch: readonly PendingEvent[], json: string): Promise<void> {
    await this.ensurePartitions(batch);
    // seq (the order within one timestamp) follows the append order: nextval runs after ORDER BY.
    await this.pool.query(
      `INSERT INTO device_events (seq, id, device_id, type, "timestamp", event)
       SELECT nextval('device_event_seq'), r->'e'->>'id', r->'e'->>'deviceId', r->'e'->>'type', (r->>'t')::timestamptz, r->'e'
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(r, ord) ORDER BY ord`,
      [json],
    );
  }

  private async ensurePartitions(batch: readonly PendingEvent[]): Promise<void> {
    const missing = new Set<number>();
    for (const { at } of batch) {
      const day = at - (((at % DAY_MS) + DAY_MS) % DAY_MS);
      if (!this.partitions.has(day)) missing.add(day);
    }
    if (missing.size === 0) return;
    const client = await this.pool.connect();
    try {
      await inLockedTransaction(client, PARTITION_LOCK, async () => {
        for (const day of missing) {
          const from = new Date(day).toISOString();
          const to = new Date(day + DAY_MS).toISOString();
          await client.query(`CREATE TABLE IF NOT EXISTS "${partitionName(day)}" PARTITION OF device_events FOR VALUES FROM ('${from}') TO ('${to}')`);
        }
      });
    } finally {
      client.release();
    }
    for (const day of missing) {
      this.partitions.add(day);
      this.counters.rotations++;
    }
  }
}
