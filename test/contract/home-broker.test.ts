import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import Ajv2020 from 'ajv/dist/2020';
import { packageRoot } from '../../server/paths';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { ADMIN, call, KIDS_BEDROOM, LIVING_ROOM, player } from './client';
import { useProduct, type Product } from './product';
import { keepMode } from '../helpers/day-mode';

/** The third player of the default fleet (YOTO_VIRTUAL_PLAYERS=3). */
const PLAYROOM = 'vplay0room0yoto0player00';

type Json = Record<string, unknown>;

/** Every yoto/... topic of the README's "On the home broker" table, both ways, with a real MQTT client of the house. */
describe('contract: the home broker topics of a running npm start', function () {
  this.timeout(60_000);
  const running = useProduct();
  let product: Product;
  let house: BrokerWatcher;
  let token: string;

  before(async () => {
    product = running.product();
    token = running.token();
    // The house logs in with a hub account, as README "Home broker security" says (anonymous clients see no yoto/ topic).
    house = await BrokerWatcher.connect(product.brokerUrl, ['yoto/#', 'homeassistant/#'], { username: ADMIN.email, password: ADMIN.password });
  });

  after(async () => {
    await house?.close();
  });

  const scriptCard = async (id: string): Promise<string> => {
    const script = await call<{ cardId?: string }>(`${product.hubUrl}/api/scripts/${id}`, { token });
    expect(script.body.cardId, `script ${id} has a card`).to.be.a('string');
    return script.body.cardId!;
  };

  /** The answer to a command with this request_id: completed, or the reason it was not. */
  const answerTo = async (deviceId: string, requestId: string, from: number): Promise<Json> =>
    house.nextOn(`yoto/${deviceId}/events`, (event) => event['request_id'] === requestId && ['command_completed', 'command_failed', 'command_rejected'].includes(String(event['type'])), from);

  it('yoto/<id>/status and yoto/<id>/playback are retained for both players', async () => {
    const late = await BrokerWatcher.connect(product.brokerUrl, ['yoto/+/status', 'yoto/+/playback'], { username: ADMIN.email, password: ADMIN.password });
    try {
      for (const id of [LIVING_ROOM, KIDS_BEDROOM]) {
        const status = await late.next((m) => m.topic === `yoto/${id}/status` && m.retain);
        expect(JSON.parse(status.text)).to.include.keys('online', 'battery', 'name', 'model');
        const playback = await late.next((m) => m.topic === `yoto/${id}/playback` && m.retain);
        expect(JSON.parse(playback.text)).to.include.keys('state', 'timestamp');
      }
    } finally {
      await late.close();
    }
  });

  it('yoto/<id>/commands: a command is confirmed with its request_id and the player obeys; a bad one is rejected with its reason', async () => {
    let from = house.mark;
    await house.publish(`yoto/${KIDS_BEDROOM}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1', chapter_key: '02', request_id: 'c-play' }));
    expect(await answerTo(KIDS_BEDROOM, 'c-play', from)).to.include({ type: 'command_completed', command: 'play' });
    await house.nextOn(`yoto/${KIDS_BEDROOM}/playback`, (p) => p['card_id'] === 'demo1' && p['chapter_key'] === '02' && p['state'] === 'playing', from);
    await house.nextOn(`yoto/${KIDS_BEDROOM}/events`, (e) => e['type'] === 'playback_started', from);
    from = house.mark;
    await house.publish(`yoto/${KIDS_BEDROOM}/commands`, JSON.stringify({ command: 'volume', volume: 25, request_id: 'c-vol' }));
    expect(await answerTo(KIDS_BEDROOM, 'c-vol', from)).to.include({ type: 'command_completed' });
    await house.nextOn(`yoto/${KIDS_BEDROOM}/events`, (e) => e['type'] === 'volume_changed', from);
    from = house.mark;
    await house.publish(`yoto/${KIDS_BEDROOM}/commands`, JSON.stringify({ command: 'pause', request_id: 'c-pause' }));
    expect(await answerTo(KIDS_BEDROOM, 'c-pause', from)).to.include({ type: 'command_completed' });
    await house.nextOn(`yoto/${KIDS_BEDROOM}/playback`, (p) => p['state'] === 'paused', from);
    for (const command of ['resume', 'next', 'previous', 'stop']) {
      from = house.mark;
      await house.publish(`yoto/${KIDS_BEDROOM}/commands`, JSON.stringify({ command, request_id: `c-${command}` }));
      expect(await answerTo(KIDS_BEDROOM, `c-${command}`, from), command).to.include({ type: 'command_completed' });
    }
    from = house.mark;
    await house.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'nightlight', color: '#102030', request_id: 'c-light' }));
    expect(await answerTo(LIVING_ROOM, 'c-light', from)).to.include({ type: 'command_completed' });
    expect((await player(product.virtualCloudUrl, LIVING_ROOM)).nightlight).to.equal('0x102030');
    from = house.mark;
    await house.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'sleep', seconds: 600, request_id: 'c-sleep' }));
    expect(await answerTo(LIVING_ROOM, 'c-sleep', from)).to.include({ type: 'command_completed' });
    expect((await player(product.virtualCloudUrl, LIVING_ROOM)).sleepTimerSeconds).to.be.within(1, 600);

    from = house.mark;
    await house.publish(`yoto/${KIDS_BEDROOM}/commands`, JSON.stringify({ command: 'volume', volume: 300, request_id: 'c-bad' }));
    const rejected = await answerTo(KIDS_BEDROOM, 'c-bad', from);
    expect(rejected).to.include({ type: 'command_rejected' });
    expect(String(rejected['reason'])).to.match(/volume/);
    await house.publish(`yoto/${KIDS_BEDROOM}/commands`, '{not json');
    await house.nextOn(`yoto/${KIDS_BEDROOM}/events`, (e) => e['type'] === 'command_rejected' && e['request_id'] === undefined, from);
    const health = await call<{ status: string }>(`${product.hubUrl}/api/system/health`);
    expect(health.body.status, 'the hub keeps running').to.equal('ok');
  });

  it('{"command":"play","script_id"} on yoto/<id>/commands plays the script\'s card on the player', async () => {
    const from = house.mark;
    await house.publish(`yoto/${KIDS_BEDROOM}/commands`, JSON.stringify({ command: 'play', script_id: 'demo-spy-cave', request_id: 'c-script' }));
    const answer = await answerTo(KIDS_BEDROOM, 'c-script', from);
    expect(answer, JSON.stringify(answer)).to.include({ type: 'command_completed' });
    const cardId = await scriptCard('demo-spy-cave');
    await house.nextOn(`yoto/${KIDS_BEDROOM}/playback`, (p) => p['card_id'] === cardId, from);
    expect((await player(product.virtualCloudUrl, KIDS_BEDROOM)).cardId).to.equal(cardId);
  });

  it('yoto/<id>/events carries card_inserted and card_removed as a person handles the player', async () => {
    const from = house.mark;
    expect((await call(`${product.virtualCloudUrl}/virtual/devices/${LIVING_ROOM}/card`, { body: { cardId: 'demo1' } })).status).to.equal(200);
    await house.nextOn(`yoto/${LIVING_ROOM}/events`, (e) => e['type'] === 'card_inserted' && e['card_id'] === 'demo1', from);
    expect((await call(`${product.virtualCloudUrl}/virtual/devices/${LIVING_ROOM}/card`, { method: 'DELETE' })).status).to.equal(200);
    await house.nextOn(`yoto/${LIVING_ROOM}/events`, (e) => e['type'] === 'card_removed', from);
  });

  it('yoto/broadcast/announcements: an uploaded library file plays on the listed player, which then returns to its card and position (within 3 s)', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(path.join(packageRoot, 'demo-content', 'audio', 'SearchElsewhere.mp3'))]), 'doorbell.mp3');
    const upload = await call<{ id: string }>(`${product.hubUrl}/api/audio`, { token, body: form });
    expect(upload.status, JSON.stringify(upload.body)).to.equal(201);

    // Night mode refuses normal announcements (quiet hours): the player stays in day mode whatever the time of day.
    await keepMode(product.hubUrl, token, house, LIVING_ROOM, 'day');
    let from = house.mark;
    await house.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1', chapter_key: '02', seconds_in: 100, request_id: 'a-play' }));
    expect(await answerTo(LIVING_ROOM, 'a-play', from)).to.include({ type: 'command_completed' });
    await house.nextOn(`yoto/${LIVING_ROOM}/playback`, (p) => p['card_id'] === 'demo1' && p['state'] === 'playing', from);

    from = house.mark;
    const before = await player(product.virtualCloudUrl, LIVING_ROOM);
    await house.publish('yoto/broadcast/announcements', JSON.stringify({ audio_file_id: upload.body.id, device_ids: [LIVING_ROOM], request_id: 'a-1' }));
    const during = await Promise.race([
      house.nextOn(`yoto/${LIVING_ROOM}/playback`, (p) => p['card_id'] !== undefined && p['card_id'] !== 'demo1' && p['state'] === 'playing', from),
      house.nextOn('yoto/broadcast/events', (e) => e['type'] === 'command_rejected', from).then((e) => expect.fail(`the announcement was rejected: ${String(e['reason'])}`)),
    ]);
    const announcementCard = String(during['card_id']);
    const interrupted = await player(product.virtualCloudUrl, LIVING_ROOM);
    expect(interrupted.cardId, 'the announcement plays on the player').to.equal(announcementCard);
    await house.nextOn(`yoto/${LIVING_ROOM}/playback`, (p) => p['card_id'] === 'demo1' && p['chapter_key'] === '02' && p['state'] === 'playing', house.messages.findIndex((m, i) => i >= from && m.text.includes(announcementCard)));
    const after = await player(product.virtualCloudUrl, LIVING_ROOM);
    expect(after).to.include({ cardId: 'demo1', chapterKey: '02' });
    expect(Math.abs((after.position ?? 0) - (before.position ?? 0)), `back at ${after.position} s, stopped at about ${before.position} s`).to.be.at.most(3);
  });

  it('yoto/admin/management answers ping, resync_discovery (everything published again) and refresh on yoto/admin/events', async () => {
    let from = house.mark;
    await house.publish('yoto/admin/management', JSON.stringify({ action: 'ping', request_id: 'm-ping' }));
    expect(await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'm-ping', from)).to.include({ type: 'pong', devices: 3 });
    from = house.mark;
    await house.publish('yoto/admin/management', JSON.stringify({ action: 'resync_discovery', request_id: 'm-sync' }));
    const discovery = await house.nextOn('yoto/admin/discovery', () => true, from);
    expect((discovery['devices'] as Json[]).map((d) => d['device_id']).sort()).to.deep.equal([KIDS_BEDROOM, LIVING_ROOM, PLAYROOM].sort());
    expect(await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'm-sync', from)).to.include({ type: 'management_done' });
    // Everything again: the players' entities, and their settings with the settings' entities.
    for (const topic of [`homeassistant/sensor/${LIVING_ROOM}/battery/config`, `yoto/${LIVING_ROOM}/settings`, `homeassistant/time/${LIVING_ROOM}/night_mode_start/config`, `homeassistant/select/${LIVING_ROOM}/play_card/config`]) {
      await house.next((m) => m.topic === topic, from);
    }
    from = house.mark;
    await house.publish('yoto/admin/management', JSON.stringify({ action: 'refresh', request_id: 'm-refresh' }));
    expect(await house.nextOn('yoto/admin/events', (e) => e['request_id'] === 'm-refresh', from)).to.include({ type: 'management_done', failed_requests: 0 });
    from = house.mark;
    await house.publish('yoto/admin/management', JSON.stringify({ action: 'explode' }));
    expect(await house.nextOn('yoto/admin/events', (e) => e['type'] === 'command_rejected', from)).to.have.property('reason');
  });

  it('yoto/<id>/telemetry carries the player\'s diagnostics', async () => {
    const telemetry = await house.nextOn(`yoto/${LIVING_ROOM}/telemetry`);
    expect(Object.keys(telemetry).filter((key) => ['wifi_strength', 'temperature', 'free_disk', 'uptime'].includes(key))).to.not.be.empty;
  });

  it('Home Assistant gets the controls of its own Yoto integration: charging, headphones, Bluetooth audio, card slot, volume steps, restart, headphone volume limit', async () => {
    const schemas = path.join(packageRoot, 'test', 'fixtures', 'home-assistant');
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const config = async (entity: string): Promise<Json> => {
      const [component] = entity.split('/');
      const message = await house.next((m) => m.topic === `homeassistant/${entity.replace('/', `/${PLAYROOM}/`)}/config`);
      const payload = JSON.parse(message.text) as Json;
      const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(schemas, `${component}.schema.json`), 'utf8')) as object);
      expect(validate(payload), `${entity}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      expect(payload['availability'], `${entity} has availability`).to.be.an('array').that.is.not.empty;
      return payload;
    };
    const status = `yoto/${PLAYROOM}/status`;
    for (const [entity, field] of [['binary_sensor/charging', 'charging'], ['binary_sensor/headphones', 'headphones'], ['binary_sensor/bluetooth_audio', 'bluetooth_audio'], ['sensor/card_slot', 'card_slot']] as const) {
      const sensor = await config(entity);
      expect(sensor['state_topic']).to.equal(status);
      expect(String(sensor['value_template'])).to.contain(`value_json.${field}`);
    }
    // A person plugs headphones in and puts the player on its charger: the status topic the sensors read says so.
    let from = house.mark;
    expect((await call(`${product.virtualCloudUrl}/virtual/devices/${PLAYROOM}/headphones/in`, { method: 'POST' })).status).to.equal(200);
    await house.nextOn(status, (json) => json['headphones'] === true && json['card_slot'] === 'none', from);
    expect((await call(`${product.virtualCloudUrl}/virtual/devices/${PLAYROOM}/charger/on`, { method: 'POST' })).status).to.equal(200);
    await house.nextOn(status, (json) => json['charging'] === true, from);
    const devices = await call<{ devices: Array<{ deviceId: string; state: Json }> }>(`${product.hubUrl}/api/devices`, { token });
    expect(devices.body.devices.find((device) => device.deviceId === PLAYROOM)?.state).to.deep.include({ headphones: true, charging: true, cardSlot: 'none' });
    from = house.mark;
    await call(`${product.virtualCloudUrl}/virtual/devices/${PLAYROOM}/headphones/out`, { method: 'POST' });
    await house.nextOn(status, (json) => json['headphones'] === false, from);

    // The volume buttons step the player's 0..16 scale, as Home Assistant presses them.
    await keepMode(product.hubUrl, token, house, PLAYROOM, 'day');
    const press = async (entity: string): Promise<void> => {
      const button = await config(entity);
      await house.publish(String(button['command_topic']), String(button['payload_press']));
    };
    const volumeBefore = (await player(product.virtualCloudUrl, PLAYROOM)).volumePercent!;
    from = house.mark;
    await press('button/volume_down');
    await house.nextOn(`yoto/${PLAYROOM}/events`, (e) => e['type'] === 'volume_changed', from);
    const lowered = (await player(product.virtualCloudUrl, PLAYROOM)).volumePercent!;
    expect(lowered, 'one step of 16 down').to.be.within(volumeBefore - 7, volumeBefore - 6);
    from = house.mark;
    await press('button/volume_up');
    await house.nextOn(`yoto/${PLAYROOM}/events`, (e) => e['type'] === 'volume_changed', from);
    expect((await player(product.virtualCloudUrl, PLAYROOM)).volumePercent, 'and one up again').to.equal(volumeBefore);

    // The headphone volume limit is a setting: the switch writes it through yoto/<id>/settings/set.
    const limit = await config('switch/headphones_volume_limited');
    from = house.mark;
    await house.publish(String(limit['command_topic']), String(limit['payload_on']));
    await house.nextOn(`yoto/${PLAYROOM}/settings`, (json) => json['headphonesVolumeLimited'] === true, from);

    // Restart: the player shuts down and comes back.
    const restart = await config('button/restart');
    expect(restart).to.include({ device_class: 'restart', entity_category: 'config' });
    from = house.mark;
    await press('button/restart');
    await house.nextOn(`yoto/${PLAYROOM}/events`, (e) => e['type'] === 'shutdown', from);
    await house.nextOn(`yoto/${PLAYROOM}/events`, (e) => e['type'] === 'online', from);
  });

  it('Home Assistant may change a player\'s settings while it is switched off: they live in the cloud', async () => {
    const entity = `homeassistant/time/${PLAYROOM}/night_mode_start/config`;
    const config = JSON.parse(house.latest(entity).get(entity) ?? '{}') as { availability: Array<{ topic: string; value_template: string }>; command_topic: string };
    expect(config.availability).to.deep.equal([{ topic: `yoto/${PLAYROOM}/status`, value_template: "{{ 'online' if value_json.status is defined else 'offline' }}" }]);
    const volume = `homeassistant/number/${PLAYROOM}/volume/config`;
    const volumeConfig = JSON.parse(house.latest(volume).get(volume) ?? '{}') as { availability: Array<{ value_template: string }>; origin: Json };
    expect(String(volumeConfig.availability[0]?.value_template), 'the volume is the player\'s own').to.contain("['connected', 'idle']");
    expect((config as unknown as { origin: Json }).origin, 'one origin, with its support URL, for every entity').to.deep.equal(volumeConfig.origin).and.to.have.property('support_url');
    let from = house.mark;
    expect((await call(`${product.virtualCloudUrl}/virtual/devices/${PLAYROOM}/power/off`, { method: 'POST' })).status).to.equal(200);
    await house.nextOn(`yoto/${PLAYROOM}/status`, (json) => json['online'] === false, from);
    from = house.mark;
    await house.publish(config.command_topic, '{"nightTime": "20:45"}');
    await house.nextOn(`yoto/${PLAYROOM}/settings`, (json) => json['nightTime'] === '20:45', from);
    expect((await call(`${product.virtualCloudUrl}/virtual/devices/${PLAYROOM}/power/on`, { method: 'POST' })).status).to.equal(200);
    await house.nextOn(`yoto/${PLAYROOM}/status`, (json) => json['online'] === true, from);
  });

  it('yoto/<id>/playback names the card playing (title, author, cover) for Home Assistant\'s Card sensor, and the analytics name it too', async () => {
    const card = JSON.parse(house.latest(`homeassistant/sensor/${PLAYROOM}/card/config`).get(`homeassistant/sensor/${PLAYROOM}/card/config`) ?? '{}') as Json;
    expect(card).to.deep.include({ state_topic: `yoto/${PLAYROOM}/playback`, json_attributes_topic: `yoto/${PLAYROOM}/playback` });
    expect(String(card['value_template'])).to.contain('value_json.card_title');
    const from = house.mark;
    await house.publish(`yoto/${PLAYROOM}/commands`, JSON.stringify({ command: 'play', title: 'Rockets and Planets', request_id: 'c-card' }));
    expect(await answerTo(PLAYROOM, 'c-card', from)).to.include({ type: 'command_completed' });
    const playback = await house.nextOn(`yoto/${PLAYROOM}/playback`, (p) => p['card_id'] === 'vbSpace0001' && p['card_title'] !== undefined, from);
    expect(playback).to.include({ card_title: 'Rockets and Planets', card_author: 'Virtual Science' });
    expect(String(playback['cover'])).to.match(/^data:image\/svg\+xml;base64,/);
    const today = new Date().toISOString().slice(0, 10);
    const content = await call<{ content: Array<{ cardId: string; title?: string }> }>(`${product.hubUrl}/api/analytics/content?from=${today}&to=${today}`, { token });
    expect(content.body.content.find((entry) => entry.cardId === 'vbSpace0001')).to.include({ title: 'Rockets and Planets' });
    await house.publish(`yoto/${PLAYROOM}/commands`, JSON.stringify({ command: 'stop' }));
  });

  it('Home Assistant finds both players by MQTT discovery, the night light only on the model that has one', async () => {
    const configs = house.latest('homeassistant/#');
    const about = (id: string): Json[] => [...configs].filter(([topic]) => topic.includes(id)).map(([, text]) => JSON.parse(text) as Json);
    for (const id of [LIVING_ROOM, KIDS_BEDROOM]) {
      const entities = about(id);
      expect(entities.length, `${id} has entities`).to.be.greaterThan(3);
      for (const entity of entities) expect(entity, 'with availability').to.satisfy((e: Json) => e['availability'] !== undefined || e['availability_topic'] !== undefined);
    }
    const lights = [...configs.keys()].filter((topic) => topic.startsWith('homeassistant/light/'));
    expect(lights.some((topic) => topic.includes(LIVING_ROOM))).to.equal(true);
    expect(lights.some((topic) => topic.includes(KIDS_BEDROOM))).to.equal(false);
  });
});
