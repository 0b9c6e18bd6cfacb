import type { AudioWorker } from './audio-worker-client';

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
