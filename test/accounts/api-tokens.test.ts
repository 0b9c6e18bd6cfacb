import { expect } from 'chai';
import WebSocket from 'ws';
import type { Hub } from '../../server/hub';
import { createLogger } from '../../server/log/logger';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, inviteMember, onboardAdmin, type SignIn } from '../hub/api-world';

interface CreatedToken {
  id: string;
  name: string;
  token: string;
  createdAt: string;
}

/** A /ws connection authenticated with `Authorization: Bearer <token>`, subscribed to every player it may see. */
async function subscribedSocket(hub: Hub, token: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: { Authorization: `Bearer ${token}` } });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', topic: 'device.*' })));
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'subscribed') resolve();
    });
  });
  return { ws, closed };
}

async function createToken(hub: Hub, signIn: SignIn, name: string): Promise<CreatedToken> {
  const answer = await call(hub, 'POST', '/api/auth/tokens', signIn.accessToken, { name });
  expect(answer.status, answer.text).to.equal(201);
  return answer.json as CreatedToken;
}

describe('API tokens (REST and WebSocket, Authorization: Bearer)', function () {
  let hub: Hub | undefined;
  let admin: SignIn;
  let member: SignIn;
  const logLines: string[] = [];

  before(async () => {
    hub = await startTestHub({}, { logger: createLogger({ level: 'debug', sink: (line) => logLines.push(JSON.stringify(line)) }) });
    admin = await onboardAdmin(hub);
    member = await inviteMember(hub, admin, 'member@example.org', 'Member');
  });
  after(async () => stopTestHub(hub));

  it('is shown once at creation, listed by name only, and signs REST and /ws requests in as its user', async () => {
    const created = await createToken(hub!, admin, 'home automation');
    expect(created.token).to.match(/^yhub_/);
    expect(created.name).to.equal('home automation');

    const listed = await call(hub!, 'GET', '/api/auth/tokens', admin.accessToken);
    expect(listed.status).to.equal(200);
    expect((listed.json as { tokens: Array<{ id: string; name: string }> }).tokens.map((t) => [t.id, t.name])).to.deep.include([created.id, 'home automation']);
    expect(listed.text, 'the token itself is never shown again').to.not.include(created.token);
    // Only its SHA-256 is stored.
    expect(JSON.stringify(hub!.store.collection('sessions').list())).to.not.include(created.token);

    const me = await call(hub!, 'GET', '/api/auth/me', created.token);
    expect(me.status, me.text).to.equal(200);
    expect((me.json as { email: string }).email).to.equal('admin@example.org');
    expect((await call(hub!, 'GET', '/api/auth/users', created.token)).status, 'an admin\'s token has admin rights').to.equal(200);
    const devices = await call(hub!, 'GET', '/api/devices', created.token);
    expect(devices.status).to.equal(200);

    const { ws, closed } = await subscribedSocket(hub!, created.token);
    ws.close();
    await closed;
  });

  it('cannot create another token, nor be taken for a refresh token', async () => {
    const created = await createToken(hub!, admin, 'script');
    const minted = await call(hub!, 'POST', '/api/auth/tokens', created.token, { name: 'successor' });
    expect(minted.status, minted.text).to.equal(403);
    expect((minted.json as { error: { code: string } }).error.code).to.equal('api_token_not_allowed');
    const refreshed = await call(hub!, 'POST', '/api/auth/refresh', undefined, { refreshToken: created.token });
    expect(refreshed.status).to.equal(401);
    // Still valid: trying it as a refresh token revoked nothing.
    expect((await call(hub!, 'GET', '/api/auth/me', created.token)).status).to.equal(200);
  });

  it('refuses a made-up or altered token, and a name that is missing', async () => {
    const created = await createToken(hub!, admin, 'to alter');
    const altered = created.token.slice(0, -2) + (created.token.endsWith('AA') ? 'BB' : 'AA');
    for (const token of [altered, `yhub_${created.id}_x`, 'yhub_nothing', 'yhub_']) {
      const answer = await call(hub!, 'GET', '/api/auth/me', token);
      expect(answer.status, token).to.equal(401);
      expect((answer.json as { error: { message: string } }).error.message).to.match(/API token is not valid/);
    }
    expect((await call(hub!, 'POST', '/api/auth/tokens', admin.accessToken, {})).status).to.equal(400);
    expect((await call(hub!, 'POST', '/api/auth/tokens', undefined, { name: 'anonymous' })).status).to.equal(401);
  });

  it('revoked, stops at once on REST and closes its open WebSocket with 4401', async () => {
    const created = await createToken(hub!, member, 'kitchen tablet');
    const { closed } = await subscribedSocket(hub!, created.token);
    // Another member's token is not found for this member; the admin may revoke it.
    const other = await inviteMember(hub!, admin, 'other@example.org', 'Other');
    expect((await call(hub!, 'DELETE', `/api/auth/tokens/${created.id}`, other.accessToken)).status).to.equal(404);
    expect((await call(hub!, 'GET', '/api/auth/me', created.token)).status).to.equal(200);

    const revoked = await call(hub!, 'DELETE', `/api/auth/tokens/${created.id}`, member.accessToken);
    expect(revoked.status, revoked.text).to.equal(204);
    expect((await closed).code).to.equal(4401);
    expect((await call(hub!, 'GET', '/api/auth/me', created.token)).status).to.equal(401);
    expect((await call(hub!, 'GET', '/api/auth/tokens', member.accessToken)).text).to.not.include(created.id);
    // A new connection with it is refused at the upgrade.
    const refused = new WebSocket(`${hub!.url.replace(/^http/, 'ws')}/ws`, { headers: { Authorization: `Bearer ${created.token}` } });
    const status = await new Promise<number | undefined>((resolve) => {
      refused.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode);
        res.resume();
      });
      refused.once('error', () => resolve(undefined));
    });
    expect(status).to.equal(401);
  });

  it('carries its user\'s rights as they are now: promoted, demoted, deleted', async () => {
    const user = await inviteMember(hub!, admin, 'changing@example.org', 'Changing');
    const created = await createToken(hub!, user, 'rights');
    expect((await call(hub!, 'GET', '/api/auth/users', created.token)).status, 'a member\'s token').to.equal(403);

    expect((await call(hub!, 'PATCH', `/api/auth/users/${user.user.id}`, admin.accessToken, { role: 'admin' })).status).to.equal(200);
    expect((await call(hub!, 'GET', '/api/auth/users', created.token)).status, 'promoted').to.equal(200);
    expect((await call(hub!, 'PATCH', `/api/auth/users/${user.user.id}`, admin.accessToken, { role: 'member' })).status).to.equal(200);
    expect((await call(hub!, 'GET', '/api/auth/users', created.token)).status, 'demoted: at once').to.equal(403);

    const { closed } = await subscribedSocket(hub!, created.token);
    expect((await call(hub!, 'DELETE', `/api/auth/users/${user.user.id}`, admin.accessToken)).status).to.equal(204);
    expect((await closed).code, 'deleting the user closes the token\'s socket').to.equal(4401);
    expect((await call(hub!, 'GET', '/api/auth/me', created.token)).status).to.equal(401);
  });

  it('a disabled user\'s token stops working', async () => {
    const user = await inviteMember(hub!, admin, 'disabled@example.org', 'Disabled');
    const created = await createToken(hub!, user, 'soon disabled');
    expect((await call(hub!, 'PATCH', `/api/auth/users/${user.user.id}`, admin.accessToken, { disabled: true })).status).to.equal(200);
    expect((await call(hub!, 'GET', '/api/auth/me', created.token)).status).to.equal(401);
  });

  it('never writes a token to the log', async () => {
    const created = await createToken(hub!, admin, 'logged?');
    await call(hub!, 'GET', '/api/auth/me', created.token);
    await call(hub!, 'DELETE', `/api/auth/tokens/${created.id}`, admin.accessToken);
    await call(hub!, 'GET', '/api/auth/me', created.token);
    expect(logLines.join('\n')).to.include('API token created');
    // yhub_<record id>_<43 random characters>: the random part may itself hold '_', so it is taken by length.
    const secret = created.token.slice(-43);
    expect(created.token).to.equal(`yhub_${created.token.slice(5, -44)}_${secret}`);
    expect(logLines.join('\n')).to.not.include(secret);
  });

  it('rate limits token creation per user like sign-in (429 rate_limited), apart from other users', async () => {
    let answer = await call(hub!, 'POST', '/api/auth/tokens', admin.accessToken, { name: 'one more' });
    for (let attempt = 0; answer.status === 201 && attempt < 20; attempt++) answer = await call(hub!, 'POST', '/api/auth/tokens', admin.accessToken, { name: 'one more' });
    expect(answer.status, answer.text).to.equal(429);
    expect((answer.json as { error: { code: string } }).error.code).to.equal('rate_limited');
    expect((answer.json as { error: { message: string } }).error.message).to.match(/too many API token attempts from this user/);
    expect((await call(hub!, 'GET', '/api/auth/tokens', admin.accessToken)).status).to.equal(200);
    // Another user is not held back by the admin's attempts.
    expect((await call(hub!, 'POST', '/api/auth/tokens', member.accessToken, { name: 'mine' })).status).to.equal(201);
  });
});
