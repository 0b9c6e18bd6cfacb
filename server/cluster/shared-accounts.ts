import type { ClientRateLimitInfo, Options as RateLimitOptions, Store as RateLimitStore } from 'express-rate-limit';
import type { SharedAccountState } from '../accounts/accounts';
import { silentLogger, type Logger } from '../log/logger';
import { KEY_PREFIX, type RedisConnection } from './redis-connection';

const SECRET_KEY = `${KEY_PREFIX}jwt-secret`;
/** Hash: denied key -> until (ms since the epoch). */
const DENIED_KEY = `${KEY_PREFIX}denied`;
const DENIED_CHANNEL = 'denied';
const SPENT_PREFIX = `${KEY_PREFIX}refresh-spent:`;
const RATE_PREFIX = `${KEY_PREFIX}rate:`;

/** Counts a hit; the first one of a window starts the window's expiry. Answers [hits, ms left]. */
const INCREMENT = `local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
return {hits, left}`;
/** Takes a hit back, never below zero. */
const DECREMENT = `local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
if hits > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

interface DeniedMessage {
  origin: string;
  key: string;
  untilMs: number;
}

/** Sign-in state the cluster's instances share in Redis (see SharedAccountState). */
export class RedisAccountState implements SharedAccountState {
  private readonly logger: Logger;
  private readonly listeners = new Set<(key: string, untilMs: number) => void>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly instanceId: string,
    logger: Logger = silentLogger,
  ) {
    this.logger = logger;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.redis.subscribe(DENIED_CHANNEL, (raw) => {
      let message: DeniedMessage;
      try {
        message = JSON.parse(raw) as DeniedMessage;
      } catch {
        return;
      }
      if (message.origin === this.instanceId || typeof message.key !== 'string' || typeof message.untilMs !== 'number') return;
      for (const listener of [...this.listeners]) listener(message.key, message.untilMs);
    });
  }

  async stop(): Promise<void> {
    this.listeners.clear();
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    await unsubscribe?.();
  }

  async secret(local: string): Promise<string> {
    // Kept without expiry: Redis persistence keeps everyone signed in across its restarts.
    await this.redis.commands.set(SECRET_KEY, local, { condition: 'NX' });
    const shared = await this.redis.commands.get(SECRET_KEY);
    if (!shared) throw new Error('Redis lost the shared signing secret as it was set');
    return shared;
  }

  deny(key: string, untilMs: number): void {
    const message: DeniedMessage = { origin: this.instanceId, key, untilMs };
    this.redis.commands
      .multi()
      .hSet(DENIED_KEY, key, String(untilMs))
      .publish(KEY_PREFIX + DENIED_CHANNEL, JSON.stringify(message))
      .exec()
      .catch((error: unknown) => this.logger.error('could not share a revoked sign-in with the other hub instances', { err: error }));
  }

  async denied(): Promise<Array<{ key: string; untilMs: number }>> {
    const all = await this.redis.commands.hGetAll(DENIED_KEY);
    const now = Date.now();
    const live: Array<{ key: string; untilMs: number }> = [];
    const expired: string[] = [];
    for (const [key, until] of Object.entries(all)) {
      const untilMs = Number(until);
      if (untilMs > now) live.push({ key, untilMs });
      else expired.push(key);
    }
    if (expired.length > 0) await this.redis.commands.hDel(DENIED_KEY, expired);
    return live;
  }

  onDenied(listener: (key: string, untilMs: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async spendRefreshToken(tokenHash: string, untilMs: number): Promise<boolean> {
    const ttl = Math.max(1000, untilMs - Date.now());
    const set = await this.redis.commands.set(SPENT_PREFIX + tokenHash, this.instanceId, { condition: 'NX', expiration: { type: 'PX', value: ttl } });
    return set === 'OK';
  }

  rateLimitStore(name: string): RateLimitStore {
    return new RedisRateLimitStore(this.redis, `${RATE_PREFIX}${name}:`);
  }
}

/** express-rate-limit's counters in Redis: a key per client and window, expiring with the window. */
class RedisRateLimitStore implements RateLimitStore {
  private windowMs = 60_000;
  readonly localKeys = false;

  constructor(
    private readonly redis: RedisConnection,
    readonly prefix: string,
  ) {}

  init(options: RateLimitOptions): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const [hits, left] = await Promise.all([this.redis.commands.get(this.prefix + key), this.redis.commands.pTTL(this.prefix + key)]);
    if (hits === null) return undefined;
    return { totalHits: Number(hits), resetTime: left > 0 ? new Date(Date.now() + left) : undefined };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const answer = (await this.redis.commands.eval(INCREMENT, { keys: [this.prefix + key], arguments: [String(this.windowMs)] })) as [number, number];
    return { totalHits: Number(answer[0]), resetTime: new Date(Date.now() + Number(answer[1])) };
  }

  async decrement(key: string): Promise<void> {
    await this.redis.commands.eval(DECREMENT, { keys: [this.prefix + key] });
  }

  async resetKey(key: string): Promise<void> {
    await this.redis.commands.del(this.prefix + key);
  }
}
