import { expect } from 'chai';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { getValidator, type SchemaName } from '../../server/validation';
import { startAedes } from '../helpers/aedes-broker';
import { CAPTURED_DEVICE_ID, capturedFullLegacyStatus } from '../core/captured-traffic';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { MosquittoBroker } from '../helpers/mosquitto';
import { KIDS_BEDROOM, LIVING_ROOM, startBridgeRig, type BridgeRig } from './bridge-rig';
import { playerMessage } from '../helpers/player-message';

const PLAYERS = [LIVING_ROOM, KIDS_BEDROOM];
const validator = getValidator();

function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

function expectValid(schema: SchemaName, text: string): Record<string, unknown> {
  const value = json(text);
  const result = validator.check(schema, value);
  expect(result.ok, result.ok ? '' : result.error.message).to.equal(true);
  return value;
}

function activeResources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/**
 * The active resources once sockets being closed are gone and no work is queued: the broker's
 * side of a socket (and a previous test's) closes a few turns after ours, and the in-process
 * broker still delivers the last retained messages a while (an Immediate each turn). A loop
 * that never ends keeps its Immediate, and the comparison with the start shows it.
 */
async function quietResources(): Promise<string[]> {
  let previous = '';
  let steady = 0;
  for (let turn = 0; turn < 500 && steady < 3; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const current = activeResources();
    const snapshot = JSON.stringify(current);
    steady = snapshot === previous && !current.includes('CloseReq') && !current.includes('Immediate') ? steady + 1 : 0;
    previous = snapshot;
  }
  return activeResources();
}

interface BrokerUnderTest {
  url: string;
  stop(): Promise<void>;
}

const BROKERS: Array<{ name: string; start(): Promise<BrokerUnderTest> }> = [
  {
    name: 'Mosquitto',
    async start() {
      const broker = await MosquittoBroker.start();
      return { url: broker.url, stop: () => broker.stop() };
    },
  },
  {
    name: 'Aedes',
    async start() {
      const broker: EmbeddedBroker = await startAedes();
      return { url: broker.url, stop: () => broker.stop() };
    },
  },
];

for (const brokerKind of BROKERS) {
  describe(`home broker bridge on ${brokerKind.name}`, function () {
    let broker: BrokerUnderTest;
    let rig: BridgeRig | undefined;
    const watchers: BrokerWatcher[] = [];

    async function watch(filters: string[] = ['yoto/#', 'homeassistant/#']): Promise<BrokerWatcher> {
      const watcher = await BrokerWatcher.connect(broker.url, filters);
      watchers.push(watcher);
      return watcher;
    }

    /** A rig whose retained state the house has seen (so its command subscription is in place too). */
    async function startRig(options: Parameters<typeof startBridgeRig>[1] = {}): Promise<{ rig: BridgeRig; house: BrokerWatcher }> {
      rig = await startBridgeRig(broker.url, options);
      const house = await watch();
      for (const player of PLAYERS) await house.nextOn(`yoto/${player.deviceId}/status`);
      return { rig, house };
    }

    beforeEach(async () => {
      broker = await brokerKind.start();
    });

    afterEach(async () => {
      for (const watcher of watchers.splice(0)) await watcher.close();
      await rig?.stop();
      rig = undefined;
      await broker.stop();
    });

    it('shows a fresh subscriber the retained status and playback of both players, valid against their schemas', async () => {
      await startRig();
      const fresh = await watch(['yoto/+/status', 'yoto/+/playback']);
      for (const player of PLAYERS) {
        const status = await fresh.next((m) => m.topic === `yoto/${player.deviceId}/status`);
        const playback = await fresh.next((m) => m.topic === `yoto/${player.deviceId}/playback`);
        expect(status.retain).to.equal(true);
        expect(playback.retain).to.equal(true);
        expect(expectValid('broker-status', status.text)).to.include({ status: 'connected', online: true, name: player.name, model: player.deviceType });
        expect(expectValid('broker-playback', playback.text)).to.include({ state: 'idle' });
      }
    });

    it('publishes Home Assistant discovery for every player, with the night light only where the model has one', async () => {
      await startRig();
      const fresh = await watch(['homeassistant/#']);
      const expected = [
        'sensor/battery', 'sensor/playback_state', 'sensor/title', 'sensor/card', 'number/volume',
        'binary_sensor/charging', 'binary_sensor/headphones', 'binary_sensor/bluetooth_audio', 'sensor/card_slot',
        'button/play', 'button/pause', 'button/stop', 'button/next', 'button/previous', 'button/volume_up', 'button/volume_down', 'button/restart',
        'notify/announce',
      ];
      for (const player of PLAYERS) {
        const objects = expected.concat(player.hasNightLight ? ['light/nightlight'] : []);
        for (const object of objects) {
          const [component, objectId] = object.split('/');
          const topic = `homeassistant/${component}/${player.deviceId}/${objectId}/config`;
          const message = await fresh.next((m) => m.topic === topic);
          expect(message.retain).to.equal(true);
          const config = json(message.text);
          expect(config['unique_id']).to.equal(`yoto_${player.deviceId}_${objectId}`);
          expect(config['availability']).to.deep.equal([
            { topic: `yoto/${player.deviceId}/status`, value_template: "{{ 'online' if value_json.status in ['connected', 'idle'] else 'offline' }}" },
          ]);
          expect(config['device']).to.deep.include({ identifiers: [`yoto_${player.deviceId}`], name: player.name, manufacturer: 'Yoto' });
        }
      }
      await fresh.next((m) => m.topic === 'homeassistant/notify/yoto_all_players/announce/config');
      const published = fresh.latest('homeassistant/#');
      expect([...published.keys()].filter((topic) => topic.includes('/light/'))).to.deep.equal([`homeassistant/light/${LIVING_ROOM.deviceId}/nightlight/config`]);
      // Each player's entities, and one "Announce on every player" notify entity.
      expect(published.size).to.equal(18 + 19 + 1);
      expect(json(published.get('homeassistant/notify/yoto_all_players/announce/config') ?? '{}')).to.include({ command_topic: 'yoto/broadcast/announcements' });
    });

    it('republishes playback when the player changes state, e.g. paused', async () => {
      const { rig, house } = await startRig();
      const id = KIDS_BEDROOM.deviceId;
      rig.registry.ingest(playerMessage(id, 'events', { cardId: 'none', playbackStatus: 'stopped', volume: 8, volumeMax: 16 }, new Date()));
      await house.nextOn(`yoto/${id}/status`, (p) => p['status'] === 'idle');
      const mark = house.mark;
      rig.registry.ingest(playerMessage(id, 'events', { cardId: 'abc12', playbackStatus: 'playing', chapterKey: '01', trackKey: '01', trackTitle: 'Dragons' }, new Date()));
      const playing = await house.nextOn(`yoto/${id}/playback`, (p) => p['state'] === 'playing', mark);
      expect(playing).to.include({ card_id: 'abc12', title: 'Dragons', chapter_key: '01', track_key: '01', volume: 50 });
      rig.registry.ingest(playerMessage(id, 'events', { playbackStatus: 'paused', position: 61 }, new Date()));
      const paused = await house.nextOn(`yoto/${id}/playback`, (p) => p['state'] === 'paused', mark);
      expect(paused).to.include({ card_id: 'abc12', position: 61 });
      const types = ['card_inserted', 'playback_started', 'playback_paused'];
      for (const type of types) {
        const event = await house.nextOn(`yoto/${id}/events`, (e) => e['type'] === type, mark);
        expect(validator.check('broker-event', event).ok).to.equal(true);
      }
      const events = house.messages.slice(mark).filter((m) => m.topic === `yoto/${id}/events`);
      expect(events.map((m) => json(m.text)['type'])).to.deep.equal(types);
      expect(events.every((m) => !m.retain)).to.equal(true);
    });

    it('marks a player shut down on its status topic when a real legacy status says so, and publishes its telemetry', async () => {
      const { rig, house } = await startRig();
      const mark = house.mark;
      const legacy = capturedFullLegacyStatus();
      rig.registry.ingest(playerMessage(CAPTURED_DEVICE_ID, 'legacyStatus', legacy, new Date()));
      const running = await house.next((m) => m.topic === `yoto/${CAPTURED_DEVICE_ID}/status`, mark);
      expect(expectValid('broker-status', running.text)).to.include({ status: 'idle', battery: 100, firmware: 'v2.23.2' });
      const telemetry = await house.next((m) => m.topic === `yoto/${CAPTURED_DEVICE_ID}/telemetry`, mark);
      expect(telemetry.retain).to.equal(false);
      expect(expectValid('broker-telemetry', telemetry.text)).to.include({ wifi_strength: -26, free_disk: 25160368 * 1024, uptime: 12, temperature: 11 });

      legacy.status['shutDown'] = 'userShutdown';
      rig.registry.ingest(playerMessage(CAPTURED_DEVICE_ID, 'legacyStatus', legacy, new Date()));
      const shutDown = await house.nextOn(`yoto/${CAPTURED_DEVICE_ID}/status`, (p) => p['status'] === 'shutdown', mark);
      expect(shutDown).to.include({ online: false });
      const event = await house.nextOn(`yoto/${CAPTURED_DEVICE_ID}/events`, (e) => e['type'] === 'shutdown', mark);
      expect(event).to.include({ shut_down: 'userShutdown', device_id: CAPTURED_DEVICE_ID });
    });

    it('publishes the device list on yoto/admin/discovery and answers management requests', async () => {
      const { rig, house } = await startRig();
      let mark = house.mark;
      await house.publish('yoto/admin/management', JSON.stringify({ action: 'ping', request_id: 'p-1' }));
      expect(await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'p-1', mark)).to.include({ type: 'pong', action: 'ping', devices: 2 });

      mark = house.mark;
      await house.publish('yoto/admin/management', JSON.stringify({ action: 'resync_discovery', request_id: 'r-1' }));
      expect(await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'r-1', mark)).to.include({ type: 'management_done', action: 'resync_discovery' });
      const list = await house.next((m) => m.topic === 'yoto/admin/discovery', mark);
      expect(list.retain).to.equal(false);
      const devices = expectValid('broker-discovery', list.text)['devices'];
      expect(devices).to.deep.equal(PLAYERS.map((p) => ({ device_id: p.deviceId, name: p.name, online: true, model: p.deviceType })));
      await house.next((m) => m.topic === `homeassistant/number/${KIDS_BEDROOM.deviceId}/volume/config`, mark);

      mark = house.mark;
      await house.publish('yoto/admin/management', JSON.stringify({ action: 'refresh', request_id: 'f-1' }));
      const refreshed = await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'f-1', mark);
      expect(refreshed).to.include({ type: 'management_done', devices: 2, failed_requests: 0 });
      expect(rig.commander.calls.map((c) => c.command.type).sort()).to.deep.equal(['events-request', 'events-request', 'status-request', 'status-request']);

      mark = house.mark;
      await house.publish('yoto/admin/management', JSON.stringify({ action: 'format_disk', request_id: 'x-1' }));
      const rejected = await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'x-1', mark);
      expect(rejected).to.include({ type: 'command_rejected', action: 'format_disk' });
      expect(String(rejected['reason'])).to.include('/action must be one of refresh, resync_discovery, ping');
      expect(rig.bridge.stats()).to.include({ managementRequests: 4, managementRejected: 1 });
    });

    it('answers a malformed command with a command_rejected event, logs and counts it, and keeps serving', async () => {
      const records: LogRecord[] = [];
      const { rig, house } = await startRig({ logger: createLogger({ sink: (record) => records.push(record) }) });
      const id = LIVING_ROOM.deviceId;
      const bad: Array<[string, string]> = [
        ['this is not json', 'not JSON'],
        ['', 'empty'],
        [JSON.stringify({ command: 'fly', request_id: 'b-2' }), '/command must be one of play, pause'],
        [JSON.stringify({ command: 'volume', volume: 150, request_id: 'b-3' }), '/volume'],
        [JSON.stringify({ command: 'seek' }), '/position is required'],
        [JSON.stringify({ command: 'play', card_id: 'abc12', script_id: 's1' }), 'only one of'],
        [JSON.stringify([1, 2]), 'must be an object'],
      ];
      for (const [payload, reason] of bad) {
        const mark = house.mark;
        await house.publish(`yoto/${id}/commands`, payload);
        const event = await house.nextOn(`yoto/${id}/events`, (e) => e['type'] === 'command_rejected', mark);
        expect(String(event['reason'])).to.include(reason);
        expect(validator.check('broker-event', event).ok).to.equal(true);
      }
      let mark = house.mark;
      await house.publish('yoto/nosuchplayer/commands', JSON.stringify({ command: 'pause' }));
      expect(await house.nextOn('yoto/nosuchplayer/events', () => true, mark)).to.include({ type: 'command_rejected', reason: 'unknown player "nosuchplayer"' });
      expect(rig.commander.calls).to.deep.equal([]);
      expect(rig.bridge.stats()).to.include({ commandsReceived: bad.length + 1, commandsRejected: bad.length + 1 });
      const warnings = records.filter((record) => record.msg === 'home broker command rejected');
      expect(warnings.map((record) => record['reason'])).to.have.length(bad.length + 1);
      expect(warnings[3]).to.include({ level: 'warn', deviceId: id });
      expect(String(warnings[3]?.['reason'])).to.include('/volume');

      mark = house.mark;
      await house.publish(`yoto/${id}/commands`, JSON.stringify({ command: 'pause', request_id: 'ok-1' }));
      const done = await house.nextOn(`yoto/${id}/events`, (e) => e['request_id'] === 'ok-1', mark);
      expect(done).to.include({ type: 'command_completed', command: 'pause', confirmed_by: 'ack' });
      expect(rig.commander.calls).to.deep.equal([{ deviceId: id, command: { type: 'pause' } }]);
    });

    it('reports a command the player refuses as command_failed, on the topic and in the event log', async () => {
      const { rig, house } = await startRig();
      const id = KIDS_BEDROOM.deviceId;
      rig.commander.refuse('next', 'the player answered FAIL');
      const mark = house.mark;
      await house.publish(`yoto/${id}/commands`, JSON.stringify({ command: 'next', request_id: 'n-1' }));
      const failed = await house.nextOn(`yoto/${id}/events`, (e) => e['type'] === 'command_failed', mark);
      expect(failed).to.include({ command: 'next', code: 'refused', reason: 'the player answered FAIL', request_id: 'n-1' });
      expect(rig.logged.map((e) => e.type)).to.include('command_failed');
      expect(rig.bridge.stats()).to.include({ commandsFailed: 1 });
    });

    it('maps every Home Assistant entity command to the command it names', async () => {
      const { rig, house } = await startRig();
      const id = LIVING_ROOM.deviceId;
      await house.next((m) => m.topic === `homeassistant/light/${id}/nightlight/config`);
      const configs = house.latest(`homeassistant/+/${id}/+/config`);
      const config = (component: string, objectId: string): Record<string, unknown> => json(configs.get(`homeassistant/${component}/${id}/${objectId}/config`) ?? '{}');
      const sends: string[] = [];
      for (const button of ['play', 'pause', 'stop', 'next', 'previous']) {
        const entity = config('button', button);
        expect(entity['command_topic']).to.equal(`yoto/${id}/commands`);
        sends.push(String(entity['payload_press']));
      }
      const volume = config('number', 'volume');
      sends.push(String(volume['command_template']).replace('{{ value | int }}', '35'));
      const light = config('light', 'nightlight');
      expect(light['command_topic']).to.equal(`yoto/${id}/commands`);
      sends.push(renderColour(String(light['command_on_template']), { red: 255, green: 120, blue: 0 }));
      sends.push(renderColour(String(light['command_on_template']), {}));
      sends.push(String(light['command_off_template']));
      for (const payload of sends) await house.publish(`yoto/${id}/commands`, payload);
      await rig.commander.received(sends.length);
      expect(rig.commander.calls.map((c) => c.command)).to.deep.equal([
        { type: 'resume' },
        { type: 'pause' },
        { type: 'stop' },
        { type: 'next' },
        { type: 'previous' },
        { type: 'volume', percent: 35 },
        { type: 'nightlight', color: { r: 255, g: 120, b: 0 } },
        { type: 'nightlight', color: { r: 255, g: 255, b: 255 } },
        { type: 'nightlight', color: 'off' },
      ]);
      expect(rig.bridge.stats().commandsRejected).to.equal(0);
    });

    it('clears a removed player\'s retained state and Home Assistant entities', async () => {
      const { rig, house } = await startRig();
      const id = LIVING_ROOM.deviceId;
      // The night light is the player's last config.
      await house.next((m) => m.topic === `homeassistant/light/${id}/nightlight/config`);
      const before = [...house.latest(`homeassistant/+/${id}/+/config`).keys()];
      expect(before).to.have.length(19);
      const mark = house.mark;
      rig.registry.removeDevice(id);
      const cleared = [...before, `yoto/${id}/status`, `yoto/${id}/playback`];
      for (const topic of cleared) await house.next((m) => m.topic === topic && m.text === '', mark);
      const list = await house.nextOn('yoto/admin/discovery', (l) => (l['devices'] as unknown[]).length === 1, mark);
      expect(list['devices']).to.deep.equal([{ device_id: KIDS_BEDROOM.deviceId, name: KIDS_BEDROOM.name, online: true, model: 'mini' }]);

      const fresh = await watch([`yoto/${id}/#`, `homeassistant/+/${id}/#`, `yoto/${KIDS_BEDROOM.deviceId}/status`]);
      await fresh.next((m) => m.topic === `yoto/${KIDS_BEDROOM.deviceId}/status`);
      expect(fresh.messages.filter((m) => m.topic.includes(id))).to.deep.equal([]);
    });

    it('plays announcements through the announcement player on the players listed, and refuses bad ones', async () => {
      const { rig, house } = await startRig();
      const announced = rig.hubServices.played;
      let mark = house.mark;
      await house.publish('yoto/broadcast/announcements', JSON.stringify({ url: 'https://example.com/dinner.mp3', device_ids: [KIDS_BEDROOM.deviceId], request_id: 'a-1' }));
      expect(await house.nextOn('yoto/broadcast/events', (e) => e['request_id'] === 'a-1', mark)).to.include({ type: 'announcement_started' });
      await house.nextOn(`yoto/${KIDS_BEDROOM.deviceId}/events`, (e) => e['type'] === 'command_completed' && e['request_id'] === 'a-1', mark);
      expect(announced.map((a) => a.deviceId)).to.deep.equal([KIDS_BEDROOM.deviceId]);

      mark = house.mark;
      await house.publish('yoto/broadcast/announcements', JSON.stringify({ voice: 'en', request_id: 'a-2' }));
      const rejected = await house.nextOn('yoto/broadcast/events', (e) => e['request_id'] === 'a-2', mark);
      expect(rejected).to.include({ type: 'command_rejected', reason: '/ must have text, audio_file_id or url' });
      mark = house.mark;
      await house.publish('yoto/broadcast/announcements', JSON.stringify({ url: 'https://example.com/a.mp3', device_ids: ['ghost'], request_id: 'a-3' }));
      expect(await house.nextOn('yoto/broadcast/events', (e) => e['request_id'] === 'a-3', mark)).to.include({ reason: 'unknown player(s): ghost' });
      expect(rig.bridge.stats()).to.include({ announcementsReceived: 3, announcementsRejected: 2 });
    });

    it('removes every listener and subscription on stop', async () => {
      const before = await quietResources();
      const started = await startRig();
      const brokerListeners = started.rig.client.listenerCount('status');
      started.rig.bridge.stop();
      for (const event of ['state', 'event', 'device-added', 'device-removed', 'telemetry'] as const) {
        expect(started.rig.registry.bus.listenerCount(event, started.rig.bridge), event).to.equal(0);
      }
      expect(started.rig.client.listenerCount('status')).to.equal(brokerListeners - 1);
      // Commands are no longer taken: the commander hears nothing.
      const mark = started.house.mark;
      await started.house.publish(`yoto/${LIVING_ROOM.deviceId}/commands`, JSON.stringify({ command: 'pause' }));
      await started.house.publish('yoto/probe', 'after');
      await started.house.next((m) => m.topic === 'yoto/probe', mark);
      expect(started.rig.commander.calls).to.deep.equal([]);
      await started.rig.stop();
      rig = undefined;
      for (const watcher of watchers.splice(0)) await watcher.close();
      expect(await quietResources()).to.deep.equal(before);
    });
  });
}

/** Renders the light's on-template the way Home Assistant would, for the variables given. */
function renderColour(template: string, colour: { red?: number; green?: number; blue?: number }): string {
  return template.replace(/\{\{ (red|green|blue) \| default\((\d+)\) \}\}/g, (_match, name: 'red' | 'green' | 'blue', fallback: string) => String(colour[name] ?? fallback));
}
