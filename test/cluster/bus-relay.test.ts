import { expect } from 'chai';
import { BusRelay } from '../../server/cluster/bus-relay';
import { RedisConnection } from '../../server/cluster/redis-connection';
import { DeviceRegistry } from '../../server/core/device-registry';
import type { DeviceEvent } from '../../server/types/schemas';
import { startRedis, type RedisServer } from '../helpers/redis';

const PLAYER = 'vkids0bedroom0yoto0mini0';

interface Instance {
  registry: DeviceRegistry;
  relay: BusRelay;
  /** Everything its bus delivered, as `topic:detail`. */
  seen: string[];
  logged: DeviceEvent[];
}

/**
 * The device bus between instances on a real Redis: a leader's registry ingests player
 * messages; followers' registries get its batches. Order, no echo, late joiners.
 */
describe('device bus relay between instances', function () {
  this.timeout(20_000);
  let redis: RedisServer;
  const stops: Array<() => Promise<void> | void> = [];

  before(async () => {
    redis = await startRedis();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  after(() => redis.stop());

  async function instance(id: string): Promise<Instance> {
    const connection = new RedisConnection(redis.url);
    await connection.connect();
    const logged: DeviceEvent[] = [];
    const registry = new DeviceRegistry({ eventLog: { append: (event) => logged.push(event) } });
    const seen: string[] = [];
    registry.bus.on('test', 'device-added', (state) => seen.push(`device-added:${state.deviceId}`));
    registry.bus.on('test', 'state', (state) => seen.push(`state:${state.volume?.level ?? '-'}`));
    registry.bus.on('test', 'event', (event) => seen.push(`event:${event.type}`));
    const relay = new BusRelay({ redis: connection, registry, instanceId: id });
    await relay.start();
    stops.push(async () => {
      await relay.stop();
      registry.stop();
      await connection.close();
    });
    return { registry, relay, seen, logged };
  }

  /** Resolves once the instance's bus has delivered `count` messages matching (checked at each delivery). */
  function delivered(target: Instance, match: string, count = 1): Promise<void> {
    return new Promise((resolve) => {
      const enough = (): boolean => target.seen.filter((entry) => entry === match).length >= count;
      if (enough()) return resolve();
      const owner = {};
      const check = (): void => {
        // After the test's own listeners (added first) recorded this delivery.
        if (!enough()) return;
        target.registry.bus.off(owner);
        resolve();
      };
      for (const topic of ['device-added', 'state', 'event'] as const) target.registry.bus.on(owner, topic, check);
    });
  }

  function volume(registry: DeviceRegistry, level: number, eventUtc: number): void {
    registry.ingest({ kind: 'events', deviceId: PLAYER, receivedAt: new Date(), payload: { volume: level, volumeMax: 16, eventUtc } } as Parameters<DeviceRegistry['ingest']>[0]);
  }

  it('delivers the leader\'s changes to a follower in the leader\'s order, each once, and sends nothing back', async () => {
    const leader = await instance('leader');
    const follower = await instance('follower');
    for (let i = 0; i < 20; i++) volume(leader.registry, i % 2 === 0 ? 5 : 9, 1_795_000_000 + i);
    await delivered(follower, 'event:volume_changed', 19);
    const expected = leader.seen.filter((entry) => !entry.startsWith('device-added'));
    await delivered(follower, expected[expected.length - 1]!, expected.filter((entry) => entry === expected[expected.length - 1]).length);
    expect(follower.seen.filter((entry) => !entry.startsWith('device-added'))).to.deep.equal(expected);
    expect(follower.registry.get(PLAYER)?.volume?.level).to.equal(9);
    // The follower wrote nothing to its event log (the leader did), and sent nothing back.
    expect(follower.logged).to.have.length(0);
    expect(leader.logged.length).to.be.greaterThan(0);
    expect(follower.relay.stats().batchesOut).to.equal(0);
    expect(leader.relay.stats().batchesIn).to.equal(0);
  });

  it('sends a follower\'s own events (a refused command) to the leader, logged once, where they happened', async () => {
    const leader = await instance('leader');
    const follower = await instance('follower');
    volume(leader.registry, 5, 1_795_000_100);
    await delivered(follower, `device-added:${PLAYER}`);
    follower.registry.recordEvent(PLAYER, 'command_failed', { command: 'play', reason: 'offline' });
    await delivered(leader, 'event:command_failed');
    expect(follower.logged.map((event) => event.type)).to.deep.equal(['command_failed']);
    expect(leader.logged.map((event) => event.type)).to.not.include('command_failed');
  });

  it('gives an instance that starts later every player\'s latest state', async () => {
    const leader = await instance('leader');
    volume(leader.registry, 9, 1_795_000_200);
    const early = await instance('early');
    await delivered(early, `device-added:${PLAYER}`);
    volume(leader.registry, 5, 1_795_000_201);
    await delivered(early, 'state:5');
    const late = await instance('late');
    expect(late.registry.get(PLAYER)?.volume?.level).to.equal(5);
    expect(late.seen).to.include(`device-added:${PLAYER}`);
  });
});
