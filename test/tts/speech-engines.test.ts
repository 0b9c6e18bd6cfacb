import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parseBuffer } from 'music-metadata';
import type { Hub } from '../../server/hub';
import { MAX_FETCHED_AUDIO_BYTES, SpeechError } from '../../server/tts';
import { fixturesDir } from '../helpers/fixtures';
import { MaryTtsServer } from '../helpers/marytts-server';
import { rejectionOf } from '../helpers/rejection';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { wavFile } from '../library/media';

const speechError = (work: Promise<unknown>): Promise<SpeechError> => rejectionOf(work, SpeechError);

async function seconds(url: string): Promise<{ status: number; type: string | null; seconds: number; body: Buffer }> {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type');
  const metadata = await parseBuffer(body, { mimeType: type ?? undefined }, { duration: true });
  return { status: res.status, type, seconds: metadata.format.duration ?? 0, body };
}

/** A port nothing listens on: one the OS gave and took back. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('text to speech: the MaryTTS-compatible engine', function () {
  this.timeout(120_000);
  let mary: MaryTtsServer;
  let hub: Hub;

  before(async () => {
    mary = await new MaryTtsServer().start();
    hub = await startTestHub({ ttsUrl: mary.url });
  });
  after(async () => {
    await stopTestHub(hub);
    await mary?.stop();
  });
  beforeEach(() => {
    mary.answer = undefined;
  });

  it('asks the server the MaryTTS way and serves its speech as MP3 of a plausible length', async () => {
    const said = await hub.speech.render({ text: 'Dinner is ready', engine: 'marytts', language: 'en-GB', voice: 'espeak-en' });
    expect(mary.requests.at(-1)?.params).to.deep.equal({
      INPUT_TEXT: 'Dinner is ready',
      INPUT_TYPE: 'TEXT',
      OUTPUT_TYPE: 'AUDIO',
      AUDIO: 'WAVE_FILE',
      LOCALE: 'en_GB',
      VOICE: 'espeak-en',
    });
    expect(said.contentType).to.equal('audio/mpeg');
    const audio = await seconds(said.url);
    expect(audio.status).to.equal(200);
    expect(audio.type).to.equal('audio/mpeg');
    expect(audio.seconds).to.be.within(0.5, 10);
    expect(said.durationMs / 1000).to.be.closeTo(audio.seconds, 0.3);
    const again = await hub.speech.render({ text: 'Dinner is ready', engine: 'marytts', language: 'en-GB', voice: 'espeak-en' });
    expect(again.cached).to.equal(true);
    expect(mary.requests).to.have.length(1);
  });

  it('sends no VOICE when none is asked for (the server picks one for the locale)', async () => {
    await hub.speech.render({ text: 'Bath time', engine: 'marytts', language: 'de' });
    expect(mary.requests.at(-1)?.params['LOCALE']).to.equal('de');
    expect(mary.requests.at(-1)?.params).to.not.have.property('VOICE');
  });

  it('reports a server error as engine_failed with what the server said', async () => {
    mary.answer = { status: 500, contentType: 'text/plain', body: 'Voice not available' };
    const failed = await speechError(hub.speech.render({ text: 'Shoes on', engine: 'marytts' }));
    expect(failed.code).to.equal('engine_failed');
    expect(failed.message).to.contain('500').and.to.contain('Voice not available');
  });

  it('reports an answer that is not a WAV file as engine_failed', async () => {
    mary.answer = { status: 200, contentType: 'text/html', body: '<html>login</html>' };
    const failed = await speechError(hub.speech.render({ text: 'Coats on', engine: 'marytts' }));
    expect(failed.code).to.equal('engine_failed');
    expect(failed.message).to.contain('not a WAV file');
  });

  it('reports a server that cannot be reached, or none configured, as engine_unavailable', async () => {
    const down = await startTestHub({ ttsEngine: 'marytts', ttsUrl: `http://127.0.0.1:${await closedPort()}` });
    const none = await startTestHub();
    try {
      expect((await speechError(down.speech.render({ text: 'Hello' }))).code).to.equal('engine_unavailable');
      const unset = await speechError(none.speech.render({ text: 'Hello', engine: 'marytts' }));
      expect(unset.code).to.equal('engine_unavailable');
      expect(unset.message).to.contain('YOTO_TTS_URL');
    } finally {
      await stopTestHub(down);
      await stopTestHub(none);
    }
  });
});

describe('text to speech: fetching an audio URL into the cache (Home Assistant TTS proxy URLs)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let origin: http.Server;
  let base: string;
  const mp3 = fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3'));
  let served = 0;

  before(async () => {
    origin = http.createServer((req, res) => {
      served += 1;
      switch (req.url) {
        case '/api/tts_proxy/start.mp3':
          res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': mp3.length }).end(mp3);
          return;
        case '/tone.wav':
          res.writeHead(200, { 'content-type': 'audio/wav' }).end(wavFile(2, 16000));
          return;
        case '/page':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not audio</html>');
          return;
        case '/lie.mp3':
          res.writeHead(200, { 'content-type': 'audio/mpeg' }).end('this is not audio at all, whatever the header says');
          return;
        case '/huge.mp3':
          res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': MAX_FETCHED_AUDIO_BYTES + 1 });
          res.write(mp3);
          return;
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
      }
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    hub = await startTestHub();
  });
  after(async () => {
    await stopTestHub(hub);
    origin?.closeAllConnections();
    await new Promise<void>((resolve) => origin?.close(() => resolve()));
  });

  it('downloads the audio once and serves the same bytes from the hub, with its length', async () => {
    const fetched = await hub.speech.fetchAudio(`${base}/api/tts_proxy/start.mp3`);
    expect(fetched.cached).to.equal(false);
    expect(fetched.contentType).to.equal('audio/mpeg');
    expect(new URL(fetched.url).origin).to.equal(hub.url);
    const audio = await seconds(fetched.url);
    expect(audio.body.equals(mp3)).to.equal(true);
    expect(fetched.durationMs / 1000).to.be.closeTo(audio.seconds, 0.3);
    const before = served;
    const again = await hub.speech.fetchAudio(`${base}/api/tts_proxy/start.mp3`);
    expect(again.cached).to.equal(true);
    expect(served).to.equal(before);
  });

  it('turns a WAV into MP3 players can play', async () => {
    const fetched = await hub.speech.fetchAudio(`${base}/tone.wav`);
    expect(fetched.contentType).to.equal('audio/mpeg');
    const audio = await seconds(fetched.url);
    expect(audio.type).to.equal('audio/mpeg');
    expect(audio.seconds).to.be.closeTo(2, 0.2);
  });

  it('refuses what is not audio, too large, missing or not http(s), each with its code', async () => {
    expect((await speechError(hub.speech.fetchAudio(`${base}/page`))).code).to.equal('not_audio');
    expect((await speechError(hub.speech.fetchAudio(`${base}/lie.mp3`))).code).to.equal('not_audio');
    expect((await speechError(hub.speech.fetchAudio(`${base}/huge.mp3`))).code).to.equal('too_large');
    const missing = await speechError(hub.speech.fetchAudio(`${base}/gone.mp3`));
    expect(missing.code).to.equal('fetch_failed');
    expect(missing.message).to.contain('404');
    expect((await speechError(hub.speech.fetchAudio(`http://127.0.0.1:${await closedPort()}/a.mp3`))).code).to.equal('fetch_failed');
    expect((await speechError(hub.speech.fetchAudio('file:///etc/passwd'))).code).to.equal('bad_url');
    expect((await speechError(hub.speech.fetchAudio('not a url'))).code).to.equal('bad_url');
  });
});
