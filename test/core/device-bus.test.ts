import { expect } from 'chai';
import { DeviceBus } from '../../server/core/device-bus';
import type { DeviceState } from '../../server/core/device-state';
import type { Hub } from '../../server/hub';
import type { DeviceEvent } from '../../server/types/schemas';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { houseLogin, startTestHub, stopTestHub } from '../helpers/test-hub';

const KIDS = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;

function event(type: DeviceEvent['type'], n: number): DeviceEvent {
  return { id: `e${n}`, deviceId: KIDS, type, timestamp: new Date(0).toISOString(), data: { n } };
}

describe('device bus', () => {
  it('delivers to every listener when one throws, and counts the failure', () => {
    const bus = new DeviceBus();
    const heard: string[] = [];
    bus.on('first', 'event', (e) => heard.push(`first ${e.type}`));
    bus.on('broken', 'event', () => {
      throw new Error('a consumer bug');
    });
    bus.on('last', 'event', (e) => heard.push(`last ${e.type}`));
    bus.emit('event', event('volume_changed', 1));
    expect(heard).to.deep.equal(['first volume_changed', 'last volume_changed']);
    expect(bus.stats()).to.include({ listenerFailures: 1, delivered: 1 });
  });

  it('removes all of a consumer’s listeners by owner, and only those', () => {
    const bus = new DeviceBus();
    const owner = {};
    bus.on(owner, 'event', () => undefined);
    bus.on(owner, 'state', () => undefined);
    bus.on('other', 'event', () => undefined);
    bus.off(owner);
    expect([bus.listenerCount('event'), bus.listenerCount('state'), bus.listenerCount(undefined, owner)]).to.deep.equal([1, 0, 0]);
  });

  it('keeps causal order: what a listener publishes comes after its cause and the rest of that batch', () => {
    const bus = new DeviceBus();
    const order: string[] = [];
    bus.on('follower', 'state', () => bus.emit('event', event('story_node_entered', 3)));
    bus.on('house', 'state', () => order.push('state'));
    bus.on('house', 'event', (e) => order.push(e.type));
    const state = { deviceId: KIDS } as DeviceState;
    bus.batch(() => {
      bus.emit('state', state, state);
      bus.emit('event', event('track_changed', 2));
    });
    expect(order).to.deep.equal(['state', 'track_changed', 'story_node_entered']);
  });

  describe('in the composed hub', function () {
    this.timeout(30_000);
    let hub: Hub;
    let house: BrokerWatcher;
    before(async () => {
      hub = await startTestHub();
      // The house logs in as an admin of the hub: anonymous clients see no yoto/ topic on the embedded broker.
      house = await BrokerWatcher.connect(hub.broker.url, ['yoto/#'], await houseLogin(hub));
    });
    after(async () => {
      await house.close();
      await stopTestHub(hub);
    });

    it('a consumer that throws does not stop the home broker, the event log or the other consumers from getting the event', async () => {
      const before = hub.devices.bus.stats().listenerFailures;
      hub.devices.bus.on('a broken flow', 'event', () => {
        throw new Error('boom');
      });
      const mark = house.mark;
      const answer = await fetch(`${String((hub.health().components.cloud as { virtualCloudUrl?: string }).virtualCloudUrl)}/virtual/devices/${KIDS}/volume`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ steps: 1 }),
      });
      expect(answer.status).to.be.lessThan(300);
      const published = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'volume_changed', mark);
      const logged = await hub.store.events.query({ deviceId: KIDS, types: ['volume_changed'], limit: 5 });
      expect(logged.map((e) => e.timestamp)).to.include(published['timestamp']);
      expect(hub.devices.bus.stats().listenerFailures).to.be.greaterThan(before);
      const metrics = await (await fetch(`${hub.url}/metrics`)).text();
      expect(Number(/^yoto_device_listener_failures_total (\d+)$/m.exec(metrics)?.[1])).to.be.greaterThan(before);
      hub.devices.bus.off('a broken flow');
    });
  });
});
