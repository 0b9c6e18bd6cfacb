/**
 * The messages between the speech service and its audio worker
 * (server/tts/audio-worker.ts): synthesis with eSpeak-NG and MP3 encoding
 * both run there, so a long sentence never holds up the hub's event loop.
 */

/** Speak `text` with the eSpeak-NG voice `voice` (e.g. `en`, `en-gb`, `fr`, `en-us+f3`) and encode it to MP3. */
export interface SpeakJob {
  id: number;
  op: 'speak';
  text: string;
  voice: string;
}

/** Encode 16-bit PCM (interleaved when stereo) to MP3. */
export interface EncodeJob {
  id: number;
  op: 'encode';
  pcm: Int16Array;
  sampleRate: number;
  channels: 1 | 2;
}

export type AudioJob = SpeakJob | EncodeJob;

export interface EncodedAudio {
  id: number;
  ok: true;
  mp3: Uint8Array;
  /** Length of the audio in milliseconds, from the PCM sample count. */
  durationMs: number;
}

export interface AudioJobFailure {
  id: number;
  ok: false;
  /** A SpeechError code: `unknown_voice`, `engine_failed`. */
  code: string;
  message: string;
}

export type AudioJobResult = EncodedAudio | AudioJobFailure;

/** MP3 bit rate of rendered speech: plenty for a voice, small files. */
export const SPEECH_KBPS = 64;
