import { expect } from 'chai';
import { DeviceCommandError, type DeviceCommand } from '../../server/yoto/device-command';
import { YotoDeviceCommander } from '../../server/yoto/commands';
import { YotoMqttClient } from '../../server/yoto/mqtt';
import { FollowedPlayers, type FollowedPlayback } from '../helpers/followed-playback';
import { ManualClock } from '../../server/time/clock';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { DEFAULT_TIMING, VirtualPlayerFleet, type VirtualPlayer } from '../../server/virtual/players';
import { BEDTIME_CARD, BROKERS, CardShelf, nextMessage, RawObserver, SPY_CARD, subscribed, type TestBroker } from './harness';
import { rejectionOf } from '../helpers/rejection';

const LIVING = DEFAULT_VIRTUAL_PLAYERS[0]!.deviceId;
const MINI = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;

const rejection = (promise: Promise<unknown>): Promise<DeviceCommandError> => rejectionOf(promise, DeviceCommandError);

for (const { name, start } of BROKERS) {
  describe(`device commands round-trip through virtual players on ${name}`, function () {
    let broker: TestBroker;
    let fleet: VirtualPlayerFleet;
    let client: YotoMqttClient;
    let tracker: FollowedPlayers;
    let commander: YotoDeviceCommander;
    const clock = new ManualClock();
    const shelf = new CardShelf([BEDTIME_CARD, SPY_CARD]);

    const player = (deviceId: string): VirtualPlayer => fleet.player(deviceId)!;
    const run = (deviceId: string, command: DeviceCommand) => commander.execute(deviceId, command);

    /** Resolves once the adapter's view of the player passes `accept`. */
    function playbackWhen(deviceId: string, accept: (playback: FollowedPlayback) => boolean): Promise<FollowedPlayback> {
      const now = tracker.get(deviceId);
      if (now && accept(now)) return Promise.resolve(now);
      return nextMessage(client, deviceId, 'events', () => {
        const playback = tracker.get(deviceId);
        return playback !== undefined && accept(playback);
      }).then(() => tracker.get(deviceId)!);
    }

    before(async () => {
      broker = await start();
      fleet = new VirtualPlayerFleet({ brokerUrl: broker.url, cards: shelf, clock });
      await fleet.start();
      client = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token' });
      tracker = new FollowedPlayers(client);
      commander = new YotoDeviceCommander({ client, getPlayback: (id) => tracker.get(id), getCard: shelf.lookup });
      const firstEvents = [LIVING, MINI].map((id) => nextMessage(client, id, 'events'));
      client.setDevices([LIVING, MINI]);
      client.start();
      await Promise.all(firstEvents);
    });
    after(async () => {
      commander.dispose();
      tracker.stop();
      await client.stop();
      await fleet.stop();
      await broker.stop();
    });
    beforeEach(async () => {
      for (const id of [LIVING, MINI]) {
        await run(id, { type: 'stop' });
        await playbackWhen(id, (p) => p.cardId === 'none');
      }
    });

    it('plays a card and resolves on the player\'s ack', async () => {
      const result = await run(LIVING, { type: 'play', cardId: 'Bed01' });
      expect(result).to.include({ deviceId: LIVING, command: 'play', confirmedBy: 'ack' });
      expect(result.latencyMs).to.be.a('number');
      expect(player(LIVING).snapshot()).to.include({ cardId: 'Bed01', chapterKey: '01', trackKey: '01', playbackStatus: 'playing' });
      const seen = await playbackWhen(LIVING, (p) => p.cardId === 'Bed01');
      expect(seen).to.include({ chapterTitle: 'The Owl', trackTitle: 'Owl part one', playbackStatus: 'playing', trackLength: 30 });
    });

    it('plays from a chapter, a track and a number of seconds in', async () => {
      await run(LIVING, { type: 'play', cardId: 'Bed01', chapterKey: '02', trackKey: '01', secondsIn: 12 });
      expect(player(LIVING).snapshot()).to.include({ chapterKey: '02', trackKey: '01', position: 12, playbackStatus: 'playing' });
    });

    it('pauses, resumes and stops', async () => {
      await run(MINI, { type: 'play', cardId: 'Bed01' });
      await run(MINI, { type: 'pause' });
      expect(player(MINI).snapshot().playbackStatus).to.equal('paused');
      await run(MINI, { type: 'resume' });
      expect(player(MINI).snapshot().playbackStatus).to.equal('playing');
      await run(MINI, { type: 'stop' });
      expect(player(MINI).snapshot()).to.include({ cardId: 'none', playbackStatus: 'stopped' });
    });

    it('goes to the next and previous track with the card\'s zero-padded keys, across chapters', async () => {
      await run(LIVING, { type: 'play', cardId: 'Bed01' });
      await playbackWhen(LIVING, (p) => p.cardId === 'Bed01' && p.trackKey === '01');
      await run(LIVING, { type: 'next' });
      expect(player(LIVING).snapshot()).to.include({ chapterKey: '01', trackKey: '02' });
      await playbackWhen(LIVING, (p) => p.trackKey === '02');
      await run(LIVING, { type: 'next' });
      expect(player(LIVING).snapshot()).to.include({ chapterKey: '02', trackKey: '01' });
      await playbackWhen(LIVING, (p) => p.chapterKey === '02');
      await run(LIVING, { type: 'previous' });
      expect(player(LIVING).snapshot()).to.include({ chapterKey: '01', trackKey: '02', position: 0 });
    });

    it('seeks within the current track', async () => {
      await run(LIVING, { type: 'play', cardId: 'Bed01', chapterKey: '01', trackKey: '02' });
      await playbackWhen(LIVING, (p) => p.trackKey === '02');
      await run(LIVING, { type: 'seek', position: 15 });
      expect(player(LIVING).snapshot()).to.include({ chapterKey: '01', trackKey: '02', position: 15 });
    });

    it('sets the volume in percent, which events report on the 0..16 scale', async () => {
      await run(MINI, { type: 'volume', percent: 75 });
      expect(player(MINI).snapshot().volumePercent).to.equal(75);
      expect((await playbackWhen(MINI, (p) => p.volume === 12)).volumeMax).to.equal(16);
      await run(MINI, { type: 'volume', percent: 50 });
      expect(player(MINI).snapshot().volumePercent).to.equal(50);
    });

    it('sets and cancels the sleep timer', async () => {
      await run(LIVING, { type: 'sleep', seconds: 600 });
      expect(player(LIVING).snapshot().sleepTimerSeconds).to.equal(600);
      expect(await playbackWhen(LIVING, (p) => p.sleepTimerActive === true)).to.include({ sleepTimerSeconds: 600 });
      await run(LIVING, { type: 'sleep', seconds: 0 });
      expect(player(LIVING).snapshot().sleepTimerSeconds).to.equal(undefined);
    });

    it('colours the night light of a player that has one, and turns it off', async () => {
      await run(LIVING, { type: 'nightlight', color: { r: 255, g: 128, b: 0 } });
      expect(player(LIVING).snapshot().nightlight).to.equal('0xff8000');
      await run(LIVING, { type: 'nightlight', color: 'off' });
      expect(player(LIVING).snapshot().nightlight).to.equal('off');
    });

    it('answers status and events requests', async () => {
      expect(await run(MINI, { type: 'status-request' })).to.include({ command: 'status-request' });
      expect(await run(MINI, { type: 'events-request' })).to.include({ command: 'events-request' });
    });

    it('reboots a player, which comes back on by itself', async () => {
      await run(MINI, { type: 'reboot' });
      expect(player(MINI).snapshot().poweredOn).to.equal(false);
      const back = nextMessage(client, MINI, 'legacyStatus', (m) => m.payload.shutDown === 'nA');
      await clock.advance(DEFAULT_TIMING.rebootMs);
      await back;
      expect(player(MINI).snapshot()).to.include({ poweredOn: true, online: true });
    });

    describe('refusals come back as errors', () => {
      it('rejects card/start of an unknown card with the player\'s FAIL', async () => {
        const error = await rejection(run(LIVING, { type: 'play', cardId: 'Nope1' }));
        expect(error.code).to.equal('refused');
        expect(error.message).to.contain('card/start');
        expect(player(LIVING).snapshot().cardId).to.equal('none');
      });

      it('rejects unpadded keys, and says which keys the card has', async () => {
        const chapter = await rejection(run(LIVING, { type: 'play', cardId: 'Bed01', chapterKey: '1' }));
        expect(chapter.code).to.equal('refused');
        expect(chapter.message).to.contain('no chapter "1"').and.to.contain('01, 02');
        const track = await rejection(run(LIVING, { type: 'play', cardId: 'Bed01', chapterKey: '01', trackKey: '2' }));
        expect(track.code).to.equal('refused');
        expect(track.message).to.contain('no track "2"');
        expect(player(LIVING).snapshot().cardId).to.equal('none');
      });

      it('rejects pause and resume when nothing is playing', async () => {
        expect((await rejection(run(MINI, { type: 'pause' }))).code).to.equal('refused');
        expect((await rejection(run(MINI, { type: 'resume' }))).code).to.equal('refused');
      });

      it('rejects a night light colour on a Mini, which has none', async () => {
        expect((await rejection(run(MINI, { type: 'nightlight', color: { r: 1, g: 2, b: 3 } }))).code).to.equal('refused');
      });

      it('rejects what cannot be sent at all, before sending it', async () => {
        expect((await rejection(run(MINI, { type: 'volume', percent: 150 }))).code).to.equal('invalid_command');
        expect((await rejection(run(MINI, { type: 'next' }))).code).to.equal('not_playing');
        expect((await rejection(run('not-a-player', { type: 'stop' }))).code).to.equal('unknown_device');
        expect((await rejection(run(MINI, { type: 'play', cardId: 'bad id!' }))).code).to.equal('invalid_command');
      });

      it('rejects next past the last track and track navigation on an interactive story', async () => {
        await run(LIVING, { type: 'play', cardId: 'Bed01', chapterKey: '02', trackKey: '01' });
        await playbackWhen(LIVING, (p) => p.chapterKey === '02');
        expect((await rejection(run(LIVING, { type: 'next' }))).message).to.contain('last track');
        await run(LIVING, { type: 'play', cardId: 'Spy01' });
        await playbackWhen(LIVING, (p) => p.cardId === 'Spy01');
        expect((await rejection(run(LIVING, { type: 'next' }))).message).to.contain('track navigation');
      });

      it('times out on a player that is switched off', async () => {
        await player(MINI).powerOff();
        const error = await rejection(commander.execute(MINI, { type: 'stop' }, { timeoutMs: 300 }));
        expect(error.code).to.equal('timeout');
        expect(error.message).to.contain('did not confirm stop');
        await player(MINI).powerOn();
      });
    });
  });
}

describe('device commands against a player that answers like the real one', function () {
  let broker: TestBroker;
  let device: RawObserver;
  let client: YotoMqttClient;
  let commander: YotoDeviceCommander;
  const id = 'y2qlwzBOqj2rxXU9PyveL60p';
  /** A player whose firmware sends no acks, only events. */
  const silent = 'ySilentAckless0000000000';

  before(async () => {
    broker = await BROKERS[1]!.start();
    device = await RawObserver.start(broker.url, 'device/+/command/#');
    client = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token' });
    commander = new YotoDeviceCommander({ client, getPlayback: () => undefined, getCard: async () => undefined });
    const ready = subscribed(client, [id, silent]);
    client.setDevices([id, silent]);
    client.start();
    await ready;
    // The client greets each player with an events and a status request; let those pass first.
    await Promise.all([id, silent].map((d) => device.waitFor((m) => m.topic === `device/${d}/command/status/request`, 0)));
  });
  after(async () => {
    commander.dispose();
    await client.stop();
    await device.stop();
    await broker.stop();
  });

  it('matches a FAIL whose req_body the player re-serialised (as captured in cdnninja/yoto_ha#262)', async () => {
    const from = device.messages.length;
    const pending = rejection(commander.execute(id, { type: 'play', cardId: '523lC', chapterKey: '10', trackKey: '1', secondsIn: 1 }));
    const sent = await device.waitFor((m) => m.topic.endsWith('/command/card/start'), from);
    expect(sent.json).to.deep.equal({ uri: 'https://yoto.io/523lC', chapterKey: '10', trackKey: '1', secondsIn: 1 });
    const pythonStyle = '{"uri": "https://yoto.io/523lC", "chapterKey": "10", "trackKey": "1", "secondsIn": 1}';
    await device.publish(`device/${id}/response`, JSON.stringify({ status: { 'card-play': 'FAIL', req_body: pythonStyle } }));
    expect((await pending).code).to.equal('refused');
  });

  /** A volume command to the player that never acks, answered by the events it then publishes: the command's outcome. */
  const volumeAnsweredBy = async (percent: number, events: Record<string, unknown>) => {
    const from = device.messages.length;
    const pending = commander.execute(silent, { type: 'volume', percent });
    await device.waitFor((m) => m.topic === `device/${silent}/command/volume/set`, from);
    await device.publish(`device/${silent}/data/events`, JSON.stringify(events));
    return pending;
  };

  it('is confirmed by the state change when the player never acks', async () => {
    expect(await volumeAnsweredBy(25, { volume: 4, volumeMax: 16, eventUtc: 1766515433 })).to.include({ confirmedBy: 'state', command: 'volume' });
  });

  it('confirms a volume above the player\'s maximum-volume cap when the player stops at the cap', async () => {
    // A capped player (volumeMax 10 of 16) goes as far as it may: 10, not 16.
    expect(await volumeAnsweredBy(100, { volume: 10, volumeMax: 10, eventUtc: 1766515440 })).to.include({ confirmedBy: 'state', command: 'volume' });
  });

  it('asks each followed player for its status on a timer (every minute by default, as Home Assistant does)', async () => {
    const from = device.messages.length;
    const polling = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token', statusRequestMs: 50 });
    try {
      polling.setDevices([id]);
      polling.start();
      let next = from;
      // The greeting's request, then two from the timer: no events needed for the model to be asked again.
      for (let round = 0; round < 3; round++) {
        const request = await device.waitFor((m) => m.topic === `device/${id}/command/status/request` && m.text.startsWith(polling.clientId), next);
        next = device.messages.indexOf(request) + 1;
      }
      expect(polling.stats().statusRequests).to.be.at.least(3);
    } finally {
      await polling.stop();
    }
  });

  it('sends cutOff in whole seconds', async () => {
    const from = device.messages.length;
    const pending = commander.execute(silent, { type: 'play', cardId: '523lC', cutOff: 90.6 });
    const sent = await device.waitFor((m) => m.topic.endsWith('/command/card/start'), from);
    expect(sent.json).to.deep.equal({ uri: 'https://yoto.io/523lC', cutOff: 91 });
    await device.publish(`device/${silent}/data/events`, JSON.stringify({ cardId: '523lC', playbackStatus: 'playing', eventUtc: 1766515441 }));
    await pending;
  });

  it('waits for the ack of a player that acks, even when its events already look right', async () => {
    const asked = device.messages.length;
    const status = commander.execute(id, { type: 'status-request' });
    const request = await device.waitFor((m) => m.topic === `device/${id}/command/status/request`, asked);
    await device.publish(`device/${id}/response`, JSON.stringify({ status: { status: 'OK', req_body: request.text } }));
    expect(await status).to.include({ confirmedBy: 'ack' });

    const from = device.messages.length;
    const pending = commander.execute(id, { type: 'volume', percent: 25 });
    const sent = await device.waitFor((m) => m.topic === `device/${id}/command/volume/set`, from);
    await device.publish(`device/${id}/data/events`, JSON.stringify({ volume: 4, volumeMax: 16, eventUtc: 1766515433 }));
    await device.publish(`device/${id}/response`, JSON.stringify({ status: { volume: 'OK', req_body: sent.text } }));
    expect(await pending).to.include({ confirmedBy: 'ack', command: 'volume' });
  });
});
