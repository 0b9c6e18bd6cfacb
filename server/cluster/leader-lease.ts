import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '../log/logger';
import { realClock, type Clock, type ClockTimer } from '../time/clock';
import { KEY_PREFIX, type RedisConnection } from './redis-connection';

export type ClusterRole = 'leader' | 'follower';

/** Renews the lease when it is still ours (check and set in one step): 1 renewed, 0 someone else's or gone. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lease when it is still ours. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LeaderLeaseOptions {
  redis: RedisConnection;
  /** This instance's name: the lease's value. */
  instanceId: string;
  /** The lease lasts this long unless renewed; it is renewed (or asked for) every third of it. */
  leaseMs: number;
  /** The key's name after `yoto:` (default `leader`). */
  name?: string;
  logger?: Logger;
  clock?: Clock;
}

export interface LeaderLeaseEvents {
  role: [role: ClusterRole];
}

/**
 * Exactly one instance at a time holds the lease: a Redis key set with
 * `SET NX PX` to this instance's id, renewed every third of its life with a
 * check-and-set script, deleted (if still ours) on stop. The others ask for it
 * at the same pace, so when the holder dies another takes over at most one
 * lease and one third later. A leader that cannot renew (Redis unreachable)
 * steps down before its lease could have run out, so two leaders never overlap.
 */
export class LeaderLease extends EventEmitter<LeaderLeaseEvents> {
  private readonly key: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private currentRole: ClusterRole = 'follower';
  private timer: ClockTimer | undefined;
  /** Clock time the lease was last set or renewed by us. */
  private renewedAt = 0;
  private holder: string | undefined;
  private running = false;
  private ticking: Promise<void> = Promise.resolve();
  private readonly counters = { acquired: 0, lost: 0, renewFailures: 0 };

  constructor(private readonly options: LeaderLeaseOptions) {
    super();
    this.key = KEY_PREFIX + (options.name ?? 'leader');
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? realClock;
  }

  get role(): ClusterRole {
    return this.currentRole;
  }

  /** The instance holding the lease, as last seen (this one when leader). */
  get leader(): string | undefined {
    return this.currentRole === 'leader' ? this.options.instanceId : this.holder;
  }

  stats(): { role: ClusterRole; leader?: string; leaseMs: number; acquired: number; lost: number; renewFailures: number } {
    const leader = this.leader;
    return { role: this.currentRole, ...(leader ? { leader } : {}), leaseMs: this.options.leaseMs, ...this.counters };
  }

  /** Asks for the lease once now (so the first instance leads from its start), then keeps asking or renewing. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
    this.schedule();
  }

  /** Stops renewing and gives the lease up (if ours), so another instance takes over at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.ticking;
    if (this.currentRole === 'leader') {
      try {
        await this.options.redis.commands.eval(RELEASE, { keys: [this.key], arguments: [this.options.instanceId] });
      } catch (error) {
        this.logger.warn('could not release the leader lease; it runs out by itself', { err: error });
      }
      this.setRole('follower');
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule());
    }, Math.max(100, Math.floor(this.options.leaseMs / 3)));
  }

  private async tick(): Promise<void> {
    const { redis, instanceId, leaseMs } = this.options;
    const startedAt = this.clock.now();
    try {
      if (this.currentRole === 'leader') {
        const renewed = await redis.commands.eval(RENEW, { keys: [this.key], arguments: [instanceId, String(leaseMs)] });
        if (!this.running) return;
        if (Number(renewed) === 1) {
          this.renewedAt = startedAt;
          return;
        }
        this.logger.warn('the leader lease was taken over or ran out; following', { instanceId });
        this.counters.lost++;
        this.setRole('follower');
        return;
      }
      const set = await redis.commands.set(this.key, instanceId, { condition: 'NX', expiration: { type: 'PX', value: leaseMs } });
      if (!this.running) return;
      if (set === 'OK') {
        this.renewedAt = startedAt;
        this.counters.acquired++;
        this.holder = instanceId;
        this.logger.info('holding the leader lease: this instance holds the Yoto cloud connection', { instanceId, leaseMs });
        this.setRole('leader');
        return;
      }
      const holder = await redis.commands.get(this.key);
      this.holder = holder ?? undefined;
    } catch (error) {
      if (this.currentRole !== 'leader') return;
      this.counters.renewFailures++;
      // Step down while the lease we last set is certainly still ours: nobody else can lead before it runs out.
      if (this.clock.now() - this.renewedAt >= (leaseMs * 2) / 3) {
        this.logger.error('could not renew the leader lease in time; following until Redis answers again', { err: error });
        this.counters.lost++;
        this.setRole('follower');
      }
    }
  }

  private setRole(role: ClusterRole): void {
    if (role === this.currentRole) return;
    this.currentRole = role;
    if (role === 'follower' && this.holder === this.options.instanceId) this.holder = undefined;
    this.emit('role', role);
  }
}
