import type { AudioWorker } from './audio-worker-client';
import { download, DownloadError } from './download';
import { SpeechError } from './speech-error';

/** Audio an engine made, as MP3. */
export interface SpokenAudio {
  mp3: Uint8Array;
  durationMs: number;
}

/** What an engine is asked to say, defaults already applied. */
export interface EngineRequest {
  text: string;
  /** The engine's voice name; undefined: the engine's choice for `language`. */
  voice: string | undefined;
  /** BCP 47 language, e.g. `en`, `en-GB`, `fr`. */
  language: string;
}

/** One way of turning text into speech (`YOTO_TTS_ENGINE`, or `engine` per request). */
export interface SpeechEngine {
  readonly name: string;
  render(request: EngineRequest): Promise<SpokenAudio>;
}

/**
 * eSpeak-NG compiled to WebAssembly (npm @echogarden/espeak-ng-emscripten):
 * offline, no network, installed by `npm install`. Voices are eSpeak names
 * (`en`, `en-gb`, `en-us`, `fr`, `de`, with variants such as `en-us+f3`);
 * without one, the language picks it.
 */
export class EspeakEngine implements SpeechEngine {
  readonly name = 'espeak';

  constructor(private readonly worker: AudioWorker) {}

  async render(request: EngineRequest): Promise<SpokenAudio> {
    const voice = request.voice ?? request.language.toLowerCase();
    const { mp3, durationMs } = await this.worker.run({ op: 'speak', text: request.text, voice });
    return { mp3, durationMs };
  }
}

/** What a MaryTTS-compatible server may take to answer, and the largest WAV taken. */
const MARY_TIMEOUT_MS = 60_000;
const MARY_MAX_BYTES = 50 * 1024 * 1024;

/**
 * A MaryTTS-compatible HTTP server (MaryTTS itself, OpenTTS, Larynx, Coqui
 * TTS's server, Piper behind a MaryTTS bridge): `GET <url>/process?INPUT_TEXT=
 * &INPUT_TYPE=TEXT&OUTPUT_TYPE=AUDIO&AUDIO=WAVE_FILE&LOCALE=en_GB[&VOICE=]`,
 * which answers a WAV file; the audio worker turns it into MP3.
 */
export class MaryTtsEngine implements SpeechEngine {
  readonly name = 'marytts';

  constructor(
    private readonly baseUrl: string | undefined,
    private readonly worker: AudioWorker,
    private readonly signal: AbortSignal,
  ) {}

  async render(request: EngineRequest): Promise<SpokenAudio> {
    if (!this.baseUrl) throw new SpeechError('engine_unavailable', 'the marytts engine needs the address of a MaryTTS-compatible server: set YOTO_TTS_URL (e.g. http://opentts.local:5500)');
    const url = new URL('process', this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    url.searchParams.set('INPUT_TEXT', request.text);
    url.searchParams.set('INPUT_TYPE', 'TEXT');
    url.searchParams.set('OUTPUT_TYPE', 'AUDIO');
    url.searchParams.set('AUDIO', 'WAVE_FILE');
    url.searchParams.set('LOCALE', maryLocale(request.language));
    if (request.voice !== undefined) url.searchParams.set('VOICE', request.voice);
    let wav: Uint8Array;
    try {
      ({ bytes: wav } = await download(url, { timeoutMs: MARY_TIMEOUT_MS, maxBytes: MARY_MAX_BYTES, signal: this.signal }));
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      if (error.reason === 'aborted') throw new SpeechError('stopped', 'the speech service has stopped');
      const unavailable = error.reason === 'unreachable' || error.reason === 'timeout';
      throw new SpeechError(unavailable ? 'engine_unavailable' : 'engine_failed', `the MaryTTS server: ${error.message}`, error.status !== undefined ? { status: error.status } : undefined);
    }
    const { mp3, durationMs } = await this.worker.run({ op: 'wav', wav });
    return { mp3, durationMs };
  }
}

/** MaryTTS names locales the Java way: `en_GB`, `de`, `fr_FR`. */
export function maryLocale(language: string): string {
  const [lang = '', ...rest] = language.split(/[-_]/);
  return [lang.toLowerCase(), ...rest.map((part) => (part.length === 2 ? part.toUpperCase() : part))].join('_');
}
