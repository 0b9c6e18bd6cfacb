import { expect } from 'chai';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { getValidator } from '../../server/validation';
import { CAPTURED_DEVICE_ID, capturedFullLegacyStatus, capturedMessages } from './captured-traffic';
import { registryHarness } from './registry-harness';
import { playerMessage } from '../helpers/player-message';
import { readPlayerPayload } from '../../server/yoto/mqtt';

describe('device registry: captured Yoto Mini traffic', () => {
  function playCapture(): ReturnType<typeof registryHarness> {
    const harness = registryHarness();
    for (const message of capturedMessages()) {
      const receivedAt = message.receivedAt ? new Date(message.receivedAt) : new Date(harness.clock.now());
      harness.registry.ingest(playerMessage(message.deviceId, message.kind, message.payload, receivedAt));
    }
    return harness;
  }

  it('merges every captured message into one player with the right state', () => {
    const { registry } = playCapture();
    const state = registry.get(CAPTURED_DEVICE_ID);
    expect(state).to.not.equal(undefined);
    expect(state).to.deep.include({
      deviceId: CAPTURED_DEVICE_ID,
      model: 'mini',
      hasNightLight: false,
      firmware: 'v2.23.2',
      battery: 100,
      charging: false,
      online: true,
      shutDown: false,
      status: 'idle',
      nightlight: 'off',
    });
    // The last volume event is 7 on the 0..16 scale: 44 %.
    expect(state?.volume).to.deep.equal({ level: 7, percent: 44, maxLevel: 13 });
    expect(state?.playback).to.deep.include({ state: 'idle', hasCard: false, deviceStatus: 'stopped', streaming: false, repeatAll: false });
    expect(state?.playback.cardId).to.equal(undefined);
    expect(state?.telemetry).to.deep.include({ wifiStrength: -26, ssid: 'WeeFee', totalDisk: 31385600 * 1024 });
    expect(registry.list()).to.have.length(1);
  });

  it('refuses none of the captured messages and counts each event copy of the undocumented topic once', () => {
    const { registry } = playCapture();
    const stats = registry.stats();
    expect(stats.messages).to.equal(capturedMessages().length);
    expect(stats.malformed).to.equal(0);
    // Six events arrive on both device/{id}/events and device/{id}/data/events.
    expect(stats.duplicates).to.equal(6);
  });

  it('reports one volume change per real change, none for the duplicated copies, and no card or playback events', () => {
    const { logged } = playCapture();
    expect(logged.map((event) => event.type)).to.deep.equal(Array(7).fill('volume_changed'));
    // data/status says 43 % (level 7), then the events go 6, 9, 10, 8, 6, 7 on the 0..16 scale.
    expect(logged.map((event) => event.data['level'])).to.deep.equal([7, 6, 9, 10, 8, 6, 7]);
    for (const event of logged) getValidator().validate('event', event);
  });

  it('marks the player shut down when a real legacy status has shutDown other than "nA", until it runs again', () => {
    const { registry, send, types } = registryHarness();
    const running = capturedFullLegacyStatus();
    send(CAPTURED_DEVICE_ID, 'legacyStatus', running);
    expect(registry.get(CAPTURED_DEVICE_ID)).to.deep.include({ shutDown: false, online: true, status: 'idle' });

    const shuttingDown = capturedFullLegacyStatus();
    shuttingDown.status['shutDown'] = 'userShutdown';
    send(CAPTURED_DEVICE_ID, 'legacyStatus', shuttingDown);
    expect(registry.get(CAPTURED_DEVICE_ID)).to.deep.include({ shutDown: true, online: false, status: 'shutdown' });
    expect(types()).to.deep.equal(['shutdown', 'offline']);

    // A last diagnostics message and a stale cloud list do not undo the shutdown.
    const diagnostics = capturedMessages().find((m) => m.kind === 'legacyStatus' && !JSON.stringify(m.payload).includes('shutDown'));
    send(CAPTURED_DEVICE_ID, 'legacyStatus', diagnostics?.payload);
    registry.upsertDevices([{ deviceId: CAPTURED_DEVICE_ID, name: 'Mini', online: true, deviceType: 'mini' }]);
    expect(registry.get(CAPTURED_DEVICE_ID)?.status).to.equal('shutdown');

    send(CAPTURED_DEVICE_ID, 'legacyStatus', running);
    expect(registry.get(CAPTURED_DEVICE_ID)).to.deep.include({ shutDown: false, online: true, status: 'idle' });
    expect(types()).to.deep.equal(['shutdown', 'offline', 'online']);
  });

  it('brings a shut-down player back when the cloud has seen it go and come back', () => {
    const { registry, send } = registryHarness();
    registry.upsertDevices([{ deviceId: CAPTURED_DEVICE_ID, name: 'Mini', online: true, deviceType: 'mini' }]);
    const shuttingDown = capturedFullLegacyStatus();
    shuttingDown.status['shutDown'] = 'lowBattery';
    send(CAPTURED_DEVICE_ID, 'legacyStatus', shuttingDown);
    registry.upsertDevices([{ deviceId: CAPTURED_DEVICE_ID, name: 'Mini', online: false, deviceType: 'mini' }]);
    expect(registry.get(CAPTURED_DEVICE_ID)?.status).to.equal('shutdown');
    registry.upsertDevices([{ deviceId: CAPTURED_DEVICE_ID, name: 'Mini', online: true, deviceType: 'mini' }]);
    expect(registry.get(CAPTURED_DEVICE_ID)).to.deep.include({ shutDown: false, online: true });
  });
});

describe('device registry: bad input', () => {
  it('has payloads of the wrong shape refused by the adapter\'s reader, with a reason, never thrown', () => {
    const bad: Array<['events' | 'status' | 'legacyStatus' | 'response' | 'legacyEvents' | 'presence', unknown, string]> = [
      ['events', 'not an object', 'events payload must be a JSON object, got a string'],
      ['events', [1, 2, 3], 'events payload must be a JSON object, got an array'],
      ['legacyEvents', null, 'events payload must be a JSON object, got null'],
      ['status', { status: 'charging' }, 'status payload must have a "status" object, got a string'],
      ['legacyStatus', 42, 'status payload must be a JSON object, got a number'],
      ['response', { ok: true }, 'response payload must be {"status": {...}}, got an object'],
      ['status', Buffer.from('{"status":{}}'), 'status payload must be a JSON object, got raw bytes'],
      ['presence', { state: 'sleepy' }, 'presence payload must say "state": "online" or "offline", got "sleepy"'],
    ];
    for (const [kind, payload, reason] of bad) expect(readPlayerPayload(kind, payload)).to.deep.equal({ ok: false, reason });
  });

  it('logs and counts messages for a device id that is not one without throwing, and keeps the last good state', () => {
    const records: LogRecord[] = [];
    const { registry, send } = registryHarness({ logger: createLogger({ sink: (record) => records.push(record) }) });
    send('player1', 'events', { cardId: 'abc12', playbackStatus: 'playing', volume: 8 });
    const before = registry.get('player1');
    for (const deviceId of ['bad/id', '', 'x'.repeat(129)]) expect(() => send(deviceId, 'events', { volume: 3 })).to.not.throw();
    expect(registry.stats().malformed).to.equal(3);
    const warnings = records.filter((record) => record.level === 'warn');
    expect(warnings).to.have.length(3);
    expect(warnings[0]).to.include({ msg: 'malformed player message ignored', deviceId: 'bad/id', kind: 'events' });
    expect(warnings[0]?.['reason']).to.match(/^device id must be/);
    expect(registry.get('player1')).to.deep.equal(before);
    expect(registry.list().map((state) => state.deviceId)).to.deep.equal(['player1']);
  });

  it('gets a message without the fields the adapter could not read, and keeps the rest', () => {
    const { registry } = registryHarness();
    const message = playerMessage('player1', 'events', { cardId: 'abc12', playbackStatus: 'playing', volume: 'loud', position: [3], trackKey: 7, repeatAll: 1 });
    expect(message.dropped).to.deep.equal(['volume', 'position']);
    registry.ingest(message);
    expect(registry.get('player1')?.playback).to.deep.include({ cardId: 'abc12', state: 'playing', trackKey: '7', repeatAll: true });
    expect(registry.get('player1')?.volume).to.equal(undefined);
  });

  it('ignores an unknown playbackStatus instead of reporting it', () => {
    const { registry, send } = registryHarness();
    send('player1', 'events', { cardId: 'abc12', playbackStatus: 'playing' });
    send('player1', 'events', { playbackStatus: 'warming-up' });
    expect(registry.get('player1')?.playback.state).to.equal('playing');
  });
});

describe('device registry: what the card playing is', () => {
  const PLAYER = 'vkids0bedroom0yoto0mini0';
  const ROCKETS = { title: 'Rockets and Planets', author: 'Virtual Science', cover: 'https://cdn.example/rockets.png' };

  it('keeps the card\'s title, author and cover while it plays, without an event, and drops them with the card', () => {
    const { registry, send, types } = registryHarness();
    send(PLAYER, 'events', { cardId: 'vbSpace0001', playbackStatus: 'playing', chapterKey: '01', trackKey: '01' });
    const eventsBefore = types(PLAYER).length;
    registry.describeCard(PLAYER, 'vbSpace0001', ROCKETS);
    expect(registry.get(PLAYER)?.playback).to.deep.include({ cardId: 'vbSpace0001', cardTitle: 'Rockets and Planets', cardAuthor: 'Virtual Science', cardCover: ROCKETS.cover });
    expect(types(PLAYER), 'no event for it').to.have.length(eventsBefore);
    send(PLAYER, 'events', { cardId: 'vbLullaby01', playbackStatus: 'playing' });
    expect(registry.get(PLAYER)?.playback).to.not.have.any.keys('cardTitle', 'cardAuthor', 'cardCover');
  });

  it('leaves a player that has moved on to another card as it is', () => {
    const { registry, send } = registryHarness();
    send(PLAYER, 'events', { cardId: 'vbLullaby01', playbackStatus: 'playing' });
    const before = registry.get(PLAYER);
    registry.describeCard(PLAYER, 'vbSpace0001', ROCKETS);
    expect(registry.get(PLAYER)).to.equal(before);
  });
});
