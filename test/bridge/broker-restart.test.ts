import { expect } from 'chai';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { KIDS_BEDROOM, LIVING_ROOM, startBridgeRig, type BridgeRig } from './bridge-rig';
import { MosquittoBroker } from '../helpers/mosquitto';
import { playerMessage } from '../helpers/player-message';

describe('home broker bridge across a Mosquitto restart', function () {
  let mosquitto: MosquittoBroker | undefined;
  let rig: BridgeRig | undefined;
  const watchers: BrokerWatcher[] = [];

  async function watch(filters: string[]): Promise<BrokerWatcher> {
    const watcher = await BrokerWatcher.connect(mosquitto!.url, filters);
    watchers.push(watcher);
    return watcher;
  }

  afterEach(async () => {
    for (const watcher of watchers.splice(0)) await watcher.close();
    await rig?.stop();
    rig = undefined;
    await mosquitto?.stop();
    mosquitto = undefined;
  });

  it('publishes the retained state again after Mosquitto is killed and relaunched (it kept nothing), and takes commands again', async () => {
    mosquitto = await MosquittoBroker.start();
    rig = await startBridgeRig(mosquitto.url);
    const kids = KIDS_BEDROOM.deviceId;
    rig.registry.ingest(playerMessage(kids, 'events', { cardId: 'abc12', playbackStatus: 'paused', trackTitle: 'Dragons', volume: 6 }, new Date()));
    const before = await watch(['yoto/+/playback']);
    await before.nextOn(`yoto/${kids}/playback`, (p) => p['state'] === 'paused');

    const client = rig.client;
    const reconnected = new Promise<void>((resolve) => {
      const onStatus = (state: string): void => {
        if (state !== 'connected') return;
        client.off('status', onStatus);
        resolve();
      };
      client.on('status', onStatus);
    });
    await mosquitto!.restart();
    await reconnected;

    // The first newcomer may arrive while the bridge republishes; the second one can only learn from what is retained.
    const first = await watch(['yoto/#', 'homeassistant/#']);
    await first.nextOn(`yoto/${kids}/playback`, (p) => p['state'] === 'paused');
    const second = await watch(['yoto/#', 'homeassistant/#']);
    for (const player of [LIVING_ROOM, KIDS_BEDROOM]) {
      const status = await second.next((m) => m.topic === `yoto/${player.deviceId}/status`);
      expect(status.retain).to.equal(true);
      await second.next((m) => m.topic === `homeassistant/button/${player.deviceId}/pause/config` && m.retain);
    }
    const playback = await second.next((m) => m.topic === `yoto/${kids}/playback`);
    expect(playback.retain).to.equal(true);
    expect(JSON.parse(playback.text)).to.include({ state: 'paused', card_id: 'abc12', title: 'Dragons', volume: 38 });

    const mark = second.mark;
    await second.publish(`yoto/${LIVING_ROOM.deviceId}/commands`, JSON.stringify({ command: 'stop', request_id: 'after-restart' }));
    await second.nextOn(`yoto/${LIVING_ROOM.deviceId}/events`, (e) => e['request_id'] === 'after-restart', mark);
    expect(rig.commander.calls).to.deep.equal([{ deviceId: LIVING_ROOM.deviceId, command: { type: 'stop' } }]);
  });
});
