// The parts of the eSpeak-NG WebAssembly build (npm @echogarden/espeak-ng-emscripten, no types of its own) the audio worker uses.
declare module '@echogarden/espeak-ng-emscripten' {
  export interface ESpeakNGWorker {
    /** 0 when the voice exists, non-zero otherwise. */
    set_voice(name: string): number;
    get_samplerate(): number;
    /** Synthesises `text` (SSML-aware), calling back with chunks of 16-bit mono PCM (views into wasm memory: copy them). */
    synthesize(text: string, onChunk: (samples: Int16Array | undefined, events: unknown[]) => void): void;
    list_voices(): Array<{ name: string; identifier: string; languages: Array<{ priority: number; name: string }> }>;
  }
  export interface ESpeakNGModule {
    eSpeakNGWorker: new () => ESpeakNGWorker;
  }
  const initialize: () => Promise<ESpeakNGModule>;
  export default initialize;
}
