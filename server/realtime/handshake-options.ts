import type { IncomingMessage } from 'node:http';
import type { Validator } from '../validation';

/**
 * What a client may ask for in the upgrade URL instead of in its first messages, so the hub
 * sends the first picture as soon as the socket is open (no round trip through the client's
 * `open` handler): `/ws?batch=true&subscribe=device.*`.
 *
 * - `batch=true|false` (also `1|0`): as `{"type":"options","batch":...}`;
 * - `subscribe=<topic>`, repeatable: as `{"type":"subscribe","topic":<topic>}` for each, in order.
 *
 * Each is checked against ws-client-message like the message it stands for. Other parameters
 * (`access_token`, a cache buster) are ignored.
 */
export interface HandshakeOptions {
  batch?: boolean;
  topics: string[];
}

export type HandshakeParse = { ok: true; options: HandshakeOptions } | { ok: false; message: string };

/** More topics than this in one URL is refused: nobody needs them, and each is a first picture to send. */
export const MAX_HANDSHAKE_TOPICS = 20;

const BATCH_VALUES: Readonly<Record<string, boolean>> = { true: true, '1': true, false: false, '0': false };

export function parseHandshakeOptions(request: IncomingMessage, validator: Validator): HandshakeParse {
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
  const options: HandshakeOptions = { topics: [] };
  const batches = query.getAll('batch');
  if (batches.length > 1) return { ok: false, message: 'batch may be given once' };
  if (batches.length === 1) {
    const batch = BATCH_VALUES[batches[0]!];
    if (batch === undefined) return { ok: false, message: `batch must be true or false (or 1 or 0), not ${JSON.stringify(batches[0])}` };
    options.batch = batch;
  }
  const topics = query.getAll('subscribe');
  if (topics.length > MAX_HANDSHAKE_TOPICS) return { ok: false, message: `at most ${MAX_HANDSHAKE_TOPICS} subscribe parameters; subscribe to device.* for every player` };
  for (const topic of topics) {
    const checked = validator.check('ws-client-message', { type: 'subscribe', topic });
    if (!checked.ok) return { ok: false, message: `subscribe=${JSON.stringify(topic).slice(0, 80)} is not a topic: send device.<id> or device.*` };
    options.topics.push(topic);
  }
  return { ok: true, options };
}
