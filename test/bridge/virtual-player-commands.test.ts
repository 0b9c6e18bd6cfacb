import { RecordingHubServices } from './bridge-rig';
import { expect } from 'chai';
import mqtt from 'mqtt';
import { HomeBrokerBridge } from '../../server/bridge/home-broker-bridge';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { HomeBrokerClient } from '../../server/broker/home-broker-client';
import type { DeviceRegistry } from '../../server/core/device-registry';
import { protocolPlayback } from '../../server/core/device-state';
import { silentLogger } from '../../server/log/logger';
import { DEFAULT_VIRTUAL_PLAYERS, type VirtualCardLibrary } from '../../server/virtual/contracts';
import { VirtualPlayerFleet } from '../../server/virtual/players';
import type { YotoCard } from '../../server/yoto/card';
import { YotoDeviceCommander } from '../../server/yoto/commands';
import { capturedFullLegacyStatus } from '../core/captured-traffic';
import { startAedes } from '../helpers/aedes-broker';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { followDefaultPlayers, type Stops } from '../helpers/followed-players';
import { MosquittoBroker } from '../helpers/mosquitto';

const STORY: YotoCard = {
  cardId: 'Drag1',
  title: 'The Sleepy Dragon',
  content: {
    playbackType: 'linear',
    chapters: [
      { key: '01', title: 'The cave', tracks: [{ key: '01', title: 'The cave', type: 'audio', format: 'mp3', trackUrl: 'yoto:#cave', duration: 600 }] },
      { key: '02', title: 'The flight', tracks: [{ key: '01', title: 'The flight', type: 'audio', format: 'mp3', trackUrl: 'yoto:#flight', duration: 600 }] },
    ],
  },
};

const library: VirtualCardLibrary = { get: (cardId) => (cardId === STORY.cardId ? STORY : undefined) };

/**
 * The house's commands reach a real virtual player: virtual players on the
 * "Yoto cloud" broker (Aedes), the cloud adapter and its commander, the device
 * registry, and the bridge on the home broker (Mosquitto).
 */
describe('home broker commands to virtual players', function () {
  let cloudBroker: EmbeddedBroker | undefined;
  let homeBroker: MosquittoBroker | undefined;
  const stops: Stops = [];

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await cloudBroker?.stop();
    await homeBroker?.stop();
    cloudBroker = undefined;
    homeBroker = undefined;
  });

  async function startHub(): Promise<{ house: BrokerWatcher; fleet: VirtualPlayerFleet; registry: DeviceRegistry }> {
    cloudBroker = await startAedes();
    homeBroker = await MosquittoBroker.start();

    const fleet = new VirtualPlayerFleet({ brokerUrl: cloudBroker.url, cards: library });
    await fleet.start();
    stops.push(() => fleet.stop());

    const { registry, client: cloud } = await followDefaultPlayers(cloudBroker.url, stops);

    const commander = new YotoDeviceCommander({
      client: cloud,
      getPlayback: (deviceId) => {
        const state = registry.get(deviceId);
        return state ? protocolPlayback(state) : undefined;
      },
      getCard: async (cardId) => library.get(cardId),
    });
    stops.push(() => commander.dispose());

    const home = new HomeBrokerClient(homeBroker.url, {}, false, silentLogger);
    home.start();
    stops.push(() => home.stop());
    await home.whenConnected();
    // Scripts and announcements are not this test's subject (test/contract/ plays them on the composed hub).
    const notUsed = new RecordingHubServices();
    const bridge = new HomeBrokerBridge({ broker: home, registry, commander, scripts: notUsed, announcements: notUsed });
    bridge.start();
    stops.push(() => bridge.stop());

    const house = await BrokerWatcher.connect(homeBroker.url, ['yoto/#']);
    stops.push(() => house.close());
    for (const spec of DEFAULT_VIRTUAL_PLAYERS) await house.nextOn(`yoto/${spec.deviceId}/playback`, (p) => p['state'] === 'idle');
    return { house, fleet, registry };
  }

  it('pauses a playing player when the house publishes {"command":"pause"}, and the playback topic says so', async () => {
    const { house, fleet } = await startHub();
    const kids = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;

    let mark = house.mark;
    await house.publish(`yoto/${kids}/commands`, JSON.stringify({ command: 'play', card_id: STORY.cardId, chapter_key: '02', request_id: 'play-1' }));
    const playing = await house.nextOn(`yoto/${kids}/playback`, (p) => p['state'] === 'playing', mark);
    expect(playing).to.include({ card_id: STORY.cardId, chapter_key: '02', track_key: '01' });
    await house.nextOn(`yoto/${kids}/events`, (e) => e['type'] === 'command_completed' && e['request_id'] === 'play-1', mark);

    mark = house.mark;
    await house.publish(`yoto/${kids}/commands`, JSON.stringify({ command: 'pause', request_id: 'pause-1' }));
    const paused = await house.nextOn(`yoto/${kids}/playback`, (p) => p['state'] === 'paused', mark);
    expect(paused).to.include({ card_id: STORY.cardId });
    expect(await house.nextOn(`yoto/${kids}/events`, (e) => e['type'] === 'playback_paused', mark)).to.include({ card_id: STORY.cardId });
    expect(fleet.player(kids)?.snapshot().playbackStatus).to.equal('paused');

    mark = house.mark;
    await house.publish(`yoto/${kids}/commands`, JSON.stringify({ command: 'volume', volume: 25 }));
    expect(await house.nextOn(`yoto/${kids}/playback`, (p) => p['volume'] === 25, mark)).to.include({ state: 'paused' });
  });

  it('marks a player shut down on yoto/{id}/status when a real legacy status with shutDown other than "nA" arrives on device/{id}/status', async () => {
    const { house } = await startHub();
    const kids = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;
    const legacy = capturedFullLegacyStatus();
    legacy.status['shutDown'] = 'userShutdown';
    const mark = house.mark;
    const device = await mqtt.connectAsync(cloudBroker!.url);
    await device.publishAsync(`device/${kids}/status`, JSON.stringify(legacy), { qos: 1 });
    await device.endAsync();
    const status = await house.nextOn(`yoto/${kids}/status`, (p) => p['status'] === 'shutdown', mark);
    expect(status).to.include({ online: false });
    expect(await house.nextOn(`yoto/${kids}/events`, (e) => e['type'] === 'shutdown', mark)).to.include({ shut_down: 'userShutdown' });
  });

  it('answers a command the player refuses with command_failed, and a malformed one with command_rejected, and keeps going', async () => {
    const { house } = await startHub();
    const living = DEFAULT_VIRTUAL_PLAYERS[0]!.deviceId;

    let mark = house.mark;
    await house.publish(`yoto/${living}/commands`, JSON.stringify({ command: 'play', card_id: 'Nope1', request_id: 'bad-card' }));
    const failed = await house.nextOn(`yoto/${living}/events`, (e) => e['request_id'] === 'bad-card', mark);
    expect(failed['type']).to.equal('command_failed');

    mark = house.mark;
    await house.publish(`yoto/${living}/commands`, '{"command": "pause"');
    expect(await house.nextOn(`yoto/${living}/events`, () => true, mark)).to.include({ type: 'command_rejected' });

    mark = house.mark;
    await house.publish(`yoto/${living}/commands`, JSON.stringify({ command: 'play', card_id: STORY.cardId }));
    await house.nextOn(`yoto/${living}/playback`, (p) => p['state'] === 'playing', mark);
  });
});
