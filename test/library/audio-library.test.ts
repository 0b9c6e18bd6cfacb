import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import { watch } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AudioFile } from '../../server/types/schemas';
import { fixturesDir } from '../helpers/fixtures';
import { removeTempDirs } from '../helpers/temp-dir';
import { countMpegFrames, id3v23Tag, multipart, retagMp3, TINY_PNG, wavFile, type MultipartPart } from './media';
import { BACKENDS, filesUnder, startLibraryRig, useLibraryRig, type LibraryRig } from './rig';

const audioDir = path.join(fixturesDir, 'twine-spyshort', 'audio');
const FIXTURES = ['SearchElsewhere.mp3', 'SolveRiddle.mp3', 'Start.mp3'];

async function fixture(name: string): Promise<Buffer> {
  return fs.readFile(path.join(audioDir, name));
}

async function uploadFixture(rig: LibraryRig, user: string, name: string, extra: { title?: string } = {}): Promise<AudioFile> {
  const parts: MultipartPart[] = [{ name: 'file', fileName: name, contentType: 'audio/mpeg', data: await fixture(name) }];
  if (extra.title) parts.push({ name: 'title', data: extra.title });
  const res = await rig.upload(user, parts);
  expect(res.status, await res.clone().text()).to.equal(201);
  return (await res.json()) as AudioFile;
}

interface ErrorBody {
  error: { code: string; message: string };
}

const ON = { local: 'data directory', s3: 'S3 bucket' } as const;

for (const backend of BACKENDS) describe(`audio library: upload (${ON[backend]})`, function () {
  const rig = useLibraryRig({ backend });

  // The truth is measured here, independently of music-metadata: test/library/media.ts walks
  // every MPEG frame (frames x 576 samples / 24000 Hz) and the result is checked against the
  // frame count the encoder wrote into the Xing header.
  for (const name of FIXTURES) {
    it(`imports ${name} with its true duration, format and stored bytes`, async () => {
      const bytes = await fixture(name);
      const truth = countMpegFrames(bytes);
      expect(truth.xingFrames, 'Xing frame count agrees with the frame walk').to.equal(truth.frames);
      const record = await uploadFixture(rig, 'alice', name);
      expect(record.format).to.equal('mp3');
      expect(record.mimeType).to.equal('audio/mpeg');
      expect(record.durationSeconds).to.be.closeTo(truth.seconds, truth.seconds * 0.05);
      expect(record.sampleRate).to.equal(truth.sampleRate);
      expect(record.codec).to.match(/Layer 3/);
      expect(record.bitrate).to.be.a('number').greaterThan(0);
      expect(record.fileSize).to.equal(bytes.length);
      expect(record.originalName).to.equal(name);
      expect(record.userId).to.equal('user-alice');
      expect(record.fileName).to.equal(`${record.id}.mp3`);
      expect(await rig.stored(record.fileName)).to.deep.equal(bytes);
      // Read back through the API, too.
      const again = await rig.fetchAs('alice', `/${record.id}`);
      expect(await again.json()).to.deep.equal(record);
    });
  }

  it('uses the title field, else the title tag, and keeps title/artist/album tags and the cover art byte for byte', async () => {
    const mp3 = retagMp3(await fixture('Start.mp3'), id3v23Tag({ title: 'The Dragon', artist: 'Nan', album: 'Bedtime' }, { mime: 'image/png', data: TINY_PNG }));
    const res = await rig.upload('alice', [{ name: 'file', fileName: 'dragon.mp3', data: mp3 }]);
    expect(res.status).to.equal(201);
    const record = (await res.json()) as AudioFile;
    expect(record.title).to.equal('The Dragon');
    expect(record.tags).to.include({ title: 'The Dragon', artist: 'Nan', album: 'Bedtime' });
    expect(record.hasCover).to.equal(true);
    const cover = await rig.fetchAs('alice', `/${record.id}/cover`);
    expect(cover.status).to.equal(200);
    expect(cover.headers.get('content-type')).to.equal('image/png');
    expect(Buffer.from(await cover.arrayBuffer())).to.deep.equal(TINY_PNG);
    expect(await rig.stored(`${record.id}.cover`)).to.deep.equal(TINY_PNG);

    const titled = await uploadFixture(rig, 'alice', 'Start.mp3', { title: 'Chapter one' });
    expect(titled.title).to.equal('Chapter one');
    expect(titled.hasCover).to.equal(false);
    expect((await rig.fetchAs('alice', `/${titled.id}/cover`)).status).to.equal(404);
  });

  it('accepts a WAV file, detected from its bytes whatever it is called', async () => {
    const res = await rig.upload('alice', [{ name: 'file', fileName: 'tone.mp3', data: wavFile(1.5) }]);
    expect(res.status).to.equal(201);
    const record = (await res.json()) as AudioFile;
    expect(record.format).to.equal('wav');
    expect(record.mimeType).to.equal('audio/wav');
    expect(record.fileName).to.equal(`${record.id}.wav`);
    expect(record.durationSeconds).to.be.closeTo(1.5, 0.01);
  });

  it('refuses a text file named .mp3 with 415 unsupported_media and keeps nothing', async () => {
    const before = await filesUnder(rig.root);
    const storedBefore = await rig.storedNames();
    const res = await rig.upload('alice', [{ name: 'file', fileName: 'song.mp3', contentType: 'audio/mpeg', data: 'this is not audio\n'.repeat(200) }]);
    expect(res.status).to.equal(415);
    expect(((await res.json()) as ErrorBody).error.code).to.equal('unsupported_media');
    expect(await filesUnder(rig.root)).to.deep.equal(before);
    expect(await rig.storedNames()).to.deep.equal(storedBefore);
  });

  it('refuses an image with 415', async () => {
    const res = await rig.upload('alice', [{ name: 'file', fileName: 'cover.mp3', data: TINY_PNG }]);
    expect(res.status).to.equal(415);
    expect(((await res.json()) as ErrorBody).error.code).to.equal('unsupported_media');
  });

  it('sanitizes file names: no path parts, no control characters, a default when nothing is left; nothing written outside <dataDir>/audio', async () => {
    const outside = (await filesUnder(rig.root)).filter((f) => !f.startsWith(`data${path.sep}audio${path.sep}`));
    // [filename="..." as sent raw, or filename*= percent-encoded, what is kept]
    const cases: Array<[{ fileName?: string; fileNameStar?: string }, string]> = [
      [{ fileNameStar: '..%2F..%2Fevil%01name%1B%5B31m%7F.mp3' }, 'evilname[31m.mp3'],
      [{ fileNameStar: '%E2%80%AEevil%0D%0Aname.mp3' }, 'evilname.mp3'],
      [{ fileName: '../../secret/../x.mp3' }, 'x.mp3'],
      [{ fileName: '..\\..\\windows\\sys.mp3' }, 'sys.mp3'],
      [{ fileName: '/etc/passwd' }, 'passwd'],
      [{ fileNameStar: '%07%08..%2F' }, 'audio.mp3'],
      [{ fileName: '..' }, 'audio.mp3'],
    ];
    for (const [sent, kept] of cases) {
      const res = await rig.upload('alice', [{ name: 'file', ...sent, data: await fixture('SolveRiddle.mp3') }]);
      expect(res.status, JSON.stringify(sent)).to.equal(201);
      const record = (await res.json()) as AudioFile;
      expect(record.originalName, JSON.stringify(sent)).to.equal(kept);
      expect(record.fileName).to.equal(`${record.id}.mp3`);
      const download = await rig.fetchAs('alice', `/${record.id}/download`);
      expect(download.headers.get('content-disposition')).to.equal(`attachment; filename="${kept}"; filename*=UTF-8''${encodeURIComponent(kept)}`);
      await download.arrayBuffer();
    }
    // Raw control characters inside the part header make it malformed: a clear 400, nothing kept.
    const raw = await rig.upload('alice', [{ name: 'file', fileName: 'evil\x01name.mp3', data: await fixture('SolveRiddle.mp3') }]);
    expect(raw.status).to.equal(400);
    expect(((await raw.json()) as ErrorBody).error.code).to.equal('invalid_upload');
    const after = (await filesUnder(rig.root)).filter((f) => !f.startsWith(`data${path.sep}audio${path.sep}`));
    expect(after).to.deep.equal(outside);
    expect(await fs.readdir(path.join(rig.dataDir, 'audio', '.incoming'))).to.deep.equal([]);
  });

  it('keeps a non-ASCII name and offers it in the download header', async () => {
    const { body, contentType } = multipart([{ name: 'file', fileName: Buffer.from('Drache – Kapitel 1.mp3', 'utf8').toString('latin1'), data: await fixture('Start.mp3') }]);
    const res = await rig.fetchAs('alice', '/', { method: 'POST', body, headers: { 'content-type': contentType } });
    expect(res.status).to.equal(201);
    const record = (await res.json()) as AudioFile;
    expect(record.originalName).to.equal('Drache – Kapitel 1.mp3');
    const download = await rig.fetchAs('alice', `/${record.id}/download`);
    expect(download.headers.get('content-disposition')).to.contain(`filename*=UTF-8''${encodeURIComponent('Drache – Kapitel 1.mp3')}`);
    expect(Buffer.from(await download.arrayBuffer())).to.deep.equal(await fixture('Start.mp3'));
  });

  it('answers 400 for a request without a file field or without multipart, and 401 without a user', async () => {
    const noFile = await rig.upload('alice', [{ name: 'title', data: 'x' }]);
    expect(noFile.status).to.equal(400);
    expect(((await noFile.json()) as ErrorBody).error.code).to.equal('invalid_upload');
    const json = await rig.fetchAs('alice', '/', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(json.status).to.equal(400);
    const anonymous = await rig.upload('', [{ name: 'file', fileName: 'a.mp3', data: await fixture('Start.mp3') }]);
    expect(anonymous.status).to.equal(401);
  });
});

describe('audio library: upload limits and aborts', function () {
  after(removeTempDirs);

  it('refuses an upload over maxUploadBytes with 413 file_too_large and leaves nothing in .incoming', async () => {
    const rig = await startLibraryRig({ maxUploadBytes: 10_000 });
    try {
      const res = await rig.upload('alice', [{ name: 'file', fileName: 'Start.mp3', data: await fixture('Start.mp3') }]);
      expect(res.status).to.equal(413);
      expect(((await res.json()) as ErrorBody).error.code).to.equal('file_too_large');
      expect(await fs.readdir(path.join(rig.dataDir, 'audio', '.incoming'))).to.deep.equal([]);
      expect(await filesUnder(path.join(rig.dataDir, 'audio'))).to.deep.equal([]);
      // A file of exactly the limit is accepted.
      const exact = wavFile((10_000 - 44) / 16000);
      expect(exact.length).to.equal(10_000);
      const ok = await rig.upload('alice', [{ name: 'file', fileName: 'exact.wav', data: exact }]);
      expect(ok.status).to.equal(201);
    } finally {
      await rig.close();
    }
  });

  it('removes the partial file when the client disconnects mid-upload', async () => {
    const rig = await startLibraryRig();
    const incoming = path.join(rig.dataDir, 'audio', '.incoming');
    try {
      const { body, contentType } = multipart([{ name: 'file', fileName: 'big.wav', data: wavFile(30) }]);
      const partialSeen = new Promise<void>((resolve) => {
        const watcher = watch(incoming, () => {
          watcher.close();
          resolve();
        });
      });
      const req = http.request(`${rig.base}/`, {
        method: 'POST',
        headers: { 'content-type': contentType, 'content-length': String(body.length), 'x-test-user': 'alice' },
      });
      req.on('error', () => undefined);
      req.write(body.subarray(0, 100_000));
      await partialSeen;
      req.destroy();
      // close() waits for uploads under way, which end (and clean up) when the connection drops.
      await rig.library.close();
      expect(await fs.readdir(incoming)).to.deep.equal([]);
      expect(rig.library.files.list().total).to.equal(0);
    } finally {
      await rig.close();
    }
  });
});

for (const backend of BACKENDS) describe(`audio library: access, listing, changes, deletion (${ON[backend]})`, function () {
  const inUse = new Map<string, string>();
  const rig = useLibraryRig({ backend, isInUse: (id) => inUse.get(id) });

  it("does not let another member list, read, change, download, stream, see the cover of, or delete a user's file", async () => {
    const record = await uploadFixture(rig, 'alice', 'Start.mp3');
    const bobList = (await (await rig.fetchAs('bob', '/')).json()) as { items: AudioFile[]; total: number };
    expect(bobList.items.map((r) => r.id)).not.to.include(record.id);
    for (const suffix of ['', '/download', '/stream', '/cover']) {
      const res = await rig.fetchAs('bob', `/${record.id}${suffix}`);
      expect(res.status, suffix).to.equal(404);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code).to.equal('not_found');
      expect(JSON.stringify(body)).not.to.contain('Start');
    }
    const head = await rig.fetchAs('bob', `/${record.id}/stream`, { method: 'HEAD' });
    expect(head.status).to.equal(404);
    const patch = await rig.fetchAs('bob', `/${record.id}`, { method: 'PATCH', body: JSON.stringify({ title: 'mine' }), headers: { 'content-type': 'application/json' } });
    expect(patch.status).to.equal(404);
    expect((await rig.fetchAs('bob', `/${record.id}`, { method: 'DELETE' })).status).to.equal(404);
    // Unknown ids look the same as other users' ids.
    expect((await rig.fetchAs('bob', '/no-such-id')).status).to.equal(404);
    // Without a user, nothing at all.
    expect((await rig.fetchAs(undefined, '/')).status).to.equal(401);
    expect((await rig.fetchAs(undefined, `/${record.id}/stream`)).status).to.equal(401);
    // The owner and an admin do see it.
    expect((await rig.fetchAs('alice', `/${record.id}/stream`)).status).to.equal(200);
    const adminList = (await (await rig.fetchAs('admin', '/')).json()) as { items: AudioFile[] };
    expect(adminList.items.map((r) => r.id)).to.include(record.id);
    expect((await rig.fetchAs('admin', `/${record.id}/download`)).status).to.equal(200);
  });

  it('changes title and tags with PATCH and refuses other fields', async () => {
    const record = await uploadFixture(rig, 'alice', 'SolveRiddle.mp3');
    const res = await rig.fetchAs('alice', `/${record.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ title: 'The riddle', tags: { artist: 'Grandpa' } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).to.equal(200);
    const changed = (await res.json()) as AudioFile;
    expect(changed.title).to.equal('The riddle');
    expect(changed.tags).to.deep.equal({ artist: 'Grandpa' });
    expect(((await (await rig.fetchAs('alice', `/${record.id}`)).json()) as AudioFile).title).to.equal('The riddle');
    const bad = await rig.fetchAs('alice', `/${record.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ fileName: '../../x.mp3', title: '' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as ErrorBody).error.code).to.equal('validation_failed');
  });

  it('refuses to delete a file a script uses, naming the script; deletes it otherwise, files included', async () => {
    const record = await uploadFixture(rig, 'alice', 'SearchElsewhere.mp3');
    inUse.set(record.id, 'Bedtime playlist');
    const refused = await rig.fetchAs('alice', `/${record.id}`, { method: 'DELETE' });
    expect(refused.status).to.equal(409);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).to.equal('file_in_use');
    expect(body.error.message).to.contain('Bedtime playlist');
    expect((await rig.fetchAs('alice', `/${record.id}`)).status).to.equal(200);
    expect(await rig.stored(record.fileName)).to.not.equal(undefined);

    inUse.delete(record.id);
    const deleted = await rig.fetchAs('alice', `/${record.id}`, { method: 'DELETE' });
    expect(deleted.status).to.equal(204);
    expect((await rig.fetchAs('alice', `/${record.id}`)).status).to.equal(404);
    expect((await rig.fetchAs('alice', `/${record.id}/stream`)).status).to.equal(404);
    expect(await rig.stored(record.fileName), 'the audio file is still stored').to.equal(undefined);
  });

  it('lists with search, sort and pagination', async () => {
    const mine = [
      await uploadFixture(rig, 'bob', 'Start.mp3', { title: 'Zebra night' }),
      await uploadFixture(rig, 'bob', 'SolveRiddle.mp3', { title: 'apple morning' }),
      await uploadFixture(rig, 'bob', 'SearchElsewhere.mp3', { title: 'Mango noon' }),
    ];
    const list = async (query: string): Promise<{ items: AudioFile[]; total: number; page: number; pageSize: number }> => {
      const res = await rig.fetchAs('bob', `/?${query}`);
      expect(res.status, query).to.equal(200);
      return (await res.json()) as { items: AudioFile[]; total: number; page: number; pageSize: number };
    };
    const titles = (page: { items: AudioFile[] }): string[] => page.items.map((r) => r.title);

    expect((await list('')).total).to.equal(3);
    expect(titles(await list('sort=title'))).to.deep.equal(['apple morning', 'Mango noon', 'Zebra night']);
    expect(titles(await list('sort=-title'))).to.deep.equal(['Zebra night', 'Mango noon', 'apple morning']);
    // Durations: SolveRiddle 2.18 s < SearchElsewhere 2.78 s < Start 3.72 s; sizes in the same order.
    expect(titles(await list('sort=duration'))).to.deep.equal(['apple morning', 'Mango noon', 'Zebra night']);
    expect(titles(await list('sort=-size'))).to.deep.equal(['Zebra night', 'Mango noon', 'apple morning']);
    expect(titles(await list('q=MANGO'))).to.deep.equal(['Mango noon']);
    expect(titles(await list('q=riddle'))).to.deep.equal(['apple morning']); // originalName SolveRiddle.mp3

    const page1 = await list('sort=title&pageSize=2&page=1');
    const page2 = await list('sort=title&pageSize=2&page=2');
    expect(page1).to.include({ total: 3, page: 1, pageSize: 2 });
    expect(titles(page1)).to.deep.equal(['apple morning', 'Mango noon']);
    expect(titles(page2)).to.deep.equal(['Zebra night']);
    expect((await list('pageSize=1000')).pageSize).to.equal(100);
    expect((await rig.fetchAs('bob', '/?sort=color')).status).to.equal(400);
    expect((await rig.fetchAs('bob', '/?page=0')).status).to.equal(400);
    expect(mine.every((r) => r.userId === 'user-bob')).to.equal(true);
  });
});
