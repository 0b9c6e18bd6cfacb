import { expect } from 'chai';
import { eventPayload } from '../../server/core/device-views';
import { getValidator } from '../../server/validation';
import { registryHarness, type RegistryHarness } from './registry-harness';

const PLAYER = 'vkids0bedroom0yoto0mini0';
const MINUTE = 60_000;

/** A player the hub already knows: idle, volume 8/16, full battery (as the captured Mini). */
function knownIdlePlayer(): RegistryHarness {
  // The sessions below run longer than the default silence window without a message.
  const harness = registryHarness({ silenceTimeoutMs: 24 * 60 * MINUTE });
  harness.registry.upsertDevices([{ deviceId: PLAYER, name: 'Kids Bedroom', online: true, deviceType: 'mini', deviceFamily: 'mini' }]);
  harness.send(PLAYER, 'status', { status: { batteryLevel: 100, userVolume: 50, fwVersion: 'v2.23.2', activeCard: 'none' } });
  harness.send(PLAYER, 'events', { volume: 8, volumeMax: 16, cardId: 'none', playbackStatus: 'stopped', eventUtc: 1766515352 });
  return harness;
}

describe('device events: normalized from partial player messages', () => {
  it('reports card inserted, playback started, track changed, paused, volume changed, stopped and battery low, in order', () => {
    const { send, types, logged, registry } = knownIdlePlayer();
    expect(types()).to.deep.equal([]);

    send(PLAYER, 'events', { cardId: 'abc12', source: 'card', playbackStatus: 'loading', chapterKey: '01', trackKey: '01' });
    send(PLAYER, 'events', { playbackStatus: 'playing', chapterTitle: 'Chapter one', trackTitle: 'The dragon wakes', position: 0, trackLength: 300 });
    send(PLAYER, 'events', { chapterKey: '02', trackKey: '02', trackTitle: 'The dragon flies', position: 0 });
    send(PLAYER, 'events', { playbackStatus: 'paused', position: 42 });
    send(PLAYER, 'events', { volume: 10, volumeMax: 16 });
    send(PLAYER, 'events', { playbackStatus: 'stopped' });
    send(PLAYER, 'status', { status: { batteryLevel: 15 } });

    expect(types()).to.deep.equal([
      'card_inserted',
      'playback_started',
      'track_changed',
      'playback_paused',
      'volume_changed',
      'playback_stopped',
      'battery_low',
    ]);
    const [inserted, started, changed, paused, volume, stopped, battery] = logged;
    expect(inserted?.data).to.deep.include({ cardId: 'abc12', source: 'card' });
    expect(started?.data).to.deep.include({ cardId: 'abc12', trackTitle: 'The dragon wakes', resumed: false });
    expect(changed?.data).to.deep.include({ chapterKey: '02', trackKey: '02', previousTrackKey: '01', trackTitle: 'The dragon flies' });
    expect(paused?.data).to.deep.include({ position: 42 });
    expect(volume?.data).to.deep.equal({ volume: 63, level: 10, previousVolume: 50 });
    expect(stopped?.data).to.deep.include({ cardId: 'abc12', trackKey: '02' });
    expect(battery?.data).to.deep.include({ battery: 15, threshold: 20 });
    expect(registry.get(PLAYER)?.playback.state).to.equal('stopped');
  });

  it('writes events that match the event schema and publish as valid broker events', async () => {
    const { send, logged } = knownIdlePlayer();
    send(PLAYER, 'events', { cardId: 'abc12', playbackStatus: 'playing', chapterKey: '01', trackKey: '01' });
    send(PLAYER, 'events', { cardId: 'none' });
    expect(logged.map((event) => event.type)).to.deep.equal(['card_inserted', 'playback_started', 'card_removed', 'playback_stopped']);
    const validator = getValidator();
    for (const event of logged) {
      validator.validate('event', event);
      const payload = validator.validate('broker-event', eventPayload(event));
      expect(payload.type).to.equal(event.type);
    }
    expect(eventPayload(logged[0]!)).to.deep.include({ type: 'card_inserted', card_id: 'abc12', device_id: PLAYER });
  });

  it('treats a resume as a start and reports nothing when a message changes nothing', async () => {
    const { send, types } = knownIdlePlayer();
    send(PLAYER, 'events', { cardId: 'abc12', playbackStatus: 'playing' });
    send(PLAYER, 'events', { cardId: 'abc12', playbackStatus: 'playing' });
    send(PLAYER, 'events', { playbackStatus: 'paused' });
    send(PLAYER, 'events', { playbackStatus: 'playing' });
    expect(types()).to.deep.equal(['card_inserted', 'playback_started', 'playback_paused', 'playback_started']);
  });

  it('reports battery low once per fall below the threshold', async () => {
    const { send, types } = knownIdlePlayer();
    for (const level of [30, 19, 18, 17, 25, 10]) send(PLAYER, 'status', { status: { batteryLevel: level } });
    expect(types()).to.deep.equal(['battery_low', 'battery_low']);
  });

  it('swapping one card for another is a removal then an insertion, with the old card\'s track fields gone', async () => {
    const { send, types, registry } = knownIdlePlayer();
    send(PLAYER, 'events', { cardId: 'abc12', playbackStatus: 'playing', chapterKey: '03', trackKey: '03', trackTitle: 'Old' });
    send(PLAYER, 'events', { cardId: 'xyz99', playbackStatus: 'playing' });
    expect(types()).to.deep.equal(['card_inserted', 'playback_started', 'card_removed', 'card_inserted']);
    expect(registry.get(PLAYER)?.playback).to.deep.include({ cardId: 'xyz99', state: 'playing' });
    expect(registry.get(PLAYER)?.playback.trackKey).to.equal(undefined);
    expect(registry.get(PLAYER)?.playback.trackTitle).to.equal(undefined);
  });
});

describe('playback sessions', () => {
  it('records one session per card played, from start to stop, with pauses not counted as played', async () => {
    const { send, clock, saved } = knownIdlePlayer();
    send(PLAYER, 'events', { cardId: 'abc12', playbackStatus: 'playing', chapterKey: '01', trackKey: '01' });
    await clock.advance(10 * MINUTE);
    send(PLAYER, 'events', { playbackStatus: 'paused' });
    await clock.advance(5 * MINUTE);
    send(PLAYER, 'events', { playbackStatus: 'playing' });
    await clock.advance(5 * MINUTE);
    send(PLAYER, 'events', { chapterKey: '02', trackKey: '02' });
    await clock.advance(2 * MINUTE);
    send(PLAYER, 'events', { playbackStatus: 'stopped' });

    expect(saved).to.have.length(2);
    const [opened, closed] = saved;
    expect(opened).to.deep.include({ deviceId: PLAYER, cardId: 'abc12', durationPlayed: 0 });
    expect(opened?.completedAt).to.equal(undefined);
    expect(closed?.id).to.equal(opened?.id);
    expect(closed?.durationPlayed).to.equal(17 * 60);
    expect(Date.parse(closed?.completedAt ?? '') - Date.parse(closed?.startedAt ?? '')).to.equal(22 * MINUTE);
    expect(closed?.metadata).to.deep.include({ chapterKey: '02', trackKey: '02', endedBy: 'stopped' });
    for (const session of saved) getValidator().validate('playback-session', session);
  });

  it('ends the session when the card changes or the player goes offline', async () => {
    const { send, clock, saved, registry } = knownIdlePlayer();
    send(PLAYER, 'events', { cardId: 'abc12', playbackStatus: 'playing' });
    await clock.advance(MINUTE);
    send(PLAYER, 'events', { cardId: 'xyz99', playbackStatus: 'playing' });
    expect(registry.currentSession(PLAYER)?.cardId).to.equal('xyz99');
    await clock.advance(MINUTE);
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Kids Bedroom', online: false }]);
    const completed = saved.filter((session) => session.completedAt !== undefined);
    expect(completed.map((session) => [session.cardId, session.metadata?.['endedBy'], session.durationPlayed])).to.deep.equal([
      ['abc12', 'card_changed', 60],
      ['xyz99', 'offline', 60],
    ]);
    expect(registry.currentSession(PLAYER)).to.equal(undefined);
  });
});
