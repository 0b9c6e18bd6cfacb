import { expect } from 'chai';
import { WS_CLOSE } from '../../server/realtime';
import type { RequestUser as RequestUserLike } from '../../server/http/request-user';
import type { WsDevicePlaybackMessage, WsServerMessage } from '../../server/types/schemas';
import { CAPTURED_DEVICE_ID, capturedMessages } from '../core/captured-traffic';
import { removeTempDirs } from '../helpers/temp-dir';
import { eventually, playerEvents, refusedUpgrade, startRig, TestClient, USERS as USERS_FOR_TEST, type Rig } from './realtime-rig';
import { playerMessage } from '../helpers/player-message';

const LIVING = 'livingRoomPlayer';
const KIDS = 'kidsBedroomMini';

describe('realtime gateway at /ws', function () {
  let rig: Rig | undefined;

  after(removeTempDirs);

  afterEach(async () => {
    const clients = rig?.clients ?? [];
    await rig?.stop();
    rig = undefined;
    for (const client of clients) expect(client.invalid, 'server messages not matching ws-server-message').to.deep.equal([]);
  });

  async function start(options: Parameters<typeof startRig>[0] = {}): Promise<Rig> {
    rig = await startRig(options);
    rig.registry.upsertDevices([
      { deviceId: LIVING, name: 'Living Room', online: true, deviceType: 'v3', deviceFamily: 'v3' },
      { deviceId: KIDS, name: 'Kids Bedroom', online: true, deviceType: 'mini', deviceFamily: 'mini' },
    ]);
    // What a player reports when it comes online with no card in (as in the captured traffic).
    for (const deviceId of [LIVING, KIDS]) ingest(deviceId, { cardId: 'none', playbackStatus: 'stopped' });
    return rig;
  }

  function ingest(deviceId: string, fields: Record<string, unknown>): void {
    rig!.registry.ingest(playerMessage(deviceId, 'events', playerEvents(fields), new Date(rig!.clock.now())));
  }

  describe('authentication', () => {
    it('accepts the access token as subprotocol "bearer, <token>" (browsers), as ?access_token= and as an Authorization header', async () => {
      const { connect } = await start();
      const browser = await connect('token-admin', 'protocol');
      expect(browser.ws.protocol).to.equal('bearer');
      const query = await connect('token-alice', 'query');
      const header = await connect('token-bob', 'header');
      for (const client of [browser, query, header]) await client.barrier();
      expect(rig!.gateway.stats().clients).to.equal(3);
    });

    it('refuses an upgrade without a token or with an invalid one with HTTP 401 and the error shape, before accepting it', async () => {
      const { refused, gateway, url } = await start();
      for (const answer of [await refused(undefined), await refused('not-a-token'), await refusedUpgrade(`${url}?access_token=not-a-token`, undefined)]) {
        expect(answer.status).to.equal(401);
        expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).to.equal('unauthorized');
      }
      expect(gateway.stats()).to.include({ clients: 0, rejectedUnauthorized: 3 });
    });

    it('closes with 4401 a connection accepted without the upgrade check (a server that has no gate)', async () => {
      const { gateway, hub } = await start();
      hub.gateUpgrades(() => ({ ok: true }));
      const anonymous = await rig!.connect(undefined);
      const closed = await anonymous.closed;
      expect(closed.code).to.equal(WS_CLOSE.unauthorized);
      expect(closed.reason).to.match(/unauthorized/);
      expect(gateway.stats()).to.include({ clients: 0, rejectedUnauthorized: 1 });
    });
  });

  describe('token expiry, renewal and connection limits', () => {
    /** Tokens of the rig that expire: alice's first token in 60 s, her renewal in 10 min. */
    const start0 = Date.UTC(2026, 0, 10, 8, 0, 0);
    const expiries: Record<string, number> = { 'token-alice': start0 + 60_000, 'token-alice-2': start0 + 600_000 };
    const users = { 'token-alice-2': { id: 'u-alice', email: 'alice@example.com', role: 'member' as const } };

    it('closes a socket with 4401 when its access token expires, and nothing is sent after', async () => {
      const { connect, clock, gateway } = await start({ tokenExpiresAt: (token) => expiries[token] });
      const alice = await connect('token-alice');
      await alice.subscribe('device.*');
      await clock.advance(59_999);
      await alice.barrier();
      await clock.advance(1);
      const closed = await alice.closed;
      expect(closed.code).to.equal(WS_CLOSE.unauthorized);
      expect(closed.reason).to.match(/expired/);
      expect(gateway.stats().clients).to.equal(0);
    });

    it('keeps a socket that renews its token over the socket, until the new token expires; a token of another user is refused', async () => {
      const { connect, clock, gateway } = await start({
        tokenExpiresAt: (token) => expiries[token],
        authenticate: (token) => ({ ...USERS_FOR_TEST, ...users })[token],
      });
      const alice = await connect('token-alice');
      let mark = alice.mark;
      alice.send({ type: 'renew', accessToken: 'token-bob' });
      expect((await alice.next('error', () => true, mark)).error.code).to.equal('invalid_token');
      mark = alice.mark;
      alice.send({ type: 'renew', accessToken: 'token-alice-2' });
      expect((await alice.next('renewed', () => true, mark)).expiresAt).to.equal(new Date(expiries['token-alice-2']!).toISOString());
      await clock.advance(120_000);
      await alice.barrier();
      expect(gateway.stats()).to.include({ clients: 1, renewed: 1 });
      await clock.advance(480_000);
      expect((await alice.closed).code).to.equal(WS_CLOSE.unauthorized);
    });

    it('re-checks every socket on recheck(): one whose token no longer passes is closed, the others take the current role', async () => {
      const current: Record<string, RequestUserLike | undefined> = { ...USERS_FOR_TEST };
      const { connect, gateway } = await start({ authenticate: (token) => current[token] });
      const admin = await connect('token-admin');
      const alice = await connect('token-alice');
      await admin.subscribe('device.*');
      current['token-admin'] = { id: 'u-admin', email: 'admin@example.com', role: 'member' };
      current['token-alice'] = undefined;
      gateway.recheck();
      expect((await alice.closed).code).to.equal(WS_CLOSE.unauthorized);
      const mark = admin.mark;
      ingest(LIVING, { cardId: 'none', playbackStatus: 'playing', volume: 7 });
      gateway.flush();
      await admin.barrier();
      expect(admin.since(mark).filter((m) => m.type.startsWith('device.'))).to.deep.equal([]);
    });

    it('refuses an upgrade over the per-address limit with 429', async () => {
      const { connect, refused, gateway } = await start({ maxConnectionsPerAddress: 2 });
      await connect('token-admin');
      await connect('token-bob');
      const answer = await refused('token-alice');
      expect(answer.status).to.equal(429);
      expect(gateway.stats().rejectedOverLimit).to.equal(1);
    });
  });

  describe('subscriptions', () => {
    it('sends the current status and playback of every player on subscribe to device.*, then device.playback when a player starts playing', async () => {
      const { connect } = await start();
      const admin = await connect('token-admin');
      const first = await admin.subscribe('device.*');
      expect(first.map((m) => `${m.type} ${'deviceId' in m ? m.deviceId : ''}`.trim())).to.have.members([
        `device.status ${LIVING}`,
        `device.playback ${LIVING}`,
        `device.status ${KIDS}`,
        `device.playback ${KIDS}`,
        'subscribed',
      ]);
      expect(first.at(-1)).to.deep.equal({ type: 'subscribed', topic: 'device.*' });
      const idle = first.find((m): m is WsDevicePlaybackMessage => m.type === 'device.playback' && m.deviceId === KIDS);
      expect(idle?.data.state).to.equal('idle');

      await rig!.clock.advance(250); // quiet for the coalescing time: the next playback change goes out at once
      const mark = admin.mark;
      ingest(KIDS, { cardId: 'abc12', playbackStatus: 'playing', chapterKey: '01', trackKey: '01', trackTitle: 'The cave', position: 0, trackLength: 600 });
      const playing = await admin.next('device.playback', (m) => m.deviceId === KIDS, mark);
      expect(playing.data).to.include({ state: 'playing', card_id: 'abc12', title: 'The cave', position: 0, duration: 600 });
      const started = await admin.next('device.event', (m) => m.deviceId === KIDS && m.event.type === 'playback_started', mark);
      expect(started.event).to.include({ device_id: KIDS });
    });

    it('follows a real player from the captured traffic: its status and volume changes reach the subscriber', async () => {
      const { connect, registry } = await start();
      const admin = await connect('token-admin');
      await admin.subscribe('device.*');
      const mark = admin.mark;
      for (const message of capturedMessages()) {
        registry.ingest(playerMessage(message.deviceId, message.kind, message.payload, new Date(message.receivedAt ?? '2025-12-23T20:05:07.000Z')));
      }
      const status = await admin.next('device.status', (m) => m.deviceId === CAPTURED_DEVICE_ID, mark);
      expect(status.data).to.include({ online: true });
      const volumeEvents = await admin.next('device.event', (m) => m.deviceId === CAPTURED_DEVICE_ID && m.event.type === 'volume_changed', mark);
      expect(volumeEvents.event).to.have.property('timestamp');
    });

    it('sends device.<id> subscribers only that player', async () => {
      const { connect } = await start();
      const admin = await connect('token-admin');
      const first = await admin.subscribe(`device.${LIVING}`);
      expect(first.filter((m) => 'deviceId' in m).map((m) => ('deviceId' in m ? m.deviceId : ''))).to.deep.equal([LIVING, LIVING]);

      await rig!.clock.advance(250);
      const mark = admin.mark;
      ingest(KIDS, { cardId: 'kids1', playbackStatus: 'playing' });
      ingest(LIVING, { cardId: 'living1', playbackStatus: 'playing' });
      await admin.next('device.playback', (m) => m.data.state === 'playing', mark);
      await admin.barrier();
      const devices = new Set(admin.since(mark).flatMap((m) => ('deviceId' in m ? [m.deviceId] : [])));
      expect([...devices]).to.deep.equal([LIVING]);

      const afterUnsubscribe = admin.mark;
      admin.send({ type: 'unsubscribe', topic: `device.${LIVING}` });
      await admin.next('unsubscribed', () => true, afterUnsubscribe);
      ingest(LIVING, { cardId: 'living1', playbackStatus: 'paused' });
      await admin.barrier();
      expect(admin.since(afterUnsubscribe).map((m) => m.type)).to.deep.equal(['unsubscribed', 'pong']);
    });

    it('never shows a user a player they may not see, even when asked for it by id', async () => {
      const { connect } = await start();
      const alice = await connect('token-alice');
      const first = await alice.subscribe('device.*');
      expect(first.filter((m) => 'deviceId' in m && m.deviceId === KIDS)).to.deep.equal([]);
      expect(first.filter((m) => 'deviceId' in m && m.deviceId === LIVING)).to.have.length(2);
      expect(await alice.subscribe(`device.${KIDS}`)).to.deep.equal([{ type: 'subscribed', topic: `device.${KIDS}` }]);

      await rig!.clock.advance(250);
      const mark = alice.mark;
      ingest(KIDS, { cardId: 'kids1', playbackStatus: 'playing' });
      ingest(LIVING, { cardId: 'living1', playbackStatus: 'playing' });
      await alice.next('device.playback', (m) => m.deviceId === LIVING && m.data.state === 'playing', mark);
      await alice.barrier();
      expect(alice.since(mark).filter((m) => 'deviceId' in m && m.deviceId === KIDS)).to.deep.equal([]);
    });

    it('tells subscribers when a player is removed', async () => {
      const { connect, registry } = await start();
      const admin = await connect('token-admin');
      await admin.subscribe('device.*');
      const mark = admin.mark;
      registry.removeDevice(KIDS);
      expect(await admin.next('device.removed', () => true, mark)).to.deep.equal({ type: 'device.removed', deviceId: KIDS });
    });
  });

  describe('options in the upgrade URL', () => {
    /** A client whose upgrade URL carries `query`, authenticated like a browser (bearer subprotocol). */
    async function connectWith(query: string, token = 'token-admin'): Promise<TestClient> {
      const client = await TestClient.connect(`${rig!.url}?${query}`, token, 'protocol');
      rig!.clients.push(client);
      return client;
    }

    it('sends the first picture of ?batch=true&subscribe=device.* without any message from the client, batched, then follows the players', async () => {
      await start();
      ingest(KIDS, { volume: 0 });
      const admin = await connectWith('batch=true&subscribe=device.*');
      expect(admin.ws.protocol, 'the token is not echoed').to.equal('bearer');
      const subscribed = await admin.next('subscribed');
      expect(subscribed.topic).to.equal('device.*');
      expect(admin.received.map((m) => `${m.type} ${'deviceId' in m ? m.deviceId : ''}`.trim())).to.have.members([
        `device.status ${LIVING}`,
        `device.playback ${LIVING}`,
        `device.status ${KIDS}`,
        `device.playback ${KIDS}`,
        'subscribed',
      ]);
      expect(admin.frames, 'one frame: an array of the whole first picture').to.deep.equal(['batch']);

      const mark = admin.mark;
      ingest(KIDS, { volume: 7 });
      await admin.next('device.event', (m) => m.deviceId === KIDS && m.event.type === 'volume_changed', mark);
      expect(admin.frames.every((frame) => frame === 'batch')).to.equal(true);
      // The message form still works on top: a second subscribe is answered as before.
      const again = await admin.subscribe(`device.${LIVING}`);
      expect(again.at(-1)).to.deep.equal({ type: 'subscribed', topic: `device.${LIVING}` });
    });

    it('subscribes to each subscribe= topic in order, without batches unless asked, and never shows a member another user\'s player', async () => {
      await start();
      for (const deviceId of [LIVING, KIDS]) ingest(deviceId, { volume: 0 });
      const alice = await connectWith(`subscribe=device.${KIDS}&subscribe=device.${LIVING}`, 'token-alice');
      await alice.next('subscribed', (m) => m.topic === `device.${LIVING}`);
      expect(alice.frames.every((frame) => frame === 'message'), 'one message per frame without batch=true').to.equal(true);
      expect(alice.received.map((m) => `${m.type} ${'deviceId' in m ? m.deviceId : ''}${m.type === 'subscribed' ? m.topic : ''}`.trim())).to.deep.equal([
        `subscribed device.${KIDS}`,
        `device.status ${LIVING}`,
        `device.playback ${LIVING}`,
        `subscribed device.${LIVING}`,
      ]);
      const mark = alice.mark;
      ingest(KIDS, { volume: 3 });
      ingest(LIVING, { volume: 4 });
      await alice.next('device.event', (m) => m.deviceId === LIVING && m.event.type === 'volume_changed', mark);
      expect(alice.since(mark).filter((m) => 'deviceId' in m && m.deviceId === KIDS)).to.deep.equal([]);
    });

    it('refuses bad options with HTTP 400 invalid_query and the error shape, before accepting the socket; the hub keeps serving', async () => {
      const { gateway, url } = await start();
      const topics = Array.from({ length: 21 }, (_, i) => `subscribe=device.p${i}`).join('&');
      const bad = ['batch=maybe', 'batch=true&batch=false', 'subscribe=devices', 'subscribe=device.', `subscribe=${encodeURIComponent('device.a/b')}`, 'subscribe=', `subscribe=${'x'.repeat(3000)}`, topics];
      for (const query of bad) {
        const answer = await refusedUpgrade(`${url}?${query}`, 'token-admin');
        expect(answer.status, query.slice(0, 40)).to.equal(400);
        const error = (JSON.parse(answer.body) as { error: { code: string; message: string } }).error;
        expect(error.code).to.equal('invalid_query');
        expect(error.message).to.match(/batch|subscribe/);
      }
      // A bad token is still a 401 whatever the options.
      expect((await refusedUpgrade(`${url}?batch=maybe`, 'not-a-token')).status).to.equal(401);
      expect(gateway.stats()).to.include({ clients: 0 });
      const admin = await connectWith('batch=1&subscribe=device.*&cache=123');
      await admin.next('subscribed');
      expect(gateway.stats().clients).to.equal(1);
    });

    it('closes with 4400 and the reason a connection with bad options accepted without the upgrade check', async () => {
      const { gateway, hub } = await start();
      hub.gateUpgrades(() => ({ ok: true }));
      const client = await connectWith(`subscribe=${encodeURIComponent('device.é'.repeat(40))}`);
      const closed = await client.closed;
      expect(closed.code).to.equal(WS_CLOSE.invalidQuery);
      expect(closed.reason).to.match(/^invalid_query: subscribe=/);
      expect(gateway.stats().clients).to.equal(0);
    });
  });

  describe('client messages', () => {
    it('answers a bad message with an error naming the problem and keeps the connection', async () => {
      const { connect, gateway } = await start();
      const client = await connect('token-admin');
      let mark = client.mark;
      client.send('{"type": "subscribe"');
      const notJson = await client.next('error', () => true, mark);
      expect(notJson.error.code).to.equal('invalid_json');

      mark = client.mark;
      client.send({ type: 'subscribe', topic: 'devices.all' });
      const badTopic = await client.next('error', () => true, mark);
      expect(badTopic.error.code).to.equal('validation_failed');
      expect(badTopic.error.details?.map((d) => d.path)).to.include('/topic');

      mark = client.mark;
      client.send({ type: 'shout' });
      expect((await client.next('error', () => true, mark)).error.message).to.match(/type/);

      mark = client.mark;
      client.send({ type: 'subscribe', topic: 'device.*', extra: 'x'.repeat(5000) });
      expect((await client.next('error', () => true, mark)).error.code).to.equal('message_too_large');

      await client.barrier();
      const first = await client.subscribe('device.*');
      expect(first.filter((m) => m.type === 'device.status')).to.have.length(2);
      expect(gateway.stats().invalidMessages).to.equal(4);
    });

    it('answers ping with pong', async () => {
      const { connect } = await start();
      const client = await connect('token-bob');
      client.send({ type: 'ping' });
      expect(await client.next('pong')).to.deep.equal({ type: 'pong' });
    });
  });

  describe('coalescing', () => {
    it('delivers a burst of 100 position updates as far fewer messages ending with the latest position, and every event', async () => {
      const { connect, clock, gateway } = await start({ coalesceMs: 250 });
      const client = await connect('token-admin');
      ingest(LIVING, { cardId: 'abc12', playbackStatus: 'playing', position: 0, trackLength: 600, volume: 0 });
      await client.subscribe(`device.${LIVING}`);

      const mark = client.mark;
      for (let position = 1; position <= 100; position++) {
        // Every tenth update also turns the volume: a volume_changed event, never coalesced.
        ingest(LIVING, { cardId: 'abc12', playbackStatus: 'playing', position, trackLength: 600, ...(position % 10 === 0 ? { volume: position / 10 } : {}) });
      }
      await clock.advance(250);
      const latest = await client.next('device.playback', (m) => m.data.position === 100, mark);
      await client.barrier();

      const playbacks = client.since(mark).filter((m): m is WsDevicePlaybackMessage => m.type === 'device.playback');
      expect(playbacks.length).to.be.lessThan(10);
      expect(playbacks.at(-1)).to.equal(latest);
      expect(latest.data).to.include({ state: 'playing', position: 100, volume: Math.round((10 / 16) * 100) });
      const volumeEvents = client.since(mark).filter((m) => m.type === 'device.event' && m.event.type === 'volume_changed');
      expect(volumeEvents).to.have.length(10);
      expect(gateway.stats().coalesced).to.be.greaterThan(90);
    });

    it('sends a playback change at once when the player has been quiet for the coalescing time, and flush() sends what is held back', async () => {
      const { connect, clock, gateway } = await start({ coalesceMs: 250 });
      const client = await connect('token-admin');
      await client.subscribe(`device.${LIVING}`);
      await clock.advance(250);

      let mark = client.mark;
      ingest(LIVING, { cardId: 'abc12', playbackStatus: 'playing', position: 5 });
      expect((await client.next('device.playback', () => true, mark)).data).to.include({ state: 'playing', position: 5 });

      mark = client.mark;
      ingest(LIVING, { cardId: 'abc12', playbackStatus: 'paused', position: 6 });
      await client.barrier();
      expect(client.since(mark).filter((m) => m.type === 'device.playback'), 'held back').to.deep.equal([]);
      gateway.flush();
      expect((await client.next('device.playback', () => true, mark)).data).to.include({ state: 'paused', position: 6 });
    });
  });

  describe('batches', () => {
    it('sends a client that asked for batches one array frame per turn: every event, the latest status per player; others still get one message per frame', async () => {
      const { connect, gateway } = await start({ coalesceMs: 250 });
      ingest(LIVING, { volume: 0 });
      ingest(KIDS, { volume: 0 });
      const batched = await connect('token-admin');
      const plain = await connect('token-admin');
      const member = await connect('token-alice');
      batched.batch();
      member.batch();
      const first = await batched.subscribe('device.*');
      expect(batched.frames.every((frame) => frame === 'batch'), 'the first picture comes batched').to.equal(true);
      expect(first.at(-1)).to.deep.equal({ type: 'subscribed', topic: 'device.*' });
      await plain.subscribe('device.*');
      await member.subscribe('device.*');

      const marks = { batched: batched.mark, plain: plain.mark, member: member.mark };
      const framesBefore = batched.frames.length;
      // One turn of the event loop: five volume changes and five battery readings of each player.
      for (let volume = 1; volume <= 5; volume++) {
        for (const deviceId of [LIVING, KIDS]) {
          ingest(deviceId, { volume });
          rig!.registry.ingest(playerMessage(deviceId, 'status', { status: { statusVersion: 18, batteryLevel: 50 + volume } }, new Date(rig!.clock.now())));
        }
      }
      await batched.barrier();
      await plain.barrier();
      await member.barrier();

      const volumeEvents = (messages: WsServerMessage[], deviceId: string): unknown[] =>
        messages.filter((m) => m.type === 'device.event' && m.deviceId === deviceId && m.event.type === 'volume_changed').map((m) => (m.type === 'device.event' ? m.event['volume'] : undefined));
      const statuses = (messages: WsServerMessage[], deviceId: string): WsServerMessage[] => messages.filter((m) => m.type === 'device.status' && m.deviceId === deviceId);
      const got = batched.since(marks.batched);
      expect(volumeEvents(got, LIVING), 'every event').to.have.length(5);
      expect(volumeEvents(got, KIDS), 'every event').to.have.length(5);
      expect(statuses(got, LIVING), 'one status per player, the latest').to.have.length(1);
      expect(statuses(got, KIDS)).to.have.length(1);
      expect(statuses(got, LIVING)[0]).to.have.nested.property('data.battery', 55);
      // The changes and the pong: one frame for the turn's messages, one for the answer.
      expect(batched.frames.length - framesBefore).to.equal(2);
      expect(gateway.stats().superseded).to.be.greaterThan(0);

      const plainGot = plain.since(marks.plain);
      expect(volumeEvents(plainGot, LIVING)).to.have.length(5);
      expect(statuses(plainGot, LIVING), 'without batches every status').to.have.length(5);
      expect(plain.frames.every((frame) => frame === 'message')).to.equal(true);

      const memberGot = member.since(marks.member);
      expect(volumeEvents(memberGot, LIVING), 'a member sees their own player').to.have.length(5);
      expect(memberGot.filter((m) => 'deviceId' in m && m.deviceId === KIDS), 'and never another').to.deep.equal([]);
    });
    it('gives users who see the same players the same frame, and a member still only their own players', async () => {
      const { connect } = await start({ visibilityKey: (user) => (user.role === 'admin' ? 'every player' : `member ${user.id}`) });
      ingest(LIVING, { volume: 0 });
      ingest(KIDS, { volume: 0 });
      const admin = await connect('token-admin');
      const otherAdmin = await connect('token-admin2');
      const member = await connect('token-alice');
      for (const client of [admin, otherAdmin, member]) {
        client.batch();
        await client.subscribe('device.*');
      }
      const marks = { admin: admin.texts.length, otherAdmin: otherAdmin.texts.length, member: member.mark };
      ingest(LIVING, { volume: 3 });
      ingest(KIDS, { volume: 4 });
      for (const client of [admin, otherAdmin, member]) await client.barrier();

      const turn = (client: TestClient, from: number): string[] => client.texts.slice(from).filter((text) => text.includes('device.event'));
      expect(turn(admin, marks.admin)).to.have.length(1);
      expect(turn(otherAdmin, marks.otherAdmin), 'the same frame, byte for byte').to.deep.equal(turn(admin, marks.admin));
      const devices = new Set(member.since(marks.member).flatMap((m) => ('deviceId' in m ? [m.deviceId] : [])));
      expect([...devices], 'a member sees their own player and never another').to.deep.equal([LIVING]);
    });

    /**
     * A batch client of the admin subscribed to every player, then ten turns of the event loop, each
     * with a volume change of the living-room player (and `alsoEachTurn`); what was sent before the turns.
     */
    async function tenVolumeTurns(options: Parameters<typeof start>[0], alsoEachTurn: (volume: number) => void = () => undefined) {
      const { connect, gateway } = await start(options);
      ingest(LIVING, { volume: 0 });
      const batched = await connect('token-admin');
      batched.batch();
      await batched.subscribe('device.*');
      const mark = batched.mark;
      const framesBefore = batched.frames.length;
      for (let volume = 1; volume <= 10; volume++) {
        ingest(LIVING, { volume });
        alsoEachTurn(volume);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return { batched, gateway, mark, framesBefore };
    }

    it('gathers the turns within the batch interval into one frame: every event in order, the latest status', async () => {
      // An interval no test outlasts: the frames go out when the gateway is flushed.
      const { batched, gateway, mark, framesBefore } = await tenVolumeTurns({ batchIntervalMs: 3_600_000 }, (volume) => {
        rig!.registry.ingest(playerMessage(LIVING, 'status', { status: { statusVersion: 18, batteryLevel: 40 + volume } }, new Date(rig!.clock.now())));
      });
      expect(batched.frames.length, 'nothing sent within the interval').to.equal(framesBefore);
      gateway.flush();
      await batched.barrier();
      const got = batched.since(mark);
      const volumes = got.filter((m) => m.type === 'device.event' && m.event.type === 'volume_changed').map((m) => (m.type === 'device.event' ? m.event['volume'] : undefined));
      // Volumes 1 to 16 of the player are 6 % to 100 %.
      expect(volumes, 'ten turns, every event, in order').to.deep.equal([6, 13, 19, 25, 31, 38, 44, 50, 56, 63]);
      const statuses = got.filter((m) => m.type === 'device.status');
      expect(statuses).to.have.length(1);
      expect(statuses[0]).to.have.nested.property('data.battery', 50);
      // The ten turns in one frame, the pong in the next.
      expect(batched.frames.length - framesBefore).to.equal(2);
    });

    it('paces batches in proportion to the batch clients: one client, where the full interval needs trillions, gets a frame every turn', async () => {
      // 3,600 s for 3.6 trillion batch clients: one client gets a millionth of a millisecond, less than a turn.
      const { batched, mark, framesBefore } = await tenVolumeTurns({ batchIntervalMs: 3_600_000, batchIntervalClients: 3_600_000_000_000 });
      await batched.barrier();
      const volumes = batched.since(mark).filter((m) => m.type === 'device.event' && m.event.type === 'volume_changed');
      expect(volumes).to.have.length(10);
      // A frame for each of the ten turns, and the pong's.
      expect(batched.frames.length - framesBefore).to.equal(11);
    });
  });

  describe('backpressure', () => {
    /** Long story events for the living-room player, each with `also(i)`, one a turn, until the gateway closes a client for backpressure; answers how many it sent. */
    async function floodUntilClosed(also: (i: number) => Promise<void> | void): Promise<number> {
      const story = 'The dragon yawned. '.repeat(800);
      let sent = 0;
      for (; sent < 4000 && rig!.gateway.stats().closedForBackpressure === 0; sent++) {
        rig!.registry.recordEvent(LIVING, 'story_node_entered', { node: `n${sent}`, text: story });
        await also(sent);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      expect(rig!.gateway.stats().closedForBackpressure, `no close after ${sent} events`).to.equal(1);
      return sent;
    }

    it('closes a client that does not read (1013, counted) while a normal client keeps receiving', async function () {
      this.timeout(60_000);
      const { connect, registry, gateway, clock } = await start({ maxBufferedBytes: 64 * 1024, closeBufferedBytes: 256 * 1024 });
      const slow = await connect('token-admin');
      const normal = await connect('token-admin');
      await slow.subscribe('device.*');
      await normal.subscribe('device.*');
      slow.socket.pause();

      await floodUntilClosed(async (sent) => {
        ingest(LIVING, { cardId: 'abc12', playbackStatus: 'playing', position: sent });
        // A playback update per coalescing time: the slow client's are held back, the latest kept.
        await clock.advance(250);
      });
      expect(gateway.stats().dropped).to.be.greaterThan(0);

      const mark = normal.mark;
      registry.recordEvent(LIVING, 'story_node_entered', { node: 'last' });
      expect((await normal.next('device.event', (m) => m.event['node'] === 'last', mark)).event).to.include({ type: 'story_node_entered' });
      expect(normal.ws.readyState).to.equal(normal.ws.OPEN);

      slow.socket.resume();
      const closed = await slow.closed;
      expect(closed.code).to.equal(WS_CLOSE.tryAgainLater);
      expect(closed.reason).to.match(/too slow/);
      expect(slow.received.filter((m) => m.type === 'device.event' && m.event['node'] === 'last')).to.deep.equal([]);
      await eventually(() => gateway.stats().clients === 1, 'the slow client is forgotten');
    });

    it('holds back a batch client\'s status updates while it does not read (the latest kept) and closes it at the limit', async function () {
      this.timeout(60_000);
      // A frame every turn (no batch interval), so each status reaches the held-back queue.
      const { connect, registry, gateway } = await start({ maxBufferedBytes: 64 * 1024, closeBufferedBytes: 256 * 1024, batchIntervalMs: 0 });
      const slow = await connect('token-admin');
      slow.batch();
      await slow.subscribe('device.*');
      slow.socket.pause();

      await floodUntilClosed((sent) => {
        registry.ingest(playerMessage(LIVING, 'status', { status: { statusVersion: 18, batteryLevel: 20 + (sent % 50) } }, new Date(rig!.clock.now())));
      });
      expect(gateway.stats().dropped, 'status updates replaced while held back').to.be.greaterThan(0);
      slow.socket.resume();
      expect((await slow.closed).code).to.equal(WS_CLOSE.tryAgainLater);
    });
  });

  describe('heartbeat', () => {
    it('terminates a client that stops answering pings and keeps the ones that answer', async () => {
      const { connect, clock, gateway } = await start({ pingIntervalMs: 1000 });
      const dead = await connect('token-admin');
      const alive = await connect('token-admin');
      await dead.barrier();
      await alive.barrier();
      dead.socket.pause();

      const pinged = new Promise<void>((resolve) => alive.ws.once('ping', () => resolve()));
      await clock.advance(1000);
      await pinged;
      await alive.barrier(); // the automatic pong went out before this ping, on the same socket
      await clock.advance(1000);
      expect(gateway.stats()).to.include({ heartbeatTimeouts: 1, clients: 1 });

      dead.socket.resume();
      expect((await dead.closed).code).to.equal(1006);
      await alive.barrier();
    });
  });

  describe('stop()', () => {
    it('removes its listeners from the registry and the WebSocketServer, clears its timers and closes its clients with 1001', async () => {
      const { connect, registry, hub, clock, gateway } = await start({ pingIntervalMs: 1000 });
      const events = ['state', 'event', 'device-added', 'device-removed'] as const;
      const client = await connect('token-admin');
      await client.subscribe('device.*');
      ingest(LIVING, { cardId: 'abc12', playbackStatus: 'playing', position: 1 });
      ingest(LIVING, { cardId: 'abc12', playbackStatus: 'playing', position: 2 });
      expect(clock.pendingTimers(), 'heartbeat and coalescing timers').to.be.greaterThan(1);
      const registryTimers = 2; // the registry's silence timers of the two online players, not the gateway's
      expect(events.map((name) => registry.bus.listenerCount(name, gateway))).to.deep.equal([1, 1, 1, 1]);

      gateway.stop();
      expect(events.map((name) => registry.bus.listenerCount(name, gateway))).to.deep.equal([0, 0, 0, 0]);
      expect(hub.wss.listenerCount('connection')).to.equal(0);
      registry.stop();
      expect(clock.pendingTimers(), `gateway timers left (registry had ${registryTimers})`).to.equal(0);
      const closed = await client.closed;
      expect(closed.code).to.equal(WS_CLOSE.goingAway);
      expect(gateway.stats().clients).to.equal(0);
    });
  });
});
