import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EventLog, openStore, type DeviceEvent, type StoredData } from '../../server/store';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { acceptAll, deviceEvent, deviceRecord, scriptRecord, userRecord } from './records';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'server', 'store', 'migrate-cli.js');

async function migrate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function readDb(dataDir: string): Promise<StoredData> {
  return JSON.parse(await fs.readFile(path.join(dataDir, 'db.json'), 'utf8')) as StoredData;
}

async function allEvents(dataDir: string): Promise<DeviceEvent[]> {
  const log = await EventLog.open({ dir: path.join(dataDir, 'events'), retentionDays: 100_000 });
  try {
    return await log.query({ limit: Number.MAX_SAFE_INTEGER });
  } finally {
    await log.close();
  }
}

/** A data folder with records in several collections, a field this version does not know, and events over several rotated files. */
async function populatedDataDir(): Promise<string> {
  const dataDir = await makeTempDir('migrate-source');
  const store = await openStore({ dataDir, validate: acceptAll, eventLog: { maxFileBytes: 2_000 } });
  for (let i = 0; i < 30; i++) await store.users.insert(userRecord(`u${i}`, `user ${i}`));
  await store.users.delete('u7');
  await store.users.insert(userRecord('u7', 'back again'));
  await store.devices.insert(deviceRecord('d1', 'Kitchen'));
  await store.scripts.insert(scriptRecord('s1', 'Bedtime'));
  await store.collection('playback_history').insert({ id: 'p1', deviceId: 'd1', startedAt: '2026-12-01T19:00:00.000Z', durationPlayed: 120 } as never);
  const start = Date.now() - 3 * 24 * 60 * 60 * 1000;
  for (let i = 0; i < 120; i++) store.events.append(deviceEvent(`e${i}`, `d${i % 3}`, 'volume_changed', new Date(start + i * 30 * 60_000).toISOString()));
  await store.close();
  const db = await readDb(dataDir);
  await fs.writeFile(path.join(dataDir, 'db.json'), JSON.stringify({ ...db, pluginState: { note: 'kept as is', list: [1, 2, 3] } }, null, 2));
  return dataDir;
}

describe('store migration command (data folder <-> PostgreSQL)', function () {
  this.timeout(120_000);
  let server: PostgresServer;

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server.stop();
    await removeTempDirs();
  });

  it('copies a populated data folder into PostgreSQL and back without losing anything', async () => {
    const source = await populatedDataDir();
    expect((await fs.readdir(path.join(source, 'events'))).length).to.be.greaterThan(3);
    const url = await server.createDatabase();

    const into = await migrate('--from', source, '--to', url);
    expect(into.code, into.stderr).to.equal(0);
    expect(JSON.parse(into.stdout)).to.deep.include({ events: 120, skippedLines: 0, schemaVersion: 2 });
    expect(JSON.parse(into.stdout).records).to.deep.include({ users: 30, devices: 1, scripts: 1, playback_history: 1 });

    const back = await makeTempDir('migrate-back');
    const out = await migrate('--from', url, '--to', back);
    expect(out.code, out.stderr).to.equal(0);

    expect(await readDb(back)).to.deep.equal(await readDb(source));
    expect((await readDb(back))['users']).to.have.length(30);
    expect(((await readDb(back))['users'] as Array<{ id: string }>).at(-1)!.id).to.equal('u7');
    const events = await allEvents(back);
    expect(events).to.have.length(120);
    expect(events).to.deep.equal(await allEvents(source));
  });

  it('hands the copied store to the PostgreSQL backend: records, schema version and events', async () => {
    const source = await populatedDataDir();
    const url = await server.createDatabase();
    expect((await migrate('--from', source, '--to', url)).code).to.equal(0);
    const store = await openStore({ dataDir: source, databaseUrl: url, validate: acceptAll });
    try {
      expect(store.backend).to.equal('postgres');
      expect(store.users.list()).to.deep.equal((await readDb(source))['users']);
      expect((await store.events.query({ limit: 1000 })).map((e) => e.id)).to.deep.equal((await allEvents(source)).map((e) => e.id));
    } finally {
      await store.close();
    }
  });

  it('refuses a target that already holds a store unless told to replace it', async () => {
    const source = await populatedDataDir();
    const url = await server.createDatabase();
    expect((await migrate('--from', source, '--to', url)).code).to.equal(0);
    const again = await migrate('--from', source, '--to', url);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain('already holds a store').and.contain('--replace');
    expect((await migrate('--from', source, '--to', url, '--replace')).code).to.equal(0);

    const occupied = await populatedDataDir();
    const before = await fs.readFile(path.join(occupied, 'db.json'), 'utf8');
    const refused = await migrate('--from', url, '--to', occupied);
    expect(refused.code).to.equal(1);
    expect(await fs.readFile(path.join(occupied, 'db.json'), 'utf8')).to.equal(before);
  });

  it('explains its arguments when they are wrong', async () => {
    const result = await migrate('--from', '/tmp/a', '--to', '/tmp/b');
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('postgres:// URL').and.contain('usage:');
  });
});
