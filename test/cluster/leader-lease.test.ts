import { expect } from 'chai';
import { once } from 'node:events';
import { HubConfigError, resolveHubOptions } from '../../server/config/hub-options';
import { LeaderLease, type ClusterRole } from '../../server/cluster/leader-lease';
import { useRedis } from '../helpers/redis';

function roleChange(lease: LeaderLease): Promise<ClusterRole> {
  return once(lease, 'role').then(([role]) => role as ClusterRole);
}

/** The leader lease on a real Redis: one holder, handed over on stop, given up when Redis is gone. */
describe('leader lease', function () {
  this.timeout(30_000);
  const redis = useRedis();

  async function member(instanceId: string, leaseMs = 1500): Promise<LeaderLease> {
    const lease = new LeaderLease({ redis: await redis.connection(), instanceId, leaseMs });
    redis.onStop(() => lease.stop());
    return lease;
  }

  it('lets the first instance lead and the others follow, naming the leader', async () => {
    const [a, b, c] = [await member('a'), await member('b'), await member('c')];
    await a.start();
    await b.start();
    await c.start();
    expect([a.role, b.role, c.role]).to.deep.equal(['leader', 'follower', 'follower']);
    expect(b.leader).to.equal('a');
  });

  it('hands the lease to a follower as soon as the leader stops', async () => {
    const [a, b] = [await member('a'), await member('b')];
    await a.start();
    await b.start();
    const taken = roleChange(b);
    await a.stop();
    expect(await taken).to.equal('leader');
    expect(a.role).to.equal('follower');
  });

  it('keeps the lease while it renews it, past several lease lengths', async () => {
    // A 2 s lease, renewed every 667 ms: a loaded CI machine can hold a timer back by more than the
    // 667 ms a 1 s lease leaves before its holder steps down (as it must when it cannot renew in time).
    const [a, b] = [await member('a', 2000), await member('b', 2000)];
    await a.start();
    await b.start();
    // Ten renewals of the leader (over three lease lengths), as Redis reports them (keyspace notifications): still the leader, b still follows.
    const watcher = await redis.connection();
    await watcher.commands.configSet('notify-keyspace-events', 'Kg');
    let renewals = 0;
    await new Promise<void>((resolve) => {
      void watcher.subscriber.subscribe('__keyspace@0__:yoto:leader', (operation) => {
        if (operation === 'expire' && ++renewals === 10) resolve();
      });
    });
    expect(b.leader).to.equal('a');
    expect([a.role, b.role]).to.deep.equal(['leader', 'follower']);
  });

  it('steps down when it cannot reach Redis, before its lease could have run out', async () => {
    const a = await member('a', 1500);
    await a.start();
    const stepped = roleChange(a);
    await redis.stopServer();
    expect(await stepped).to.equal('follower');
  });
});

describe('cluster settings', () => {
  it('reads YOTO_REDIS_URL, YOTO_INSTANCE_ID and YOTO_LEADER_LEASE_MS', () => {
    const options = resolveHubOptions({}, '/tmp/x', { YOTO_REDIS_URL: 'redis://redis:6379/2', YOTO_BROKER_URL: 'mqtt://mosquitto:1883', YOTO_INSTANCE_ID: 'hub-1', YOTO_LEADER_LEASE_MS: '5000' });
    expect(options.cluster).to.deep.equal({ redisUrl: 'redis://redis:6379/2', instanceId: 'hub-1', leaseMs: 5000 });
    expect(resolveHubOptions({}, '/tmp/x', {}).cluster).to.equal(undefined);
    expect(resolveHubOptions({ redisUrl: 'rediss://r:6380', brokerUrl: 'mqtt://b:1883' }, '/tmp/x', {}).cluster).to.deep.equal({ redisUrl: 'rediss://r:6380', leaseMs: 10_000 });
  });

  it('refuses a cluster without a shared home broker, a non-Redis URL and a lease outside 1 to 10 s', () => {
    const resolve = (env: Record<string, string>): unknown => resolveHubOptions({}, '/tmp/x', { YOTO_BROKER_URL: 'mqtt://b:1883', ...env });
    expect(() => resolveHubOptions({}, '/tmp/x', { YOTO_REDIS_URL: 'redis://r:6379' })).to.throw(HubConfigError, /YOTO_BROKER_URL/);
    expect(() => resolve({ YOTO_REDIS_URL: 'http://r:6379' })).to.throw(HubConfigError, /redis:/);
    expect(() => resolve({ YOTO_REDIS_URL: 'redis://r:6379', YOTO_LEADER_LEASE_MS: '60000' })).to.throw(HubConfigError, /1000 to 10000/);
    expect(() => resolve({ YOTO_REDIS_URL: 'redis://r:6379', YOTO_INSTANCE_ID: 'a b' })).to.throw(HubConfigError, /instance id/);
  });
});
