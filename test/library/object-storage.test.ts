import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HubConfigError, resolveHubOptions } from '../../server/config/hub-options';
import { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import type { StreamServed } from '../../server/streams';
import type { DeviceEvent } from '../../server/types/schemas';
import type { VirtualPlayerSnapshot } from '../../server/virtual/contracts';
import { startS3, type S3Server } from '../helpers/s3';
import { hooked } from '../helpers/hooked';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { snapshotWhen } from '../helpers/virtual-player';
import { call, KIDS, onboardAdmin, START_MP3, upload, type SignIn } from '../hub/api-world';
import { startLibraryRig } from './rig';

const MP3 = fs.readFileSync(START_MP3);

/** GET or HEAD of a library file's stream route as the signed-in user. */
function stream(hub: Hub, token: string, id: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${hub.url}/api/audio/${id}/stream`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } });
}

/** The next answered player stream request `match` accepts. */
function nextServed(hub: Hub, match: (served: StreamServed) => boolean): Promise<StreamServed> {
  return new Promise((resolve) => {
    const onServed = (served: StreamServed): void => {
      if (!match(served)) return;
      hub.streams.events.off('served', onServed);
      resolve(served);
    };
    hub.streams.events.on('served', onServed);
  });
}

/** Regular files directly in `<dataDir>/audio` (the data directory's audio storage). */
function localAudioFiles(hub: Hub): string[] {
  return fs.readdirSync(path.join(hub.options.dataDir, 'audio'), { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

interface S3Hub {
  s3: S3Server;
  hub: Hub;
  admin: SignIn;
}

/** For the suite: an S3 server and a hub (as `npm start` composes it) keeping its audio there, with its admin signed in. */
function useS3Hub(): S3Hub {
  return hooked('suite', async () => {
    const s3 = await startS3();
    const hub = await startTestHub({ objectStoreUrl: s3.url });
    return { s3, hub, admin: await onboardAdmin(hub) };
  }, async ({ s3, hub }) => {
    await stopTestHub(hub);
    await s3.stop();
  });
}

describe('audio on S3-compatible storage (YOTO_OBJECT_STORE_URL), through the composed hub', function () {
  this.timeout(60_000);
  const world = useS3Hub();
  let s3: S3Server;
  let hub: Hub;
  let admin: SignIn;
  before(() => {
    ({ s3, hub, admin } = world);
  });

  it('uploads through REST into the bucket, streams ranges from it with the local headers, and DELETE removes the object', async () => {
    const file = await upload(hub, admin.accessToken, 'bedtime.mp3');
    const record = hub.library.files.get(file.id)!;
    const key = `audio/${record.fileName}`;
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(head.ContentLength).to.equal(MP3.length);
    expect(head.ContentType).to.equal('audio/mpeg');
    expect(localAudioFiles(hub), 'nothing in the data directory').to.deep.equal([]);
    expect(fs.readdirSync(path.join(hub.options.dataDir, 'audio', '.incoming')), 'no partial upload left').to.deep.equal([]);

    const size = MP3.length;
    const whole = await stream(hub, admin.accessToken, file.id);
    expect(whole.status).to.equal(200);
    expect(whole.headers.get('accept-ranges')).to.equal('bytes');
    expect(whole.headers.get('etag')).to.equal(`"${record.sha256}"`);
    expect(whole.headers.get('last-modified')).to.equal(new Date(Math.floor(Date.parse(record.createdAt) / 1000) * 1000).toUTCString());
    expect(Buffer.from(await whole.arrayBuffer()).equals(MP3)).to.equal(true);

    const first = await stream(hub, admin.accessToken, file.id, { headers: { range: 'bytes=0-99' } });
    expect(first.status).to.equal(206);
    expect(first.headers.get('content-range')).to.equal(`bytes 0-99/${size}`);
    expect(Buffer.from(await first.arrayBuffer()).equals(MP3.subarray(0, 100))).to.equal(true);

    const middle = Math.floor(size / 2);
    const mid = await stream(hub, admin.accessToken, file.id, { headers: { range: `bytes=${middle}-${middle + 4095}` } });
    expect(mid.status).to.equal(206);
    expect(mid.headers.get('content-range')).to.equal(`bytes ${middle}-${middle + 4095}/${size}`);
    expect(mid.headers.get('content-length')).to.equal('4096');
    expect(Buffer.from(await mid.arrayBuffer()).equals(MP3.subarray(middle, middle + 4096))).to.equal(true);

    const suffix = await stream(hub, admin.accessToken, file.id, { headers: { range: 'bytes=-500' } });
    expect(suffix.status).to.equal(206);
    expect(suffix.headers.get('content-range')).to.equal(`bytes ${size - 500}-${size - 1}/${size}`);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(MP3.subarray(size - 500))).to.equal(true);

    const past = await stream(hub, admin.accessToken, file.id, { headers: { range: `bytes=${size}-` } });
    expect(past.status).to.equal(416);
    expect(past.headers.get('content-range')).to.equal(`bytes */${size}`);
    expect(((await past.json()) as { error: { code: string } }).error.code).to.equal('range_not_satisfiable');

    const deleted = await call(hub, 'DELETE', `/api/audio/${file.id}`, admin.accessToken);
    expect(deleted.status, deleted.text).to.equal(204);
    expect(await s3.keys('audio/')).not.to.include(key);
    expect((await stream(hub, admin.accessToken, file.id)).status).to.equal(404);
  });

  it("plays a deployed script's stream URL from the bucket on a virtual player", async () => {
    const file = await upload(hub, admin.accessToken, 'story.mp3');
    const record = hub.library.files.get(file.id)!;
    const script = await call(hub, 'POST', '/api/scripts', admin.accessToken, { name: 'Story time', type: 'simple', definition: { audioFileId: file.id } });
    expect(script.status, script.text).to.equal(201);
    const scriptId = (script.json as { id: string }).id;
    const bucketReads: string[] = [];
    const stopWatching = s3.onRead((read) => bucketReads.push(read.key));
    try {
      const served = nextServed(hub, (s) => s.kind === 'audio' && s.id === file.id && s.method === 'GET');
      const deployed = await call(hub, 'POST', `/api/scripts/${scriptId}/deploy`, admin.accessToken, { deviceId: KIDS });
      expect(deployed.status, deployed.text).to.equal(200);
      const cardId = (deployed.json as { cardId: string }).cardId;
      expect(await served).to.include({ status: 200, deviceId: KIDS, scriptId, fileId: file.id });
      const player = hub.cloud.virtualCloud!.fleet.player(KIDS)!;
      const playing = await snapshotWhen(player, (s: VirtualPlayerSnapshot) => s.cardId === cardId && (s.playbackStatus === 'playing' || s.lastStreamError !== undefined));
      expect(playing.lastStreamError).to.equal(undefined);
      expect(playing.playbackStatus).to.equal('playing');
      expect(bucketReads, 'the player\'s bytes came from the bucket').to.include(`audio/${record.fileName}`);
    } finally {
      stopWatching();
    }
  });

  it('refuses a malformed YOTO_OBJECT_STORE_URL at start with a configuration error naming the problem', () => {
    const resolve = (url: string): unknown => resolveHubOptions({}, '/tmp/yoto-unused', { YOTO_OBJECT_STORE_URL: url });
    expect(() => resolve('http://bucket')).to.throw(HubConfigError, /s3:\/\//);
    expect(() => resolve('s3://Bad_Bucket')).to.throw(HubConfigError, /bucket name/);
    expect(() => resolve('s3://audio?endpoint=ftp://x')).to.throw(HubConfigError, /endpoint/);
    expect(() => resolve('s3://audio?endpont=http://x:9000')).to.throw(HubConfigError, /unknown parameter "endpont"/);
    expect(() => resolve('s3://key@audio')).to.throw(HubConfigError, /both the access key id and the secret/);
    expect(resolveHubOptions({}, '/tmp/yoto-unused', { YOTO_OBJECT_STORE_URL: s3.url }).objectStoreUrl).to.equal(s3.url);
  });
});

describe('audio on S3-compatible storage: a bucket that becomes unreachable', function () {
  this.timeout(60_000);
  const world = useS3Hub();

  it('answers 503 storage_unavailable to streams and uploads, alerts on the player whose stream failed, and the hub carries on', async () => {
    const { s3, hub, admin } = world;
    const file = await upload(hub, admin.accessToken, 'dinner.mp3');
    const playerUrl = hub.streams.urlFor({ kind: 'audio', fileId: file.id }, { deviceId: KIDS });
    await s3.stop();

    const res = await stream(hub, admin.accessToken, file.id, { headers: { range: 'bytes=0-99' } });
    expect(res.status).to.equal(503);
    const body = (await res.json()) as { error: { code: string; message: string; details: unknown[] } };
    expect(body.error.code).to.equal('storage_unavailable');
    expect(body.error.message).to.match(/audio storage \(s3:\/\/yoto-audio\/audio\/ at http:\/\/127\.0\.0\.1:\d+\) is unavailable/);
    expect(body.error.details).to.deep.equal([]);
    expect(JSON.stringify(body), 'no credentials in the answer').not.to.contain('S3RVER');

    const served = nextServed(hub, (s) => s.id === file.id);
    const alerted = new Promise<DeviceEvent>((resolve) => {
      const onEvent = (event: DeviceEvent): void => {
        if (event.type !== 'alert' || event.deviceId !== KIDS) return;
        hub.devices.bus.off(onEvent);
        resolve(event);
      };
      hub.devices.bus.on(onEvent, 'event', onEvent);
    });
    const played = await fetch(playerUrl);
    expect(played.status).to.equal(503);
    expect(await served).to.include({ status: 503, reason: 'storage_unavailable', deviceId: KIDS });
    expect((await alerted).data).to.include({ alert: 'stream_failed', status: 503, reason: 'storage_unavailable' });
    expect(String((await alerted).data['message'])).to.contain("the hub's audio storage is unavailable");

    const form = new FormData();
    form.append('file', new Blob([MP3]), 'later.mp3');
    const refused = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${admin.accessToken}` }, body: form });
    expect(refused.status).to.equal(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('storage_unavailable');
    expect(fs.readdirSync(path.join(hub.options.dataDir, 'audio', '.incoming')), 'no partial upload left').to.deep.equal([]);
    expect(hub.library.files.list().items.map((r) => r.id), 'no record of the refused upload').to.deep.equal([file.id]);

    // Deleting still takes the file out of the library; the bytes go at a later start-up sweep.
    expect((await call(hub, 'DELETE', `/api/audio/${file.id}`, admin.accessToken)).status).to.equal(204);
    expect((await call(hub, 'GET', '/api/system/health')).status).to.equal(200);
  });
});

describe('audio on S3-compatible storage: a bucket that accepts connections and never answers', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  it('answers 503 once the answer timeout has passed, to streams and uploads, and closes without waiting for it', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as net.AddressInfo).port;
    const rig = await startLibraryRig({ backend: 's3', objectStoreUrl: `s3://key:secret@quiet-bucket?endpoint=http://127.0.0.1:${port}&region=us-east-1`, answerTimeoutMs: 300 });
    try {
      const at = new Date().toISOString();
      const record = await rig.store.audioFiles.insert({
        id: randomUUID(), userId: 'user-alice', title: 'Quiet', fileName: `${randomUUID()}.mp3`, originalName: 'quiet.mp3', mimeType: 'audio/mpeg',
        fileSize: MP3.length, durationSeconds: 3, format: 'mp3', tags: {}, hasCover: false, sha256: 'a'.repeat(64), createdAt: at, updatedAt: at,
      });
      const res = await rig.fetchAs('alice', `/${record.id}/stream`, { headers: { range: 'bytes=0-99' } });
      expect(res.status).to.equal(503);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error).to.include({ code: 'storage_unavailable' });
      expect(error.message, error.message).to.contain('got no answer within 0.3 s');

      const upload = await rig.upload('alice', [{ name: 'file', fileName: 'quiet.mp3', data: MP3 }]);
      expect(upload.status).to.equal(503);
      expect(((await upload.json()) as { error: { message: string } }).error.message).to.contain('made no progress');
      expect(fs.readdirSync(path.join(rig.dataDir, 'audio', '.incoming'))).to.deep.equal([]);
    } finally {
      // The start-up sweep is still waiting on the listing: closing ends it.
      await rig.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('audio on S3-compatible storage: credentials from the environment', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  it('signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the hub\'s environment when the URL has none, and refuses wrong ones with 503', async () => {
    const s3 = await startS3();
    const url = `s3://${s3.bucket}?endpoint=${s3.endpoint}&region=${s3.region}`;
    const start = async (env: NodeJS.ProcessEnv): Promise<Hub> => {
      const dataDir = await makeTempDir('s3-env-hub');
      const options = resolveHubOptions({ httpPort: 0, embeddedBrokerPort: 0, virtualCloudPort: 0, signInPort: 0, objectStoreUrl: url }, dataDir, {});
      const hub = new Hub(options, { logger: silentLogger, env });
      await hub.start();
      return hub;
    };
    let hub = await start({ AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey });
    try {
      const record = await hub.library.files.importFile(START_MP3, { userId: 'user-alice' });
      expect(await s3.keys('audio/')).to.include(`audio/${record.fileName}`);
      const played = await fetch(hub.streams.urlFor({ kind: 'audio', fileId: record.id }), { headers: { range: 'bytes=0-9' } });
      expect(played.status).to.equal(206);
      expect(Buffer.from(await played.arrayBuffer()).equals(MP3.subarray(0, 10))).to.equal(true);
      await hub.stop();

      hub = await start({ AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'wrong' });
      const copied = await hub.store.audioFiles.insert(record);
      const refused = await fetch(hub.streams.urlFor({ kind: 'audio', fileId: copied.id }), { headers: { range: 'bytes=0-9' } });
      expect(refused.status).to.equal(503);
      const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).to.equal('storage_unavailable');
      expect(error.message).to.match(/InvalidAccessKeyId|403/);
    } finally {
      await hub.stop();
      await s3.stop();
    }
  });
});

describe('audio on S3-compatible storage: the start-up sweep', function () {
  this.timeout(60_000);
  let s3: S3Server;

  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    await s3?.stop();
    await removeTempDirs();
  });

  it('removes objects of the library no record owns once they are an hour old, and nothing else in the bucket', async () => {
    const orphan = `audio/${randomUUID()}.mp3`;
    const foreign = ['audio/notes.txt', 'backups/db.json', `other/${randomUUID()}.mp3`];
    for (const key of [orphan, ...foreign]) await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'x' }));

    // Right after an upload an object may not have its record yet (another instance's): left alone.
    const young = await startLibraryRig({ backend: 's3' }, s3);
    const owned = await young.library.files.importFile(START_MP3, { userId: 'user-alice' });
    await young.library.files.swept;
    expect(await s3.keys()).to.include(orphan);
    await young.close();

    // Two hours later (the storage's clock), the restarted library removes the orphan and only it.
    const later = await startLibraryRig({ backend: 's3', storageNow: () => Date.now() + 2 * 60 * 60 * 1000, dataDir: young.dataDir }, s3);
    await later.library.files.swept;
    const keys = await s3.keys();
    expect(keys).not.to.include(orphan);
    expect(keys, 'the file a record owns').to.include(`audio/${owned.fileName}`);
    for (const key of foreign) expect(keys, 'what is not the library\'s').to.include(key);
    expect((await later.fetchAs('alice', `/${owned.id}/stream`)).status).to.equal(200);
    await later.close();
  });
});
