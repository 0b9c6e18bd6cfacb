import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { parseRange } from '../../server/library';
import type { AudioFile } from '../../server/types/schemas';
import { fixturesDir } from '../helpers/fixtures';
import { wavFile } from './media';
import { BACKENDS, useLibraryRig } from './rig';

const START_MP3 = path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3');

/** A client (alice) that starts streaming `url` and hangs up as soon as the first bytes arrive. */
function leaveAfterFirstBytes(url: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = http.get(url, { headers: { 'x-test-user': 'alice' } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', reject);
  });
}

/** How many of this process's descriptors are open on `file`. */
async function openOn(file: string): Promise<number> {
  const fds = await fs.readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target === file).length;
}

/** Resolves once no descriptor of this process is open on `file` (polling the fd table). */
async function closedBy(file: string): Promise<void> {
  while ((await openOn(file)) > 0) await new Promise((resolve) => setTimeout(resolve, 5));
}

for (const backend of BACKENDS) describe(`audio library: range streaming (${backend === 'local' ? 'data directory' : 'S3 bucket'})`, function () {
  const rig = useLibraryRig({ backend });
  let bytes: Buffer;
  let record: AudioFile;
  let size: number;
  const stream = (init: RequestInit = {}): Promise<Response> => rig.fetchAs('alice', `/${record.id}/stream`, init);

  before(async () => {
    bytes = await fs.readFile(START_MP3);
    size = bytes.length;
    const res = await rig.upload('alice', [{ name: 'file', fileName: 'Start.mp3', data: bytes }]);
    expect(res.status).to.equal(201);
    record = (await res.json()) as AudioFile;
  });

  it('sends the whole file with 200, its content type, Accept-Ranges, a strong ETag and Last-Modified', async () => {
    const res = await stream();
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('audio/mpeg');
    expect(res.headers.get('accept-ranges')).to.equal('bytes');
    expect(res.headers.get('content-length')).to.equal(String(size));
    expect(res.headers.get('etag')).to.match(/^"[^"]+"$/);
    expect(new Date(res.headers.get('last-modified')!).getTime()).to.be.greaterThan(0);
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(bytes);
  });

  it('answers a single range with 206 and exactly those bytes', async () => {
    const res = await stream({ headers: { range: 'bytes=100-199' } });
    expect(res.status).to.equal(206);
    expect(res.headers.get('content-range')).to.equal(`bytes 100-199/${size}`);
    expect(res.headers.get('content-length')).to.equal('100');
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(bytes.subarray(100, 200));
  });

  it('answers a suffix range with the last bytes', async () => {
    const res = await stream({ headers: { range: 'bytes=-500' } });
    expect(res.status).to.equal(206);
    expect(res.headers.get('content-range')).to.equal(`bytes ${size - 500}-${size - 1}/${size}`);
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(bytes.subarray(size - 500));
  });

  it('answers an open-ended range up to the end, and clamps an end past the end', async () => {
    const res = await stream({ headers: { range: 'bytes=100-' } });
    expect(res.status).to.equal(206);
    expect(res.headers.get('content-range')).to.equal(`bytes 100-${size - 1}/${size}`);
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(bytes.subarray(100));
    const clamped = await stream({ headers: { range: `bytes=${size - 10}-${size + 1000}` } });
    expect(clamped.status).to.equal(206);
    expect(Buffer.from(await clamped.arrayBuffer())).to.deep.equal(bytes.subarray(size - 10));
  });

  it('answers a range past the end with 416 and Content-Range: bytes */size', async () => {
    const res = await stream({ headers: { range: `bytes=${size}-` } });
    expect(res.status).to.equal(416);
    expect(res.headers.get('content-range')).to.equal(`bytes */${size}`);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('range_not_satisfiable');
    expect((await stream({ headers: { range: 'bytes=-0' } })).status).to.equal(416);
  });

  it('ignores a malformed or multi-range header and sends the whole file', async () => {
    for (const range of ['bytes=200-100', 'items=0-5', 'bytes=0-1,5-6', 'bytes=abc']) {
      const res = await stream({ headers: { range } });
      expect(res.status, range).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.equal(size);
    }
  });

  it('answers 304 with no body to a matching If-None-Match, 200 to another tag', async () => {
    const etag = (await stream({ method: 'HEAD' })).headers.get('etag')!;
    const res = await stream({ headers: { 'if-none-match': etag } });
    expect(res.status).to.equal(304);
    expect(res.headers.get('etag')).to.equal(etag);
    expect((await res.arrayBuffer()).byteLength).to.equal(0);
    expect((await stream({ headers: { 'if-none-match': `W/${etag}, "other"` } })).status).to.equal(304);
    const other = await stream({ headers: { 'if-none-match': '"something-else"' } });
    expect(other.status).to.equal(200);
    expect((await other.arrayBuffer()).byteLength).to.equal(size);
  });

  it('honours If-Range: the range when the tag matches, the whole file when it does not', async () => {
    const head = await stream({ method: 'HEAD' });
    const etag = head.headers.get('etag')!;
    const lastModified = head.headers.get('last-modified')!;
    const same = await stream({ headers: { range: 'bytes=0-9', 'if-range': etag } });
    expect(same.status).to.equal(206);
    expect(Buffer.from(await same.arrayBuffer())).to.deep.equal(bytes.subarray(0, 10));
    const byDate = await stream({ headers: { range: 'bytes=0-9', 'if-range': lastModified } });
    expect(byDate.status).to.equal(206);
    await byDate.arrayBuffer();
    const changed = await stream({ headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
    expect(changed.status).to.equal(200);
    expect((await changed.arrayBuffer()).byteLength).to.equal(size);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const res = await stream({ method: 'HEAD' });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-length')).to.equal(String(size));
    expect(res.headers.get('content-type')).to.equal('audio/mpeg');
    expect((await res.arrayBuffer()).byteLength).to.equal(0);
    const ranged = await stream({ method: 'HEAD', headers: { range: 'bytes=-500' } });
    expect(ranged.status).to.equal(206);
    expect(ranged.headers.get('content-length')).to.equal('500');
  });

  it('serves ranges on the download too, with the original name', async () => {
    const res = await rig.fetchAs('alice', `/${record.id}/download`, { headers: { range: 'bytes=0-3' } });
    expect(res.status).to.equal(206);
    expect(res.headers.get('content-disposition')).to.contain('filename="Start.mp3"');
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(bytes.subarray(0, 4));
  });

  it('keeps serving after clients disconnect mid-stream', async () => {
    for (let i = 0; i < 20; i++) {
      await leaveAfterFirstBytes(`${rig.base}/${record.id}/stream`);
    }
    const res = await stream({ headers: { range: 'bytes=0-99' } });
    expect(res.status).to.equal(206);
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(bytes.subarray(0, 100));
  });

  it(backend === 'local' ? 'serves many overlapping short and long ranges exactly, and leaves no file open afterwards' : 'serves many overlapping short and long ranges exactly from the bucket', async () => {
    // 20 s of 8 kHz WAV: 320 kB, so ranges both below and above the 256 KiB buffered-read limit.
    const big = wavFile(20, 8000, (i) => (i * 37) % 30000);
    const upload = await rig.upload('alice', [{ name: 'file', fileName: 'long.wav', data: big }]);
    expect(upload.status).to.equal(201);
    const longRecord = (await upload.json()) as AudioFile;
    const storedPath = path.join(rig.dataDir, 'audio', longRecord.fileName);
    const ranges = Array.from({ length: 40 }, (_, i) => {
      const start = (i * 7919) % 20000;
      const end = i % 2 === 0 ? start + 99 : big.length - 1 - (i % 5);
      return { start, end };
    });
    const answers = await Promise.all(ranges.map(async ({ start, end }) => {
      const res = await rig.fetchAs('alice', `/${longRecord.id}/stream`, { headers: { range: `bytes=${start}-${end}` } });
      return { status: res.status, contentRange: res.headers.get('content-range'), body: Buffer.from(await res.arrayBuffer()) };
    }));
    answers.forEach((answer, i) => {
      const { start, end } = ranges[i]!;
      expect(answer.status).to.equal(206);
      expect(answer.contentRange).to.equal(`bytes ${start}-${end}/${big.length}`);
      expect(answer.body.equals(big.subarray(start, end + 1)), `range ${start}-${end}`).to.equal(true);
    });
    if (backend === 's3') return; // what a leaving client does to the bucket's reads: the next test
    // Clients that leave in the middle of a long range release the file too.
    for (let i = 0; i < 5; i++) {
      await leaveAfterFirstBytes(`${rig.base}/${longRecord.id}/stream`);
    }
    // The storage keeps the file open for the next request, and closes it once nobody read it for a second or so.
    await closedBy(storedPath);
  });

  it('answers 404 right after a file it was streaming is deleted, and holds the file open no longer', async () => {
    const upload = await rig.upload('alice', [{ name: 'file', fileName: 'gone.wav', data: wavFile(2, 8000, (i) => (i * 5) % 7000) }]);
    const gone = (await upload.json()) as AudioFile;
    const url = `/${gone.id}/stream`;
    for (const range of ['bytes=0-99', 'bytes=100-199']) {
      const res = await rig.fetchAs('alice', url, { headers: { range } });
      expect(res.status).to.equal(206);
      await res.arrayBuffer();
    }
    expect((await rig.fetchAs('alice', `/${gone.id}`, { method: 'DELETE' })).status).to.equal(204);
    const after = await rig.fetchAs('alice', url, { headers: { range: 'bytes=0-99' } });
    expect(after.status).to.equal(404);
    expect(((await after.json()) as { error: { code: string } }).error.code).to.equal('not_found');
    if (backend === 'local') await closedBy(path.join(rig.dataDir, 'audio', gone.fileName));
  });

  if (backend === 'local') {
    it('serves the new bytes at once when the storage replaces a file it was streaming', async () => {
      const first = wavFile(2, 8000, (i) => (i * 3) % 5000);
      const upload = await rig.upload('alice', [{ name: 'file', fileName: 'replaced.wav', data: first }]);
      const replaced = (await upload.json()) as AudioFile;
      const range = { headers: { range: 'bytes=1000-1999' } };
      const before = await rig.fetchAs('alice', `/${replaced.id}/stream`, range);
      expect(Buffer.from(await before.arrayBuffer()).equals(first.subarray(1000, 2000))).to.equal(true);
      // Same length, other samples (a restored backup, say), stored under the same name.
      const second = wavFile(2, 8000, (i) => (i * 11) % 9000);
      const incoming = path.join(rig.library.files.incomingDir, 'replacement.part');
      await fs.writeFile(incoming, second);
      await rig.library.files.storage.putFile(replaced.fileName, incoming, 'audio/wav');
      const after = await rig.fetchAs('alice', `/${replaced.id}/stream`, range);
      expect(after.status).to.equal(206);
      expect(Buffer.from(await after.arrayBuffer()).equals(second.subarray(1000, 2000)), 'the new bytes').to.equal(true);
    });

    it('reads a file replaced by hand in the data directory anew', async () => {
      const first = wavFile(2, 8000, (i) => (i * 17) % 6000);
      const upload = await rig.upload('alice', [{ name: 'file', fileName: 'by-hand.wav', data: first }]);
      const changed = (await upload.json()) as AudioFile;
      const read = async (): Promise<Buffer> => Buffer.from(await (await rig.fetchAs('alice', `/${changed.id}/stream`, { headers: { range: 'bytes=1000-1999' } })).arrayBuffer());
      expect((await read()).equals(first.subarray(1000, 2000))).to.equal(true);
      const second = wavFile(2, 8000, (i) => (i * 23) % 8000);
      const stored = path.join(rig.dataDir, 'audio', changed.fileName);
      await fs.writeFile(`${stored}.new`, second);
      await fs.rename(`${stored}.new`, stored);
      // The storage hears of it from its watch on the folder (an event of its own): poll until the new bytes come.
      while (!(await read()).equals(second.subarray(1000, 2000))) await new Promise((resolve) => setTimeout(resolve, 50));
    });
  }

  it('keeps streaming to one client while others reading the same file leave mid-stream', async () => {
    // 4 MB, far more than the socket buffers hold, so the paused client's answer stays mid-file on the server.
    const big = wavFile(250, 8000, (i) => (i * 13) % 20000);
    const upload = await rig.upload('alice', [{ name: 'file', fileName: 'shared.wav', data: big }]);
    expect(upload.status).to.equal(201);
    const shared = (await upload.json()) as AudioFile;
    const url = `${rig.base}/${shared.id}/stream`;
    const headers = { 'x-test-user': 'alice' };
    const stayer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(url, { headers }, (res) => {
        res.once('data', (first: Buffer) => {
          res.pause();
          res.unshift(first);
          resolve(res);
        });
      }).on('error', reject);
    });
    // Clients on the same file that leave after their first bytes; a HEAD after each waits for the server to see it.
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(url, { headers }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        // Before the first bytes this is a refusal; after them it is our own destroy, and the promise is settled.
        req.on('error', reject);
      });
      expect((await fetch(url, { method: 'HEAD', headers })).status).to.equal(200);
    }
    const chunks: Buffer[] = [];
    stayer.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve, reject) => {
      stayer.on('end', resolve);
      stayer.on('error', reject);
      stayer.on('aborted', () => reject(new Error('the server cut the answer short')));
      stayer.resume();
    });
    const body = Buffer.concat(chunks);
    expect(body.length).to.equal(big.length);
    expect(body.equals(big), 'the bytes of the file').to.equal(true);
  });

  if (backend === 's3') {
    it('aborts the read from the bucket when the client hangs up mid-stream', async () => {
      // 24 MB: more than every buffer between the bucket, the hub and the client holds, so a read the hub did not abort could not have ended yet.
      const big = wavFile(1500, 8000, (i) => (i * 11) % 25000);
      const upload = await rig.upload('alice', [{ name: 'file', fileName: 'huge.wav', data: big }]);
      expect(upload.status).to.equal(201);
      const huge = (await upload.json()) as AudioFile;
      const reads: Array<Promise<{ complete: boolean }>> = [];
      const stop = rig.s3!.onRead((read) => {
        if (read.key.endsWith(huge.fileName)) reads.push(read.ended);
      });
      try {
        await leaveAfterFirstBytes(`${rig.base}/${huge.id}/stream`);
        expect(reads).to.have.length(1);
        expect(await reads[0]!, 'the bucket read ended before its last byte').to.deep.equal({ complete: false });
        // A short range afterwards is read whole.
        const res = await rig.fetchAs('alice', `/${huge.id}/stream`, { headers: { range: 'bytes=1000-1999' } });
        expect(Buffer.from(await res.arrayBuffer()).equals(big.subarray(1000, 2000))).to.equal(true);
        expect(await reads[1]!).to.deep.equal({ complete: true });
      } finally {
        stop();
      }
    });

    it('answers seeks near each other from one read of the bucket (short ranges are cached in blocks)', async () => {
      const upload = await rig.upload('alice', [{ name: 'file', fileName: 'seek.wav', data: wavFile(5, 8000, (i) => (i * 7) % 9000) }]);
      const seek = (await upload.json()) as AudioFile;
      const sent = await rig.stored(seek.fileName);
      const reads: string[] = [];
      const stop = rig.s3!.onRead((read) => {
        if (read.key.endsWith(seek.fileName)) reads.push(read.range ?? 'whole');
      });
      try {
        for (const [start, end] of [[0, 99], [100, 4095], [0, 99], [20000, 20999]] as const) {
          const res = await rig.fetchAs('alice', `/${seek.id}/stream`, { headers: { range: `bytes=${start}-${end}` } });
          expect(res.status).to.equal(206);
          expect(Buffer.from(await res.arrayBuffer()).equals(sent!.subarray(start, end + 1))).to.equal(true);
        }
        expect(reads, 'one block read for four seeks').to.deep.equal(['bytes=0-262143']);
      } finally {
        stop();
      }
    });

    it('keeps the object in the bucket under audio/<id>.<ext>, and nothing in the data directory', async () => {
      const listed = await rig.s3!.keys();
      expect(listed).to.include(`audio/${record.fileName}`);
      const local = (await fs.readdir(path.join(rig.dataDir, 'audio'), { withFileTypes: true })).filter((e) => e.isFile());
      expect(local.map((e) => e.name)).to.deep.equal([]);
    });
  }

  it('parses ranges like RFC 9110', () => {
    expect(parseRange('bytes=0-0', 10)).to.deep.equal({ start: 0, end: 0 });
    expect(parseRange('bytes=-20', 10)).to.deep.equal({ start: 0, end: 9 });
    expect(parseRange('bytes=9-', 10)).to.deep.equal({ start: 9, end: 9 });
    expect(parseRange('bytes=10-', 10)).to.equal('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).to.equal('unsatisfiable');
    expect(parseRange('bytes=5-1', 10)).to.equal(undefined);
    expect(parseRange(undefined, 10)).to.equal(undefined);
  });
});
