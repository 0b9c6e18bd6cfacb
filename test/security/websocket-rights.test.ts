import { expect } from 'chai';
import { playerMessage } from '../helpers/player-message';
import type { Hub } from '../../server/hub';
import { WS_CLOSE } from '../../server/realtime';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, KIDS, onboardAdmin, type SignIn } from '../hub/api-world';
import { playerEvents, refusedUpgrade, TestClient } from '../realtime/realtime-rig';

const LIVING = 'vliving0room0yoto0player';

interface Session extends SignIn {
  refreshToken: string;
}

/**
 * Rights on /ws of the real hub (issue 13, items 2, 3 and 11): a socket gets
 * nothing more once its user is demoted, disabled, deleted or signed out, or
 * once its sign-in is revoked for refresh-token reuse; refused upgrades never
 * become sockets; frames larger than the protocol needs close the socket.
 */
describe('WebSocket rights on the real hub', function () {
  let hub: Hub | undefined;
  let admin: Session;
  const opened: TestClient[] = [];

  before(async () => {
    hub = await startTestHub();
    admin = (await onboardAdmin(hub)) as Session;
  });
  after(async () => {
    for (const client of opened) client.ws.terminate();
    await stopTestHub(hub);
  });

  const wsUrl = (): string => `${hub!.url.replace('http', 'ws')}/ws`;
  const open = async (token: string): Promise<TestClient> => {
    const client = await TestClient.connect(wsUrl(), token, 'protocol');
    opened.push(client);
    return client;
  };
  const invite = async (email: string, role: 'admin' | 'member' = 'member'): Promise<Session> => {
    const invitation = await call(hub!, 'POST', '/api/auth/invitations', admin.accessToken, { email, role });
    expect(invitation.status, invitation.text).to.equal(201);
    const registered = await call(hub!, 'POST', '/api/auth/register', undefined, { invitationToken: (invitation.json as { invitationToken: string }).invitationToken, name: email, password: 'another long secret' });
    expect(registered.status, registered.text).to.equal(201);
    return registered.json as Session;
  };
  /** A playback change on a player, as its MQTT report would make it. */
  let volume = 20;
  const changePlayback = (deviceId: string): void => {
    volume = volume === 20 ? 40 : 20;
    hub!.devices.ingest(playerMessage(deviceId, 'events', playerEvents({ volume, volumeMax: 100, cardId: 'none', playbackStatus: 'stopped' })));
  };
  const deviceMessagesSince = (client: TestClient, mark: number): string[] =>
    client.since(mark).filter((m) => m.type.startsWith('device.')).map((m) => `${m.type} ${'deviceId' in m ? m.deviceId : ''}`);

  it('refuses an anonymous or forged upgrade with HTTP 401 before any socket exists', async () => {
    const before = hub!.realtime.stats().rejectedUnauthorized;
    for (const token of [undefined, 'forged', `${admin.accessToken}x`]) {
      const answer = await refusedUpgrade(wsUrl(), token);
      expect(answer.status).to.equal(401);
      expect(JSON.parse(answer.body)).to.have.nested.property('error.code', 'unauthorized');
    }
    expect(hub!.realtime.stats().rejectedUnauthorized - before).to.equal(3);
    expect(hub!.realtime.stats().clients).to.equal(0);
  });

  it('a demoted admin stops receiving the players that are not theirs at once, while other admins still get them', async () => {
    const other = await invite('second-admin@example.org', 'admin');
    const watcher = await open(admin.accessToken);
    const demoted = await open(other.accessToken);
    await watcher.subscribe('device.*');
    const first = await demoted.subscribe('device.*');
    expect(first.some((m) => m.type === 'device.status' && m.deviceId === LIVING), 'an admin sees every player').to.equal(true);

    const patched = await call(hub!, 'PATCH', `/api/auth/users/${other.user.id}`, admin.accessToken, { role: 'member' });
    expect(patched.status, patched.text).to.equal(200);
    const mark = demoted.mark;
    const watcherMark = watcher.mark;
    changePlayback(LIVING);
    hub!.realtime.flush();
    await watcher.next('device.playback', (m) => m.deviceId === LIVING, watcherMark);
    await demoted.barrier();
    expect(deviceMessagesSince(demoted, mark), 'what the demoted user got after the change').to.deep.equal([]);
    // A new subscription shows only what a member may see: nothing, as they own no player.
    const again = await demoted.subscribe('device.*');
    expect(again.filter((m) => m.type.startsWith('device.'))).to.deep.equal([]);
  });

  for (const [what, act] of [
    ['disabled', (s: Session) => call(hub!, 'PATCH', `/api/auth/users/${s.user.id}`, admin.accessToken, { disabled: true })],
    ['deleted', (s: Session) => call(hub!, 'DELETE', `/api/auth/users/${s.user.id}`, admin.accessToken)],
    ['signed out', (s: Session) => call(hub!, 'POST', '/api/auth/logout', undefined, { refreshToken: s.refreshToken })],
  ] as const) {
    it(`closes the socket of a user who is ${what} with 4401 at once, and refuses their access token on REST and /ws`, async () => {
      const member = await invite(`${what.replace(' ', '-')}@example.org`);
      expect((await call(hub!, 'POST', '/api/devices', member.accessToken, { deviceId: KIDS, name: 'Kids' })).status).to.be.oneOf([201, 409]);
      const socket = await open(member.accessToken);
      await socket.subscribe('device.*');
      const answer = await act(member);
      expect(answer.status, answer.text).to.be.within(200, 299);
      const closed = await socket.closed;
      expect(closed.code).to.equal(WS_CLOSE.unauthorized);
      expect((await call(hub!, 'GET', '/api/audio', member.accessToken)).status).to.equal(401);
      expect((await refusedUpgrade(wsUrl(), member.accessToken)).status).to.equal(401);
      // The player goes back to nobody for the next case.
      await call(hub!, 'DELETE', `/api/devices/${KIDS}`, admin.accessToken);
    });
  }

  it('revokes the live access token of a sign-in whose spent refresh token is replayed (REST and /ws)', async () => {
    const member = await invite('replayed@example.org');
    const refreshed = await call(hub!, 'POST', '/api/auth/refresh', undefined, { refreshToken: member.refreshToken });
    expect(refreshed.status, refreshed.text).to.equal(200);
    const fresh = refreshed.json as Session;
    const socket = await open(fresh.accessToken);
    await socket.barrier();
    expect((await call(hub!, 'GET', '/api/auth/me', fresh.accessToken)).status).to.equal(200);

    const replay = await call(hub!, 'POST', '/api/auth/refresh', undefined, { refreshToken: member.refreshToken });
    expect(replay.status).to.equal(401);
    expect((await socket.closed).code).to.equal(WS_CLOSE.unauthorized);
    for (const token of [fresh.accessToken, member.accessToken]) expect((await call(hub!, 'GET', '/api/auth/me', token)).status).to.equal(401);
  });

  it('refuses the access token sent along with a logout, even for a sign-in the logout does not end', async () => {
    const member = await invite('logout-bearer@example.org');
    const second = (await call(hub!, 'POST', '/api/auth/login', undefined, { email: 'logout-bearer@example.org', password: 'another long secret' })).json as Session;
    const response = await fetch(`${hub!.url}/api/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${second.accessToken}` },
      body: JSON.stringify({ refreshToken: member.refreshToken }),
    });
    expect(response.status).to.equal(204);
    expect((await call(hub!, 'GET', '/api/auth/me', second.accessToken)).status).to.equal(401);
    expect((await call(hub!, 'POST', '/api/auth/refresh', undefined, { refreshToken: second.refreshToken })).status, 'the other sign-in itself lives on').to.equal(200);
  });

  it('refuses the 21st live connection of one user with 429', async () => {
    const member = await invite('many-tabs@example.org');
    const sockets: TestClient[] = [];
    for (let i = 0; i < 20; i++) sockets.push(await open(member.accessToken));
    for (const socket of sockets) await socket.barrier();
    const refused = await refusedUpgrade(wsUrl(), member.accessToken);
    expect(refused.status).to.equal(429);
    expect(JSON.parse(refused.body)).to.have.nested.property('error.code', 'too_many_connections');
    for (const socket of sockets) socket.ws.terminate();
  });

  it('closes a socket that sends a frame larger than the protocol needs (1009) without buffering it', async () => {
    const socket = await open(admin.accessToken);
    await socket.barrier();
    socket.ws.send(Buffer.alloc(1024 * 1024, 0x20));
    const closed = await socket.closed;
    expect(closed.code).to.equal(1009);
    // A frame over the gateway's 4 KiB but under the limit is refused with an error, the socket stays.
    const polite = await open(admin.accessToken);
    const mark = polite.mark;
    polite.send({ type: 'subscribe', topic: 'device.*', padding: 'x'.repeat(8000) });
    expect((await polite.next('error', () => true, mark)).error.code).to.equal('message_too_large');
    await polite.barrier();
  });
});

