/**
 * The store suites run once per backend: the embedded store (db.json and
 * events/ in a data folder) and PostgreSQL (a throwaway cluster per suite, a
 * fresh database per test). A backend tells how to open a store at a
 * location and how to look at what it made durable, each in its own terms.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Client, Pool } from 'pg';
import { EventLog, openStore, type DeviceEvent, type DeviceEventLog, type EventLogStats, type OpenStoreOptions, type Store, type StoredData } from '../../server/store';
import { PostgresEventLog } from '../../server/store/postgres-event-log';
import { ensureSchema, readStoredData, writeStoredData } from '../../server/store/postgres-schema';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

export interface StoreLocation {
  dataDir: string;
  databaseUrl?: string;
}

export interface StoreBackendUnderTest {
  name: 'embedded' | 'postgres';
  /** A new, empty place for a store. */
  fresh(prefix: string): Promise<StoreLocation>;
  open(location: StoreLocation, options: Omit<OpenStoreOptions, 'dataDir' | 'databaseUrl'>): Promise<Store>;
  /** The stored data as db.json's layout, read from what is durable (the file, or the database over its own connection). */
  readStored(location: StoreLocation): Promise<StoredData>;
  /** Everything durable, as text: equal before and after means nothing was written. */
  durableState(location: StoreLocation): Promise<string>;
  /** Puts `data` where the store will find it, as an older (or newer) version of the package left it. */
  writeStored(location: StoreLocation, data: StoredData): Promise<void>;
  /** The backups taken before migrations: schema version and the data as it was. */
  backups(location: StoreLocation): Promise<Array<{ version: number; data: StoredData }>>;
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export const EMBEDDED: StoreBackendUnderTest = {
  name: 'embedded',
  fresh: async (prefix) => ({ dataDir: await makeTempDir(prefix) }),
  open: (location, options) => openStore({ ...options, dataDir: location.dataDir }),
  readStored: async (location) => JSON.parse(await fs.readFile(path.join(location.dataDir, 'db.json'), 'utf8')) as StoredData,
  durableState: (location) => fs.readFile(path.join(location.dataDir, 'db.json'), 'utf8'),
  writeStored: (location, data) => fs.writeFile(path.join(location.dataDir, 'db.json'), JSON.stringify(data, null, 2)),
  async backups(location) {
    const names = (await fs.readdir(location.dataDir)).filter((name) => /^db\.json\.v\d+\.bak$/.test(name)).sort();
    return Promise.all(
      names.map(async (name) => ({
        version: Number(/v(\d+)\.bak$/.exec(name)![1]),
        data: JSON.parse(await fs.readFile(path.join(location.dataDir, name), 'utf8')) as StoredData,
      })),
    );
  },
};

function postgresBackend(server: () => PostgresServer): StoreBackendUnderTest {
  const url = (location: StoreLocation): string => location.databaseUrl!;
  return {
    name: 'postgres',
    fresh: async (prefix) => ({ dataDir: await makeTempDir(prefix), databaseUrl: await server().createDatabase() }),
    open: (location, options) => openStore({ ...options, dataDir: location.dataDir, databaseUrl: url(location) }),
    readStored: (location) => withClient(url(location), (client) => readStoredData(client)),
    durableState: (location) =>
      withClient(url(location), async (client) => {
        const data = await readStoredData(client);
        const changes = await client.query('SELECT count(*)::int AS n FROM store_changes');
        return JSON.stringify({ data, changes: changes.rows[0] });
      }),
    writeStored: (location, data) =>
      withClient(url(location), async (client) => {
        await ensureSchema(client);
        await writeStoredData(client, data);
      }),
    backups: (location) =>
      withClient(url(location), async (client) => {
        const rows = await client.query<{ version: number; data: StoredData }>('SELECT schema_version AS version, data FROM store_backups ORDER BY taken_at');
        return rows.rows;
      }),
  };
}

/**
 * describe() once per backend. On PostgreSQL a cluster is started for the
 * suite (before) and stopped after it, with whatever `release` frees first;
 * temp folders are removed after either.
 */
function describeOnBoth<B>(
  title: string,
  embedded: B,
  postgres: (server: () => PostgresServer, release: Array<() => Promise<void>>) => B,
  suite: (backend: B) => void,
): void {
  describe(`${title} (embedded)`, () => {
    after(removeTempDirs);
    suite(embedded);
  });
  describe(`${title} (PostgreSQL)`, function () {
    let server: PostgresServer | undefined;
    const release: Array<() => Promise<void>> = [];
    before(async function () {
      this.timeout(60_000);
      server = await startPostgres();
    });
    after(async () => {
      await Promise.all(release.splice(0).map((free) => free()));
      await server?.stop();
      await removeTempDirs();
    });
    suite(postgres(() => server!, release));
  });
}

export function describeStoreBackends(title: string, suite: (backend: StoreBackendUnderTest) => void): void {
  describeOnBoth(title, EMBEDDED, (server) => postgresBackend(server), suite);
}

export interface EventLogLocation {
  dir: string;
  /** PostgreSQL: the database and the pool the log is given (one connection, opened up front, no idle timers). */
  pool?: Pool;
}

export interface EventLogOpenOptions {
  retentionDays?: number;
  now?: () => number;
  /** Embedded only: rotate files past this size (so reads span several files). */
  maxFileBytes?: number;
  writeIntervalMs?: number;
}

export interface EventLogBackendUnderTest {
  name: 'embedded' | 'postgres';
  fresh(): Promise<EventLogLocation>;
  open(location: EventLogLocation, options?: EventLogOpenOptions): Promise<DeviceEventLog>;
  /** Ids of the durable events in append order, read past the log (the files, or the table over SQL). */
  durableIds(location: EventLogLocation): Promise<string[]>;
  /** The most write calls a flush of everything pending may take. */
  maxWrites(stats: EventLogStats, appended: number): number;
}

export const EMBEDDED_EVENTS: EventLogBackendUnderTest = {
  name: 'embedded',
  fresh: async () => ({ dir: await makeTempDir('event-log') }),
  open: (location, options = {}) => EventLog.open({ dir: location.dir, ...options }),
  async durableIds(location) {
    const text = await fs.readFile(path.join(location.dir, 'events.jsonl'), 'utf8');
    return text.trim().split('\n').map((line) => (JSON.parse(line) as DeviceEvent).id);
  },
  maxWrites: (stats) => Math.ceil(stats.flushedBytes / (16 * 1024 * 1024)) + 1,
};

const BATCH_ROWS = 5_000;

function postgresEvents(server: () => PostgresServer, release: Array<() => Promise<void>>): EventLogBackendUnderTest {
  return {
    name: 'postgres',
    async fresh() {
      const pool = new Pool({ connectionString: await server().createDatabase(), max: 1, idleTimeoutMillis: 0 });
      // The cluster stops after the suite: a connection a log still holds then ends, and says so here.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      release.push(() => pool.end());
      const client = await pool.connect();
      try {
        await ensureSchema(client);
      } finally {
        client.release();
      }
      return { dir: await makeTempDir('event-log'), pool };
    },
    open: (location, options = {}) => {
      const { maxFileBytes: _fileSize, ...rest } = options;
      return PostgresEventLog.open({ pool: location.pool!, batchRows: BATCH_ROWS, ...rest });
    },
    async durableIds(location) {
      const rows = await location.pool!.query<{ id: string }>('SELECT id FROM device_events ORDER BY seq');
      return rows.rows.map((row) => row.id);
    },
    maxWrites: (_stats, appended) => Math.ceil(appended / BATCH_ROWS),
  };
}

/** describe() once per event log backend (a PostgreSQL cluster per suite, a database and pool per test). */
export function describeEventLogBackends(title: string, suite: (backend: EventLogBackendUnderTest) => void): void {
  describeOnBoth(title, EMBEDDED_EVENTS, postgresEvents, suite);
}
