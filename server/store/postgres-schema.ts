/**
 * The PostgreSQL layout of the store: one table per collection (a jsonb
 * record per row, in insertion order by `position`), the schema version and
 * other top-level fields in store_meta, the change log other hub instances
 * follow, backups taken before a migration, and the device event log
 * partitioned by day.
 */
import type { ClientBase } from 'pg';
import { COLLECTION_NAMES, type CollectionName } from './collections';
import type { StoredData } from './migrations';

/** pg_advisory_xact_lock keys: one for record writes (and the change sequence), one for event partitions. */
export const WRITE_LOCK = 0x796f746f01;
export const PARTITION_LOCK = 0x796f746f02;

/** NOTIFY channel: the payload is "<seq> <instance>": the highest change sequence number of the committed write, and who wrote it. */
export const CHANGES_CHANNEL = 'yoto_store_changes';

export function tableOf(collection: CollectionName): string {
  return `"${collection}"`;
}

const SCHEMA_SQL = [
  'CREATE TABLE IF NOT EXISTS store_meta (key text PRIMARY KEY, value jsonb NOT NULL)',
  'CREATE SEQUENCE IF NOT EXISTS store_record_position',
  ...COLLECTION_NAMES.flatMap((name) => [
    `CREATE TABLE IF NOT EXISTS ${tableOf(name)} (id text PRIMARY KEY, position bigint NOT NULL DEFAULT nextval('store_record_position'), data jsonb NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS "${name}_position" ON ${tableOf(name)} (position)`,
  ]),
  'CREATE SEQUENCE IF NOT EXISTS store_change_seq',
  `CREATE TABLE IF NOT EXISTS store_changes (
     seq bigint PRIMARY KEY, collection text NOT NULL, record_id text NOT NULL, op text NOT NULL, data jsonb,
     instance text NOT NULL, committed_at timestamptz NOT NULL DEFAULT now())`,
  'CREATE TABLE IF NOT EXISTS store_backups (schema_version integer NOT NULL, taken_at timestamptz NOT NULL DEFAULT now(), data jsonb NOT NULL)',
  'CREATE SEQUENCE IF NOT EXISTS device_event_seq',
  `CREATE TABLE IF NOT EXISTS device_events (
     seq bigint NOT NULL DEFAULT nextval('device_event_seq'), id text NOT NULL, device_id text NOT NULL, type text NOT NULL,
     "timestamp" timestamptz NOT NULL, event jsonb NOT NULL) PARTITION BY RANGE ("timestamp")`,
  // The seed's index: a device's events, newest first.
  'CREATE INDEX IF NOT EXISTS device_events_device_timestamp ON device_events (device_id, "timestamp" DESC)',
  'CREATE INDEX IF NOT EXISTS device_events_timestamp ON device_events ("timestamp" DESC, seq DESC)',
  'CREATE INDEX IF NOT EXISTS device_events_id ON device_events (id)',
];

/** Creates whatever is missing; the caller holds WRITE_LOCK in a transaction, so instances do not race. */
export async function ensureSchema(client: ClientBase): Promise<void> {
  for (const statement of SCHEMA_SQL) await client.query(statement);
}

export async function readMeta(client: ClientBase, key: string): Promise<unknown> {
  const result = await client.query<{ value: unknown }>('SELECT value FROM store_meta WHERE key = $1', [key]);
  return result.rows[0]?.value;
}

export async function writeMeta(client: ClientBase, key: string, value: unknown): Promise<void> {
  await client.query('INSERT INTO store_meta (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, JSON.stringify(value)]);
}

/** The stored schema version, or undefined when the database holds no store yet. */
export async function readSchemaVersion(client: ClientBase): Promise<number | undefined> {
  const value = await readMeta(client, 'schemaVersion');
  return value === undefined ? undefined : (value as number);
}

/**
 * The store as db.json would hold it: schemaVersion, every collection that
 * is present (in insertion order) and the other top-level fields.
 */
export async function readStoredData(client: ClientBase): Promise<StoredData> {
  const version = await readSchemaVersion(client);
  const present = ((await readMeta(client, 'collections')) as string[] | undefined) ?? COLLECTION_NAMES;
  const extra = ((await readMeta(client, 'extra')) as StoredData | undefined) ?? {};
  const data: StoredData = version === undefined ? {} : { schemaVersion: version };
  for (const name of COLLECTION_NAMES) {
    if (!present.includes(name)) continue;
    const rows = await client.query<{ data: unknown }>(`SELECT data FROM ${tableOf(name)} ORDER BY position`);
    data[name] = rows.rows.map((row) => row.data);
  }
  return { ...data, ...extra };
}

const INSERT_CHUNK = 2_000;

/**
 * Replaces the whole store with `data` (db.json's layout): the collections this
 * code knows go to their tables in order, anything else to store_meta.
 */
export async function writeStoredData(client: ClientBase, data: StoredData): Promise<void> {
  const present: string[] = [];
  const extra: StoredData = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'schemaVersion') continue;
    if ((COLLECTION_NAMES as readonly string[]).includes(key) && Array.isArray(value)) present.push(key);
    else extra[key] = value;
  }
  for (const name of COLLECTION_NAMES) {
    await client.query(`DELETE FROM ${tableOf(name)}`);
    const records = (data[name] as unknown[] | undefined) ?? [];
    if (!present.includes(name)) continue;
    for (let start = 0; start < records.length; start += INSERT_CHUNK) {
      // nextval is evaluated after ORDER BY: positions follow the array order.
      await client.query(
        `INSERT INTO ${tableOf(name)} (id, position, data)
         SELECT r->>'id', nextval('store_record_position'), r FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, ord) ORDER BY ord`,
        [JSON.stringify(records.slice(start, start + INSERT_CHUNK))],
      );
    }
  }
  if (data['schemaVersion'] === undefined) await client.query("DELETE FROM store_meta WHERE key = 'schemaVersion'");
  else await writeMeta(client, 'schemaVersion', data['schemaVersion']);
  await writeMeta(client, 'collections', present);
  await writeMeta(client, 'extra', extra);
}

/** True when the database holds no store records and no events. */
export async function isEmptyStore(client: ClientBase): Promise<boolean> {
  for (const name of COLLECTION_NAMES) {
    if ((await client.query(`SELECT 1 FROM ${tableOf(name)} LIMIT 1`)).rowCount) return false;
  }
  return !(await client.query('SELECT 1 FROM device_events LIMIT 1')).rowCount;
}

/** Runs `work` in a transaction holding `lock`; rolls back when it throws. */
export async function inLockedTransaction<T>(client: ClientBase, lock: number, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lock]);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
