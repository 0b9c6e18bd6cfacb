import { expect } from 'chai';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { silentLogger } from '../../server/log/logger';
import { createStreamService, inWindow, type StreamService } from '../../server/streams';
import type { AudioFile } from '../../server/types/schemas';
import { fixturesDir } from '../helpers/fixtures';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { BACKENDS, startLibraryRig, type LibraryRig } from '../library/rig';

const AUDIO = path.join(fixturesDir, 'twine-spyshort', 'audio');

for (const backend of BACKENDS) describe(`streams: signed player URLs (${backend === 'local' ? 'data directory' : 'S3 bucket'})`, function () {
  let rig: LibraryRig;
  let dataDir: string;
  let clock: Date;
  let streams: StreamService;
  let start: AudioFile;
  let riddle: AudioFile;
  let startBytes: Buffer;

  const open = (dir: string, publicUrl?: string): StreamService =>
    createStreamService({ dataDir: dir, publicUrl, hubUrl: () => rig.server.url, library: rig.library.files, logger: silentLogger, clock: { now: () => clock.getTime() } });

  before(async () => {
    rig = await startLibraryRig({ backend });
    dataDir = await makeTempDir('streams');
    clock = new Date(2026, 0, 10, 12, 0, 0);
    streams = open(dataDir);
    rig.server.mountDirect('/stream', streams.routes);
    start = await rig.library.files.importFile(path.join(AUDIO, 'Start.mp3'), { userId: 'user-alice' });
    riddle = await rig.library.files.importFile(path.join(AUDIO, 'SolveRiddle.mp3'), { userId: 'user-alice' });
    startBytes = await fsp.readFile(path.join(AUDIO, 'Start.mp3'));
  });
  after(async () => {
    await streams.close();
    await rig.close();
    await removeTempDirs();
  });

  const errorCode = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;

  it('serves a library file by its signed URL: 200 with the bytes, Range 206, HEAD without a body', async () => {
    const url = streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-1', scriptId: 's-1' });
    expect(url.startsWith(`${rig.server.url}/stream/audio/${start.id}?t=`)).to.equal(true);

    const whole = await fetch(url);
    expect(whole.status).to.equal(200);
    expect(whole.headers.get('content-type')).to.equal('audio/mpeg');
    expect(whole.headers.get('etag')).to.equal(`"${start.sha256}"`);
    expect(Buffer.from(await whole.arrayBuffer()).equals(startBytes)).to.equal(true);

    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).to.equal(206);
    expect(part.headers.get('content-range')).to.equal(`bytes 100-199/${startBytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(startBytes.subarray(100, 200))).to.equal(true);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-length')).to.equal(String(startBytes.length));
    expect((await head.arrayBuffer()).byteLength).to.equal(0);
  });

  it('refuses a missing, tampered or borrowed token with a 403 JSON error', async () => {
    const url = new URL(streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-1' }));
    const token = url.searchParams.get('t')!;
    const [body, mac] = token.split('.') as [string, string];

    const none = await fetch(`${rig.server.url}/stream/audio/${start.id}`);
    expect(none.status).to.equal(403);
    expect(await errorCode(none)).to.equal('forbidden');

    const flipped = `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    const badMac = await fetch(`${rig.server.url}/stream/audio/${start.id}?t=${body}.${flipped}`);
    expect(badMac.status).to.equal(403);

    const forged = Buffer.from(JSON.stringify({ g: `a:${start.id}`, d: 'dev-1', dv: 5 })).toString('base64url');
    const badBody = await fetch(`${rig.server.url}/stream/audio/${start.id}?t=${forged}.${mac}`);
    expect(badBody.status).to.equal(403);

    // A valid token for one file does not open another.
    const borrowed = await fetch(`${rig.server.url}/stream/audio/${riddle.id}?t=${token}`);
    expect(borrowed.status).to.equal(403);
    expect(((await borrowed.json()) as { error: { message: string } }).error.message).to.match(/another stream/);
  });

  it('answers 404 for a file the library does not have (valid token)', async () => {
    const res = await fetch(streams.urlFor({ kind: 'audio', fileId: 'no-such-file' }));
    expect(res.status).to.equal(404);
    expect(await errorCode(res)).to.equal('not_found');
  });

  it('revokes every URL of a device or a script, durably, and new URLs work', async () => {
    const deviceUrl = streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-revoke' });
    const scriptUrl = streams.urlFor({ kind: 'audio', fileId: start.id }, { scriptId: 's-revoke' });
    const otherUrl = streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-other', scriptId: 's-other' });
    expect((await fetch(deviceUrl, { method: 'HEAD' })).status).to.equal(200);

    await streams.revokeDevice('dev-revoke');
    await streams.revokeScript('s-revoke');
    const revoked = await fetch(deviceUrl);
    expect(revoked.status).to.equal(403);
    expect(((await revoked.json()) as { error: { message: string } }).error.message).to.match(/revoked/);
    expect((await fetch(scriptUrl, { method: 'HEAD' })).status).to.equal(403);
    expect((await fetch(otherUrl, { method: 'HEAD' })).status).to.equal(200);
    expect((await fetch(streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-revoke' }), { method: 'HEAD' })).status).to.equal(200);

    // A second service on the same data directory (a restart) keeps the secret and the revocations.
    const again = open(dataDir);
    rig.server.mountDirect('/restarted', again.routes);
    const restartedOld = deviceUrl.replace('/stream/', '/restarted/');
    const restartedOther = otherUrl.replace('/stream/', '/restarted/');
    expect((await fetch(restartedOld, { method: 'HEAD' })).status).to.equal(403);
    expect((await fetch(restartedOther, { method: 'HEAD' })).status).to.equal(200);
    await again.close();

    const secret = fs.statSync(path.join(dataDir, 'secrets', 'stream-secret'));
    expect(secret.mode & 0o777).to.equal(0o600);
    const revocations = JSON.parse(fs.readFileSync(path.join(dataDir, 'streams', 'revocations.json'), 'utf8')) as { devices: Record<string, number> };
    expect(revocations.devices['dev-revoke']).to.equal(1);
    expect(fs.readdirSync(path.join(dataDir, 'streams')).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('ends a URL at its expiry when it was given one', async () => {
    const url = streams.urlFor({ kind: 'audio', fileId: start.id }, { expiresInSeconds: 60 });
    expect((await fetch(url, { method: 'HEAD' })).status).to.equal(200);
    const was = clock;
    clock = new Date(was.getTime() + 61_000);
    try {
      const res = await fetch(url);
      expect(res.status).to.equal(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).to.match(/expired/);
    } finally {
      clock = was;
    }
  });

  it('refuses a token the moment its player or script is revoked, however often it streamed before', async () => {
    const url = streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-seeking', scriptId: 's-seeking' });
    // A player seeking: many ranges on the same URL.
    for (let i = 0; i < 5; i++) {
      const part = await fetch(url, { headers: { range: `bytes=${i * 100}-${i * 100 + 99}` } });
      expect(part.status).to.equal(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(startBytes.subarray(i * 100, i * 100 + 100))).to.equal(true);
    }
    // The same token with its signature changed is still refused after the real one was accepted.
    const token = new URL(url).searchParams.get('t')!;
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await fetch(`${rig.server.url}/stream/audio/${start.id}?t=${tampered}`, { headers: { range: 'bytes=0-9' } })).status).to.equal(403);

    await streams.revokeScript('s-seeking');
    const refused = await fetch(url, { headers: { range: 'bytes=0-99' } });
    expect(refused.status).to.equal(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).to.match(/revoked/);

    const deviceUrl = streams.urlFor({ kind: 'audio', fileId: start.id }, { deviceId: 'dev-seeking-2' });
    expect((await fetch(deviceUrl, { headers: { range: 'bytes=0-9' } })).status).to.equal(206);
    await streams.revokeDevice('dev-seeking-2');
    expect((await fetch(deviceUrl, { headers: { range: 'bytes=0-9' } })).status).to.equal(403);
  });

  it('refuses a token the moment it expires, however often it streamed before', async () => {
    const url = streams.urlFor({ kind: 'audio', fileId: start.id }, { expiresInSeconds: 30 });
    for (let i = 0; i < 3; i++) expect((await fetch(url, { headers: { range: 'bytes=0-9' } })).status).to.equal(206);
    const was = clock;
    clock = new Date(was.getTime() + 30_000);
    try {
      expect((await fetch(url, { headers: { range: 'bytes=0-9' } })).status).to.equal(403);
    } finally {
      clock = was;
    }
  });

  it('answers other paths and methods under /stream with JSON errors, and sends the security headers', async () => {
    const url = streams.urlFor({ kind: 'audio', fileId: start.id });
    const ok = await fetch(url, { headers: { range: 'bytes=0-9' } });
    expect(ok.status).to.equal(206);
    expect(ok.headers.get('content-security-policy')).to.include("default-src 'self'");
    expect(ok.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(ok.headers.get('cross-origin-resource-policy')).to.equal('same-origin');
    expect(ok.headers.get('access-control-allow-origin')).to.equal(null);
    await ok.arrayBuffer();

    const token = new URL(url).search;
    // As Express matched it: a trailing slash is the same route.
    expect((await fetch(`${rig.server.url}/stream/audio/${start.id}/${token}`, { method: 'HEAD' })).status).to.equal(200);
    for (const [method, pathPart, status, code] of [
      ['POST', `/stream/audio/${start.id}${token}`, 404, 'not_found'],
      ['DELETE', `/stream/audio/${start.id}${token}`, 404, 'not_found'],
      ['GET', `/stream/nothing/${start.id}${token}`, 404, 'not_found'],
      ['GET', `/stream/audio${token}`, 404, 'not_found'],
      ['GET', '/stream', 404, 'not_found'],
      ['GET', `/stream/audio/%E0%A4%A${token}`, 400, 'invalid_path'],
    ] as const) {
      const res = await fetch(`${rig.server.url}${pathPart}`, { method });
      expect(res.status, `${method} ${pathPart}`).to.equal(status);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(await errorCode(res)).to.equal(code);
    }
    const refusedHead = await fetch(`${rig.server.url}/stream/audio/${start.id}`, { method: 'HEAD' });
    expect(refusedHead.status).to.equal(403);
    expect((await refusedHead.arrayBuffer()).byteLength).to.equal(0);
  });

  it('signs URLs for the public address when one is set', async () => {
    const dir = await makeTempDir('streams-public');
    const service = open(dir, 'https://yoto.example.com/');
    expect(service.urlFor({ kind: 'smart', streamId: 'bedtime' })).to.match(/^https:\/\/yoto\.example\.com\/stream\/smart\/bedtime\?t=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    await service.close();
  });

  describe('smart streams', function () {
    const fetchSmart = async (id: string, init: RequestInit = {}): Promise<{ status: number; rule: string | null; bytes: Buffer }> => {
      const res = await fetch(streams.urlFor({ kind: 'smart', streamId: id }, { deviceId: 'dev-1' }), init);
      return { status: res.status, rule: res.headers.get('x-smart-rule'), bytes: Buffer.from(await res.arrayBuffer()) };
    };
    const isStart = (bytes: Buffer): boolean => bytes.equals(startBytes);

    it('advances a playlist on every new fetch (not on HEAD or later ranges) and wraps around', async () => {
      await streams.smart.define({ id: 'rotation', name: 'Rotation', playlist: [start.id, riddle.id] });
      const chosen: string[] = [];
      const onChosen = (choice: { fileId: string }): void => {
        chosen.push(choice.fileId);
      };
      streams.smart.on('chosen', onChosen);
      try {
        const first = await fetchSmart('rotation');
        expect(first.status).to.equal(200);
        expect(first.rule).to.equal('playlist');
        expect(isStart(first.bytes)).to.equal(true);
        expect((await fetchSmart('rotation', { method: 'HEAD' })).status).to.equal(200);
        const resumed = await fetchSmart('rotation', { headers: { range: 'bytes=100-' } });
        expect(resumed.status).to.equal(206);
        const second = await fetchSmart('rotation');
        expect(isStart(second.bytes)).to.equal(false);
        expect(second.bytes.length).to.equal(riddle.fileSize);
        const third = await fetchSmart('rotation');
        expect(isStart(third.bytes)).to.equal(true);
        expect(chosen).to.deep.equal([start.id, riddle.id, start.id]);
      } finally {
        streams.smart.off('chosen', onChosen);
      }
    });

    it('picks by time-of-day window (over midnight too), and a flow value wins over every rule', async () => {
      await streams.smart.define({ id: 'bedtime', windows: [{ from: '19:00', to: '07:00', fileId: riddle.id }], fallbackFileId: start.id });
      clock = new Date(2026, 0, 10, 12, 0, 0);
      const noon = await fetchSmart('bedtime');
      expect(noon.rule).to.equal('fallback');
      expect(isStart(noon.bytes)).to.equal(true);
      clock = new Date(2026, 0, 10, 23, 30, 0);
      const night = await fetchSmart('bedtime');
      expect(night.rule).to.equal('window');
      expect(night.bytes.length).to.equal(riddle.fileSize);
      clock = new Date(2026, 0, 11, 6, 59, 0);
      expect((await fetchSmart('bedtime')).rule).to.equal('window');

      await streams.smart.setValue('bedtime', start.id);
      const chosen = await fetchSmart('bedtime');
      expect(chosen.rule).to.equal('value');
      expect(isStart(chosen.bytes)).to.equal(true);
      await streams.smart.setValue('bedtime', undefined);
      expect((await fetchSmart('bedtime')).rule).to.equal('window');
      clock = new Date(2026, 0, 10, 12, 0, 0);

      const stored = JSON.parse(fs.readFileSync(path.join(dataDir, 'streams', 'smart.json'), 'utf8')) as { streams: { id: string }[] };
      expect(stored.streams.map((s) => s.id)).to.include.members(['rotation', 'bedtime']);
      expect(streams.smart.usingFile(riddle.id)).to.include.members(['rotation', 'bedtime']);
    });

    it('refuses invalid definitions naming the field, and answers 404 for an unknown stream', async () => {
      let error: { status?: number; details?: { path: string }[] } | undefined;
      try {
        await streams.smart.define({ id: 'bad', windows: [{ from: '25:00', to: '07:00', fileId: 'missing-file' }] });
      } catch (e) {
        error = e as typeof error;
      }
      expect(error?.status).to.equal(400);
      expect(error?.details?.map((d) => d.path)).to.deep.equal(['/windows/0/from', '/windows/0/fileId']);
      expect((await fetchSmart('nothing-here')).status).to.equal(404);
    });

    it('computes windows inclusive of from and exclusive of to', () => {
      expect(inWindow(19 * 60, 19 * 60, 7 * 60)).to.equal(true);
      expect(inWindow(7 * 60, 19 * 60, 7 * 60)).to.equal(false);
      expect(inWindow(12 * 60, 9 * 60, 17 * 60)).to.equal(true);
      expect(inWindow(18 * 60, 9 * 60, 17 * 60)).to.equal(false);
      expect(inWindow(3, 0, 0)).to.equal(true);
    });
  });
});
