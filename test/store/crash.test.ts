import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { EventLog, openStore } from '../../server/store';
import { runUntilKilled, seededRandom } from '../helpers/kill';
import { startPostgres } from '../helpers/postgres';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { acceptAll } from './records';

const KILLS = 25;
/** Each PostgreSQL run starts a Node process that connects and loads the store: fewer runs keep the suite's time in bounds. */
const PG_KILLS = 10;
const fixturesDir = path.join(__dirname, 'fixtures');

async function endsWithNewline(file: string): Promise<boolean> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text === '' || text.endsWith('\n');
}

describe('crash safety (SIGKILL mid-write)', function () {
  this.timeout(180_000);
  after(removeTempDirs);

  it(`keeps every acknowledged insert across ${KILLS} kills of a writer on the same, growing store`, async () => {
    const seed = Date.now();
    const random = seededRandom(seed);
    const dataDir = await makeTempDir('crash-store');
    const acknowledged: string[] = [];
    for (let run = 0; run < KILLS; run++) {
      const target = 1 + Math.floor(random() * 60);
      acknowledged.push(...(await runUntilKilled(path.join(fixturesDir, 'store-writer.js'), [dataDir, `run${run}`, '3'], target)));

      const store = await openStore({ dataDir, validate: acceptAll });
      const missing = acknowledged.filter((id) => store.users.get(id) === undefined);
      const count = store.users.count();
      await store.close();
      expect(missing, `run ${run} (seed ${seed}): acknowledged but lost`).to.deep.equal([]);
      expect(count).to.be.at.least(acknowledged.length);
    }
  });

  it(`keeps every acknowledged insert across ${PG_KILLS} kills of a writer on PostgreSQL, and the next writer is never locked out`, async () => {
    const seed = Date.now();
    const random = seededRandom(seed);
    const server = await startPostgres();
    try {
      const databaseUrl = await server.createDatabase();
      const dataDir = await makeTempDir('crash-store-pg');
      const acknowledged: string[] = [];
      for (let run = 0; run < PG_KILLS; run++) {
        const target = 1 + Math.floor(random() * 60);
        acknowledged.push(...(await runUntilKilled(path.join(fixturesDir, 'store-writer.js'), [dataDir, `run${run}`, '3', databaseUrl], target)));

        // Opening takes the write lock: a killed writer's transaction (and lock) went with its connection.
        const store = await openStore({ dataDir, databaseUrl, validate: acceptAll });
        const missing = acknowledged.filter((id) => store.users.get(id) === undefined);
        const count = store.users.count();
        await store.close();
        expect(missing, `run ${run} (seed ${seed}): acknowledged but lost`).to.deep.equal([]);
        expect(count).to.be.at.least(acknowledged.length);
      }
    } finally {
      await server.stop();
    }
  });

  it(`keeps every flushed event across ${KILLS} kills, and counts a torn last line instead of failing`, async () => {
    const seed = Date.now();
    const random = seededRandom(seed);
    const dir = await makeTempDir('crash-events');
    const acknowledged: string[] = [];
    let tornTails = 0;
    for (let run = 0; run < KILLS; run++) {
      const target = 1 + Math.floor(random() * 40);
      const lines = await runUntilKilled(path.join(fixturesDir, 'event-writer.js'), [dir, `run${run}`, String(16 * 1024)], target);
      const flushedCount = Math.max(...lines.map(Number));
      for (let i = 0; i < flushedCount; i++) acknowledged.push(`run${run}-${i}`);
      if (!(await endsWithNewline(path.join(dir, 'events.jsonl')))) tornTails++;

      const log = await EventLog.open({ dir, maxFileBytes: 16 * 1024 });
      try {
        const found = new Set((await log.query({ limit: Number.MAX_SAFE_INTEGER })).map((e) => e.id));
        const missing = acknowledged.filter((id) => !found.has(id));
        expect(missing, `run ${run} (seed ${seed}): flushed but lost`).to.deep.equal([]);
        expect(log.stats().corruptLines, `run ${run}: torn lines seen`).to.equal(tornTails);
      } finally {
        await log.close();
      }
    }
  });
});
