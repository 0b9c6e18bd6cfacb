import { expect } from 'chai';
import { Client } from 'pg';
import { openStore, type ExternalChange, type Store } from '../../server/store';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { deviceEvent, requireName, userRecord } from './records';

const DAY = 24 * 60 * 60 * 1000;

async function sql<T extends object>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

function nextExternalChange(store: Store, id: string): Promise<ExternalChange[]> {
  return new Promise((resolve) => {
    const stop = store.onExternalChanges((changes) => {
      if (!changes.some((change) => change.id === id)) return;
      stop();
      resolve(changes);
    });
  });
}

describe('store on PostgreSQL: several instances on one database', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let url: string;
  const open: Store[] = [];

  async function instance(options: { retentionDays?: number; now?: () => number } = {}): Promise<Store> {
    const store = await openStore({
      dataDir: await makeTempDir('pg-instance'),
      databaseUrl: url,
      validate: requireName,
      ...(options.retentionDays !== undefined || options.now ? { eventLog: { ...options } } : {}),
    });
    open.push(store);
    return store;
  }

  before(async () => {
    server = await startPostgres();
  });
  beforeEach(async () => {
    url = await server.createDatabase();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });
  after(async () => {
    await server.stop();
    await removeTempDirs();
  });

  it("sees the other instance's acknowledged writes after catchUp, in the same order", async () => {
    const a = await instance();
    const b = await instance();
    await a.users.insert(userRecord('u1', 'Ada'));
    await b.catchUp();
    expect(b.users.get('u1')).to.deep.equal(userRecord('u1', 'Ada'));
    expect(a.users.findBy('name', 'Ada')?.id).to.equal('u1');

    await b.users.insert(userRecord('u2', 'Bob'));
    await b.users.update('u1', { name: 'Ada L.', updatedAt: '2024-06-01T00:00:00.000Z' });
    await b.users.insert(userRecord('u3', 'Cy'));
    expect(await b.users.delete('u2')).to.equal(true);
    await a.catchUp();
    expect(a.users.list()).to.deep.equal(b.users.list());
    expect(a.users.list().map((u) => [u.id, u.name])).to.deep.equal([['u1', 'Ada L.'], ['u3', 'Cy']]);
    // Lookups by a field (a player's owner, asked per message) see them too.
    expect(a.users.findBy('name', 'Ada L.')?.id).to.equal('u1');
    expect(a.users.findBy('name', 'Ada')).to.equal(undefined);
  });

  it('pulls the other instance’s writes on its own when notified, and tells who listens', async () => {
    const a = await instance();
    const b = await instance();
    const seen = nextExternalChange(b, 'u1');
    await a.users.insert(userRecord('u1', 'Ada'));
    expect(await seen).to.deep.equal([{ collection: 'users', id: 'u1', op: 'set' }]);
    expect(b.users.get('u1')!.name).to.equal('Ada');
  });

  it('refuses a duplicate id made on the other instance even before catching up, as one store would', async () => {
    const a = await instance();
    const b = await instance();
    await a.users.insert(userRecord('u1', 'Ada'));
    const refusal = await b.users.insert(userRecord('u1', 'Impostor')).then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    );
    expect(refusal?.code).to.equal('conflict');
    expect(b.users.get('u1')!.name).to.equal('Ada');
  });

  it('converges when both instances write at the same time: every acknowledged write, one order', async () => {
    const a = await instance();
    const b = await instance();
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) writes.push((i % 2 === 0 ? a : b).users.insert(userRecord(`u${i}`, `user ${i}`)));
    await Promise.all(writes);
    await Promise.all([a.catchUp(), b.catchUp()]);
    expect(a.users.count()).to.equal(40);
    expect(a.users.list()).to.deep.equal(b.users.list());
    const reopened = await instance();
    expect(reopened.users.list()).to.deep.equal(a.users.list());
  });

  it('reloads everything when it fell behind a pruned change log', async () => {
    const a = await instance();
    const b = await instance();
    await b.users.insert(userRecord('u1', 'Ada'));
    await b.users.insert(userRecord('u2', 'Bob'));
    await sql(
      url,
      `WITH d AS (DELETE FROM store_changes RETURNING seq)
       INSERT INTO store_meta (key, value) SELECT 'changes_pruned_through', to_jsonb(max(seq)) FROM d
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    );
    await a.catchUp();
    expect(a.users.list().map((u) => u.id)).to.deep.equal(['u1', 'u2']);
  });

  it("queries the events another instance logged, once that instance flushed them", async () => {
    const a = await instance();
    const b = await instance();
    a.events.append(deviceEvent('e1', 'd1', 'online', '2024-05-01T10:00:00.000Z'));
    a.events.append(deviceEvent('e2', 'd1', 'volume_changed', '2024-05-01T10:01:00.000Z'));
    await a.events.flush();
    expect((await b.events.query({ deviceId: 'd1' })).map((e) => e.id)).to.deep.equal(['e2', 'e1']);
  });

  it('counts events per device, UTC day and type in the database, and tells which already-counted ids it included', async () => {
    const a = await instance();
    a.events.append(deviceEvent('e1', 'd1', 'online', '2024-05-01T23:59:59.999Z'));
    a.events.append(deviceEvent('e2', 'd1', 'online', '2024-05-01T08:00:00.000Z'));
    a.events.append(deviceEvent('e3', 'd1', 'online', '2024-05-02T00:00:00.000Z'));
    a.events.append(deviceEvent('e4', 'd2', 'volume_changed', '2024-05-02T00:00:00.000Z'));
    const { counts, included } = await a.events.dailyCounts!(() => ['e3', 'not-logged']);
    const sorted = [...counts].sort((x, y) => `${x.deviceId}${x.day}${x.type}`.localeCompare(`${y.deviceId}${y.day}${y.type}`));
    expect(sorted).to.deep.equal([
      { deviceId: 'd1', day: '2024-05-01', type: 'online', count: 2 },
      { deviceId: 'd1', day: '2024-05-02', type: 'online', count: 1 },
      { deviceId: 'd2', day: '2024-05-02', type: 'volume_changed', count: 1 },
    ]);
    expect(included).to.deep.equal(['e3']);
  });

  describe('device_events partitions', () => {
    async function partitions(): Promise<string[]> {
      const rows = await sql<{ name: string }>(
        url,
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'device_events'::regclass ORDER BY 1",
      );
      return rows.map((row) => row.name);
    }

    it("keeps one partition per day and the seed's (device_id, timestamp DESC) index", async () => {
      const a = await instance();
      a.events.append(deviceEvent('e1', 'd1', 'online', '2024-05-01T23:59:59.999Z'));
      a.events.append(deviceEvent('e2', 'd1', 'online', '2024-05-02T00:00:00.000Z'));
      a.events.append(deviceEvent('e3', 'd2', 'online', '2024-05-03T12:00:00.000Z'));
      await a.events.flush();
      expect(await partitions()).to.deep.equal(['device_events_p20240501', 'device_events_p20240502', 'device_events_p20240503']);
      const index = await sql<{ indexdef: string }>(url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'device_events_device_timestamp'");
      expect(index[0]!.indexdef).to.contain('(device_id, "timestamp" DESC)');
      const counts = await sql<{ name: string; n: number }>(url, 'SELECT tableoid::regclass::text AS name, count(*)::int AS n FROM device_events GROUP BY 1 ORDER BY 1');
      expect(counts).to.deep.equal([
        { name: 'device_events_p20240501', n: 1 },
        { name: 'device_events_p20240502', n: 1 },
        { name: 'device_events_p20240503', n: 1 },
      ]);
    });

    it('drops whole partitions older than the retention period, and only those', async () => {
      let now = Date.parse('2024-05-03T12:00:00.000Z');
      const a = await instance({ retentionDays: 2, now: () => now });
      for (const [id, at] of [['old', '2024-05-01T08:00:00.000Z'], ['mid', '2024-05-02T08:00:00.000Z'], ['new', '2024-05-03T08:00:00.000Z']] as const) {
        a.events.append(deviceEvent(id, 'd1', 'online', at));
      }
      await a.events.flush();
      expect(await a.events.enforceRetention()).to.equal(0);

      now += DAY;
      expect(await a.events.enforceRetention()).to.equal(1);
      expect(await partitions()).to.deep.equal(['device_events_p20240502', 'device_events_p20240503']);
      expect((await a.events.query()).map((e) => e.id)).to.deep.equal(['new', 'mid']);
    });

    it('applies retention when it opens', async () => {
      const first = await instance({ now: () => Date.parse('2024-05-01T12:00:00.000Z') });
      first.events.append(deviceEvent('old', 'd1', 'online', '2024-05-01T08:00:00.000Z'));
      await first.close();
      const second = await instance({ retentionDays: 1, now: () => Date.parse('2024-05-05T00:00:00.000Z') });
      expect(await partitions()).to.deep.equal([]);
      expect(await second.events.query()).to.deep.equal([]);
    });
  });
});
