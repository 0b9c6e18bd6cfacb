import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Logger } from '../log/logger';
import type { StreamScope, StreamService } from '../streams';
import type { Clock, ClockTimer } from '../time/clock';
import { AudioWorker } from './audio-worker-client';
import { EspeakEngine, type SpeechEngine } from './engines';
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
    const text = typeof request.text === 'string' ? request.text.trim().replace(/\s+/g, ' ') : '';
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
    const hit = this.cache.use(cacheKey, this.options.clock.now());
    if (hit) return this.rendered(cacheKey, hit.durationMs, hit.contentType, true);
    const shared = this.inFlight.get(cacheKey);
    if (shared) return shared;
    const work = (async (): Promise<RenderedSpeech> => {
      const started = Date.now();
      const audio = await engine.render({ text, voice, language });
      if (this.stopped) throw new SpeechError('stopped', 'the speech service has stopped');
      const entry = await this.cache.put({ key: cacheKey, contentType: 'audio/mpeg', durationMs: audio.durationMs, createdAt: this.options.clock.now(), source: engineName }, audio.mp3);
      this.logger.debug('rendered speech', { engine: engineName, voice, language, characters: text.length, durationMs: entry.durationMs, renderMs: Date.now() - started });
      return this.rendered(cacheKey, entry.durationMs, entry.contentType, false);
    })();
    this.inFlight.set(cacheKey, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(cacheKey);
    }
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
    const under = [...this.inFlight.values()];
    await this.worker.stop();
    await Promise.allSettled([...under, this.cleaning]);
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
