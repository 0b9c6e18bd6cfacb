import { expect } from 'chai';
import mqtt from 'mqtt';
import type { Hub } from '../../server/hub';
import { getValidator } from '../../server/validation';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { mqttUsername } from '../../server/yoto/protocol';
import { capturedFullLegacyStatus } from '../core/captured-traffic';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { MosquittoBroker } from '../helpers/mosquitto';
import { adapterLogin, houseLogin, startTestHub, stopTestHub } from '../helpers/test-hub';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];

/**
 * The whole hub as `npm start` runs it: virtual cloud, virtual players on the
 * home broker, cloud adapter, device model and bridge. Everything is checked
 * from outside, as a house's MQTT client sees it.
 */
describe('Hub on the home broker, with the virtual cloud', function () {
  let hub: Hub | undefined;
  const closers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await stopTestHub(hub);
    hub = undefined;
  });

  /** A house client; on the embedded broker it logs in as an admin of the hub (anonymous clients see no yoto/ topic). */
  async function watch(url: string, filters = ['yoto/#', 'homeassistant/#']): Promise<BrokerWatcher> {
    const login = hub && url === hub.broker.url ? await houseLogin(hub) : {};
    const watcher = await BrokerWatcher.connect(url, filters, login);
    closers.push(() => watcher.close());
    return watcher;
  }

  describe('on the embedded broker', () => {
    it('shows retained status and playback for both players and their Home Assistant discovery configs on yoto/#', async () => {
      hub = await startTestHub();
      const expected = [LIVING_ROOM, KIDS].flatMap((deviceId) => [
        `yoto/${deviceId}/status`,
        `yoto/${deviceId}/playback`,
        ...['sensor/{id}/battery', 'sensor/{id}/playback_state', 'sensor/{id}/title', 'number/{id}/volume', 'button/{id}/pause', 'button/{id}/next'].map(
          (entity) => `homeassistant/${entity.replace('{id}', deviceId)}/config`,
        ),
      ]);
      // Once the hub has published all of it, a newcomer to the broker gets it as retained messages.
      const early = await watch(hub.broker.url);
      for (const topic of expected) await early.next((m) => m.topic === topic);
      const house = await watch(hub.broker.url);
      const validator = getValidator();
      for (const topic of expected) {
        const message = await house.next((m) => m.topic === topic);
        expect(message.retain, `${topic} is retained`).to.equal(true);
        const payload = JSON.parse(message.text) as Record<string, unknown>;
        if (topic.endsWith('/status')) expect(validator.check('broker-status', payload).ok, `${topic} matches its schema`).to.equal(true);
        else if (topic.endsWith('/playback')) expect(validator.check('broker-playback', payload).ok, `${topic} matches its schema`).to.equal(true);
        else expect(payload, `${topic} says when the player is available`).to.have.property('availability');
      }
      await house.next((m) => m.topic === `homeassistant/light/${LIVING_ROOM}/nightlight/config`);
      expect(house.messages.some((m) => m.topic === `homeassistant/light/${KIDS}/nightlight/config`), 'the Mini has no night light').to.equal(false);
    });

    it('hands a house subscriber each retained state beside the events published with it, and an anonymous client none of them', async () => {
      hub = await startTestHub();
      // The hub publishes into its embedded broker in-process: the same topics, retain flags and access rules as a client's publishes.
      const house = await watch(hub.broker.url, ['yoto/#', 'homeassistant/#']);
      const anonymous = await BrokerWatcher.connect(hub.broker.url, ['#']);
      closers.push(() => anonymous.close());
      await house.nextOn(`yoto/${KIDS}/playback`);
      const mark = house.mark;
      await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1' }));
      // A state change and the events it causes go out together: the retained state must not be lost behind them.
      await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_completed', mark);
      await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'card_inserted', mark);
      expect(await house.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'playing', mark)).to.include({ card_id: 'demo1' });
      expect(await house.nextOn(`yoto/${KIDS}/status`, () => true, mark)).to.include({ online: true });
      // Retained in the broker: a newcomer gets the new state at once, and the discovery configs.
      const newcomer = await watch(hub.broker.url, [`yoto/${KIDS}/playback`, `homeassistant/sensor/${KIDS}/title/config`]);
      const retained = await newcomer.next((m) => m.topic === `yoto/${KIDS}/playback`);
      expect(retained.retain).to.equal(true);
      expect(JSON.parse(retained.text)).to.include({ state: 'playing', card_id: 'demo1' });
      expect((await newcomer.next((m) => m.topic === `homeassistant/sensor/${KIDS}/title/config`)).retain).to.equal(true);
      // The anonymous client's own house topic comes back to it; none of the hub's topics ever did.
      await anonymous.publish('house/lights', 'on');
      await anonymous.next((m) => m.topic === 'house/lights');
      expect(anonymous.messages.filter((m) => /^(yoto|homeassistant|device)\//.test(m.topic)).map((m) => m.topic)).to.deep.equal([]);
    });

    it('pauses a playing player on {"command":"pause"}, and answers an invalid command with an error event while it keeps running', async () => {
      hub = await startTestHub();
      const house = await watch(hub.broker.url, ['yoto/+/playback', 'yoto/+/events']);
      await house.nextOn(`yoto/${KIDS}/playback`);

      let mark = house.mark;
      await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1' }));
      expect(await house.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'playing', mark)).to.include({ card_id: 'demo1', chapter_key: '01', title: 'The cave' });

      mark = house.mark;
      await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'pause' }));
      expect(await house.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'paused', mark)).to.include({ card_id: 'demo1' });
      expect(await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_completed', mark)).to.include({ command: 'pause' });

      mark = house.mark;
      await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'dance' }));
      const rejected = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_rejected', mark);
      expect(String(rejected['reason'])).to.match(/command must be one of play, pause/);
      await house.publish(`yoto/${KIDS}/commands`, '{"command":');
      expect(String((await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_rejected' && e['command'] === undefined, mark))['reason'])).to.match(/not JSON/);

      expect(hub.state).to.equal('running');
      expect(hub.health().status).to.equal('ok');
      mark = house.mark;
      await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'resume' }));
      await house.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'playing', mark);
    });

    it('marks a player shut down on yoto/{id}/status when a real legacy status with shutDown other than "nA" arrives on device/{id}/status', async () => {
      hub = await startTestHub();
      const house = await watch(hub.broker.url, ['yoto/+/status', 'yoto/+/events']);
      await house.nextOn(`yoto/${LIVING_ROOM}/status`, (s) => s['online'] === true);
      const legacy = capturedFullLegacyStatus();
      legacy.status['shutDown'] = 'userShutdown';
      const mark = house.mark;
      // Only the Yoto side of the broker may publish device/...: a login in the Yoto cloud's form with a live virtual-cloud token.
      const device = await mqtt.connectAsync(hub.broker.url, adapterLogin(hub));
      closers.push(() => device.endAsync());
      await device.publishAsync(`device/${LIVING_ROOM}/status`, JSON.stringify(legacy), { qos: 1 });
      expect(await house.nextOn(`yoto/${LIVING_ROOM}/status`, (s) => s['status'] === 'shutdown', mark)).to.include({ online: false });
      expect(await house.nextOn(`yoto/${LIVING_ROOM}/events`, (e) => e['type'] === 'shutdown', mark)).to.include({ shut_down: 'userShutdown' });
    });

    it('refuses a login in the Yoto cloud form without a live token of the virtual cloud, and lets the house in without one', async () => {
      hub = await startTestHub();
      let refusal: Error | undefined;
      try {
        const impostor = await mqtt.connectAsync(hub.broker.url, { username: mqttUsername('impostor'), password: 'not-a-token', reconnectPeriod: 0 });
        await impostor.endAsync();
      } catch (error) {
        refusal = error as Error;
      }
      expect(refusal?.message).to.match(/Bad username or password|Not authorized|bad user name or password/i);
      const house = await mqtt.connectAsync(hub.broker.url, { reconnectPeriod: 0 });
      expect(house.connected).to.equal(true);
      await house.endAsync();
      expect(hub.cloud.mqtt?.stats()).to.include({ state: 'connected', devices: 3 });
    });
  });

  describe('on a real Mosquitto broker', () => {
    it('republishes retained state after Mosquitto is killed and restarted, and the players are followed again', async () => {
      const mosquitto = await MosquittoBroker.start();
      closers.push(() => mosquitto.stop());
      hub = await startTestHub({ brokerUrl: mosquitto.url });
      const before = await watch(mosquitto.url, ['yoto/+/status']);
      await before.nextOn(`yoto/${KIDS}/status`);

      const reconnected = new Promise<void>((resolve) => {
        const onStatus = (state: string): void => {
          if (state !== 'connected') return;
          hub!.off('broker-status', onStatus);
          resolve();
        };
        hub!.on('broker-status', onStatus);
      });
      await mosquitto.restart(); // SIGKILL: its retained messages are gone (persistence is off)
      await reconnected;

      const after = await watch(mosquitto.url, ['yoto/+/status', 'yoto/+/playback']);
      for (const deviceId of [LIVING_ROOM, KIDS]) {
        expect((await after.next((m) => m.topic === `yoto/${deviceId}/status`)).retain).to.equal(true);
        expect((await after.next((m) => m.topic === `yoto/${deviceId}/playback`)).retain).to.equal(true);
      }
      // The adapter and the players are back too: a command goes round trip. (25 % is under the night
      // cap of the virtual players' default config, so the answer does not depend on the time of day.)
      const mark = after.mark;
      await after.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'volume', volume: 25 }));
      expect(await after.nextOn(`yoto/${LIVING_ROOM}/playback`, (p) => p['volume'] === 25, mark)).to.include({ volume: 25 });
    });
  });
});
