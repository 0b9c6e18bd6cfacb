import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HubConfigError, resolveHubOptions } from '../../server/config/hub-options';
import type { Hub } from '../../server/hub';
import type { ObjectCache } from '../../server/library';
import { objectCacheOf } from '../../server/library/s3-audio-storage';
import { createLogger, type LogRecord } from '../../server/log/logger';
import type { AudioFile } from '../../server/types/schemas';
import { hooked } from '../helpers/hooked';
import { startS3, type S3Server } from '../helpers/s3';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, onboardAdmin, upload } from '../hub/api-world';
import { wavFile } from './media';
import { startLibraryRig, type LibraryRig, type LibraryRigOptions } from './rig';

const CHECK_MS = 5000;

/** The local copies of a rig's (or hub's) bucket storage. */
function copiesOf(storage: Parameters<typeof objectCacheOf>[0]): ObjectCache {
  const copies = objectCacheOf(storage);
  if (!copies) throw new Error('the storage keeps no local copies');
  return copies;
}

/** The copies' folder: `<name>~<etag>` files, sorted (temporary files start with a dot and are left out). */
async function copyFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const name of await fs.readdir(dir)) total += (await fs.stat(path.join(dir, name))).size;
  return total;
}

/** Headers of an answer a client compares between two sources (Date and the connection's aside). */
function headersOf(res: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name !== 'date' && name !== 'connection' && name !== 'keep-alive') headers[name] = value;
  });
  return headers;
}

interface CacheWorld {
  rig: LibraryRig;
  /** The copies' folder. */
  dir: string;
  /** The storage's clock: tests move it past the check interval. */
  clock: { now: number };
}

/** A library on `s3` keeping copies in a fresh folder (the rig's own data directory is left alone), on a clock the test moves. */
async function startCacheRig(s3: S3Server, cache: { bytes?: number; dir?: string; logger?: LibraryRigOptions['storageLogger']; dataDir?: string } = {}): Promise<CacheWorld> {
  const clock = { now: Date.now() };
  const dir = cache.dir ?? path.join(await makeTempDir('object-cache'), 'objects');
  const rig = await startLibraryRig({
    backend: 's3',
    storageNow: () => clock.now,
    ...(cache.logger ? { storageLogger: cache.logger } : {}),
    ...(cache.dataDir !== undefined ? { dataDir: cache.dataDir } : {}),
    objectCache: { objectCacheDir: dir, objectCacheBytes: cache.bytes ?? 64 * 1024 * 1024, objectCacheCheckMs: CHECK_MS },
  }, s3);
  return { rig, dir, clock };
}

describe('audio on S3-compatible storage: local copies of the bucket\'s objects (YOTO_OBJECT_CACHE_MB)', function () {
  this.timeout(60_000);
  const s3 = hooked('suite', () => startS3(), (started) => started.stop());
  after(removeTempDirs);
  let world: CacheWorld | undefined;
  afterEach(async () => {
    await world?.rig.close();
    world = undefined;
  });

  const cacheRig = async (cache: Parameters<typeof startCacheRig>[1] = {}): Promise<CacheWorld> => {
    world = await startCacheRig(s3, cache);
    return world;
  };

  const uploadWav = async (rig: LibraryRig, seconds: number, seed: number): Promise<{ record: AudioFile; bytes: Buffer }> => {
    const bytes = wavFile(seconds, 8000, (i) => ((i * seed) % 20000) - 10000);
    const res = await rig.upload('alice', [{ name: 'file', fileName: `tone-${seed}.wav`, data: bytes }]);
    expect(res.status).to.equal(201);
    return { record: (await res.json()) as AudioFile, bytes };
  };

  const range = (rig: LibraryRig, record: AudioFile, start: number, end?: number): Promise<Response> =>
    rig.fetchAs('alice', `/${record.id}/stream`, { headers: { range: `bytes=${start}-${end ?? ''}` } });

  it('answers ranges from the local copy once the object was read: the same bytes and headers, no read of the bucket', async () => {
    const { rig, dir } = await cacheRig();
    const { record, bytes } = await uploadWav(rig, 60, 7);
    const size = bytes.length;

    // The first request reads the bucket (nobody waits for the whole download) and starts the copy.
    const cold = await range(rig, record, 1000, 1999);
    expect(cold.status).to.equal(206);
    expect(Buffer.from(await cold.arrayBuffer()).equals(bytes.subarray(1000, 2000))).to.equal(true);
    await copiesOf(rig.library.files.storage).settled();
    const copies = await copyFiles(dir);
    expect(copies).to.have.length(1);
    expect(copies[0]).to.match(new RegExp(`^${record.fileName.replace('.', '\\.')}~[0-9a-f]{32}$`));
    expect((await fs.readFile(path.join(dir, copies[0]!))).equals(bytes), 'the copy holds the object\'s bytes').to.equal(true);

    const reads: string[] = [];
    const stop = s3.onRead((read) => reads.push(read.range ?? 'whole'));
    try {
      const warm = await range(rig, record, 1000, 1999);
      expect(headersOf(warm)).to.deep.equal(headersOf(cold));
      expect(Buffer.from(await warm.arrayBuffer()).equals(bytes.subarray(1000, 2000))).to.equal(true);

      for (const [start, end] of [[0, 0], [0, 99], [size - 1, size - 1], [100, 300_000], [262_100, 262_200], [500_000, undefined]] as const) {
        const res = await range(rig, record, start, end);
        const last = end ?? size - 1;
        expect(res.status).to.equal(206);
        expect(res.headers.get('content-range')).to.equal(`bytes ${start}-${last}/${size}`);
        expect(res.headers.get('content-length')).to.equal(String(last - start + 1));
        expect(res.headers.get('etag')).to.equal(`"${record.sha256}"`);
        expect(res.headers.get('content-type')).to.equal('audio/wav');
        expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, last + 1)), `bytes ${start}-${last}`).to.equal(true);
      }
      const suffix = await rig.fetchAs('alice', `/${record.id}/stream`, { headers: { range: 'bytes=-500' } });
      expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(size - 500))).to.equal(true);
      const whole = await rig.fetchAs('alice', `/${record.id}/stream`);
      expect(whole.status).to.equal(200);
      expect(whole.headers.get('accept-ranges')).to.equal('bytes');
      expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).to.equal(true);
      expect((await range(rig, record, size)).status).to.equal(416);
      expect(reads, 'no range read from the bucket once the copy is there').to.deep.equal([]);
    } finally {
      stop();
    }
  });

  it('does not serve a copy of an object replaced in the bucket (another hub, a direct PutObject) once the check interval has passed', async () => {
    const { rig, dir, clock } = await cacheRig();
    const { record, bytes } = await uploadWav(rig, 5, 3);
    await (await range(rig, record, 0, 99)).arrayBuffer();
    await copiesOf(rig.library.files.storage).settled();
    const [before] = await copyFiles(dir);

    const replacement = Buffer.from(bytes.map((b) => 255 - b));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `audio/${record.fileName}`, Body: replacement }));
    clock.now += CHECK_MS;

    const res = await range(rig, record, 0, 4095);
    expect(res.status).to.equal(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(replacement.subarray(0, 4096)), 'the bucket\'s new bytes').to.equal(true);
    expect(await copyFiles(dir), 'the old copy is gone').not.to.include(before);
    await copiesOf(rig.library.files.storage).settled();
    const [after] = await copyFiles(dir);
    expect(after).not.to.equal(before);
    expect((await fs.readFile(path.join(dir, after!))).equals(replacement), 'a copy of the new version').to.equal(true);
    const again = await range(rig, record, 100, 199);
    expect(Buffer.from(await again.arrayBuffer()).equals(replacement.subarray(100, 200))).to.equal(true);
  });

  it('uses the copies of an earlier run after a restart once the bucket confirms them, drops one replaced meanwhile, and removes half-written ones and those no record owns', async () => {
    const first = await cacheRig();
    const kept = await uploadWav(first.rig, 5, 13);
    const changed = await uploadWav(first.rig, 5, 17);
    for (const { record } of [kept, changed]) await (await range(first.rig, record, 0, 99)).arrayBuffer();
    await copiesOf(first.rig.library.files.storage).settled();
    expect(await copyFiles(first.dir)).to.have.length(2);
    await first.rig.close();
    world = undefined;

    // While the hub is down: one object replaced in the bucket, and a download a crash cut short.
    const replacement = Buffer.from(changed.bytes.map((b) => b ^ 0x55));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `audio/${changed.record.fileName}`, Body: replacement }));
    const leftover = path.join(first.dir, `.${kept.record.fileName}.0123456789ab.tmp`);
    await fs.writeFile(leftover, 'half');
    // A copy of a file deleted (through another instance) while this one was down: no record owns it.
    const orphan = path.join(first.dir, `${randomUUID()}.wav~0123456789abcdef0123456789abcdef`);
    await fs.writeFile(orphan, 'gone');

    const { rig } = await cacheRig({ dir: first.dir, dataDir: first.rig.dataDir });
    expect(await copiesOf(rig.library.files.storage).ready).to.equal(true);
    expect(await fs.stat(leftover).then(() => true, () => false), 'the half-written copy is gone').to.equal(false);
    await rig.library.files.swept;
    expect(await fs.stat(orphan).then(() => true, () => false), 'the copy no record owns is gone').to.equal(false);
    const reads: string[] = [];
    const stop = s3.onRead((read) => reads.push(read.key));
    try {
      const same = await range(rig, kept.record, 2000, 2999);
      expect(Buffer.from(await same.arrayBuffer()).equals(kept.bytes.subarray(2000, 3000))).to.equal(true);
      expect(reads, 'the confirmed copy is read, not the bucket').to.deep.equal([]);
      const fresh = await range(rig, changed.record, 2000, 2999);
      expect(Buffer.from(await fresh.arrayBuffer()).equals(replacement.subarray(2000, 3000)), 'the replaced object\'s new bytes').to.equal(true);
    } finally {
      stop();
    }
  });

  it('reads the bucket, not 404, when a copy was deleted from the disk under the running hub, and copies the object again', async () => {
    const { rig, dir } = await cacheRig();
    const { record, bytes } = await uploadWav(rig, 30, 19);
    await (await range(rig, record, 0, 99)).arrayBuffer();
    await copiesOf(rig.library.files.storage).settled();
    const [copy] = await copyFiles(dir);
    await fs.rm(path.join(dir, copy!));

    for (const [start, end] of [[100, 199], [1000, 300_000]] as const) {
      const res = await range(rig, record, start, end);
      expect(res.status).to.equal(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).to.equal(true);
    }
    await copiesOf(rig.library.files.storage).settled();
    expect(await copyFiles(dir)).to.deep.equal([copy]);
  });

  it('answers 404 for an object deleted from the bucket behind the hub once checked, and removes its copy', async () => {
    const { rig, dir, clock } = await cacheRig();
    const { record } = await uploadWav(rig, 5, 5);
    await (await range(rig, record, 0, 99)).arrayBuffer();
    await copiesOf(rig.library.files.storage).settled();
    expect(await copyFiles(dir)).to.have.length(1);

    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `audio/${record.fileName}` }));
    clock.now += CHECK_MS;
    expect((await range(rig, record, 0, 99)).status).to.equal(404);
    expect(await copyFiles(dir)).to.deep.equal([]);
  });

  it('keeps the copies under their limit, the least recently used going first, and reads evicted objects from the bucket', async () => {
    const seconds = 10;
    const fileBytes = wavFile(seconds).length;
    // Room for four files (one object may take a quarter of the cache).
    const limit = fileBytes * 4 + 1000;
    const { rig, dir } = await cacheRig({ bytes: limit });
    const files: Array<{ record: AudioFile; bytes: Buffer }> = [];
    for (let seed = 11; seed < 17; seed++) files.push(await uploadWav(rig, seconds, seed));
    const copies = copiesOf(rig.library.files.storage);
    const readAll = async (index: number): Promise<void> => {
      const { record, bytes } = files[index]!;
      const res = await range(rig, record, 0, 9999);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(0, 10000))).to.equal(true);
      await copies.settled();
      expect(await bytesUnder(dir), 'bytes on disk').to.be.at.most(limit);
    };
    for (const index of [0, 1, 2, 3]) await readAll(index);
    // File 0 used again: file 1 is now the least recently used.
    await readAll(0);
    await readAll(4);
    await readAll(5);
    const kept = (await copyFiles(dir)).map((name) => name.split('~')[0]);
    expect(kept.sort()).to.deep.equal([0, 3, 4, 5].map((i) => files[i]!.record.fileName).sort());
    expect(copies.size).to.be.at.most(limit);
    // An evicted object still streams, from the bucket.
    const evicted = files[1]!;
    const res = await range(rig, evicted.record, 5000, 70_000);
    expect(Buffer.from(await res.arrayBuffer()).equals(evicted.bytes.subarray(5000, 70_001))).to.equal(true);
  });

  it('streams from the bucket with a warning, not an error, when the copies\' folder cannot be written', async () => {
    // A file where the folder should be: not creatable, whoever the tests run as.
    const blocked = path.join(await makeTempDir('object-cache'), 'blocked');
    await fs.writeFile(blocked, 'not a folder');
    const logged: LogRecord[] = [];
    const { rig } = await cacheRig({ dir: path.join(blocked, 'objects'), logger: createLogger({ level: 'warn', sink: (record) => logged.push(record) }) });
    expect(await copiesOf(rig.library.files.storage).ready).to.equal(false);
    expect(logged.map((r) => r.msg)).to.include('the object cache folder cannot be used: audio is read from the bucket directly');
    expect(logged.every((r) => r.level === 'warn')).to.equal(true);

    const { record, bytes } = await uploadWav(rig, 20, 9);
    for (const [start, end] of [[0, 99], [1000, 400_000], [0, 99]] as const) {
      const res = await range(rig, record, start, end);
      expect(res.status).to.equal(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).to.equal(true);
    }
    await copiesOf(rig.library.files.storage).settled();
    expect((await fs.stat(blocked)).isFile()).to.equal(true);
  });

  it('refuses a YOTO_OBJECT_CACHE_MB or YOTO_OBJECT_CACHE_CHECK_S that is not a whole number at start; 0 keeps no copies', async () => {
    const resolve = (env: NodeJS.ProcessEnv): unknown => resolveHubOptions({}, '/tmp/yoto-unused', { YOTO_OBJECT_STORE_URL: s3.url, ...env });
    expect(() => resolve({ YOTO_OBJECT_CACHE_MB: 'lots' })).to.throw(HubConfigError, /YOTO_OBJECT_CACHE_MB must be a whole number >= 0, got "lots"/);
    expect(() => resolve({ YOTO_OBJECT_CACHE_CHECK_S: '-1' })).to.throw(HubConfigError, /YOTO_OBJECT_CACHE_CHECK_S/);
    expect(() => resolve({ YOTO_OBJECT_CACHE_MB: '0', YOTO_OBJECT_CACHE_CHECK_S: '0' })).not.to.throw();

    const off = await startLibraryRig({ backend: 's3', objectCache: { objectCacheDir: '/nonexistent/never-created', objectCacheBytes: 0 } }, s3);
    try {
      expect(objectCacheOf(off.library.files.storage)).to.equal(undefined);
    } finally {
      await off.close();
    }
  });
});

describe('audio on S3-compatible storage: local copies in the composed hub', function () {
  this.timeout(60_000);
  const world = hooked('suite', async () => {
    const s3 = await startS3();
    const hub = await startTestHub({ objectStoreUrl: s3.url });
    return { s3, hub, admin: await onboardAdmin(hub) };
  }, async ({ s3, hub }: { s3: S3Server; hub: Hub }) => {
    await stopTestHub(hub);
    await s3.stop();
  });

  it('keeps copies in <data dir>/cache/objects; DELETE answers 404 at once and removes the copy', async () => {
    const { hub, admin } = world;
    const dir = path.join(hub.options.dataDir, 'cache', 'objects');
    const file = await upload(hub, admin.accessToken, 'bedtime.mp3');
    const record = hub.library.files.get(file.id)!;
    const get = (init: RequestInit = {}): Promise<Response> =>
      fetch(`${hub.url}/api/audio/${file.id}/stream`, { ...init, headers: { authorization: `Bearer ${admin.accessToken}`, range: 'bytes=0-99' } });
    expect((await get()).status).to.equal(206);
    await copiesOf(hub.library.files.storage).settled();
    expect((await copyFiles(dir)).map((name) => name.split('~')[0])).to.deep.equal([record.fileName]);

    expect((await call(hub, 'DELETE', `/api/audio/${file.id}`, admin.accessToken)).status).to.equal(204);
    expect((await get()).status).to.equal(404);
    expect(await copyFiles(dir)).to.deep.equal([]);
  });
});
