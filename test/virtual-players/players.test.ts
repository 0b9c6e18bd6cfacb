import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fixturesDir } from '../helpers/fixtures';
import { snapshotWhen } from '../helpers/virtual-player';
import type { CardTrack, YotoCard } from '../../server/yoto/card';
import { DeviceCommandError } from '../../server/yoto/device-command';
import { YotoDeviceCommander } from '../../server/yoto/commands';
import { YotoMqttClient } from '../../server/yoto/mqtt';
import { FollowedPlayers } from '../helpers/followed-playback';
import { ManualClock } from '../../server/time/clock';
import { virtualFleetSpecs, type VirtualPlayerSpec } from '../../server/virtual/contracts';
import { VirtualPlayerFleet, type VirtualPlayer } from '../../server/virtual/players';
import { freePort } from '../helpers/free-port';
import { startAedes } from '../helpers/aedes-broker';
import { activeResources, BEDTIME_CARD, CardShelf, nextMessage, RawObserver, SPY_CARD, statusOf, subscribed } from '../yoto-mqtt/harness';
import { MosquittoBroker } from '../helpers/mosquitto';
import { rejectionOf } from '../helpers/rejection';

const MP3 = fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3'));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const V3: VirtualPlayerSpec = { deviceId: 'vtest0player0v3', name: 'Test Player', deviceType: 'v3', deviceFamily: 'v3', hasNightLight: true, firmware: 'v2.23.2' };
const MINI: VirtualPlayerSpec = { deviceId: 'vtest0player0mini', name: 'Test Mini', deviceType: 'mini', deviceFamily: 'mini', hasNightLight: false, firmware: 'v2.23.2' };
const LOW: VirtualPlayerSpec & { batteryLevel: number } = { ...MINI, deviceId: 'vtest0low0battery', name: 'Low Mini', batteryLevel: 1 };

/** The hub's audio server as far as players care: good audio, and the ways a URL breaks. */
class StreamServer {
  readonly requests: string[] = [];
  private constructor(private readonly server: http.Server, readonly port: number) {}

  static async start(): Promise<StreamServer> {
    let self: StreamServer | undefined;
    const server = http.createServer((req, res) => {
      self!.requests.push(req.url ?? '');
      if (req.url === '/audio/start.mp3') {
        res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': MP3.length });
        res.end(MP3);
      } else if (req.url === '/moved') {
        res.writeHead(302, { location: '/audio/start.mp3' });
        res.end();
      } else if (req.url === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>Sign in</title>');
      } else if (req.url === '/boom') {
        res.writeHead(500);
        res.end('oops');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    self = new StreamServer(server, typeof address === 'object' && address ? address.port : 0);
    return self;
  }

  url(pathname: string): string {
    return `http://127.0.0.1:${this.port}${pathname}`;
  }

  count(pathname: string): number {
    return this.requests.filter((r) => r === pathname).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function streamTrack(key: string, url: string, duration?: number): CardTrack {
  return { key, title: `Stream ${key}`, type: 'stream', format: 'mp3', trackUrl: url, ...(duration !== undefined ? { duration } : {}) };
}

function singleChapterCard(cardId: string, tracks: CardTrack[], autoadvance?: string): YotoCard {
  return { cardId, title: cardId, content: { playbackType: 'linear', ...(autoadvance ? { config: { autoadvance } } : {}), chapters: [{ key: '01', title: 'One', tracks }] } };
}

const rejection = (promise: Promise<unknown>): Promise<Error> => rejectionOf(promise, Error);

describe('virtual fleet specs', function () {
  it('gives every player of a large fleet its own 24-character id (player 100 and player 1000 differ)', function () {
    const ids = virtualFleetSpecs(1200).map((spec) => spec.deviceId);
    expect(new Set(ids).size).to.equal(1200);
    expect(ids.every((id) => id.length === 24)).to.equal(true);
  });
});

describe('virtual players', function () {
  let broker: MosquittoBroker;
  let streams: StreamServer;
  let fleet: VirtualPlayerFleet;
  let client: YotoMqttClient;
  let tracker: FollowedPlayers;
  let commander: YotoDeviceCommander;
  let observer: RawObserver;
  let refusedUrl: string;
  const clock = new ManualClock();
  const shelf = new CardShelf([BEDTIME_CARD, SPY_CARD]);
  const player = (spec: VirtualPlayerSpec): VirtualPlayer => fleet.player(spec.deviceId)!;
  const legacyStatus = (spec: VirtualPlayerSpec, from: number) => observer.waitFor((m) => m.topic === `device/${spec.deviceId}/status`, from);

  before(async () => {
    broker = await MosquittoBroker.start();
    streams = await StreamServer.start();
    refusedUrl = `http://127.0.0.1:${await freePort()}/gone.mp3`;
    shelf.add(singleChapterCard('Str01', [streamTrack('01', streams.url('/audio/start.mp3')), streamTrack('02', streams.url('/missing.mp3'))]));
    shelf.add(singleChapterCard('Brk01', [
      streamTrack('01', streams.url('/html')),
      streamTrack('02', refusedUrl),
      streamTrack('03', streams.url('/boom')),
      streamTrack('04', streams.url('/moved')),
    ], 'none'));
    shelf.add(singleChapterCard('Long1', [{ key: '01', title: 'Long', type: 'audio', format: 'mp3', trackUrl: 'yoto:#long', duration: 3 * 3600 }]));
    shelf.add(singleChapterCard('Once1', [
      { key: '01', title: 'One', type: 'audio', format: 'mp3', trackUrl: 'yoto:#one', duration: 10 },
      { key: '02', title: 'Two', type: 'audio', format: 'mp3', trackUrl: 'yoto:#two', duration: 10 },
    ], 'none'));
    observer = await RawObserver.start(broker.url, 'device/+/status');
    fleet = new VirtualPlayerFleet({ brokerUrl: broker.url, cards: shelf, clock, specs: [V3, MINI, LOW] });
    await fleet.start();
    client = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token' });
    tracker = new FollowedPlayers(client);
    commander = new YotoDeviceCommander({ client, getPlayback: (id) => tracker.get(id), getCard: shelf.lookup });
    const ready = subscribed(client, [V3.deviceId, MINI.deviceId, LOW.deviceId]);
    client.setDevices([V3.deviceId, MINI.deviceId, LOW.deviceId]);
    client.start();
    await ready;
  });
  after(async () => {
    commander.dispose();
    tracker.stop();
    await client.stop();
    await fleet.stop();
    await observer.stop();
    await streams.stop();
    await broker.stop();
  });
  beforeEach(async () => {
    for (const spec of [V3, MINI]) {
      await player(spec).powerOn();
      await commander.execute(spec.deviceId, { type: 'stop' });
    }
  });

  describe('linear cards', () => {
    it('play in real time on the clock and advance track by track, chapter by chapter, to the end', async () => {
      const p = player(V3);
      await p.insertCard('Bed01');
      expect(p.snapshot()).to.include({ cardId: 'Bed01', chapterKey: '01', trackKey: '01', playbackStatus: 'playing', position: 0, trackLength: 30 });
      await clock.advance(12_000);
      expect(p.snapshot().position).to.equal(12);
      await clock.advance(18_000);
      expect(p.snapshot()).to.include({ chapterKey: '01', trackKey: '02', position: 0 });
      await clock.advance(20_000);
      expect(p.snapshot()).to.include({ chapterKey: '02', trackKey: '01' });
      await clock.advance(40_000);
      expect(p.snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
    });

    it('stop after one track when the card says autoadvance "none"', async () => {
      const p = player(V3);
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Once1' });
      await clock.advance(10_000);
      expect(p.snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
    });

    it('skip with the right button and go back with the left', async () => {
      const p = player(MINI);
      await p.insertCard('Bed01');
      await p.press('right');
      expect(p.snapshot()).to.include({ chapterKey: '01', trackKey: '02' });
      await p.press('right');
      expect(p.snapshot()).to.include({ chapterKey: '02', trackKey: '01' });
      await p.press('left');
      expect(p.snapshot()).to.include({ chapterKey: '01', trackKey: '02' });
    });

    it('stop at cutOff, and on any button when card/start asked for anyButtonStop', async () => {
      const p = player(V3);
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Bed01', cutOff: 10 });
      await clock.advance(10_000);
      expect(p.snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Bed01', anyButtonStop: true });
      await p.press('right');
      expect(p.snapshot()).to.include({ cardId: 'none' });
    });

    it('stop playing when the card that started them is taken out', async () => {
      const p = player(MINI);
      await p.insertCard('Bed01');
      await p.removeCard();
      expect(p.snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
      expect((await rejection(p.insertCard('Nope9'))).message).to.contain('not in the virtual library');
    });
  });

  describe('interactive cards', () => {
    it('follow onRhb, onLhb and onEnd gotos, and stop where the story ends', async () => {
      const p = player(V3);
      await p.insertCard('Spy01');
      expect(p.snapshot()).to.include({ trackKey: '01', playbackStatus: 'playing' });
      await p.press('right');
      expect(p.snapshot().trackKey).to.equal('03');
      await clock.advance(9_000);
      expect(p.snapshot().trackKey).to.equal('04');
      await p.press('left');
      expect(p.snapshot().trackKey).to.equal('01');
      await p.press('left');
      expect(p.snapshot().trackKey).to.equal('02');
      await p.press('right');
      expect(p.snapshot().trackKey).to.equal('04');
      await clock.advance(5_000);
      expect(p.snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
    });

    it('stop at the end of a track without onEnd', async () => {
      const p = player(V3);
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Spy01', chapterKey: '01', trackKey: '02' });
      await clock.advance(8_000);
      expect(p.snapshot().cardId).to.equal('none');
    });

    it('ignore a button whose goto key is missing, and stop at an onEnd whose key is missing, as a real player fails silently', async () => {
      const p = player(V3);
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Spy01', chapterKey: '01', trackKey: '05' });
      await p.press('right');
      expect(p.snapshot()).to.include({ trackKey: '05', playbackStatus: 'playing' });
      await clock.advance(6_000);
      expect(p.snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
    });
  });

  describe('streaming tracks', () => {
    it('fetch the URL every time the track plays, and take the track length from the audio', async () => {
      const p = player(V3);
      const before = streams.count('/audio/start.mp3');
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Str01' });
      const playing = await snapshotWhen(p, (s) => s.playbackStatus === 'playing');
      expect(playing).to.include({ cardId: 'Str01', trackKey: '01', trackLength: 4 });
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Str01' });
      await snapshotWhen(p, (s) => s.playbackStatus === 'playing');
      expect(streams.count('/audio/start.mp3')).to.equal(before + 2);
    });

    it('follow a redirect to the audio', async () => {
      const p = player(MINI);
      await commander.execute(MINI.deviceId, { type: 'play', cardId: 'Brk01', trackKey: '04' });
      expect(await snapshotWhen(p, (s) => s.playbackStatus === 'playing')).to.include({ trackKey: '04' });
    });

    it('notice a missing stream at the end of the previous track: playback stops and the error is kept', async () => {
      const p = player(V3);
      await commander.execute(V3.deviceId, { type: 'play', cardId: 'Str01' });
      await snapshotWhen(p, (s) => s.playbackStatus === 'playing');
      const stoppedOnWire = nextMessage(client, V3.deviceId, 'events', (m) => m.payload.playbackStatus === 'stopped');
      await clock.advance(4_000);
      const failed = await snapshotWhen(p, (s) => s.lastStreamError?.url === streams.url('/missing.mp3'));
      expect(failed).to.include({ trackKey: '02', playbackStatus: 'stopped' });
      expect(failed.lastStreamError!.reason).to.equal('HTTP 404 Not Found');
      await stoppedOnWire;
    });

    for (const [trackKey, expected] of [
      ['01', 'not audio (content-type text/html)'],
      ['02', 'connection failed (ECONNREFUSED)'],
      ['03', 'HTTP 500 Internal Server Error'],
    ] as const) {
      it(`report "${expected}" and do not play`, async () => {
        const p = player(MINI);
        await commander.execute(MINI.deviceId, { type: 'play', cardId: 'Brk01', trackKey });
        const failed = await snapshotWhen(p, (s) => s.playbackStatus === 'stopped' && s.trackKey === trackKey && s.lastStreamError?.reason === expected);
        expect(failed.cardId).to.equal('Brk01');
      });
    }
  });

  describe('sleep timer, battery and power', () => {
    it('the sleep timer stops the story and switches the player off, after which it is silent', async () => {
      const p = player(MINI);
      await commander.execute(MINI.deviceId, { type: 'play', cardId: 'Long1' });
      await commander.execute(MINI.deviceId, { type: 'sleep', seconds: 90 });
      const from = observer.messages.length;
      await clock.advance(60_000);
      expect(p.snapshot()).to.include({ sleepTimerSeconds: 30, playbackStatus: 'playing' });
      await clock.advance(30_000);
      expect(p.snapshot()).to.include({ poweredOn: false, online: false, cardId: 'none' });
      expect(statusOf(await legacyStatus(MINI, from)).shutDown).to.equal('sleepTimer');
      const error = await rejection(commander.execute(MINI.deviceId, { type: 'status-request' }, { timeoutMs: 300 }));
      expect(error).to.be.instanceOf(DeviceCommandError);
      expect((error as DeviceCommandError).code).to.equal('timeout');
    });

    it('the battery drains faster while playing, charges on the charger, and status reports it', async () => {
      const spec = { ...V3, deviceId: 'vtest0battery0v3', name: 'Battery Player', batteryLevel: 80 };
      const p = fleet.addPlayer(spec);
      const ready = subscribed(client, [spec.deviceId]);
      client.addDevice(spec.deviceId);
      await ready;
      await commander.execute(spec.deviceId, { type: 'play', cardId: 'Long1' });
      await clock.advance(HOUR);
      expect(p.snapshot().batteryLevel).to.equal(70);
      await commander.execute(spec.deviceId, { type: 'stop' });
      await clock.advance(HOUR);
      expect(p.snapshot().batteryLevel).to.equal(68);
      // Periodic statuses from the simulated hours may still be on their way; the requested one carries nightlightMode.
      const status = nextMessage(client, spec.deviceId, 'status', (m) => m.payload.nightlightMode !== undefined);
      await commander.execute(spec.deviceId, { type: 'status-request' });
      expect((await status).payload.batteryLevel).to.equal(68);
      await p.setCharging(true);
      await clock.advance(10 * MINUTE);
      expect(p.snapshot()).to.include({ batteryLevel: 78, charging: true });
      client.removeDevice(spec.deviceId);
      expect(fleet.removePlayer(spec.deviceId)).to.equal(true);
    });

    it('an empty battery switches the player off, and it stays off until charged', async () => {
      const p = player(LOW);
      // It started at 1 %: idle, it lasts half an hour of the clock, whichever tests ran before.
      await clock.advance(HOUR);
      expect(p.snapshot()).to.include({ poweredOn: false, batteryLevel: 0 });
      const goodbye = await observer.waitFor((m) => m.topic === `device/${LOW.deviceId}/status` && typeof statusOf(m).shutDown === 'string' && statusOf(m).shutDown !== 'nA', 0);
      expect(statusOf(goodbye).shutDown).to.equal('lowBattery');
      expect((await rejection(p.powerOn())).message).to.contain('empty battery');
      await p.setCharging(true);
      const back = legacyStatus(LOW, observer.messages.length);
      await p.powerOn();
      expect(statusOf(await back)).to.include({ shutDown: 'nA', upTime: 0, utcTime: 0 });
    });

    it('power off says goodbye with shutDown, ignores the buttons, and power on boots again', async () => {
      const p = player(V3);
      let from = observer.messages.length;
      await p.powerOff();
      expect(statusOf(await legacyStatus(V3, from)).shutDown).to.equal('userShutdown');
      expect(p.snapshot()).to.include({ poweredOn: false, online: false });
      expect((await rejection(p.press('left'))).message).to.contain('switched off');
      from = observer.messages.length;
      await p.powerOn();
      expect(statusOf(await legacyStatus(V3, from))).to.include({ shutDown: 'nA', upTime: 0 });
      expect(p.snapshot()).to.include({ poweredOn: true, online: true });
    });
  });
});

describe('virtual player fleet lifecycle', function () {
  it('refuses to start without a broker, with a clear error', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const fleet = new VirtualPlayerFleet({ brokerUrl: url, cards: new CardShelf() });
    expect((await rejection(fleet.start())).message).to.contain(`could not connect to ${url}`);
  });

  it('leaves no socket, timer or stream behind after stop, even mid-stream', async () => {
    const before = await activeResources();
    const clock = new ManualClock();
    const broker = await startAedes();
    const streams = await StreamServer.start();
    const shelf = new CardShelf([BEDTIME_CARD, singleChapterCard('Str02', [streamTrack('01', streams.url('/audio/start.mp3'))])]);
    const fleet = new VirtualPlayerFleet({ brokerUrl: broker.url, cards: shelf, clock, specs: [V3, MINI] });
    await fleet.start();
    await fleet.player(V3.deviceId)!.insertCard('Str02');
    await fleet.player(MINI.deviceId)!.insertCard('Bed01');
    await fleet.player(MINI.deviceId)!.turnVolume(2);
    await fleet.stop();
    expect(clock.pendingTimers()).to.equal(0);
    expect(fleet.player(V3.deviceId)!.snapshot()).to.include({ online: false, cardId: 'none' });
    await streams.stop();
    await broker.stop();
    expect(await activeResources()).to.deep.equal(before);
  });
});
