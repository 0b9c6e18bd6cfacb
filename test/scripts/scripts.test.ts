import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Hub } from '../../server/hub';
import { HubHttpServer } from '../../server/http/http-server';
import { createAudioLibrary, createAudioLibraryService, type AudioLibraryHandle } from '../../server/library';
import { silentLogger } from '../../server/log/logger';
import { createScripts, type ScriptsService } from '../../server/scripts';
import { createStreamService, type StreamServed, type StreamService } from '../../server/streams';
import type { AudioFile, Script } from '../../server/types/schemas';
import { encodePng } from '../../server/virtual/http/media/png';
import type { VirtualPlayerSnapshot } from '../../server/virtual/contracts';
import { fixturesDir } from '../helpers/fixtures';
import { snapshotWhen } from '../helpers/virtual-player';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { testUserAuth, USERS } from '../library/rig';

const FIXTURES = path.join(fixturesDir, 'twine-spyshort');
const PLAYER = 'vkids0bedroom0yoto0mini0';

describe('scripts: CRUD, deploy to a player, icons', function () {
  let hub: Hub;
  let server: HubHttpServer;
  let library: AudioLibraryHandle;
  let streams: StreamService;
  let scripts: ScriptsService;
  let start: AudioFile;
  let riddle: AudioFile;
  let bobsFile: AudioFile;

  const call = async (user: string | undefined, method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> => {
    const init: RequestInit = { method, headers: { ...headers, ...(user ? { 'x-test-user': user } : {}) } };
    if (body instanceof Uint8Array) init.body = Buffer.from(body);
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${server.url}/api${pathAndQuery}`, init);
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const errorOf = (json: Record<string, unknown>): { code: string; message: string; details: { path: string; message: string }[] } =>
    json['error'] as { code: string; message: string; details: { path: string; message: string }[] };

  before(async () => {
    // The scripts under test serve their streams from a server of their own, not the hub's: let the virtual players fetch from it.
    hub = await startTestHub({ virtualStreamOrigins: ['*'] });
    const dataDir = await makeTempDir('scripts');
    const panelDir = await makeTempDir('scripts-panel');
    server = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir, logger: silentLogger });
    const files = createAudioLibraryService({ store: hub.store, dataDir, logger: silentLogger });
    streams = createStreamService({ dataDir, publicUrl: undefined, hubUrl: () => server.url, library: files, logger: silentLogger });
    scripts = createScripts({ store: hub.store, library: files, streams, cloud: hub.cloud, logger: silentLogger });
    library = createAudioLibrary({ files, logger: silentLogger, isInUse: (id) => scripts.isFileInUse(id) });
    server.mountApi('/', testUserAuth());
    server.mountApi('/audio', library.router);
    server.mountApi('/scripts', scripts.router);
    server.mountApi('/icons', scripts.iconsRouter);
    server.mountDirect('/stream', streams.routes);
    await server.listen();
    start = await library.files.importFile(path.join(FIXTURES, 'audio', 'Start.mp3'), { userId: USERS['alice']!.id });
    riddle = await library.files.importFile(path.join(FIXTURES, 'audio', 'SolveRiddle.mp3'), { userId: USERS['alice']!.id });
    bobsFile = await library.files.importFile(path.join(FIXTURES, 'audio', 'SearchElsewhere.mp3'), { userId: USERS['bob']!.id });
    // Alice has claimed the player (a member deploys only to players registered to them).
    const at = new Date().toISOString();
    await hub.store.devices.insert({ id: randomUUID(), userId: USERS['alice']!.id, deviceId: PLAYER, name: 'Kids', source: 'virtual', model: 'mini', status: 'unknown', metadata: {}, createdAt: at, updatedAt: at });
  });
  after(async () => {
    await server?.close();
    await streams?.close();
    await library?.close();
    await stopTestHub(hub);
    await removeTempDirs();
  });

  /** The next answered stream request that `match` accepts (reported once its answer is complete). */
  const nextServed = (match: (s: StreamServed) => boolean): Promise<StreamServed> =>
    new Promise((resolve) => {
      const onServed = (s: StreamServed): void => {
        if (!match(s)) return;
        streams.events.off('served', onServed);
        resolve(s);
      };
      streams.events.on('served', onServed);
    });

  /** Resolves with the first snapshot of the player that `done` accepts (the current one included). */
  const playerState = (done: (s: VirtualPlayerSnapshot) => boolean): Promise<VirtualPlayerSnapshot> =>
    snapshotWhen(hub.cloud.virtualCloud!.fleet.player(PLAYER)!, done);

  it('deploys a playlist as a card of hub stream tracks and the player fetches and plays them', async () => {
    const created = await call('alice', 'POST', '/scripts', {
      name: 'Bedtime',
      type: 'playlist',
      definition: { tracks: [{ audioFileId: start.id, icon: 'yoto:#abc123' }, { audioFileId: riddle.id, title: 'The riddle' }] },
      options: { volume: 40 },
    });
    expect(created.status, JSON.stringify(created.json)).to.equal(201);
    const script = created.json as unknown as Script;
    expect(script.userId).to.equal(USERS['alice']!.id);

    const fetched = nextServed((s) => s.kind === 'audio' && s.method === 'GET');
    const deployed = await call('alice', 'POST', `/scripts/${script.id}/deploy`, { deviceId: PLAYER });
    expect(deployed.status, JSON.stringify(deployed.json)).to.equal(200);
    const cardId = deployed.json['cardId'] as string;
    expect(cardId).to.be.a('string');
    expect((deployed.json['result'] as { command: string }).command).to.equal('play');
    expect((deployed.json['volume'] as { command: string }).command).to.equal('volume');

    // The player fetched the first track's hub URL, for this device and script, and plays it.
    const request = await fetched;
    expect(request).to.include({ id: start.id, status: 200, deviceId: PLAYER, scriptId: script.id });
    const playing = await playerState((s) => s.cardId === cardId && (s.playbackStatus === 'playing' || s.lastStreamError !== undefined));
    expect(playing.lastStreamError).to.equal(undefined);
    expect(playing).to.include({ playbackStatus: 'playing', chapterKey: '01', trackKey: '01' });

    // The card: zero-padded keys, stream tracks with the file's format and duration, the icon on the chapter.
    const card = await hub.cloud.api!.getCard(cardId);
    expect(card.content.chapters.map((c) => c.key)).to.deep.equal(['01', '02']);
    const [first, second] = card.content.chapters.map((c) => c.tracks[0]!);
    expect(first).to.include({ type: 'stream', format: 'mp3', duration: Math.round(start.durationSeconds), key: '01' });
    expect(first!.trackUrl.startsWith(`${server.url}/stream/audio/${start.id}?t=`)).to.equal(true);
    expect(card.content.chapters[0]!.display?.icon16x16).to.equal('yoto:#abc123');
    expect(second!.title).to.equal('The riddle');
    expect(hub.store.scripts.get(script.id)?.cardId).to.equal(cardId);

    // Deploying again updates the same card; playing chapter 02 fetches the second file.
    const riddleFetched = nextServed((s) => s.id === riddle.id && s.method === 'GET');
    const again = await call('alice', 'POST', `/scripts/${script.id}/deploy`, { deviceId: PLAYER, chapterKey: '02' });
    expect(again.status, JSON.stringify(again.json)).to.equal(200);
    expect(again.json['cardId']).to.equal(cardId);
    const second2 = await playerState((s) => s.chapterKey === '02' && (s.playbackStatus === 'playing' || s.lastStreamError !== undefined));
    expect(second2.lastStreamError).to.equal(undefined);
    expect(await riddleFetched).to.include({ status: 200, deviceId: PLAYER, scriptId: script.id });

    // A revoked device's URLs answer 403 (what the player would get on its next fetch).
    await streams.revokeDevice(PLAYER);
    const revoked = await fetch(second!.trackUrl);
    expect(revoked.status).to.equal(403);
    expect(errorOf((await revoked.json()) as Record<string, unknown>).code).to.equal('forbidden');
    const tampered = await fetch(second!.trackUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    expect(tampered.status).to.equal(403);
  });

  it('refuses to delete a library file a script uses, naming the script', async () => {
    const res = await call('alice', 'DELETE', `/audio/${riddle.id}`);
    expect(res.status).to.equal(409);
    expect(errorOf(res.json).message).to.contain('Bedtime');
    expect(scripts.isFileInUse(riddle.id)).to.equal('Bedtime');
    expect(scripts.isFileInUse(bobsFile.id)).to.equal(undefined);
  });

  it('keeps scripts private: members see their own, admins all, another member gets 404', async () => {
    const mine = await call('alice', 'POST', '/scripts', { name: 'Just one', type: 'simple', definition: { audioFileId: start.id, icon: 'yoto:#xyz' } });
    expect(mine.status).to.equal(201);
    const id = mine.json['id'] as string;
    expect((await call('bob', 'GET', `/scripts/${id}`)).status).to.equal(404);
    expect((await call('bob', 'PATCH', `/scripts/${id}`, { name: 'Hijacked' })).status).to.equal(404);
    expect((await call('bob', 'DELETE', `/scripts/${id}`)).status).to.equal(404);
    expect((await call('bob', 'POST', `/scripts/${id}/deploy`, { deviceId: PLAYER })).status).to.equal(404);
    expect(((await call('bob', 'GET', '/scripts')).json['items'] as Script[]).map((s) => s.id)).to.not.include(id);
    expect(((await call('admin', 'GET', '/scripts')).json['items'] as Script[]).map((s) => s.id)).to.include(id);
    expect((await call(undefined, 'GET', '/scripts')).status).to.equal(401);

    const renamed = await call('alice', 'PATCH', `/scripts/${id}`, { name: 'Renamed', userId: 'user-bob' });
    expect(renamed.status).to.equal(200);
    expect(renamed.json).to.include({ name: 'Renamed', userId: USERS['alice']!.id });
    expect((await call('admin', 'DELETE', `/scripts/${id}`)).status).to.equal(204);
    expect((await call('alice', 'GET', `/scripts/${id}`)).status).to.equal(404);
  });

  it('answers 400 naming the field for invalid scripts and deploy requests', async () => {
    const noTracks = await call('alice', 'POST', '/scripts', { name: 'Empty', type: 'playlist', definition: {} });
    expect(noTracks.status).to.equal(400);
    expect(JSON.stringify(errorOf(noTracks.json).details)).to.contain('tracks');

    const both = await call('alice', 'POST', '/scripts', { name: 'Both', type: 'playlist', definition: { tracks: [{ audioFileId: start.id, smartStreamId: 'x' }] } });
    expect(both.status).to.equal(400);

    const badIcon = await call('alice', 'POST', '/scripts', { name: 'Icon', type: 'simple', definition: { audioFileId: start.id, icon: 'not an icon' } });
    expect(badIcon.status).to.equal(400);
    expect(JSON.stringify(errorOf(badIcon.json).details)).to.contain('icon');

    const othersFile = await call('alice', 'POST', '/scripts', { name: 'Borrowed', type: 'playlist', definition: { tracks: [{ audioFileId: start.id }, { audioFileId: bobsFile.id }] } });
    expect(othersFile.status).to.equal(400);
    expect(errorOf(othersFile.json).details.map((d) => d.path)).to.deep.equal(['definition.tracks[1].audioFileId']);

    const unknownSmart = await call('alice', 'POST', '/scripts', { name: 'Smart', type: 'playlist', definition: { tracks: [{ smartStreamId: 'nope' }] } });
    expect(unknownSmart.status).to.equal(400);
    expect(errorOf(unknownSmart.json).details.map((d) => d.path)).to.deep.equal(['definition.tracks[0].smartStreamId']);

    const script = await call('alice', 'POST', '/scripts', { name: 'Deployable', type: 'simple', definition: { audioFileId: start.id } });
    const id = script.json['id'] as string;
    const noDevice = await call('alice', 'POST', `/scripts/${id}/deploy`, { volume: 500 });
    expect(noDevice.status).to.equal(400);
    expect(errorOf(noDevice.json).details.map((d) => d.path)).to.deep.equal(['/deviceId', '/volume']);
    const badChapter = await call('alice', 'POST', `/scripts/${id}/deploy`, { deviceId: PLAYER, chapterKey: '07' });
    expect(badChapter.status).to.equal(400);
    expect(errorOf(badChapter.json).details.map((d) => d.path)).to.deep.equal(['/chapterKey']);
    const unknownDevice = await call('alice', 'POST', `/scripts/${id}/deploy`, { deviceId: 'no0such0device' });
    expect(unknownDevice.status, JSON.stringify(unknownDevice.json)).to.be.within(400, 499);
  });

  it('deploys a playlist with a smart stream track the hub resolves when the player fetches it', async () => {
    await streams.smart.define({ id: 'alice-smart', userId: USERS['alice']!.id, playlist: [riddle.id] });
    const created = await call('alice', 'POST', '/scripts', { name: 'Smart one', type: 'playlist', definition: { tracks: [{ smartStreamId: 'alice-smart', title: 'Surprise' }] } });
    expect(created.status, JSON.stringify(created.json)).to.equal(201);
    const fetched = nextServed((s) => s.kind === 'smart');
    const deployed = await call('alice', 'POST', `/scripts/${created.json['id'] as string}/deploy`, { deviceId: PLAYER });
    expect(deployed.status, JSON.stringify(deployed.json)).to.equal(200);
    expect(await fetched).to.include({ id: 'alice-smart', status: 200, fileId: riddle.id, deviceId: PLAYER });
    const playing = await playerState((s) => s.cardId === deployed.json['cardId'] && (s.playbackStatus === 'playing' || s.lastStreamError !== undefined));
    expect(playing.lastStreamError).to.equal(undefined);
  });

  it('lists public and own icons and uploads a 16x16 icon, refusing other sizes by name', async () => {
    const png = await fsp.readFile(path.join(FIXTURES, 'icons', 'SolveRiddle.png'));
    const uploaded = await call('alice', 'POST', '/icons?filename=riddle.png', png, { 'content-type': 'image/png' });
    expect(uploaded.status, JSON.stringify(uploaded.json)).to.be.oneOf([200, 201]);
    const icon = uploaded.json['icon'] as { mediaId: string; iconRef: string };
    expect(icon.iconRef).to.equal(`yoto:#${icon.mediaId}`);

    const big = encodePng(32, 32, () => [255, 0, 0, 255]);
    const refused = await call('alice', 'POST', '/icons', big, { 'content-type': 'image/png' });
    expect(refused.status).to.equal(400);
    expect(errorOf(refused.json).message).to.contain('32x32');
    const notImage = await call('alice', 'POST', '/icons', new Uint8Array([1, 2, 3, 4]), { 'content-type': 'image/png' });
    expect(notImage.status).to.equal(400);

    const listed = await call('alice', 'GET', '/icons');
    expect(listed.status).to.equal(200);
    expect((listed.json['public'] as unknown[]).length).to.be.greaterThan(0);
    expect((listed.json['mine'] as { iconRef: string }[]).map((i) => i.iconRef)).to.include(icon.iconRef);
  });
});
