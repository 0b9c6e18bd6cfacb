import { expect } from 'chai';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { YotoNetworkError } from '../../server/yoto/rest/errors';
import { YotoRestClient } from '../../server/yoto/rest/rest-client';

const auth = { getAccessToken: async () => 'token' };

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('Yoto REST client: broken connections and shutdown', () => {
  it('tries a GET again after a connection error, but never sends a POST twice', async () => {
    const sent: string[] = [];
    const failingFetch: typeof fetch = async (_input, init) => {
      sent.push(init?.method ?? 'GET');
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNRESET') });
    };
    const waits: number[] = [];
    const client = new YotoRestClient({ baseUrl: 'http://yoto.invalid', auth, fetch: failingFetch, sleep: async (ms) => void waits.push(ms), random: () => 0 });

    const getError = await client.request('GET', '/content/mine').catch((e: unknown) => e);
    expect(getError).to.be.instanceOf(YotoNetworkError);
    expect((getError as Error).message).to.equal('Yoto API GET /content/mine could not be reached: fetch failed');
    expect(sent).to.deep.equal(['GET', 'GET', 'GET', 'GET', 'GET']);
    expect(waits).to.deep.equal([250, 500, 1000, 2000]);

    sent.length = 0;
    const postError = await client.request('POST', '/content', { json: { title: 'x' } }).catch((e: unknown) => e);
    expect(postError).to.be.instanceOf(YotoNetworkError);
    expect(sent, 'a create that may have arrived is not repeated').to.deep.equal(['POST']);
  });

  it('close() ends a pending Retry-After wait at once and leaves no timer behind', async () => {
    const throttled: typeof fetch = async () => new Response('{"error":{"code":"too_many_requests","message":"slow down"}}', { status: 429, headers: { 'retry-after': '30' } });
    const records: LogRecord[] = [];
    let onWait: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (onWait = resolve));
    const logger = createLogger({ level: 'debug', sink: (record) => { records.push(record); if (record.msg === 'Yoto API request will be retried') onWait(); } });
    // Counted once mocha's own timeout timer for this test is running (it starts when the test returns its promise).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const timersBefore = activeTimers();
    const client = new YotoRestClient({ baseUrl: 'http://yoto.invalid', auth, fetch: throttled, logger });

    const pending = client.request('GET', '/device-v2/devices/mine').catch((e: unknown) => e);
    await waiting;
    expect(records[0]).to.include({ level: 'warn', path: '/device-v2/devices/mine', delayMs: 30_000, why: 'HTTP 429' });
    expect(activeTimers()).to.equal(timersBefore + 1);
    client.close();
    const error = await pending;
    expect(error).to.be.instanceOf(YotoNetworkError);
    expect((error as Error).message).to.contain('the client was closed');
    expect(activeTimers()).to.equal(timersBefore);
  });
});
