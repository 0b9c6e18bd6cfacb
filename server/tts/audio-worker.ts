import { parentPort } from 'node:worker_threads';
import type { ESpeakNGWorker } from '@echogarden/espeak-ng-emscripten';
import { SPEECH_KBPS, type AudioJob, type AudioJobResult, type SpeakJob, type WavJob } from './audio-protocol';
import { encodeMp3 } from './mp3';
import { MP3_SAMPLE_RATES, readWav, resample, type WavPcm } from './wav';

/**
 * The speech service's worker thread (started by AudioWorker, one per hub):
 * eSpeak-NG (WebAssembly, synchronous) and the MP3 encoder (pure JS,
 * synchronous) run here, one job at a time, in the order they arrive.
 * Both packages are ES modules, loaded on the first job that needs them.
 */

let espeak: Promise<ESpeakNGWorker> | undefined;

function loadEspeak(): Promise<ESpeakNGWorker> {
  espeak ??= import('@echogarden/espeak-ng-emscripten').then(async ({ default: initialize }) => {
    const module = await initialize();
    return new module.eSpeakNGWorker();
  });
  return espeak;
}

class JobError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function encode(pcm: Int16Array, sampleRate: number, channels: 1 | 2): Promise<Uint8Array> {
  return encodeMp3(pcm, sampleRate, channels, SPEECH_KBPS);
}

/** eSpeak reads its input as SSML: the text is escaped so `<`, `>` and `&` are spoken, not parsed. */
function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

let voiceList: ReturnType<ESpeakNGWorker['list_voices']> | undefined;

/**
 * Selects a voice by eSpeak name (`en-us`, `en-gb-x-rp`), identifier (`gmw/en-US`) or
 * language tag (`en-GB`, `de_DE`, `fr`: the voice that lists it with the best
 * priority, falling back to the tag's first part), with an optional `+variant`.
 */
function selectVoice(engine: ESpeakNGWorker, name: string): boolean {
  const [base = '', variant] = name.split('+', 2);
  const suffix = variant !== undefined ? `+${variant}` : '';
  if (engine.set_voice(`${base}${suffix}`) === 0) return true;
  voiceList ??= engine.list_voices();
  let tag = base.toLowerCase().replace(/_/g, '-');
  for (;;) {
    let best: { identifier: string; priority: number } | undefined;
    for (const voice of voiceList) {
      for (const language of voice.languages) {
        if (language.name === tag && (!best || language.priority < best.priority)) best = { identifier: voice.identifier, priority: language.priority };
      }
    }
    if (best) return engine.set_voice(`${best.identifier}${suffix}`) === 0;
    const dash = tag.lastIndexOf('-');
    if (dash <= 0) return false;
    tag = tag.slice(0, dash);
  }
}

async function speak(job: SpeakJob): Promise<AudioJobResult> {
  const engine = await loadEspeak();
  if (!selectVoice(engine, job.voice)) throw new JobError('unknown_voice', `eSpeak-NG has no voice "${job.voice}" (voices are names such as en, en-gb, en-us, fr, de, with variants such as en-us+f3)`);
  const chunks: Int16Array[] = [];
  engine.synthesize(escapeMarkup(job.text), (samples) => {
    if (samples && samples.length > 0) chunks.push(samples.slice());
  });
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  if (total === 0) throw new JobError('engine_failed', 'eSpeak-NG produced no audio for this text');
  const pcm = new Int16Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    pcm.set(chunk, offset);
    offset += chunk.length;
  }
  const sampleRate = engine.get_samplerate();
  return { id: job.id, ok: true, mp3: await encode(pcm, sampleRate, 1), durationMs: Math.round((total / sampleRate) * 1000) };
}

async function wavJob(job: WavJob): Promise<AudioJobResult> {
  let read: WavPcm;
  try {
    read = readWav(job.wav);
  } catch (error) {
    throw new JobError('engine_failed', `the speech server's answer cannot be used: ${(error as Error).message}`);
  }
  const durationMs = Math.round((read.pcm.length / read.channels / read.sampleRate) * 1000);
  if (read.pcm.length === 0) throw new JobError('engine_failed', 'the speech server answered a WAV file with no audio');
  const rate = read.sampleRate;
  const wav = MP3_SAMPLE_RATES.includes(rate) ? read : resample(read, MP3_SAMPLE_RATES.find((supported) => supported >= rate) ?? 48000);
  return { id: job.id, ok: true, mp3: await encode(wav.pcm, wav.sampleRate, wav.channels), durationMs };
}

async function run(job: AudioJob): Promise<AudioJobResult> {
  try {
    return job.op === 'speak' ? await speak(job) : await wavJob(job);
  } catch (error) {
    if (error instanceof JobError) return { id: job.id, ok: false, code: error.code, message: error.message };
    return { id: job.id, ok: false, code: 'engine_failed', message: error instanceof Error ? error.message : String(error) };
  }
}

const port = parentPort;
if (port) {
  // One job at a time: the next starts when the previous has answered.
  let queue = Promise.resolve();
  port.on('message', (job: AudioJob) => {
    queue = queue.then(async () => {
      const result = await run(job);
      port.postMessage(result, result.ok ? [result.mp3.buffer as ArrayBuffer] : []);
    });
  });
}
