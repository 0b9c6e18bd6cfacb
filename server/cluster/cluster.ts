import * as os from 'node:os';
import type { DeviceRegistry } from '../core/device-registry';
import { silentLogger, type Logger } from '../log/logger';
import type { ComponentHealth } from '../system/health';
import type { HubClusterConfig } from '../types/schemas';
import type { DeviceCommander } from '../yoto/device-command';
import { BusRelay } from './bus-relay';
import { CommandRelay } from './command-relay';
import { LeaderLease, type ClusterRole } from './leader-lease';
import { KEY_PREFIX, RedisConnection } from './redis-connection';
import { RedisAccountState } from './shared-accounts';

/** Allowance for a new leader to start its cloud connection (the virtual cloud starts in about a second). */
const TAKEOVER_START_MS = 5_000;

/** What the hub does when this instance becomes the leader, and when it stops being it. */
export interface RoleHandlers {
  lead(): Promise<void>;
  follow(): Promise<void>;
}

/**
 * One hub instance's membership of a cluster (README "Several hub instances"):
 * its Redis connection, the sign-in state shared with the others, the device bus
 * carried between them, device commands forwarded to the leader, and the leader
 * lease that decides which instance holds the Yoto cloud connection and bridges
 * the home broker. Role changes are applied one at a time, in order.
 */
export class Cluster {
  readonly instanceId: string;
  readonly accounts: RedisAccountState;
  private readonly logger: Logger;
  private relay: BusRelay | undefined;
  private commandRelay: CommandRelay | undefined;
  private lease: LeaderLease | undefined;
  private applied: ClusterRole | 'none' = 'none';
  private transitions: Promise<void> = Promise.resolve();
  private advertised = false;
  /** Resigned: the lease is not taken again. */
  private stopped = false;

  private constructor(
    private readonly config: HubClusterConfig,
    readonly redis: RedisConnection,
    logger: Logger,
  ) {
    this.logger = logger;
    this.instanceId = config.instanceId ?? `${os.hostname()}-${process.pid}`;
    this.accounts = new RedisAccountState(redis, this.instanceId, logger.child({ component: 'cluster-accounts' }));
  }

  /** Connects to Redis (rejects when it cannot) and starts sharing sign-in state. */
  static async connect(config: HubClusterConfig, logger: Logger = silentLogger): Promise<Cluster> {
    const redis = new RedisConnection(config.redisUrl, logger.child({ component: 'redis' }));
    await redis.connect();
    const cluster = new Cluster(config, redis, logger);
    try {
      await cluster.accounts.start();
    } catch (error) {
      await redis.close();
      throw error;
    }
    logger.info('joined the hub cluster', { instanceId: cluster.instanceId });
    return cluster;
  }

  /** This instance's role as applied (`follower` until it leads). */
  get role(): ClusterRole {
    return this.applied === 'leader' ? 'leader' : 'follower';
  }

  /** Carries the registry's bus to and from the other instances (starts from the players' saved states). */
  async relayBus(registry: DeviceRegistry): Promise<void> {
    // Following until the lease says otherwise: no presence timers of its own.
    registry.follow(true);
    this.relay = new BusRelay({ redis: this.redis, registry, instanceId: this.instanceId, logger: this.logger.child({ component: 'cluster-bus' }) });
    await this.relay.start();
  }

  /**
   * Device commands for followers: returns the commander that forwards them to the leader.
   * `local` carries a command out on this instance's own cloud connection (never forwarding it).
   */
  async relayCommands(local: DeviceCommander): Promise<DeviceCommander> {
    // A takeover: the lease runs out, the next renewal period finds it free, the new leader starts its cloud connection.
    const takeoverMs = Math.ceil((this.config.leaseMs * 4) / 3) + TAKEOVER_START_MS;
    this.commandRelay = new CommandRelay({ redis: this.redis, instanceId: this.instanceId, local, takeoverMs, logger: this.logger.child({ component: 'cluster-commands' }) });
    await this.commandRelay.start();
    return this.commandRelay;
  }

  /** Starts asking for the leader lease; resolves once this instance's first role is applied. */
  async elect(handlers: RoleHandlers): Promise<void> {
    const lease = new LeaderLease({ redis: this.redis, instanceId: this.instanceId, leaseMs: this.config.leaseMs, logger: this.logger.child({ component: 'cluster-lease' }) });
    this.lease = lease;
    lease.on('role', (role) => this.apply(role, handlers));
    await lease.start();
    this.apply(lease.role, handlers);
    await this.transitions;
  }

  health(): ComponentHealth {
    const redis = this.redis.health();
    const lease = this.lease?.stats();
    return {
      status: redis.state === 'ready' ? 'ok' : 'degraded',
      state: this.role,
      role: this.role,
      instanceId: this.instanceId,
      ...(lease?.leader ? { leader: lease.leader } : {}),
      leaseMs: this.config.leaseMs,
      redis,
      ...(lease ? { lease: { acquired: lease.acquired, lost: lease.lost, renewFailures: lease.renewFailures } } : {}),
      ...(this.relay ? { bus: this.relay.stats() } : {}),
      ...(this.commandRelay ? { commands: this.commandRelay.stats() } : {}),
    };
  }

  /** The leader (if any) as last seen. */
  get leader(): string | undefined {
    return this.lease?.leader;
  }

  /**
   * Tells the other instances where this one's HTTP server is (`yoto:instance:<id>`), so a
   * follower can hand the leader the requests that need the cloud connection.
   */
  async advertise(url: string): Promise<void> {
    this.advertised = true;
    await this.redis.commands.set(`${KEY_PREFIX}instance:${this.instanceId}`, url);
  }

  /** The HTTP address of the leader, as it advertised it; undefined while no instance leads. */
  async leaderUrl(): Promise<string | undefined> {
    const leader = await this.redis.commands.get(`${KEY_PREFIX}leader`);
    if (!leader) return undefined;
    return (await this.redis.commands.get(`${KEY_PREFIX}instance:${leader}`)) ?? undefined;
  }

  /** Gives the lease up, so the next instance takes over at once; this one follows until it stops. */
  async resign(): Promise<void> {
    this.stopped = true;
    await this.lease?.stop();
    this.lease?.removeAllListeners();
    await this.transitions;
  }

  /** Resigns, stops relaying, closes Redis. */
  async stop(): Promise<void> {
    await this.resign();
    if (this.advertised) await this.redis.commands.del(`${KEY_PREFIX}instance:${this.instanceId}`).catch(() => undefined);
    await this.commandRelay?.stop();
    await this.relay?.stop();
    await this.accounts.stop();
    await this.redis.close();
  }

  private apply(role: ClusterRole, handlers: RoleHandlers): void {
    this.transitions = this.transitions.then(async () => {
      if (role === this.applied || (this.stopped && role === 'leader')) return;
      const previous = this.applied;
      this.applied = role;
      try {
        if (role === 'leader') {
          await handlers.lead();
          await this.commandRelay?.serve(true);
        } else {
          await this.commandRelay?.serve(false);
          if (previous === 'leader') await handlers.follow();
        }
        this.logger.info(role === 'leader' ? 'this instance leads the cluster' : 'this instance follows the cluster', { instanceId: this.instanceId, leader: this.lease?.leader });
      } catch (error) {
        this.logger.error('could not take up the new role in the cluster', { role, err: error });
      }
    });
  }
}
