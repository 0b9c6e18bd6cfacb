import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import Ajv2020 from 'ajv/dist/2020';
import type { Hub } from '../../server/hub';
import { packageRoot } from '../../server/paths';
import { getValidator } from '../../server/validation';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { DEFAULT_DEVICE_CONFIG } from '../../server/virtual/http/device-registry';
import type { YotoDeviceConfig } from '../../server/yoto/rest/types';
import { call, onboardAdmin, type SignIn } from '../hub/api-world';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { snapshotWhen } from '../helpers/virtual-player';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];

/** A full config of the shape real players have (every key, booleans as the cloud sends them, alarms with fields we do not read). */
const REAL_SHAPED: YotoDeviceConfig = {
  ...DEFAULT_DEVICE_CONFIG,
  alarms: ['1111100,0715,4OD25,,,8,1', '0000011,0830,,,x,,0'],
  clockFace: 'digital-sun',
  dayTime: '06:30',
  nightTime: '19:00',
  dayDisplayBrightness: 'auto',
  nightDisplayBrightness: '20',
  ambientColour: '#40bfd9',
  nightAmbientColour: '#0',
  maxVolumeLimit: '14',
  nightMaxVolumeLimit: '9',
  hourFormat: '24',
  shutdownTimeout: '1800',
  headphonesVolumeLimited: true,
  bluetoothEnabled: '1',
  locale: 'en-gb',
  timezone: 'Europe/London',
};

/**
 * Player settings, alarms, the family library and the new commands on the
 * whole hub (virtual cloud and players, embedded broker), from outside:
 * REST as the panel calls it, MQTT as the house sends it.
 */
describe('player settings, alarms and cards on every surface', function () {
  let hub: Hub;
  let admin: SignIn;
  let house: BrokerWatcher;

  before(async () => {
    hub = await startTestHub();
    const person = { email: 'admin@example.org', name: 'Admin', password: 'correct horse battery' };
    admin = await onboardAdmin(hub, person);
    // The house logs in with a hub account (the embedded broker's ACL keeps anonymous clients off yoto/).
    house = await BrokerWatcher.connect(hub.broker.url, ['yoto/#', 'homeassistant/#'], { username: person.email, password: person.password });
    // The virtual players switch to night mode at their night time on the real clock (night caps the
    // volume): make the whole run daytime, whatever the time of day the suite runs at.
    for (const deviceId of [LIVING_ROOM, KIDS]) {
      const day = await call(hub, 'PATCH', `/api/devices/${deviceId}/settings`, admin.accessToken, { dayTime: '00:00', nightTime: '23:59' });
      expect(day.status, day.text).to.equal(200);
    }
  });
  after(async () => {
    await house.close();
    await stopTestHub(hub);
  });

  const virtual = () => hub.cloud.virtualCloud!;
  const api = (method: string, url: string, body?: unknown) => call(hub, method, url, admin.accessToken, body);

  it('a partial write over REST changes one setting and keeps every other one of a full real-shaped config', async () => {
    await virtual().devices.replaceConfig(LIVING_ROOM, { config: REAL_SHAPED });
    const before = await api('GET', `/api/devices/${LIVING_ROOM}/settings?fresh=true`);
    expect(before.status, before.text).to.equal(200);
    expect(getValidator().check('player-settings', before.json).ok, 'matches schemas/player-settings').to.equal(true);
    expect(before.json).to.include({ dayTime: '06:30', nightMaxVolume: 9, dayBrightness: 'auto', nightBrightness: 20, dayNightLight: '#40bfd9', nightNightLight: 'off', hourFormat: 24 });

    const mark = house.mark;
    const patched = await api('PATCH', `/api/devices/${LIVING_ROOM}/settings`, { nightMaxVolume: 5 });
    expect(patched.status, patched.text).to.equal(200);
    const after = virtual().devices.config(LIVING_ROOM).config;
    expect(after).to.deep.equal({ ...REAL_SHAPED, nightMaxVolumeLimit: '5' });

    const read = (await api('GET', `/api/devices/${LIVING_ROOM}/settings`)).json as Record<string, unknown>;
    expect(read['nightMaxVolume']).to.equal(5);
    const { nightMaxVolume: _a, updatedAt: _b, ...othersBefore } = before.json as Record<string, unknown>;
    const { nightMaxVolume: _c, updatedAt: _d, ...othersAfter } = read;
    expect(othersAfter, 'every other setting as it was').to.deep.equal(othersBefore);

    const retained = await house.nextOn(`yoto/${LIVING_ROOM}/settings`, (json) => json['nightMaxVolume'] === 5, mark);
    expect(retained['dayTime']).to.equal('06:30');
  });

  it('two writes at once to one player both land (one write at a time per player)', async () => {
    const [a, b] = await Promise.all([
      api('PATCH', `/api/devices/${LIVING_ROOM}/settings`, { dayMaxVolume: 12 }),
      api('PATCH', `/api/devices/${LIVING_ROOM}/settings`, { shutdownTimeout: 900 }),
    ]);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    const config = virtual().devices.config(LIVING_ROOM).config;
    expect(config).to.include({ maxVolumeLimit: '12', shutdownTimeout: '900' });
  });

  it('refuses what the model does not have and bad values, with field details', async () => {
    const nightLight = await api('PATCH', `/api/devices/${KIDS}/settings`, { dayNightLight: 'Sky Blue' });
    expect(nightLight.status).to.equal(400);
    expect((nightLight.json as { error: { details: Array<{ path: string }> } }).error.details[0]!.path).to.equal('/dayNightLight');
    const auto = await api('PATCH', `/api/devices/${KIDS}/settings`, { dayBrightness: 'auto' });
    expect(auto.status, 'the Mini has no light sensor').to.equal(400);
    const range = await api('PATCH', `/api/devices/${LIVING_ROOM}/settings`, { nightMaxVolume: 17 });
    expect(range.status).to.equal(400);
    const unknown = await api('PATCH', `/api/devices/${LIVING_ROOM}/settings`, { volumeBoost: 3 });
    expect(unknown.status).to.equal(400);
    expect((await api('GET', '/api/devices/nosuchplayer/settings')).status).to.equal(404);
    const preset = await api('PATCH', `/api/devices/${LIVING_ROOM}/settings`, { dayNightLight: 'Lilac', dayBrightness: 'auto' });
    expect(preset.status, preset.text).to.equal(200);
    expect(virtual().devices.config(LIVING_ROOM).config.ambientColour, 'the third generation\'s Lilac').to.equal('#f57399');
  });

  it('alarms: list, add, change, disable and delete, keeping the fields of the real strings', async () => {
    const listed = await api('GET', `/api/devices/${LIVING_ROOM}/alarms`);
    expect((listed.json as { alarms: unknown[] }).alarms).to.deep.equal([
      { id: 0, time: '07:15', days: '1111100', soundId: '4OD25', volume: 8, enabled: true },
      { id: 1, time: '08:30', days: '0000011', soundId: '', enabled: false },
    ]);
    const added = await api('POST', `/api/devices/${LIVING_ROOM}/alarms`, { time: '06:00', days: '1000000', soundId: 'vbLullaby01' });
    expect(added.status, added.text).to.equal(201);
    expect(added.json).to.include({ id: 2, time: '06:00', enabled: true });
    const enabled = await api('PATCH', `/api/devices/${LIVING_ROOM}/alarms/1`, { enabled: true });
    expect(enabled.status, enabled.text).to.equal(200);
    expect(virtual().devices.config(LIVING_ROOM).config.alarms?.[1], 'the unknown "x" field is kept').to.equal('0000011,0830,,,x,,1');
    const disabled = await api('PATCH', `/api/devices/${LIVING_ROOM}/alarms/0`, { enabled: false });
    expect(disabled.json).to.include({ enabled: false, time: '07:15' });
    expect((await api('DELETE', `/api/devices/${LIVING_ROOM}/alarms/0`)).status).to.equal(204);
    const left = (await api('GET', `/api/devices/${LIVING_ROOM}/alarms`)).json as { alarms: Array<{ time: string }> };
    expect(left.alarms.map((a) => a.time)).to.deep.equal(['08:30', '06:00']);
    expect((await api('PATCH', `/api/devices/${LIVING_ROOM}/alarms/9`, { enabled: true })).status).to.equal(404);
    expect((await api('POST', `/api/devices/${LIVING_ROOM}/alarms`, { days: '1111111' })).status, 'a new alarm needs its time').to.equal(400);
  });

  it('yoto/<id>/settings/set takes partial JSON, answers with the result event and updates the retained settings', async () => {
    const mark = house.mark;
    await house.client.publishAsync(`yoto/${KIDS}/settings/set`, JSON.stringify({ nightMaxVolume: 6, hourFormat: 24, request_id: 'r-1' }));
    const done = await house.nextOn(`yoto/${KIDS}/events`, (json) => json['type'] === 'settings_updated', mark);
    expect(done).to.include({ request_id: 'r-1', device_id: KIDS });
    const retained = await house.nextOn(`yoto/${KIDS}/settings`, (json) => json['nightMaxVolume'] === 6, mark);
    expect(retained['hourFormat']).to.equal(24);
    expect((await api('GET', `/api/devices/${KIDS}/settings`)).json).to.include({ nightMaxVolume: 6, hourFormat: 24 });

    await house.client.publishAsync(`yoto/${KIDS}/settings/set`, JSON.stringify({ nightMaxVolume: 'loud', request_id: 'r-2' }));
    const refused = await house.nextOn(`yoto/${KIDS}/events`, (json) => json['type'] === 'command_rejected' && json['request_id'] === 'r-2', mark);
    expect(String(refused['reason'])).to.match(/nightMaxVolume/);
    await house.client.publishAsync(`yoto/${KIDS}/settings/set`, 'not json');
    await house.nextOn(`yoto/${KIDS}/events`, (json) => json['type'] === 'command_rejected' && /not JSON/.test(String(json['reason'])), mark);
  });

  it('GET /api/cards lists the virtual family library, searches it and filters by group', async () => {
    const all = (await api('GET', '/api/cards')).json as { cards: Array<{ cardId: string; title: string; kind: string; cover?: string }> };
    const ids = all.cards.map((card) => card.cardId);
    expect(ids).to.include.members(['vbGruffalo', 'vbSpace0001', 'vbLullaby01', 'vbPodcast01', 'demo1']);
    expect(ids, 'alarm tones are not in the library').to.not.include('vtAlarmTone');
    expect(all.cards.find((card) => card.cardId === 'demo1')!.kind).to.equal('myo');
    expect(all.cards.find((card) => card.cardId === 'vbPodcast01')!.kind).to.equal('podcast');
    expect(all.cards.find((card) => card.cardId === 'vbGruffalo')!.cover).to.match(/^data:image\/svg\+xml/);
    const found = (await api('GET', '/api/cards?q=rocket')).json as { cards: Array<{ cardId: string }> };
    expect(found.cards.map((card) => card.cardId)).to.deep.equal(['vbSpace0001']);
    const groups = (await api('GET', '/api/cards/groups')).json as { groups: Array<{ id: string; name: string; cardIds: string[] }> };
    expect(groups.groups.map((group) => group.name)).to.include.members(['Bedtime', 'Daytime']);
    const bedtime = (await api('GET', '/api/cards?group=Bedtime')).json as { cards: Array<{ cardId: string }> };
    expect(bedtime.cards.map((card) => card.cardId)).to.include.members(['vbLullaby01', 'vbGruffalo']);
    expect((await api('GET', '/api/cards?group=nosuch')).status).to.equal(404);
    const card = (await api('GET', '/api/cards/vbSpace0001')).json as { chapters: Array<{ title: string; tracks: unknown[] }> };
    expect(card.chapters.map((chapter) => chapter.title)).to.deep.equal(['Lift-off', 'The Moon', 'Mars', 'Home again']);
    expect((await api('GET', '/api/cards/nosuch')).status).to.equal(404);
  });

  it('plays a card by title and a random card of a group from MQTT, and obeys the new commands', async () => {
    const kids = virtual().fleet.player(KIDS)!;
    const playing = snapshotWhen(kids, (s) => s.cardId === 'vbSpace0001' && s.playbackStatus === 'playing');
    const mark = house.mark;
    await house.client.publishAsync(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', title: 'rockets and planets', request_id: 'p-1' }));
    await playing;
    await house.nextOn(`yoto/${KIDS}/events`, (json) => json['type'] === 'command_completed' && json['request_id'] === 'p-1', mark);

    const daytime = snapshotWhen(kids, (s) => ['vbSpace0001', 'vbPodcast01'].includes(s.cardId) && s.playbackStatus === 'playing' && s.position === 0);
    await house.client.publishAsync(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play_random', group: 'Daytime' }));
    await daytime;

    await house.client.publishAsync(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', title: 'No such card', request_id: 'p-2' }));
    const failed = await house.nextOn(`yoto/${KIDS}/events`, (json) => json['type'] === 'command_failed' && json['request_id'] === 'p-2', mark);
    expect(String(failed['reason'])).to.match(/No such card/);

    const level = kids.snapshot().volumePercent;
    const louder = snapshotWhen(kids, (s) => s.volumePercent > level);
    await house.client.publishAsync(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'volume_up', steps: 2 }));
    await louder;

    const preview = snapshotWhen(kids, (s) => s.display?.icon === 'yoto:#star');
    await house.client.publishAsync(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'display_preview', icon: 'yoto:#star', seconds: 5 }));
    await preview;

    const bluetooth = snapshotWhen(kids, (s) => s.bluetooth);
    await house.client.publishAsync(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'bluetooth', state: 'on' }));
    await bluetooth;
  });

  it('Home Assistant gets the settings entities per player, each valid for its component and with availability', async () => {
    const schemas = path.join(packageRoot, 'test', 'fixtures', 'home-assistant');
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validators = new Map(['time', 'number', 'switch', 'select', 'sensor'].map((component) => [
      component,
      ajv.compile(JSON.parse(fs.readFileSync(path.join(schemas, `${component}.schema.json`), 'utf8')) as object),
    ]));
    for (const [deviceId, least] of [[LIVING_ROOM, 13], [KIDS, 9]] as const) {
      await house.next((m) => m.topic === `homeassistant/select/${deviceId}/play_card/config`);
      const mine = [...house.latest(`homeassistant/+/${deviceId}/+/config`).entries()];
      const settingsEntities = mine.filter(([topic]) => !/\/(battery|playback_state|title|volume|play|pause|stop|next|previous|nightlight)\/config$/.test(topic));
      expect(settingsEntities.length, `${deviceId}: entities beyond the playback ones`).to.be.at.least(least);
      const components = new Set(settingsEntities.map(([topic]) => topic.split('/')[1]));
      for (const component of ['time', 'number', 'switch', 'select', 'sensor']) expect(components.has(component), `${deviceId} has a ${component}`).to.equal(true);
      for (const [topic, text] of mine) {
        const component = topic.split('/')[1]!;
        const validate = validators.get(component);
        if (!validate) continue;
        const payload = JSON.parse(text) as Record<string, unknown>;
        expect(validate(payload), `${topic}: ${JSON.stringify(validate.errors)}`).to.equal(true);
        expect(payload['availability'], `${topic} has availability`).to.be.an('array').that.is.not.empty;
      }
    }
    const picker = JSON.parse(house.latest(`homeassistant/select/${KIDS}/play_card/config`).get(`homeassistant/select/${KIDS}/play_card/config`)!) as { options: string[] };
    expect(picker.options).to.include('Rockets and Planets');
    expect([...house.latest(`homeassistant/select/${KIDS}/+/config`).keys()].some((t) => t.includes('night_light')), 'the Mini has no night-light select').to.equal(false);
  });

  it('Home Assistant\'s entities write through the settings topics: a time, a number and an alarm switch', async () => {
    const timeConfig = JSON.parse(house.latest(`homeassistant/time/${LIVING_ROOM}/night_mode_start/config`).values().next().value!) as { command_topic: string };
    const mark = house.mark;
    // Home Assistant renders the command_template {"nightTime": "{{ (value | string)[:5] }}"} with value 20:15:00.
    await house.client.publishAsync(timeConfig.command_topic, '{"nightTime": "20:15"}');
    await house.nextOn(`yoto/${LIVING_ROOM}/settings`, (json) => json['nightTime'] === '20:15', mark);
    const alarmConfig = JSON.parse(house.latest(`homeassistant/switch/${LIVING_ROOM}/alarm_1/config`).values().next().value!) as { command_topic: string; payload_off: string };
    await house.client.publishAsync(alarmConfig.command_topic, alarmConfig.payload_off);
    await house.nextOn(`yoto/${LIVING_ROOM}/settings`, (json) => (json['alarms'] as Array<{ id: number; enabled: boolean }>)[1]?.enabled === false, mark);
  });

  it('the day/night mode is part of the player\'s live state and status topic', async () => {
    // An earlier test gave the player a real-shaped config whose times may switch its mode during the run:
    // the status topic carries whatever mode the live state has.
    const live = hub.devices.get(LIVING_ROOM)!.dayMode;
    expect(['day', 'night']).to.include(live);
    const status = await house.nextOn(`yoto/${LIVING_ROOM}/status`, (json) => json['day_mode'] === live);
    expect(status['day_mode']).to.equal(live);
  });
});
