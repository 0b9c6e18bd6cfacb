import { createClient } from 'redis';
import { silentLogger, type Logger } from '../log/logger';
import { redactUrlCredentials as redactUrl } from '../log/redact';

/** A node-redis client (commands, or one in subscriber mode). */
export type RedisClient = ReturnType<typeof createClient>;

export type RedisState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** Every key and channel of the hub starts with this (one Redis database per cluster). */
export const KEY_PREFIX = 'yoto:';

/** Waits between reconnection attempts: doubling from 100 ms up to 2 s, for ever. */
function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 5), 2000);
}

/**
 * The hub's two connections to Redis: one for commands, one in subscriber mode
 * (Redis puts a connection that subscribes into a mode where it can do nothing
 * else). Both reconnect for ever; while a connection is down its commands fail
 * at once (no offline queue), so the leader's lease is never renewed late.
 */
export class RedisConnection {
  readonly commands: RedisClient;
  readonly subscriber: RedisClient;
  private readonly logger: Logger;
  private closed = false;
  private lastError: string | undefined;
  private readonly counters = { reconnects: 0, errors: 0 };
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(
    readonly url: string,
    logger: Logger = silentLogger,
  ) {
    this.logger = logger;
    const options = { url, disableOfflineQueue: true, socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5000 } };
    this.commands = createClient(options);
    this.subscriber = createClient(options);
    for (const [name, client] of [['commands', this.commands], ['subscriber', this.subscriber]] as const) {
      client.on('error', (error: Error) => {
        this.counters.errors++;
        // Logged once per outage, not once per reconnection attempt.
        if (this.lastError !== error.message) this.logger.warn('Redis connection error', { connection: name, url: redactUrl(url), err: error });
        this.lastError = error.message;
      });
      client.on('reconnecting', () => this.counters.reconnects++);
      client.on('ready', () => {
        if (this.lastError !== undefined) this.logger.info('Redis connection back', { connection: name });
        this.lastError = undefined;
      });
    }
  }

  async connect(): Promise<void> {
    try {
      await Promise.all([this.commands.connect(), this.subscriber.connect()]);
    } catch (error) {
      await this.close();
      throw new Error(`could not connect to Redis at ${redactUrl(this.url)}: ${(error as Error).message}`);
    }
  }

  get state(): RedisState {
    if (this.closed) return 'closed';
    if (this.commands.isReady && this.subscriber.isReady) return 'ready';
    return this.commands.isOpen ? 'reconnecting' : 'connecting';
  }

  health(): { state: RedisState; url: string; reconnects: number; errors: number; lastError?: string } {
    return { state: this.state, url: redactUrl(this.url), ...this.counters, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  /**
   * Calls `handler` with every message on the channel (`yoto:` is prepended), until the returned function is called.
   * Several handlers may share a channel; Redis subscribes again by itself after a reconnection.
   */
  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    const name = KEY_PREFIX + channel;
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
      const handlers = set;
      await this.subscriber.subscribe(name, (message: string) => {
        for (const each of [...handlers]) {
          try {
            each(message);
          } catch (error) {
            this.logger.error('a Redis message handler failed', { channel, err: error });
          }
        }
      });
    }
    set.add(handler);
    return async () => {
      const handlers = this.handlers.get(name);
      if (!handlers?.delete(handler) || handlers.size > 0) return;
      this.handlers.delete(name);
      if (this.subscriber.isReady) await this.subscriber.unsubscribe(name);
    };
  }

  /** Publishes on the channel (`yoto:` is prepended); resolves with how many instances received it. */
  publish(channel: string, message: string): Promise<number> {
    return this.commands.publish(KEY_PREFIX + channel, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    await Promise.all(
      [this.subscriber, this.commands].map(async (client) => {
        if (!client.isOpen) {
          // A client waiting to reconnect has timers: destroy() clears them.
          try {
            client.destroy();
          } catch {
            // already closed
          }
          return;
        }
        try {
          await client.close();
        } catch {
          client.destroy();
        }
      }),
    );
  }
}
