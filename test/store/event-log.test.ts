import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { EventLog, type DeviceEvent, type DeviceEventLog, type EventLogOptions, type StoreError } from '../../server/store';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { describeEventLogBackends, type EventLogLocation, type EventLogOpenOptions } from './backends';
import { deviceEvent } from './records';

const DAY = 24 * 60 * 60 * 1000;

function ids(events: DeviceEvent[]): string[] {
  return events.map((e) => e.id);
}

function eventsFor(deviceId: string, count: number, prefix = deviceId): DeviceEvent[] {
  return Array.from({ length: count }, (_, i) => deviceEvent(`${prefix}-${i}`, deviceId));
}

function activeResources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/** Resolves once the log made `count` writes (it writes on a timer of its own: checked every millisecond). */
async function writesReach(log: DeviceEventLog, count: number): Promise<void> {
  while (log.stats().writes < count) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function fileEventIds(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8');
  return text.trim().split('\n').map((line) => (JSON.parse(line) as DeviceEvent).id);
}

describeEventLogBackends('event log', (backend) => {
  let location: EventLogLocation;
  let log: DeviceEventLog | undefined;

  async function openLog(options: EventLogOpenOptions = {}): Promise<DeviceEventLog> {
    log = await backend.open(location, options);
    return log;
  }

  beforeEach(async () => {
    location = await backend.fresh();
  });
  afterEach(async () => {
    await log?.close();
    log = undefined;
  });

  it('has every appended event durable once flush resolves', async () => {
    const events = await openLog();
    for (const event of eventsFor('d1', 3)) events.append(event);
    await events.flush();
    expect(await backend.durableIds(location)).to.deep.equal(['d1-0', 'd1-1', 'd1-2']);
  });

  it('writes appended events by itself, without a flush or a query', async () => {
    const events = await openLog();
    for (const event of eventsFor('d1', 2)) events.append(event);
    await writesReach(events, 1);
    expect(events.stats()).to.include({ pending: 0 });
    expect(await backend.durableIds(location)).to.deep.equal(['d1-0', 'd1-1']);
  });

  it('writes at most once per interval: what is appended after a write waits for the next one, or for a flush', async () => {
    const events = await openLog({ writeIntervalMs: 60 * 60 * 1000 });
    events.append(deviceEvent('first', 'd1'));
    await writesReach(events, 1);
    events.append(deviceEvent('second', 'd1'));
    events.append(deviceEvent('third', 'd1'));
    // Several turns of the event loop, in which an unpaced log would have written again.
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(events.stats()).to.include({ writes: 1, pending: 2 });
    expect(await backend.durableIds(location)).to.deep.equal(['first']);
    await events.flush();
    expect(events.stats()).to.include({ writes: 2, pending: 0 });
    expect(await backend.durableIds(location)).to.deep.equal(['first', 'second', 'third']);
  });

  it('refuses an event without the fields queries rely on, and logs nothing for it', async () => {
    const events = await openLog();
    const broken = { id: 'x', deviceId: 'd1', type: 'online', data: {} } as unknown as DeviceEvent;
    expect(() => events.append(broken)).to.throw().with.property('code', 'invalid_event');
    expect(await events.query()).to.deep.equal([]);
  });

  describe('query()', () => {
    it('filters by device, type and time, newest first, with a limit', async () => {
      const events = await openLog();
      events.append(deviceEvent('1', 'a', 'online', '2024-05-01T10:00:00.000Z'));
      events.append(deviceEvent('2', 'b', 'online', '2024-05-01T10:01:00.000Z'));
      events.append(deviceEvent('3', 'a', 'volume_changed', '2024-05-01T10:02:00.000Z'));
      events.append(deviceEvent('4', 'a', 'card_inserted', '2024-05-01T10:03:00.000Z'));
      events.append(deviceEvent('5', 'a', 'volume_changed', '2024-05-01T10:04:00.000Z'));

      expect(ids(await events.query())).to.deep.equal(['5', '4', '3', '2', '1']);
      expect(ids(await events.query({ deviceId: 'a' }))).to.deep.equal(['5', '4', '3', '1']);
      expect(ids(await events.query({ types: ['volume_changed', 'online'] }))).to.deep.equal(['5', '3', '2', '1']);
      expect(ids(await events.query({ since: '2024-05-01T10:01:00.000Z', until: new Date('2024-05-01T10:03:00.000Z') }))).to.deep.equal(['4', '3', '2']);
      expect(ids(await events.query({ deviceId: 'a', limit: 2 }))).to.deep.equal(['5', '4']);
    });

    it('pages with `before`: each page continues where the last one ended', async () => {
      const events = await openLog({ maxFileBytes: 600 });
      for (const event of eventsFor('a', 25)) events.append(event);
      const pages: string[][] = [];
      let before: string | undefined;
      for (;;) {
        const page = ids(await events.query({ limit: 4, ...(before ? { before } : {}) }));
        if (page.length === 0) break;
        pages.push(page);
        before = page.at(-1);
      }
      expect(pages.flat()).to.deep.equal(Array.from({ length: 25 }, (_, i) => `a-${24 - i}`));
      expect(pages[0]).to.deep.equal(['a-24', 'a-23', 'a-22', 'a-21']);
      expect(await events.query({ before: 'unknown-id' })).to.deep.equal([]);
    });
  });

  describe('cost and resources', () => {
    it('appends 200k events without writing anything, then writes them in a few large writes', async function () {
      this.timeout(120_000);
      const events = await openLog();
      const count = 200_000;
      for (let i = 0; i < count; i++) events.append(deviceEvent(`e${i}`, `d${i % 200}`));
      expect(events.stats()).to.include({ appended: count, pending: count, writes: 0 });

      await events.flush();
      const stats = events.stats();
      expect(stats.pending).to.equal(0);
      expect(stats.writes).to.be.at.most(backend.maxWrites(stats, count));
      const latest = await events.query({ deviceId: 'd7', limit: 2 });
      expect(ids(latest)).to.deep.equal([`e${count - 200 + 7}`, `e${count - 400 + 7}`]);
    });

    it('leaves no timer, immediate or file handle behind after close', async () => {
      // Mocha arms this test's own timeout timer once the test has started; one turn puts it in the baseline.
      await new Promise((resolve) => setImmediate(resolve));
      const baseline = activeResources();
      const events = await backend.open(location, { maxFileBytes: 800 });
      for (const event of eventsFor('a', 30)) events.append(event);
      await events.query({ deviceId: 'a', limit: 5 });
      events.append(deviceEvent('last', 'a'));
      await events.close();
      await events.close();
      expect(activeResources()).to.deep.equal(baseline);
      expect(() => events.append(deviceEvent('late', 'a'))).to.throw().with.property('code', 'store_closed' satisfies StoreError['code']);
      expect(ids(await events.query({ limit: 1 }))).to.deep.equal(['last']);
    });

    it('closes while a scheduled write is under way: what was appended meanwhile is written, and no later write is left waiting', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const baseline = activeResources();
      // The first write starts at once; the next could not start for an hour.
      const events = await openLog({ writeIntervalMs: 60 * 60 * 1000 });
      events.append(deviceEvent('first', 'd1'));
      // append() armed its write's timer before this one: the write is under way when this one fires.
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(events.stats()).to.include({ writes: 0, pending: 0 });
      events.append(deviceEvent('second', 'd1'));
      await events.close();
      // Before, the write under way scheduled the next batch as it ended, and that timer outlived the log.
      expect(activeResources()).to.deep.equal(baseline);
      expect(await backend.durableIds(location)).to.deep.equal(['first', 'second']);
    });
  });
});

/** What only files have: torn lines, rotation by size, retention by the age of rotated files. */
describe('event log: files', () => {
  let dir: string;
  let log: EventLog | undefined;

  async function openLog(options: Partial<EventLogOptions> = {}): Promise<EventLog> {
    log = await EventLog.open({ dir, ...options });
    return log;
  }

  beforeEach(async () => {
    dir = await makeTempDir('event-log');
  });
  afterEach(async () => {
    await log?.close();
    log = undefined;
  });
  after(removeTempDirs);

  it('skips and counts a line torn by a crash, and later events are not glued to it', async () => {
    const first = await openLog();
    for (const event of eventsFor('a', 3)) first.append(event);
    await first.close();
    await fs.appendFile(path.join(dir, 'events.jsonl'), '{"id":"a-3","deviceId":"a","ty');

    const second = await openLog();
    expect(second.stats().corruptLines).to.equal(1);
    second.append(deviceEvent('a-4', 'a'));
    expect(ids(await second.query())).to.deep.equal(['a-4', 'a-2', 'a-1', 'a-0']);
    expect(second.stats().corruptLines).to.equal(1);
  });

  describe('rotation and retention', () => {
    it('rotates before a file would pass maxFileBytes and still finds every event, in order', async () => {
      const events = await openLog({ maxFileBytes: 1000 });
      const appended = eventsFor('a', 60);
      for (const event of appended) events.append(event);
      await events.flush();

      const files = (await fs.readdir(dir)).sort();
      const rotated = files.filter((f) => f !== 'events.jsonl');
      expect(rotated.length).to.be.greaterThan(3);
      for (const name of rotated) expect(name).to.match(/^events-\d{8}T\d{9}Z-\d{6}\.jsonl$/);
      for (const name of files) expect((await fs.stat(path.join(dir, name))).size).to.be.at.most(1000);
      expect(events.stats()).to.include({ files: files.length, rotations: rotated.length });
      expect(ids(await events.query({ limit: 1000 }))).to.deep.equal(ids(appended).reverse());
    });

    it('deletes rotated files older than retentionDays (by the time in their name), never the current file', async () => {
      let now = Date.parse('2024-05-01T12:00:00.000Z');
      const events = await openLog({ maxFileBytes: 600, retentionDays: 2, now: () => now });
      for (const event of eventsFor('old', 10)) events.append(event);
      await events.flush();
      const oldFiles = (await fs.readdir(dir)).filter((f) => f !== 'events.jsonl');
      expect(oldFiles.length).to.be.greaterThan(0);

      now += 1 * DAY;
      for (const event of eventsFor('new', 10)) events.append(event);
      await events.flush();
      expect(await events.enforceRetention()).to.equal(0);

      now += 1.5 * DAY;
      const expiredIds = new Set((await Promise.all(oldFiles.map((name) => fileEventIds(path.join(dir, name))))).flat());
      expect(await events.enforceRetention()).to.equal(oldFiles.length);
      const left = await fs.readdir(dir);
      expect(left).to.include('events.jsonl');
      for (const name of oldFiles) expect(left).not.to.include(name);
      const everything = [...eventsFor('old', 10), ...eventsFor('new', 10)].reverse();
      expect(ids(await events.query({ limit: 1000 }))).to.deep.equal(ids(everything).filter((id) => !expiredIds.has(id)));
    });

    it('applies retention when it opens', async () => {
      let now = Date.parse('2024-05-01T12:00:00.000Z');
      const first = await openLog({ maxFileBytes: 600, retentionDays: 1, now: () => now });
      for (const event of eventsFor('a', 10)) first.append(event);
      await first.close();
      const rotatedBefore = (await fs.readdir(dir)).length - 1;
      expect(rotatedBefore).to.be.greaterThan(0);

      now += 3 * DAY;
      const second = await openLog({ maxFileBytes: 600, retentionDays: 1, now: () => now });
      expect(await fs.readdir(dir)).to.deep.equal(['events.jsonl']);
      expect(second.stats().files).to.equal(1);
    });
  });
});
