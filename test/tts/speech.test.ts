import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseBuffer } from 'music-metadata';
import type { Hub } from '../../server/hub';
import { ManualClock } from '../../server/time/clock';
import { MAX_SPEECH_TEXT, SpeechError, type RenderedSpeech } from '../../server/tts';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

const cacheDir = (hub: Hub): string => path.join(hub.options.dataDir, 'tts-cache');
const cachedFiles = (hub: Hub): string[] => fs.readdirSync(cacheDir(hub)).filter((name) => name.endsWith('.mp3')).sort();

async function speechError(work: Promise<unknown>): Promise<SpeechError> {
  try {
    await work;
  } catch (error) {
    expect(error).to.be.instanceOf(SpeechError);
    return error as SpeechError;
  }
  throw new Error('expected a SpeechError');
}

async function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; range: string | null; body: Buffer }> {
  const res = await fetch(url, { headers });
  return { status: res.status, type: res.headers.get('content-type'), range: res.headers.get('content-range'), body: Buffer.from(await res.arrayBuffer()) };
}

describe('text to speech on the hub (issue 15 item 1)', function () {
  this.timeout(120_000);
  let hub: Hub;
  const clock = new ManualClock();
  let dinner: RenderedSpeech;

  before(async () => {
    hub = await startTestHub({ ttsCacheDays: 2 }, { clock });
  });
  after(async () => {
    await stopTestHub(hub);
  });

  it('says a sentence with the default offline engine: an MP3 whose measured length fits the sentence', async () => {
    dinner = await hub.speech.render({ text: 'Dinner is ready' });
    expect(dinner.cached).to.equal(false);
    expect(dinner.contentType).to.equal('audio/mpeg');
    const { status, type, body } = await download(dinner.url);
    expect(status).to.equal(200);
    expect(type).to.equal('audio/mpeg');
    const metadata = await parseBuffer(body, { mimeType: 'audio/mpeg' }, { duration: true });
    expect(metadata.format.container).to.match(/MPEG/);
    const seconds = metadata.format.duration ?? 0;
    expect(seconds).to.be.within(0.5, 10);
    expect(dinner.durationMs / 1000).to.be.closeTo(seconds, 0.3);
  });

  it('says a longer text for longer', async () => {
    const long = await hub.speech.render({ text: 'The washing machine has finished. Please hang the clothes up before bedtime, and remember to brush your teeth.' });
    expect(long.durationMs).to.be.greaterThan(dinner.durationMs * 3);
  });

  it('serves the same text again from the cache, with no new file', async () => {
    const before = cachedFiles(hub);
    const again = await hub.speech.render({ text: '  Dinner   is ready ' });
    expect(again.cached).to.equal(true);
    expect(again.cacheKey).to.equal(dinner.cacheKey);
    expect(again.durationMs).to.equal(dinner.durationMs);
    expect(cachedFiles(hub)).to.deep.equal(before);
  });

  it('renders the same new text asked for twice at once only once', async () => {
    const before = cachedFiles(hub).length;
    const [one, two] = await Promise.all([hub.speech.render({ text: 'Ten minutes until lights out' }), hub.speech.render({ text: 'Ten minutes until lights out' })]);
    expect(one.cacheKey).to.equal(two.cacheKey);
    expect(cachedFiles(hub).length).to.equal(before + 1);
  });

  it('keeps voices and languages apart in the cache', async () => {
    const french = await hub.speech.render({ text: 'Dinner is ready', language: 'fr' });
    const british = await hub.speech.render({ text: 'Dinner is ready', voice: 'en-gb' });
    expect(new Set([dinner.cacheKey, french.cacheKey, british.cacheKey]).size).to.equal(3);
    expect(french.cached).to.equal(false);
  });

  it('streams to players with byte ranges, as the hub streams library files', async () => {
    const whole = await download(dinner.url);
    const part = await download(dinner.url, { range: 'bytes=100-199' });
    expect(part.status).to.equal(206);
    expect(part.type).to.equal('audio/mpeg');
    expect(part.range).to.equal(`bytes 100-199/${whole.body.length}`);
    expect(part.body.equals(whole.body.subarray(100, 200))).to.equal(true);
  });

  it('refuses the URL without its signature, with a tampered one, or for another key', async () => {
    const url = new URL(dinner.url);
    const token = url.searchParams.get('t') ?? '';
    url.searchParams.delete('t');
    expect((await fetch(url)).status).to.equal(403);
    url.searchParams.set('t', `${token.slice(0, -2)}${token.endsWith('A') ? 'B' : 'A'}A`);
    expect((await fetch(url)).status).to.equal(403);
    const other = await hub.speech.render({ text: 'Bath time' });
    const swapped = new URL(other.url);
    swapped.searchParams.set('t', token);
    expect((await fetch(swapped)).status).to.equal(403);
  });

  it('refuses text over the limit, and empty text, with a clear error', async () => {
    const tooLong = await speechError(hub.speech.render({ text: 'a'.repeat(MAX_SPEECH_TEXT + 1) }));
    expect(tooLong.code).to.equal('text_too_long');
    expect(tooLong.message).to.contain(String(MAX_SPEECH_TEXT));
    expect((await speechError(hub.speech.render({ text: '   ' }))).code).to.equal('empty_text');
  });

  it('reports engine errors as SpeechError codes', async () => {
    expect((await speechError(hub.speech.render({ text: 'hello', engine: 'nonesuch' }))).code).to.equal('unknown_engine');
    const voice = await speechError(hub.speech.render({ text: 'hello', voice: 'nosuchvoice' }));
    expect(voice.code).to.equal('unknown_voice');
    expect(voice.message).to.contain('nosuchvoice');
  });

  it('removes audio unused for longer than the max age, on the hub clock, and renders it anew after', async () => {
    await clock.advance(24 * 60 * 60_000);
    await hub.speech.settled();
    const kept = await hub.speech.render({ text: 'Dinner is ready' });
    expect(kept.cached).to.equal(true);
    await clock.advance(36 * 60 * 60_000);
    await hub.speech.settled();
    // "Dinner is ready" was used a day in (kept); the others were not used for 2.5 days (gone).
    expect(cachedFiles(hub)).to.deep.equal([`${dinner.cacheKey}.mp3`]);
    expect(hub.speech.health().cachedEntries).to.equal(1);
    const lightsOut = await hub.speech.render({ text: 'Ten minutes until lights out' });
    expect(lightsOut.cached).to.equal(false);
    await clock.advance(49 * 60 * 60_000);
    await hub.speech.settled();
    expect(cachedFiles(hub)).to.deep.equal([]);
    expect((await fetch(dinner.url)).status).to.equal(404);
  });

  it('finds its cache again after a restart', async () => {
    const first = await startTestHub({}, { clock });
    const rendered = await first.speech.render({ text: 'Good night' });
    await first.stop();
    const again = await startTestHub({ dataDir: first.options.dataDir }, { clock });
    try {
      const second = await again.speech.render({ text: 'Good night' });
      expect(second.cached).to.equal(true);
      expect(second.cacheKey).to.equal(rendered.cacheKey);
      expect((await download(second.url)).status).to.equal(200);
    } finally {
      await stopTestHub(again);
    }
  });

  it('ends its worker thread when the hub stops', async () => {
    const other = await startTestHub({}, { clock });
    const speech = other.speech;
    expect(speech.health().worker).to.equal('idle');
    await speech.render({ text: 'One moment' });
    expect(speech.health().worker).to.equal('running');
    await stopTestHub(other);
    expect(speech.health().worker).to.equal('stopped');
    expect((await speechError(speech.render({ text: 'One moment more' }))).code).to.equal('stopped');
  });
});
