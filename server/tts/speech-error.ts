/** What went wrong, for callers to report (announcement_failed reasons, REST errors). */
export type SpeechErrorCode =
  | 'empty_text'
  | 'text_too_long'
  | 'unknown_engine'
  | 'unknown_voice'
  | 'engine_unavailable'
  | 'engine_failed'
  | 'bad_url'
  | 'fetch_failed'
  | 'not_audio'
  | 'too_large'
  | 'timeout'
  | 'stopped';

/** A render or fetch that did not give audio; `code` says why (one of SpeechErrorCode). */
export class SpeechError extends Error {
  constructor(
    readonly code: SpeechErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'SpeechError';
  }
}
