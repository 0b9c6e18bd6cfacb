import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { probeAudioFile, UnsupportedMediaError } from '../library/audio-probe';
import type { Logger } from '../log/logger';
import type { StreamScope, StreamService } from '../streams';
import type { Clock, ClockTimer } from '../time/clock';
import { AudioWorker } from './audio-worker-client';
import { download, DownloadError } from './download';
import { EspeakEngine, MaryTtsEngine, type SpeechEngine } from './engines';
import { SpeechCache } from './speech-cache';
import { SpeechError } from './speech-error';

export { SpeechError, type SpeechErrorCode } from './speech-error';
export type { SpeechEngine, SpokenAudio, EngineRequest } from './engines';

/** What to say. Unset fields take the hub's defaults (YOTO_TTS_ENGINE, YOTO_TTS_VOICE, YOTO_TTS_LANGUAGE). */
export interface SpeechRequest {
  text: string;
  /** The engine's voice name (eSpeak: `en-gb`, `en-us+f3`, ...; MaryTTS servers: their voice ids). */
  voice?: string;
  /** BCP 47 language, e.g. `en`, `fr`, `de-DE`. */
  language?: string;
  /** `espeak` (offline, the default) or `marytts` (the server at YOTO_TTS_URL). */
  engine?: string;
}

/** Audio a player can play. */
export interface RenderedSpeech {
  /** Served by the hub under /stream/speech/<cacheKey>, signed like every player stream URL, Range-capable. */
  url: string;
  durationMs: number;
  contentType: string;
  cacheKey: string;
  /** true when it was already in the cache (no engine ran). */
  cached: boolean;
}

/** The hub's text-to-speech settings (`hub-config` `tts`). */
export interface SpeechSettings {
  engine: string;
  voice?: string;
  language: string;
  /** Base URL of the MaryTTS-compatible server (marytts engine). */
  url?: string;
  /** Rendered audio unused for this many days is removed. */
  cacheMaxAgeDays: number;
}

export const SPEECH_DEFAULTS = { engine: 'espeak', language: 'en', cacheMaxAgeDays: 30 } as const;
/** The longest text rendered, in characters. */
export const MAX_SPEECH_TEXT = 1000;
/** fetchAudio: the largest file taken, and how long its server may take. */
export const MAX_FETCHED_AUDIO_BYTES = 20 * 1024 * 1024;
export const FETCH_AUDIO_TIMEOUT_MS = 30_000;
/** How often old entries are looked for (and once at start). */
const CLEANUP_EVERY_MS = 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export interface SpeechServiceOptions {
  /** The cache lives in `<dataDir>/tts-cache/`. */
  dataDir: string;
  settings: SpeechSettings;
  /** Signs the URLs and serves the cached files (GET /stream/speech/:key). */
  streams: Pick<StreamService, 'urlFor' | 'useSpeechFiles'>;
  clock: Clock;
  logger: Logger;
}

export interface SpeechHealth {
  /** The audio worker thread: started on the first render. */
  worker: 'idle' | 'running' | 'stopped';
  cachedEntries: number;
  engine: string;
}

/**
 * Text to speech on the hub: renders text to MP3 with an engine (eSpeak-NG
 * by default, in a worker thread), caches it on disk by (engine, voice,
 * language, text), and hands back a signed hub URL players stream it from.
 * Renders of the same key under way at the same time share one render;
 * entries unused for `cacheMaxAgeDays` are removed (at start and hourly, on
 * the hub's clock).
 */
export class SpeechService {
  private readonly worker = new AudioWorker();
  private readonly engines = new Map<string, SpeechEngine>();
  private readonly inFlight = new Map<string, Promise<RenderedSpeech>>();
  /** Aborts the downloads under way (MaryTTS, fetchAudio) on stop. */
  private readonly downloads = new AbortController();
  private readonly cache: SpeechCache;
  private readonly logger: Logger;
  private cleanupTimer: ClockTimer | undefined;
  /** The cleanups, one after the other. */
  private cleaning: Promise<unknown> = Promise.resolve();
  private stopped = false;

  private constructor(private readonly options: SpeechServiceOptions) {
    this.logger = options.logger;
    this.cache = new SpeechCache(path.join(options.dataDir, 'tts-cache'), options.logger);
    this.addEngine(new EspeakEngine(this.worker));
    this.addEngine(new MaryTtsEngine(options.settings.url, this.worker, this.downloads.signal));
  }

  /** Opens the cache, removes what is too old, and serves the cache's files on the stream route. */
  static async start(options: SpeechServiceOptions): Promise<SpeechService> {
    const service = new SpeechService(options);
    if (!service.engines.has(options.settings.engine)) throw new SpeechError('unknown_engine', service.unknownEngineMessage(options.settings.engine));
    await service.cache.open();
    await service.cleanup();
    options.streams.useSpeechFiles((key) => (SpeechCache.isKey(key) ? service.cache.rangeFile(key) : undefined));
    service.cleanupTimer = options.clock.setInterval(() => {
      service.cleanup().catch((error: unknown) => service.logger.warn('speech cache cleanup failed', { err: error }));
    }, CLEANUP_EVERY_MS);
    return service;
  }

  /** The engine names render() accepts. */
  get engineNames(): string[] {
    return [...this.engines.keys()];
  }

  /** Says `request.text`: from the cache when it was rendered before, else with the engine. */
  async render(request: SpeechRequest): Promise<RenderedSpeech> {
    if (this.stopped) throw new SpeechError('stopped', 'the speech service has stopped');
    // Control characters are not spoken (a NUL would end eSpeak's text); runs of spaces are one space.
    // eslint-disable-next-line no-control-regex
    const text = typeof request.text === 'string' ? request.text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim() : '';
    if (text === '') throw new SpeechError('empty_text', 'there is no text to say');
    if (text.length > MAX_SPEECH_TEXT) {
      throw new SpeechError('text_too_long', `the text is ${text.length} characters long; at most ${MAX_SPEECH_TEXT} can be said at once`, { length: text.length, max: MAX_SPEECH_TEXT });
    }
    const { settings } = this.options;
    const engineName = request.engine ?? settings.engine;
    const engine = this.engines.get(engineName);
    if (!engine) throw new SpeechError('unknown_engine', this.unknownEngineMessage(engineName));
    const language = request.language ?? settings.language;
    // The hub's default voice belongs to its default engine.
    const voice = request.voice ?? (engineName === settings.engine ? settings.voice : undefined);
    const cacheKey = keyOf([engineName, voice ?? '', language, text]);
    return this.produce(cacheKey, async () => {
      const started = Date.now();
      const audio = await engine.render({ text, voice, language });
      const entry = await this.store(cacheKey, engineName, 'audio/mpeg', audio.durationMs, audio.mp3);
      this.logger.debug('rendered speech', { engine: engineName, voice, language, characters: text.length, durationMs: entry.durationMs, renderMs: Date.now() - started });
      return entry;
    });
  }

  /**
   * Downloads an audio URL (Home Assistant's TTS proxy URLs, any http(s) MP3,
   * AAC, Ogg, FLAC or WAV) into the cache, so players stream it from the hub
   * like rendered speech. The answer must be 2xx with an `audio/*` type,
   * at most MAX_FETCHED_AUDIO_BYTES, within FETCH_AUDIO_TIMEOUT_MS; WAV is
   * turned into MP3. The same URL again is served from the cache.
   * Errors: bad_url, fetch_failed, timeout, too_large, not_audio.
   */
  async fetchAudio(address: string): Promise<RenderedSpeech> {
    if (this.stopped) throw new SpeechError('stopped', 'the speech service has stopped');
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new SpeechError('bad_url', `"${String(address).slice(0, 200)}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SpeechError('bad_url', `only http and https URLs can be fetched, not ${url.protocol}`);
    return this.produce(keyOf(['url', url.href]), async (cacheKey) => {
      let fetched;
      try {
        fetched = await download(url, { timeoutMs: FETCH_AUDIO_TIMEOUT_MS, maxBytes: MAX_FETCHED_AUDIO_BYTES, signal: this.downloads.signal });
      } catch (error) {
        if (!(error instanceof DownloadError)) throw error;
        const code = error.reason === 'aborted' ? 'stopped' : error.reason === 'timeout' || error.reason === 'too_large' ? error.reason : 'fetch_failed';
        throw new SpeechError(code, error.message, error.status !== undefined ? { status: error.status } : undefined);
      }
      if (!fetched.contentType.startsWith('audio/')) throw new SpeechError('not_audio', `${url.origin} answered ${fetched.contentType || 'no content type'}, not audio`);
      const probe = await this.probe(cacheKey, fetched.bytes);
      if (probe.format === 'wav') {
        const { mp3, durationMs } = await this.worker.run({ op: 'wav', wav: fetched.bytes });
        return this.store(cacheKey, 'url', 'audio/mpeg', durationMs, mp3);
      }
      return this.store(cacheKey, 'url', probe.mimeType, Math.round(probe.durationSeconds * 1000), fetched.bytes);
    });
  }

  /** A fresh signed URL for a cached entry (e.g. scoped to one player, `{ deviceId }`); undefined once it left the cache. */
  urlFor(cacheKey: string, scope: StreamScope = {}): string | undefined {
    if (!this.cache.rangeFile(cacheKey)) return undefined;
    return this.options.streams.urlFor({ kind: 'speech', key: cacheKey }, { expiresInSeconds: this.maxAgeMs() / 1000, ...scope });
  }

  /** Removes the entries unused for longer than the max age; resolves to how many. */
  cleanup(): Promise<number> {
    const before = this.options.clock.now() - this.maxAgeMs();
    const run = this.cleaning.then(() => this.cache.removeUnusedSince(before));
    this.cleaning = run.catch(() => undefined);
    return run;
  }

  /** Resolves once the cleanups started so far (by the hourly timer too) are done. */
  async settled(): Promise<void> {
    await this.cleaning;
  }

  health(): SpeechHealth {
    return { worker: this.worker.state, cachedEntries: this.cache.size, engine: this.options.settings.engine };
  }

  /** Ends the worker thread and the cleanup timer; renders under way fail with `stopped`. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cleanupTimer?.cancel();
    this.cleanupTimer = undefined;
    this.downloads.abort();
    const under = [...this.inFlight.values()];
    await this.worker.stop();
    await Promise.allSettled([...under, this.cleaning]);
  }

  /** The cached entry under `cacheKey`, or one made now by `make` (shared by every caller while under way). */
  private async produce(cacheKey: string, make: (cacheKey: string) => Promise<{ durationMs: number; contentType: string }>): Promise<RenderedSpeech> {
    const hit = this.cache.use(cacheKey, this.options.clock.now());
    if (hit) return this.rendered(cacheKey, hit.durationMs, hit.contentType, true);
    const shared = this.inFlight.get(cacheKey);
    if (shared) return shared;
    const work = make(cacheKey).then((entry) => this.rendered(cacheKey, entry.durationMs, entry.contentType, false));
    this.inFlight.set(cacheKey, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(cacheKey);
    }
  }

  private store(cacheKey: string, source: string, contentType: string, durationMs: number, audio: Uint8Array): Promise<{ durationMs: number; contentType: string }> {
    if (this.stopped) throw new SpeechError('stopped', 'the speech service has stopped');
    return this.cache.put({ key: cacheKey, contentType, durationMs, createdAt: this.options.clock.now(), source }, audio);
  }

  /** What the library would make of these bytes (format, length); not_audio when it would refuse them. */
  private async probe(cacheKey: string, bytes: Uint8Array): Promise<Awaited<ReturnType<typeof probeAudioFile>>> {
    const file = path.join(this.cache.dir, `.${cacheKey}.download.tmp`);
    await fsp.writeFile(file, bytes, { mode: 0o600 });
    try {
      return await probeAudioFile(file);
    } catch (error) {
      if (error instanceof UnsupportedMediaError) throw new SpeechError('not_audio', `the URL's answer is not playable audio: ${error.message}`);
      throw error;
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  private addEngine(engine: SpeechEngine): void {
    this.engines.set(engine.name, engine);
  }

  private rendered(cacheKey: string, durationMs: number, contentType: string, cached: boolean): RenderedSpeech {
    const url = this.options.streams.urlFor({ kind: 'speech', key: cacheKey }, { expiresInSeconds: this.maxAgeMs() / 1000 });
    return { url, durationMs, contentType, cacheKey, cached };
  }

  private maxAgeMs(): number {
    return this.options.settings.cacheMaxAgeDays * DAY_MS;
  }

  private unknownEngineMessage(name: string): string {
    return `there is no speech engine "${name}"; the engines are ${this.engineNames.join(', ')}`;
  }
}

/** The cache key: a hash of everything that changes the audio. */
function keyOf(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
}
