import { expect } from 'chai';
import * as path from 'node:path';
import { HubHttpServer } from '../../server/http/http-server';
import { createAudioLibrary, createAudioLibraryService, type AudioLibraryHandle } from '../../server/library';
import { silentLogger } from '../../server/log/logger';
import { openStore, type Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { createStreamService, type StreamService } from '../../server/streams';
import { smartStreamRoutes, type SmartStreamView } from '../../server/streams/smart-routes';
import type { AudioFile } from '../../server/types/schemas';
import { fixturesDir } from '../helpers/fixtures';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { testUserAuth, USERS } from '../library/rig';

const AUDIO = path.join(fixturesDir, 'twine-spyshort', 'audio');

interface ErrorBody {
  error: { code: string; message: string; details: Array<{ path: string; message: string }> };
}

describe('smart streams REST: /api/streams/smart', function () {
  let store: Store;
  let library: AudioLibraryHandle;
  let streams: StreamService;
  let server: HubHttpServer;
  let start: AudioFile;
  let riddle: AudioFile;
  let bobsFile: AudioFile;
  const inUse = new Map<string, string>();

  const call = async <T = Record<string, unknown>>(user: string | undefined, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const headers: Record<string, string> = user ? { 'x-test-user': user } : {};
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${server.url}/api/streams/smart${pathAndQuery}`, init);
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
  };
  const paths = (json: unknown): string[] => (json as ErrorBody).error.details.map((d) => d.path);

  before(async () => {
    const dataDir = await makeTempDir('smart-routes');
    const panelDir = await makeTempDir('smart-routes-panel');
    store = await openStore({ dataDir, validate: storeValidator() });
    library = createAudioLibrary({ files: createAudioLibraryService({ store, dataDir, logger: silentLogger }), logger: silentLogger, isInUse: () => undefined });
    server = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir, logger: silentLogger });
    streams = createStreamService({ dataDir, publicUrl: undefined, hubUrl: () => server.url, library: library.files, logger: silentLogger });
    server.mountApi('/', testUserAuth());
    server.mountApi('/streams/smart', smartStreamRoutes({ streams, library: library.files, logger: silentLogger, isInUse: (id) => inUse.get(id) }));
    await server.listen();
    start = await library.files.importFile(path.join(AUDIO, 'Start.mp3'), { userId: USERS['alice']!.id });
    riddle = await library.files.importFile(path.join(AUDIO, 'SolveRiddle.mp3'), { userId: USERS['alice']!.id });
    bobsFile = await library.files.importFile(path.join(AUDIO, 'SearchElsewhere.mp3'), { userId: USERS['bob']!.id });
  });
  after(async () => {
    await server?.close();
    await streams?.close();
    await library?.close();
    await store?.close();
    await removeTempDirs();
  });

  it('needs a signed-in user', async () => {
    expect((await call(undefined, 'GET', '/')).status).to.equal(401);
    expect((await call(undefined, 'POST', '/', { fallbackFileId: 'x' })).status).to.equal(401);
  });

  it('defines, lists, reads, replaces and removes a stream of its owner', async () => {
    const created = await call<SmartStreamView>('alice', 'POST', '/', { id: 'bedtime', name: 'Bedtime', windows: [{ from: '19:00', to: '07:00', fileId: riddle.id }], fallbackFileId: start.id });
    expect(created.status, JSON.stringify(created.json)).to.equal(201);
    expect(created.json).to.include({ id: 'bedtime', name: 'Bedtime', userId: USERS['alice']!.id, fallbackFileId: start.id, position: 0 });
    expect(created.json.current?.streamId).to.equal('bedtime');
    expect(streams.smart.get('bedtime')?.userId).to.equal(USERS['alice']!.id);

    const list = await call<{ items: SmartStreamView[]; total: number }>('alice', 'GET', '/');
    expect(list.json.items.map((s) => s.id)).to.deep.equal(['bedtime']);
    expect(list.json.total).to.equal(1);

    expect((await call<SmartStreamView>('alice', 'GET', '/bedtime')).json.name).to.equal('Bedtime');

    const replaced = await call<SmartStreamView>('alice', 'PUT', '/bedtime', { name: 'Night', playlist: [start.id, riddle.id] });
    expect(replaced.status, JSON.stringify(replaced.json)).to.equal(200);
    expect(replaced.json).to.include({ id: 'bedtime', name: 'Night', userId: USERS['alice']!.id });
    expect(replaced.json.windows).to.equal(undefined);
    expect(replaced.json.current).to.deep.equal({ streamId: 'bedtime', fileId: start.id, rule: 'playlist' });

    expect((await call('alice', 'DELETE', '/bedtime')).status).to.equal(204);
    expect((await call('alice', 'GET', '/bedtime')).status).to.equal(404);
    expect(streams.smart.get('bedtime')).to.equal(undefined);
  });

  it('makes an id when none is given; PUT on a new id creates it (201); POST on a taken id is 409', async () => {
    const made = await call<SmartStreamView>('alice', 'POST', '/', { fallbackFileId: start.id });
    expect(made.status).to.equal(201);
    expect(made.json.id).to.match(/^[0-9a-f-]{36}$/);
    const put = await call<SmartStreamView>('alice', 'PUT', '/morning', { fallbackFileId: riddle.id });
    expect(put.status).to.equal(201);
    expect(put.json.userId).to.equal(USERS['alice']!.id);
    const taken = await call('bob', 'POST', '/', { id: 'morning', fallbackFileId: bobsFile.id });
    expect(taken.status).to.equal(409);
    expect(paths(taken.json)).to.deep.equal(['/id']);
  });

  it('another member sees 404 for a stream; an admin sees and changes every one', async () => {
    await call('alice', 'PUT', '/alices', { fallbackFileId: start.id });
    for (const [method, p, body] of [
      ['GET', '/alices', undefined],
      ['PUT', '/alices', { fallbackFileId: bobsFile.id }],
      ['DELETE', '/alices', undefined],
      ['PUT', '/alices/value', { fileId: bobsFile.id }],
      ['DELETE', '/alices/value', undefined],
    ] as const) {
      expect((await call('bob', method, p, body)).status, `${method} ${p}`).to.equal(404);
    }
    expect((await call<{ items: SmartStreamView[] }>('bob', 'GET', '/')).json.items.map((s) => s.id)).to.not.include('alices');
    expect((await call<{ items: SmartStreamView[] }>('admin', 'GET', '/')).json.items.map((s) => s.id)).to.include('alices');
    const byAdmin = await call<SmartStreamView>('admin', 'PUT', '/alices', { name: 'Renamed', fallbackFileId: riddle.id });
    expect(byAdmin.status, JSON.stringify(byAdmin.json)).to.equal(200);
    expect(byAdmin.json.userId, 'the owner stays the owner').to.equal(USERS['alice']!.id);
  });

  it('a definition may only name files its owner may use', async () => {
    const res = await call('alice', 'POST', '/', { id: 'borrowed', playlist: [start.id, bobsFile.id], windows: [{ from: '08:00', to: '09:00', fileId: 'nope' }] });
    expect(res.status).to.equal(400);
    expect(paths(res.json).sort()).to.deep.equal(['/playlist/1', '/windows/0/fileId']);
    expect(streams.smart.get('borrowed')).to.equal(undefined);
  });

  it('validation errors name every bad field', async () => {
    const res = await call('alice', 'POST', '/', {
      id: 'bad id!',
      name: '',
      windows: [{ from: 7, to: '08:00', fileId: start.id, colour: 'red' }, 'x'],
      playlist: 'all',
      fallbackFileId: 3,
      extra: true,
    });
    expect(res.status).to.equal(400);
    expect((res.json as unknown as ErrorBody).error.code).to.equal('validation_failed');
    expect(paths(res.json).sort()).to.deep.equal(['/extra', '/fallbackFileId', '/id', '/name', '/playlist', '/windows/0/colour', '/windows/0/from', '/windows/1'].sort());

    const times = await call('alice', 'POST', '/', { windows: [{ from: '25:00', to: '7am', fileId: start.id }] });
    expect(times.status).to.equal(400);
    expect(paths(times.json)).to.deep.equal(['/windows/0/from', '/windows/0/to']);

    const empty = await call('alice', 'POST', '/', { name: 'Nothing' });
    expect(empty.status).to.equal(400);
    expect(paths(empty.json)).to.deep.equal(['/windows']);

    const emptyPlaylist = await call('alice', 'POST', '/', { playlist: [] });
    expect(paths(emptyPlaylist.json)).to.include('/playlist');

    const mismatch = await call('alice', 'PUT', '/some-id', { id: 'other', fallbackFileId: start.id });
    expect(mismatch.status).to.equal(400);
    expect(paths(mismatch.json)).to.deep.equal(['/id']);

    const notObject = await call('alice', 'POST', '/', [1, 2]);
    expect(notObject.status).to.equal(400);

    const badJson = await call('alice', 'POST', '/', '{"id":');
    expect(badJson.status).to.equal(400);
  });

  it('PUT /:id/value sets what the stream plays; null or DELETE clears it', async () => {
    await call('alice', 'PUT', '/flowed', { playlist: [start.id] });
    const set = await call<SmartStreamView>('alice', 'PUT', '/flowed/value', { fileId: riddle.id });
    expect(set.status, JSON.stringify(set.json)).to.equal(200);
    expect(set.json.value).to.equal(riddle.id);
    expect(set.json.current).to.deep.equal({ streamId: 'flowed', fileId: riddle.id, rule: 'value' });

    const cleared = await call<SmartStreamView>('alice', 'PUT', '/flowed/value', { fileId: null });
    expect(cleared.json.value).to.equal(undefined);
    expect(cleared.json.current?.rule).to.equal('playlist');

    await call('alice', 'PUT', '/flowed/value', { fileId: riddle.id });
    const deleted = await call<SmartStreamView>('alice', 'DELETE', '/flowed/value');
    expect(deleted.status).to.equal(200);
    expect(deleted.json.value).to.equal(undefined);

    const others = await call('alice', 'PUT', '/flowed/value', { fileId: bobsFile.id });
    expect(others.status).to.equal(400);
    expect(paths(others.json)).to.deep.equal(['/fileId']);
    const missing = await call('alice', 'PUT', '/flowed/value', {});
    expect(paths(missing.json)).to.deep.equal(['/fileId']);
    const extra = await call('alice', 'PUT', '/flowed/value', { fileId: riddle.id, when: 'now' });
    expect(paths(extra.json)).to.deep.equal(['/when']);
    expect((await call('alice', 'PUT', '/nothing/value', { fileId: riddle.id })).status).to.equal(404);
  });

  it('a stream no one owns (made by a flow) is visible to all and changed by admins only', async () => {
    await streams.smart.define({ id: 'from-flow', fallbackFileId: start.id });
    expect((await call('bob', 'GET', '/from-flow')).status).to.equal(200);
    const refused = await call('bob', 'PUT', '/from-flow/value', { fileId: bobsFile.id });
    expect(refused.status).to.equal(403);
    expect((await call('bob', 'DELETE', '/from-flow')).status).to.equal(403);
    const byAdmin = await call<SmartStreamView>('admin', 'PUT', '/from-flow', { fallbackFileId: riddle.id });
    expect(byAdmin.status).to.equal(200);
    expect(byAdmin.json.userId).to.equal(undefined);
  });

  it('a stream a script plays cannot be deleted (409)', async () => {
    await call('alice', 'PUT', '/used', { fallbackFileId: start.id });
    inUse.set('used', 'Bedtime playlist');
    const res = await call<ErrorBody>('alice', 'DELETE', '/used');
    expect(res.status).to.equal(409);
    expect(res.json.error.message).to.include('Bedtime playlist');
    inUse.delete('used');
    expect((await call('alice', 'DELETE', '/used')).status).to.equal(204);
  });
});
