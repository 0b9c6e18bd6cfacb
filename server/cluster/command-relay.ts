import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../log/logger';
import { DeviceCommandError, type CommandResult, type DeviceCommand, type DeviceCommander } from '../yoto/device-command';
import type { RedisConnection } from './redis-connection';

/** Requests go to the leader on this channel (after `yoto:`); only the leader listens to it. */
export const COMMANDS_CHANNEL = 'commands';
/** Answers go back to the asking instance on `replies:<instance id>`. */
export const repliesChannel = (instanceId: string): string => `replies:${instanceId}`;

/** How long the player has to confirm, when the caller does not say (the cloud connection's default). */
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/** On top of the player's time: the leader's own work (resolving a card by title, reading the card). */
const LEADER_MARGIN_MS = 5_000;
/** While no instance leads (a takeover), the request is sent again at this pace until its deadline. */
const RETRY_MS = 250;
/**
 * A request a leader received but did not answer is sent again this often: that leader may have died
 * with it (Redis counts a killed leader's subscription until it notices the closed connection).
 */
const RESEND_MS = 2_000;
/** How long a leader remembers the requests it served, so a request sent again is carried out once. */
const SERVED_MEMORY_MS = 60_000;

interface CommandRequest {
  id: string;
  from: string;
  deviceId: string;
  command: DeviceCommand;
  timeoutMs?: number;
}

type CommandReply =
  | { id: string; ok: true; result: CommandResult }
  | { id: string; ok: false; error: { code: DeviceCommandError['code'] | 'failed'; message: string } };

interface Pending {
  deviceId: string;
  command: DeviceCommand['type'];
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface CommandRelayStats {
  /** Commands this instance sent to the leader, and those answered. */
  forwarded: number;
  answered: number;
  /** Commands that got no answer in time (no leader, or the leader died on them). */
  timedOut: number;
  /** Commands this instance carried out for another one (as the leader). */
  served: number;
}

/**
 * Device commands sent to a follower reach the player through the leader:
 * a request with an id goes to the leader's channel, the leader carries it out
 * on its cloud connection and publishes the result (or the DeviceCommandError,
 * code and message) on the asking instance's reply channel. While no instance
 * leads (a takeover under way), or a leader received it and did not answer (it
 * may have died with it), the request is sent again until its deadline (the
 * player's time, the leader's margin and the takeover's), then it fails with
 * `timeout`: a command is either confirmed or reported failed, never dropped. A
 * leader carries out a request sent again only once.
 */
export class CommandRelay implements DeviceCommander {
  private readonly logger: Logger;
  private readonly pending = new Map<string, Pending>();
  private unsubscribeReplies: (() => Promise<void>) | undefined;
  private unsubscribeRequests: (() => Promise<void>) | undefined;
  private readonly counters: CommandRelayStats = { forwarded: 0, answered: 0, timedOut: 0, served: 0 };
  /** Requests this instance carried out as the leader, by id: their replies, for a request sent again. */
  private readonly served = new Map<string, { reply: Promise<CommandReply>; at: number }>();
  private stopped = false;

  constructor(
    private readonly options: {
      redis: RedisConnection;
      instanceId: string;
      /** Carries out a command on this instance's cloud connection (used while leading). */
      local: DeviceCommander;
      /**
       * How long a takeover may take (the lease, a renewal period, the new leader's cloud start):
       * a command sent while no instance leads waits this much longer for the next leader.
       */
      takeoverMs?: number;
      logger?: Logger;
    },
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  stats(): CommandRelayStats {
    return { ...this.counters };
  }

  async start(): Promise<void> {
    this.unsubscribeReplies = await this.options.redis.subscribe(repliesChannel(this.options.instanceId), (raw) => this.onReply(raw));
  }

  /** While leading, this instance answers the others' requests. */
  async serve(leading: boolean): Promise<void> {
    if (leading && !this.unsubscribeRequests && !this.stopped) {
      this.unsubscribeRequests = await this.options.redis.subscribe(COMMANDS_CHANNEL, (raw) => this.onRequest(raw));
    } else if (!leading && this.unsubscribeRequests) {
      const unsubscribe = this.unsubscribeRequests;
      this.unsubscribeRequests = undefined;
      await unsubscribe();
    }
  }

  /** Sends the command to the leader and resolves with what the player confirmed. */
  execute(deviceId: string, command: DeviceCommand, options?: { timeoutMs?: number }): Promise<CommandResult> {
    if (this.stopped) return Promise.reject(new DeviceCommandError('offline', 'the hub is stopping', deviceId, command.type));
    const request: CommandRequest = { id: randomUUID(), from: this.options.instanceId, deviceId, command, ...(options?.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
    const deadline = Date.now() + (options?.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS) + LEADER_MARGIN_MS + (this.options.takeoverMs ?? 0);
    this.counters.forwarded++;
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(request.id);
        this.counters.timedOut++;
        reject(new DeviceCommandError('timeout', 'no hub instance holding the Yoto cloud connection answered in time', deviceId, command.type));
      }, deadline - Date.now());
      this.pending.set(request.id, { deviceId, command: command.type, resolve, reject, timer });
      void this.send(request, deadline);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.served.clear();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error('the hub is stopping'));
      this.pending.delete(id);
    }
    await this.serve(false);
    const unsubscribe = this.unsubscribeReplies;
    this.unsubscribeReplies = undefined;
    await unsubscribe?.();
  }

  /**
   * Publishes the request until it is answered or its deadline passes: nobody listening (no leader
   * now) or Redis unreachable, again shortly; received but not answered, again every RESEND_MS (the
   * leader that got it may have died; a live one carries a request out once and answers it again).
   */
  private async send(request: CommandRequest, deadline: number): Promise<void> {
    const payload = JSON.stringify(request);
    while (this.pending.has(request.id) && !this.stopped) {
      let received = false;
      try {
        received = (await this.options.redis.publish(COMMANDS_CHANNEL, payload)) > 0;
      } catch (error) {
        this.logger.debug('could not send a command to the leader yet', { err: error });
      }
      const wait = received ? RESEND_MS : RETRY_MS;
      if (Date.now() + wait >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private onReply(raw: string): void {
    let reply: CommandReply;
    try {
      reply = JSON.parse(raw) as CommandReply;
    } catch {
      this.logger.warn('unreadable command reply from the leader, ignored');
      return;
    }
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    this.counters.answered++;
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(reply.error.code === 'failed' ? new Error(reply.error.message) : new DeviceCommandError(reply.error.code, reply.error.message, pending.deviceId, pending.command));
  }

  private onRequest(raw: string): void {
    let request: CommandRequest;
    try {
      request = JSON.parse(raw) as CommandRequest;
      if (typeof request.id !== 'string' || typeof request.from !== 'string' || typeof request.deviceId !== 'string' || typeof request.command !== 'object') throw new Error('not a command');
    } catch (error) {
      this.logger.warn('unreadable command request from another hub instance, ignored', { err: error });
      return;
    }
    const answer = (reply: CommandReply): void => {
      this.options.redis.publish(repliesChannel(request.from), JSON.stringify(reply)).catch((error: unknown) => {
        this.logger.warn('could not send a command result back to the instance that asked', { instance: request.from, err: error });
      });
    };
    // Sent again (its reply lost, or not given yet): answered with the same reply, carried out once.
    const earlier = this.served.get(request.id);
    if (earlier) {
      void earlier.reply.then(answer);
      return;
    }
    this.counters.served++;
    const now = Date.now();
    for (const [id, entry] of this.served) {
      if (now - entry.at < SERVED_MEMORY_MS) break;
      this.served.delete(id);
    }
    const reply = this.options.local
      .execute(request.deviceId, request.command, request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : undefined)
      .then(
        (result): CommandReply => ({ id: request.id, ok: true, result }),
        (error: unknown): CommandReply => ({
          id: request.id,
          ok: false,
          error: error instanceof DeviceCommandError ? { code: error.code, message: error.message } : { code: 'failed', message: (error as Error).message },
        }),
      );
    this.served.set(request.id, { reply, at: now });
    void reply.then(answer);
  }
}
