import { expect } from 'chai';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { EVENTS_REREQUEST_MS, mqttUsername } from '../../server/yoto/protocol';
import { YotoMqttClient, type MalformedMessage, type YotoDeviceMessage, type YotoMqttState } from '../../server/yoto/mqtt';
import { ManualClock } from '../../server/time/clock';
import { VirtualPlayerFleet } from '../../server/virtual/players';
import { activeResources, CardShelf, nextMessage, RawObserver, subscribed } from './harness';
import { MosquittoBroker } from '../helpers/mosquitto';
import { TokenBroker } from './token-broker';

const A = 'playerAAAA';
const B = 'playerBBBB';

function reachState(client: YotoMqttClient, state: YotoMqttState, times = 1): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const onState = (next: YotoMqttState): void => {
      if (next !== state || ++seen < times) return;
      client.off('state', onState);
      resolve();
    };
    client.on('state', onState);
  });
}

/** A status timer that never fires within a test: some tests fence on a status request of their own. */
const NO_MINUTE_STATUS_MS = 24 * 60 * 60_000;

describe('YotoMqttClient', function () {
  describe('login against a token-checking broker (the AWS IoT custom authorizer)', () => {
    let broker: TokenBroker;
    const clients: YotoMqttClient[] = [];
    beforeEach(async () => {
      broker = await TokenBroker.start();
    });
    afterEach(async () => {
      for (const client of clients.splice(0)) await client.stop();
      await broker.stop();
    });

    function client(tokenProvider: () => Promise<string>): YotoMqttClient {
      const created = new YotoMqttClient({ url: broker.url, tokenProvider, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
      clients.push(created);
      return created;
    }

    it('logs in as <client id>?x-amz-customauthorizer-name=PublicJWTAuthorizer with the access token, under a client id of its own', async () => {
      broker.validTokens.add('access-token-1');
      const first = client(async () => 'access-token-1');
      const second = client(async () => 'access-token-1');
      first.start();
      second.start();
      await Promise.all([first.whenConnected(), second.whenConnected()]);

      expect(broker.logins).to.have.length(2);
      for (const login of broker.logins) {
        expect(login.username).to.equal(mqttUsername(login.clientId));
        expect(login.username).to.match(/\?x-amz-customauthorizer-name=PublicJWTAuthorizer$/);
        expect(login.password).to.equal('access-token-1');
        expect(login.clientId).to.not.match(/^DASH/);
      }
      expect(first.clientId).to.not.equal(second.clientId);
      expect(broker.logins.map((l) => l.clientId).sort()).to.deep.equal([first.clientId, second.clientId].sort());
    });

    it('fetches a fresh token for every reconnection, so an expired token is never sent again', async () => {
      let issued = 0;
      const issue = async (): Promise<string> => {
        const token = `access-token-${++issued}`;
        broker.validTokens.clear();
        broker.validTokens.add(token);
        return token;
      };
      const yoto = client(issue);
      yoto.start();
      await yoto.whenConnected();
      for (let round = 2; round <= 3; round++) {
        const back = reachState(yoto, 'connected');
        broker.dropClients();
        await back;
      }
      expect(broker.logins.map((l) => [l.password, l.accepted])).to.deep.equal([
        ['access-token-1', true],
        ['access-token-2', true],
        ['access-token-3', true],
      ]);
      expect(yoto.stats()).to.include({ connections: 3, tokenFetches: 3, state: 'connected' });
    });

    it('does not retry a token the broker refused: the next attempt asks the provider again', async () => {
      broker.validTokens.add('fresh');
      const tokens = ['stale', 'fresh'];
      const yoto = client(async () => tokens.shift() ?? 'fresh');
      yoto.start();
      await yoto.whenConnected();
      expect(broker.logins.map((l) => [l.password, l.accepted])).to.deep.equal([
        ['stale', false],
        ['fresh', true],
      ]);
      expect(yoto.stats()).to.include({ connectAttempts: 2, connections: 1 });
    });

    it('keeps trying when the token provider fails, and reports the failure in its stats', async () => {
      broker.validTokens.add('good');
      let calls = 0;
      const yoto = client(async () => {
        if (++calls === 1) throw new Error('refresh token rejected');
        return 'good';
      });
      yoto.start();
      await yoto.whenConnected();
      const stats = yoto.stats();
      expect(stats).to.include({ tokenFailures: 1, tokenFetches: 2, connections: 1 });
      expect(stats.lastError).to.equal(undefined);
    });
  });

  describe('on a real Mosquitto', () => {
    let broker: MosquittoBroker;
    let observer: RawObserver;
    let client: YotoMqttClient;
    beforeEach(async () => {
      broker = await MosquittoBroker.start();
      observer = await RawObserver.start(broker.url, 'device/+/command/#');
    });
    afterEach(async () => {
      await client?.stop();
      await observer.stop();
      await broker.stop();
    });

    async function followed(deviceIds: string[], options: Partial<ConstructorParameters<typeof YotoMqttClient>[0]> = {}): Promise<YotoMqttClient> {
      client = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token', reconnect: { initialDelayMs: 20, maxDelayMs: 100 }, ...options });
      const ready = subscribed(client, deviceIds);
      for (const id of deviceIds) client.addDevice(id);
      client.start();
      await ready;
      return client;
    }

    it('subscribes to data/events, data/status, status and response of every player, and asks each for its events and status', async () => {
      const requests = Promise.all([A, B].flatMap((id) => [
        observer.waitFor((m) => m.topic === `device/${id}/command/events/request`, 0),
        observer.waitFor((m) => m.topic === `device/${id}/command/status/request`, 0),
      ]));
      await followed([A, B]);
      await requests;

      const got: YotoDeviceMessage[] = [];
      const eight = new Promise<void>((resolve) => client.on('message', (m) => got.push(m) === 8 && resolve()));
      for (const id of [A, B]) {
        await observer.publish(`device/${id}/data/events`, '{"volume":3}');
        await observer.publish(`device/${id}/data/status`, '{"status":{"batteryLevel":80}}');
        await observer.publish(`device/${id}/status`, '{"status":{"shutDown":"nA"}}');
        await observer.publish(`device/${id}/response`, '{"status":{"volume":"OK","req_body":"{}"}}');
      }
      await eight;
      expect(got.map((m) => `${m.deviceId}:${m.kind}`)).to.deep.equal([A, B].flatMap((id) => [`${id}:events`, `${id}:status`, `${id}:legacyStatus`, `${id}:response`]));
      expect(got.every((m) => m.receivedAt instanceof Date)).to.equal(true);
      // The whole message, read field by field: nothing the reader made is left behind.
      expect(got[3]).to.deep.equal({
        kind: 'response',
        payload: { status: { volume: 'OK', req_body: '{}' } },
        dropped: [],
        extra: {},
        deviceId: A,
        topic: `device/${A}/response`,
        receivedAt: got[3]!.receivedAt,
      });
    });

    it('leaves the undocumented events topic and removed players out', async () => {
      await followed([A, B]);
      client.removeDevice(B);
      const got: YotoDeviceMessage[] = [];
      client.on('message', (m) => got.push(m));
      // The fence: the same publisher's last message arrives after everything it sent before.
      const fence = nextMessage(client, A, 'status');
      await observer.publish(`device/${A}/events`, '{"volume":1}');
      await observer.publish(`device/${B}/data/events`, '{"volume":2}');
      await observer.publish(`device/${A}/data/status`, '{"status":{"batteryLevel":50}}');
      await fence;
      expect(got.map((m) => `${m.deviceId}:${m.kind}`)).to.deep.equal([`${A}:status`]);
      expect(client.devices()).to.deep.equal([A]);
    });

    it('logs and counts malformed payloads, never throws, and keeps delivering good ones', async () => {
      const records: LogRecord[] = [];
      await followed([A], { logger: createLogger({ level: 'warn', sink: (r) => records.push(r) }) });
      const malformed: MalformedMessage[] = [];
      client.on('malformed', (m) => malformed.push(m));
      const kept = nextMessage(client, A, 'events', (m) => m.payload.cardId === 'abc12');
      const good = nextMessage(client, A, 'events', (m) => m.payload.volume !== undefined);
      await observer.publish(`device/${A}/data/status`, 'not json');
      await observer.publish(`device/${A}/data/status`, '');
      await observer.publish(`device/${A}/data/status`, '[1]');
      await observer.publish(`device/${A}/status`, '{"status":5}');
      await observer.publish(`device/${A}/presence`, '{"state":42}');
      await observer.publish(`device/${A}/data/events`, '{"volume":"loud","cardId":"abc12","streaming":1}');
      await observer.publish(`device/${A}/data/events`, '{"volume":4}');
      // One field that cannot be read costs that field, not the message.
      const first = await kept;
      expect(first.payload).to.deep.equal({ cardId: 'abc12', streaming: true });
      expect(first.dropped).to.deep.equal(['volume']);
      expect((await good).payload).to.deep.equal({ volume: 4 });

      expect(client.stats()).to.include({ malformed: 5, droppedFields: 1 });
      expect(malformed.map((m) => m.kind)).to.deep.equal(['status', 'status', 'status', 'legacyStatus', 'presence']);
      const warnings = records.filter((r) => r.msg === 'malformed player message dropped');
      expect(warnings).to.have.length(5);
      expect(warnings[0]).to.include({ deviceId: A, topic: `device/${A}/data/status` });
    });

    it('survives a broker restart: it reconnects, subscribes again and delivers messages', async () => {
      await followed([A]);
      const resubscribed = subscribed(client, [A]);
      await broker.restart();
      await resubscribed;
      const publisher = await RawObserver.start(broker.url, 'nothing');
      const arrived = nextMessage(client, A, 'events');
      await publisher.publish(`device/${A}/data/events`, '{"playbackStatus":"playing"}');
      expect((await arrived).payload).to.deep.equal({ playbackStatus: 'playing' });
      await publisher.stop();
      expect(client.stats().connections).to.equal(2);
    });

    it('asks every followed player for events again every four minutes, and stops for a removed one', async () => {
      const clock = new ManualClock();
      // The fence below is our own status request: the minute's status timer must not send one first,
      // or the fence could pass before a re-request sent later in the same advance has arrived.
      await followed([A, B], { clock, statusRequestMs: NO_MINUTE_STATUS_MS });
      const count = (id: string): number => observer.messages.filter((m) => m.topic === `device/${id}/command/events/request`).length;
      await Promise.all([A, B].map((id) => observer.waitFor((m) => m.topic === `device/${id}/command/events/request`, 0)));

      let from = observer.messages.length;
      await clock.advance(EVENTS_REREQUEST_MS - 1);
      await client.requestStatus(A);
      await observer.waitFor((m) => m.topic === `device/${A}/command/status/request`, from);
      expect([count(A), count(B)]).to.deep.equal([1, 1]);

      from = observer.messages.length;
      await clock.advance(1);
      await Promise.all([A, B].map((id) => observer.waitFor((m) => m.topic === `device/${id}/command/events/request`, from)));

      client.removeDevice(B);
      from = observer.messages.length;
      await clock.advance(EVENTS_REREQUEST_MS);
      await client.requestStatus(A);
      await observer.waitFor((m) => m.topic === `device/${A}/command/status/request`, from);
      expect([count(A), count(B)]).to.deep.equal([3, 2]);
    });
  });

  describe('with a virtual player on the same clock', () => {
    let broker: MosquittoBroker;
    let fleet: VirtualPlayerFleet;
    let client: YotoMqttClient | undefined;
    const clock = new ManualClock();
    const player = { deviceId: 'vpushwindow0', name: 'Push Window', deviceType: 'v3' as const, deviceFamily: 'v3', hasNightLight: true, firmware: 'v2.23.2' };

    beforeEach(async () => {
      broker = await MosquittoBroker.start();
      fleet = new VirtualPlayerFleet({ brokerUrl: broker.url, cards: new CardShelf(), specs: [player], clock });
      await fleet.start();
    });
    afterEach(async () => {
      await client?.stop();
      client = undefined;
      await fleet.stop();
      await broker.stop();
    });

    async function follow(eventsRerequestMs: number): Promise<YotoMqttClient> {
      // No minute's status requests: their answers could pass volumeTurnArrives' status fence early.
      const created = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token', clock, eventsRerequestMs, statusRequestMs: NO_MINUTE_STATUS_MS });
      client = created;
      const firstEvents = nextMessage(created, player.deviceId, 'events');
      created.addDevice(player.deviceId);
      created.start();
      await firstEvents;
      return created;
    }

    /** Whether a volume turn reaches the client: a status request afterwards is the fence. */
    async function volumeTurnArrives(yoto: YotoMqttClient): Promise<boolean> {
      const seen: YotoDeviceMessage[] = [];
      const record = (m: YotoDeviceMessage): void => {
        seen.push(m);
      };
      yoto.on('message', record);
      const fence = nextMessage(yoto, player.deviceId, 'status');
      await fleet.player(player.deviceId)!.turnVolume(1);
      await yoto.requestStatus(player.deviceId);
      await fence;
      yoto.off('message', record);
      return seen.some((m) => m.kind === 'events' && m.payload.volume !== undefined);
    }

    it('still hears a player six minutes later, because it renews the events push every four', async () => {
      const yoto = await follow(EVENTS_REREQUEST_MS);
      const renewed = nextMessage(yoto, player.deviceId, 'response', (m) => m.payload.status.events === 'OK');
      await clock.advance(EVENTS_REREQUEST_MS);
      await renewed;
      await clock.advance(2 * 60 * 1000);
      expect(await volumeTurnArrives(yoto)).to.equal(true);
    });

    it('goes deaf to events after five minutes when nothing renews the push (what the re-request prevents)', async () => {
      const yoto = await follow(60 * 60 * 1000);
      await clock.advance(6 * 60 * 1000);
      expect(await volumeTurnArrives(yoto)).to.equal(false);
    });
  });

  it('leaves no socket or timer behind after stop', async () => {
    const before = await activeResources();
    const broker = await TokenBroker.start();
    broker.validTokens.add('t');
    const yoto = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 't' });
    const ready = subscribed(yoto, [A]);
    yoto.addDevice(A);
    yoto.start();
    await ready;
    await yoto.stop();
    await broker.stop();
    expect(yoto.state).to.equal('stopped');
    expect(await activeResources()).to.deep.equal(before);
  });
});
