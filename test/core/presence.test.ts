import { expect } from 'chai';
import { realClock } from '../../server/time/clock';
import { DEFAULT_OFFLINE_ALERT_MS, DeviceRegistry } from '../../server/core/device-registry';
import { getValidator } from '../../server/validation';
import { registryHarness } from './registry-harness';
import { playerMessage } from '../helpers/player-message';

const PLAYER = 'vliving0room0yoto0player';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function activeResources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

describe('presence: online, offline and the offline alert', () => {
  it('goes offline after the silence window and back online with the next message', async () => {
    const { registry, send, clock, types, logged } = registryHarness({ silenceTimeoutMs: 10 * MINUTE });
    send(PLAYER, 'events', { cardId: 'none', playbackStatus: 'stopped' });
    expect(registry.get(PLAYER)).to.deep.include({ online: true, status: 'idle' });

    await clock.advance(6 * MINUTE);
    send(PLAYER, 'response', { status: { events: 'OK', req_body: 'x' } });
    await clock.advance(9 * MINUTE);
    expect(registry.get(PLAYER)?.online).to.equal(true);
    await clock.advance(MINUTE);
    expect(registry.get(PLAYER)).to.deep.include({ online: false, status: 'disconnected' });
    expect(logged.at(-1)?.data).to.deep.include({ reason: 'silence' });

    send(PLAYER, 'events', { volume: 5 });
    expect(registry.get(PLAYER)?.online).to.equal(true);
    expect(types()).to.deep.equal(['offline', 'online']);
  });

  it('raises an alert once when a player stays offline for longer than an hour (the default)', async () => {
    const { registry, clock, types, logged } = registryHarness();
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: true, deviceType: 'v3' }]);
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: false, deviceType: 'v3' }]);
    await clock.advance(DEFAULT_OFFLINE_ALERT_MS - 1);
    expect(types()).to.deep.equal(['offline']);
    await clock.advance(1);
    expect(types()).to.deep.equal(['offline', 'alert']);
    const alert = logged.at(-1);
    expect(alert?.data).to.deep.include({ alert: 'offline_too_long', thresholdSeconds: 3600 });
    expect(alert?.data['message']).to.equal('Living Room has been offline for more than an hour');
    getValidator().validate('event', alert);
    await clock.advance(5 * HOUR);
    expect(types()).to.deep.equal(['offline', 'alert']);
  });

  it('raises no alert when the player comes back within the hour, and counts again from the next outage', async () => {
    const { registry, clock, send, types } = registryHarness({ offlineAlertMs: HOUR, silenceTimeoutMs: 0 });
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: false }]);
    await clock.advance(HOUR - MINUTE);
    send(PLAYER, 'status', { status: { batteryLevel: 80 } });
    await clock.advance(2 * HOUR);
    expect(types()).to.deep.equal(['online']);
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: true }]);
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: false }]);
    await clock.advance(HOUR);
    expect(types()).to.deep.equal(['online', 'offline', 'alert']);
  });

  it('follows a change in the cloud list, but not a list that merely repeats itself after a message', () => {
    const { registry, send, types } = registryHarness();
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: false }]);
    send(PLAYER, 'events', { volume: 4 });
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: false }]);
    expect(registry.get(PLAYER)?.online).to.equal(true);
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: true }]);
    registry.upsertDevices([{ deviceId: PLAYER, name: 'Living Room', online: false }]);
    expect(registry.get(PLAYER)?.online).to.equal(false);
    expect(types()).to.deep.equal(['online', 'offline']);
  });

  it('adds, renames and removes players from the cloud list', () => {
    const { registry } = registryHarness();
    const added: string[] = [];
    const removed: string[] = [];
    registry.bus.on('test', 'device-added', (state) => added.push(state.deviceId));
    registry.bus.on('test', 'device-removed', (deviceId) => removed.push(deviceId));
    registry.syncDevices([
      { deviceId: 'vliving0room0yoto0player', name: 'Living Room', online: true, deviceType: 'v3', deviceFamily: 'v3' },
      { deviceId: 'vkids0bedroom0yoto0mini0', name: 'Kids Bedroom', online: true, deviceType: 'mini', deviceFamily: 'mini' },
    ]);
    expect(registry.get('vliving0room0yoto0player')?.hasNightLight).to.equal(true);
    expect(registry.get('vkids0bedroom0yoto0mini0')?.hasNightLight).to.equal(false);
    registry.syncDevices([{ deviceId: 'vliving0room0yoto0player', name: 'Lounge', online: true, deviceType: 'v3' }]);
    expect(registry.get('vliving0room0yoto0player')?.name).to.equal('Lounge');
    expect(added).to.deep.equal(['vliving0room0yoto0player', 'vkids0bedroom0yoto0mini0']);
    expect(removed).to.deep.equal(['vkids0bedroom0yoto0mini0']);
  });

  it('cancels every timer on stop and ignores messages after it', () => {
    const { registry, clock, send } = registryHarness();
    registry.upsertDevices([
      { deviceId: 'a', name: 'A', online: true },
      { deviceId: 'b', name: 'B', online: false },
    ]);
    expect(clock.pendingTimers()).to.equal(2);
    registry.stop();
    expect(clock.pendingTimers()).to.equal(0);
    send('a', 'events', { volume: 3 });
    expect(clock.pendingTimers()).to.equal(0);
    expect(registry.get('a')?.volume).to.equal(undefined);
  });

  it('leaves no real timer behind after stop', () => {
    const before = activeResources();
    const registry = new DeviceRegistry({ clock: realClock, silenceTimeoutMs: HOUR, offlineAlertMs: HOUR });
    registry.upsertDevices([{ deviceId: 'a', name: 'A', online: false }]);
    registry.ingest(playerMessage('b', 'events', { volume: 3 }, new Date()));
    expect(activeResources()).to.not.deep.equal(before);
    registry.stop();
    expect(activeResources()).to.deep.equal(before);
  });
});
