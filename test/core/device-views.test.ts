import { expect } from 'chai';
import { applyCloudInfo, applyEvents, applyStatus } from '../../server/core/state-merge';
import { initialState } from '../../server/core/device-state';
import { deviceViews, eventPayload, eventPayloadJson, playbackPayload, statusPayload, viewPayloadJson, type DeviceViews } from '../../server/core/device-views';
import type { DeviceEvent } from '../../server/types/schemas';
import { registryHarness } from './registry-harness';

const AT = new Date('2026-12-04T19:30:00.123Z');

/** A player never heard from, and one that has said everything a status and its events carry. */
function states() {
  const fresh = initialState('kids0mini', AT, { deviceId: 'kids0mini', name: 'Kids "Mini"', deviceType: 'mini', online: true });
  const heard = applyEvents(
    applyStatus(fresh, { batteryLevel: 64, charging: true, fwVersion: 'v2.23.2', nightlightMode: '0x194a55', day: 0, userVolume: 40 }),
    { cardId: 'abc12', chapterKey: '01', chapterTitle: 'Über den Wolken', trackKey: '01', position: 12, trackLength: 300, playbackStatus: 'playing', volume: 8, volumeMax: 16 },
  );
  return { fresh, heard, offline: { ...heard, online: false, offlineSince: AT.toISOString() } };
}

describe('device views as JSON text: what the home broker and the WebSocket send', () => {
  for (const [name, state] of Object.entries(states())) {
    it(`is JSON.stringify of the status and playback payloads, timestamp last (${name} player)`, () => {
      expect(viewPayloadJson(state, 'status', AT)).to.equal(JSON.stringify(statusPayload(state, AT)));
      expect(viewPayloadJson(state, 'playback', AT)).to.equal(JSON.stringify(playbackPayload(state, AT)));
      // The view's text is kept for the state; a later time changes only the timestamp.
      const later = new Date(AT.getTime() + 1000);
      expect(JSON.parse(viewPayloadJson(state, 'playback', later))).to.deep.equal(playbackPayload(state, later));
    });
  }
});

describe('device views kept for a player\'s latest states', () => {
  it('gives each state its own views, whichever of a player\'s states is asked and in what order', () => {
    const { heard } = states();
    const volumes = [4, 8, 12, 16];
    const successive = volumes.map((volume) => applyEvents(heard, { volume, volumeMax: 16 }));
    const other = initialState('other0mini', AT, { deviceId: 'other0mini', name: 'Other', deviceType: 'mini', online: true });
    // Latest first, then the one before it (as a surface compares a change), another player, then older ones again.
    const order = [0, 1, 0, 2, 1, 3, 2, 0, 3, 1];
    expect(new Set(successive.map((state) => state.volume!.percent)).size).to.equal(volumes.length);
    for (const index of order) {
      expect(deviceViews(other).status.name).to.equal('Other');
      expect(deviceViews(successive[index]!).playback.volume, `state ${index}`).to.equal(successive[index]!.volume!.percent);
      expect(JSON.parse(viewPayloadJson(successive[index]!, 'playback', AT))).to.deep.equal(playbackPayload(successive[index]!, AT));
    }
  });

  it('answers the same view object for the state and the one before it, as a change is compared', () => {
    const { heard } = states();
    const next = applyEvents(heard, { volume: 2, volumeMax: 16 });
    const first = deviceViews(heard);
    expect(deviceViews(next)).to.not.equal(first);
    expect(deviceViews(heard)).to.equal(first);
    expect(deviceViews(next)).to.equal(deviceViews(next));
  });

  it('gives each event its own JSON text when two events are asked in turn', () => {
    const event = (id: string, volume: number): DeviceEvent => ({ id, deviceId: 'kids0mini', type: 'volume_changed', timestamp: AT.toISOString(), data: { volume, previousVolume: 1 } });
    const a = event('e1', 10);
    const b = event('e2', 20);
    for (const e of [a, b, a, a, b]) expect(JSON.parse(eventPayloadJson(e))).to.deep.equal(eventPayload(e));
    expect(JSON.parse(eventPayloadJson(b))).to.include({ volume: 20, previous_volume: 1, type: 'volume_changed' });
  });
});

describe('device views shared between a player\'s states where a change left them', () => {
  it('keeps the status view of a volume change, and makes a new one when the name changes', () => {
    const { heard } = states();
    const louder = applyEvents(heard, { volume: 12, volumeMax: 16 });
    expect(deviceViews(louder).status).to.equal(deviceViews(heard).status);
    expect(deviceViews(louder).playback).to.not.equal(deviceViews(heard).playback);
    expect(viewPayloadJson(louder, 'status', AT)).to.equal(JSON.stringify(statusPayload(heard, AT)));
    const renamed = applyCloudInfo(louder, { deviceId: 'kids0mini', name: 'Bedroom' });
    expect(deviceViews(renamed).status.name).to.equal('Bedroom');
    expect(deviceViews(renamed).playback).to.equal(deviceViews(louder).playback);
    expect(JSON.parse(viewPayloadJson(renamed, 'status', AT))).to.include({ name: 'Bedroom' });
  });

  it('reads nothing for the status view but the fields it shares on, and nothing for playback but playback and volume', () => {
    const { heard } = states();
    const other = applyEvents(applyStatus(heard, { wifiStrength: -40, upTime: 99, batteryLevel: 20 }), { cardId: 'zzz99', playbackStatus: 'paused', position: 1, volume: 3, volumeMax: 16 });
    // Each of these is a player of its own, so nothing is shared: every view is made from its state.
    const a = { ...heard, deviceId: 'fields0a' };
    const statusTwin = { ...a, deviceId: 'fields0b', deviceFamily: 'other', shutDown: !a.shutDown, lastSeen: AT.toISOString(), volume: other.volume, playback: other.playback, telemetry: other.telemetry, updatedAt: AT.toISOString() };
    expect(statusPayload(statusTwin, AT)).to.deep.equal(statusPayload(a, AT));
    const playbackTwin = { ...other, deviceId: 'fields0c', playback: a.playback, volume: a.volume };
    expect(playbackPayload(playbackTwin, AT)).to.deep.equal(playbackPayload(a, AT));
    expect(statusPayload(playbackTwin, AT)).to.not.deep.equal(statusPayload(a, AT));
  });
});

describe('device views forgotten with their registry', () => {
  it('keeps no view of a player its registry removed or of any player once the registry stopped', () => {
    const { registry, send } = registryHarness();
    send('forget0kids', 'events', { volume: 4, volumeMax: 16, playbackStatus: 'playing', cardId: 'abc12' });
    send('forget0den', 'events', { volume: 8, volumeMax: 16 });
    const kids = registry.get('forget0kids')!;
    const den = registry.get('forget0den')!;
    const kidsViews = deviceViews(kids);
    const denViews = deviceViews(den);
    expect(deviceViews(kids), 'kept while the player is there').to.equal(kidsViews);

    registry.removeDevice('forget0kids');
    expect(deviceViews(kids), 'made again after the player was removed').to.not.equal(kidsViews);
    expect(deviceViews(kids).playback).to.deep.equal(kidsViews.playback);
    expect(deviceViews(den), 'another player\'s kept').to.equal(denViews);

    registry.stop();
    expect(deviceViews(den), 'made again after the registry stopped').to.not.equal(denViews);
  });
});

describe('device views of an older state asked between changes', () => {
  it('keeps the latest two, so each change after finds the state before it', () => {
    const { heard } = states();
    const at = (seconds: number): string => new Date(AT.getTime() + seconds * 1000).toISOString();
    const s = [4, 6, 8, 10, 12].map((volume, i) => ({ ...applyEvents({ ...heard, deviceId: 'older0kids' }, { volume, volumeMax: 16 }), updatedAt: at(i) }));
    // Changes as the bridge compares them: the new state, then the one before it.
    const change = (next: number): { next: DeviceViews; previous: DeviceViews } => ({ next: deviceViews(s[next]!), previous: deviceViews(s[next - 1]!) });
    change(1);
    change(2);
    // Someone holding the first state asks for it.
    expect(deviceViews(s[0]!).playback.volume).to.equal(s[0]!.volume!.percent);
    const third = change(3).next;
    expect(change(4).previous, 'the state before the change, kept from the change before').to.equal(third);
    expect(deviceViews(s[4]!).playback.volume).to.equal(s[4]!.volume!.percent);
  });
});
