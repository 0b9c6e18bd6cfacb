/**
 * Event ingest on PostgreSQL against the embedded event log: the same 100k
 * device events appended (O(1) each) and flushed, into the partitioned
 * device_events table (one INSERT per 5,000 events) and into the JSON-lines
 * files; then a device's latest 50 events read back through query().
 * PostgreSQL runs as a throwaway cluster on this machine with its default
 * durability (fsync, synchronous commit). Run alone:
 * node dist/bench/scenarios/postgres-event-ingest.js
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { EventLog, type DeviceEventLog } from '../../server/store';
import { PostgresEventLog } from '../../server/store/postgres-event-log';
import { ensureSchema } from '../../server/store/postgres-schema';
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres';
import { runWhenMain, type BenchResult } from '../bench-result';
import { DEVICES, playbackEvent } from './event-log-ingest';

const EVENT_COUNT = 100_000;
/** 2.5 s apart: 100k events span three days, so three daily partitions on PostgreSQL. */
const SPACING_MS = 2_500;
const QUERIES = 200;
const RUNS = 3;

interface Run {
  eventsPerSecond: number;
  appendMicrosPerEvent: number;
  writes: number;
  queryMs: number;
}

async function measure(log: DeviceEventLog): Promise<Run> {
  const events = Array.from({ length: EVENT_COUNT }, (_, i) => playbackEvent(i, SPACING_MS));
  const start = performance.now();
  for (const event of events) log.append(event);
  const appended = performance.now();
  await log.flush();
  const end = performance.now();
  const queryStart = performance.now();
  for (let q = 0; q < QUERIES; q++) await log.query({ deviceId: `y${(q % DEVICES).toString().padStart(6, '0')}`, limit: 50 });
  const queryMs = (performance.now() - queryStart) / QUERIES;
  const { writes } = log.stats();
  await log.close();
  return { eventsPerSecond: Math.round((EVENT_COUNT / (end - start)) * 1000), appendMicrosPerEvent: ((appended - start) * 1000) / EVENT_COUNT, writes, queryMs };
}

async function embeddedRun(): Promise<Run> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'yoto-bench-pg-embedded-'));
  try {
    return await measure(await EventLog.open({ dir }));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function postgresRun(server: PostgresServer): Promise<Run> {
  const pool = new Pool({ connectionString: await server.createDatabase(), max: 4 });
  try {
    const client = await pool.connect();
    await ensureSchema(client);
    client.release();
    return await measure(await PostgresEventLog.open({ pool, retentionDays: 100_000 }));
  } finally {
    await pool.end();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<BenchResult> {
  const server = await startPostgres({ durable: true });
  const embedded: Run[] = [];
  const postgres: Run[] = [];
  try {
    // Interleaved: A B, B A, A B.
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        embedded.push(await embeddedRun());
        postgres.push(await postgresRun(server));
      } else {
        postgres.push(await postgresRun(server));
        embedded.push(await embeddedRun());
      }
    }
  } finally {
    await server.stop();
  }
  const rate = (runs: Run[]): number => median(runs.map((r) => r.eventsPerSecond));
  const query = (runs: Run[]): number => Number(median(runs.map((r) => r.queryMs)).toFixed(3));
  return {
    name: 'postgres-event-ingest',
    description: `Ingest ${EVENT_COUNT} device events (${DEVICES} devices, 3 days) through append + one flush, PostgreSQL (partitioned device_events) against the embedded event log; then ${QUERIES} queries of a device's latest 50 events. Median of ${RUNS} interleaved runs.`,
    results: {
      embeddedEventsPerSecond: rate(embedded),
      postgresEventsPerSecond: rate(postgres),
      embeddedRuns: embedded.map((r) => r.eventsPerSecond).join(', '),
      postgresRuns: postgres.map((r) => r.eventsPerSecond).join(', '),
      embeddedAppendMicrosPerEvent: Number(median(embedded.map((r) => r.appendMicrosPerEvent)).toFixed(3)),
      postgresAppendMicrosPerEvent: Number(median(postgres.map((r) => r.appendMicrosPerEvent)).toFixed(3)),
      embeddedWrites: embedded[0]!.writes,
      postgresWrites: postgres[0]!.writes,
      embeddedQueryMs: query(embedded),
      postgresQueryMs: query(postgres),
    },
    ratios: {
      postgresOverEmbeddedIngest: Number((rate(postgres) / rate(embedded)).toFixed(2)),
      embeddedOverPostgresQueryTime: Number((query(embedded) / query(postgres)).toFixed(1)),
    },
    notes: [
      'PostgreSQL keeps its default durability (fsync, synchronous commit) and its flush is acknowledged once committed; the embedded log writes without fsync (safe against a killed process, not a power cut).',
      "query(): PostgreSQL answers from the (device_id, timestamp DESC) index; the embedded log scans its files (the latest events per device are also in memory through recent(), on both).",
    ],
  };
}

runWhenMain(module, run);
