import { expect } from 'chai';
import * as sinon from 'sinon';
import type { Hub } from '../../server/hub';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboardAdmin } from '../hub/api-world';

const ADMIN = { email: 'admin@example.org', name: 'Admin', password: 'correct horse battery' };

/** A failed sign-in from `forwardedFor` (as a client or a proxy sends X-Forwarded-For): the answer's status. */
async function failedLogin(hub: Hub, forwardedFor: string): Promise<number> {
  const response = await fetch(`${hub.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ email: ADMIN.email, password: 'wrong password' }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Ten failed sign-ins from ten addresses a client makes up, then one more from another. */
async function guessing(hub: Hub): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt <= 10; attempt++) statuses.push(await failedLogin(hub, `203.0.113.${attempt + 1}`));
  return statuses;
}

/**
 * Sign-in rate limits count a client's address. X-Forwarded-For names it only when the connection
 * comes from a proxy the hub was told to trust (YOTO_TRUSTED_PROXIES): otherwise anyone on the home
 * network could make up a new address for every password guess.
 */
describe('X-Forwarded-For is believed from trusted proxies only (YOTO_TRUSTED_PROXIES)', function () {
  this.timeout(60_000);
  let hub: Hub | undefined;
  afterEach(async () => {
    await stopTestHub(hub);
    hub = undefined;
  });

  it('by default a client cannot escape the sign-in limit by making up addresses', async () => {
    hub = await startTestHub();
    await onboardAdmin(hub, ADMIN);
    const statuses = await guessing(hub);
    expect(statuses.slice(0, 10).every((status) => status === 401), statuses.join(' ')).to.equal(true);
    expect(statuses[10]).to.equal(429);
  });

  it('says once in the hub\'s log that it ignored X-Forwarded-For, and what to set; nothing goes to the console', async () => {
    const records: LogRecord[] = [];
    hub = await startTestHub({}, { logger: createLogger({ level: 'warn', sink: (record) => records.push(record) }) });
    await onboardAdmin(hub, ADMIN);
    const consoleError = sinon.spy(console, 'error');
    try {
      await guessing(hub);
    } finally {
      consoleError.restore();
    }
    // express-rate-limit's own check printed a ValidationError's stack to the console, outside the hub's log.
    expect(consoleError.callCount).to.equal(0);
    const said = records.filter((record) => record.msg.includes('X-Forwarded-For'));
    expect(said).to.have.length(1);
    expect(said[0]).to.include({ level: 'warn' });
    expect(said[0]!.msg).to.include('YOTO_TRUSTED_PROXIES');
    expect(said[0]).to.have.property('peer').that.matches(/127\.0\.0\.1|::1/);
  });

  it('behind a trusted proxy each forwarded client has its own limit', async () => {
    const records: LogRecord[] = [];
    hub = await startTestHub({ trustedProxies: 'loopback' }, { logger: createLogger({ level: 'warn', sink: (record) => records.push(record) }) });
    expect(hub.options.http.trustedProxies).to.deep.equal(['loopback']);
    await onboardAdmin(hub, ADMIN);
    // The proxy (on loopback here) forwards eleven different clients: none is limited.
    expect(await guessing(hub)).to.deep.equal(Array(11).fill(401));
    // One client guessing eleven times is.
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= 10; attempt++) statuses.push(await failedLogin(hub, '198.51.100.7'));
    expect(statuses[10]).to.equal(429);
    expect(await failedLogin(hub, '198.51.100.8')).to.equal(401);
    // From a trusted proxy the header is believed: nothing to say.
    expect(records.filter((record) => record.msg.includes('X-Forwarded-For'))).to.deep.equal([]);
  });

  it('refuses to start with a proxy list Express cannot read', async () => {
    let failure: unknown;
    try {
      hub = await startTestHub({ trustedProxies: 'the-proxy.lan' });
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.match(/trusted proxies must be IP addresses/);
  });
});
