import type { DeviceBus, DeviceBusEvents, DeviceBusTopic } from '../core/device-bus';
import type { DeviceRegistry, RemoteBusMessage } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import { silentLogger, type Logger } from '../log/logger';
import { KEY_PREFIX, type RedisConnection } from './redis-connection';

/** The channel every instance's device bus batches go out on (after `yoto:`). */
export const BUS_CHANNEL = 'bus';
/** Hash of every player's latest state (device id -> DeviceState JSON): what an instance that starts late begins from. */
export const STATES_KEY = `${KEY_PREFIX}devices`;

/** One batch of one instance's device bus: the messages its listeners got together, in order. */
interface WireBatch {
  origin: string;
  seq: number;
  messages: RemoteBusMessage[];
}

export interface BusRelayStats {
  batchesOut: number;
  messagesOut: number;
  batchesIn: number;
  messagesIn: number;
  /** Batches that could not be sent (Redis unreachable): the other instances missed them. */
  publishFailures: number;
  /** Batches received that could not be read. */
  malformed: number;
}

const TOPICS: readonly DeviceBusTopic[] = ['device-added', 'state', 'device-removed', 'event', 'telemetry', 'session'];

/**
 * Carries the device bus between hub instances. What this instance's bus
 * delivers in one turn (a state change and the events it caused; a story node
 * entered after the chapter change that caused it) goes out as one batch on
 * Redis, in delivery order, from one connection (pipelined: Redis runs a
 * connection's commands in the order they arrive), so every instance receives
 * batches in the order they were sent. Batches of the other instances are applied to
 * this registry inside one bus batch (`DeviceRegistry.applyRemote`), which
 * delivers them to this instance's WebSocket clients, nodes and bridge as they
 * were delivered there. What is being applied is not sent back (no echo), and
 * an instance ignores its own batches. Player states are also kept in a Redis
 * hash so an instance that starts later begins with every player's state.
 */
export class BusRelay {
  private readonly logger: Logger;
  private outgoing: RemoteBusMessage[] = [];
  private flushQueued = false;
  private applying = false;
  private seq = 0;
  private unsubscribe: (() => Promise<void>) | undefined;
  /** Batches sent and not yet confirmed by Redis (stop waits for them). */
  private readonly sending = new Set<Promise<void>>();
  private readonly counters: BusRelayStats = { batchesOut: 0, messagesOut: 0, batchesIn: 0, messagesIn: 0, publishFailures: 0, malformed: 0 };

  constructor(
    private readonly options: { redis: RedisConnection; registry: DeviceRegistry; instanceId: string; logger?: Logger },
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  stats(): BusRelayStats {
    return { ...this.counters };
  }

  /** Listens to both sides: Redis first (batches that arrive while the saved states load wait), then this bus. */
  async start(): Promise<void> {
    const { redis, registry } = this.options;
    const early: string[] = [];
    let loading = true;
    this.unsubscribe = await redis.subscribe(BUS_CHANNEL, (raw) => {
      if (loading) early.push(raw);
      else this.receive(raw);
    });
    const saved = await redis.commands.hGetAll(STATES_KEY);
    const states = Object.values(saved)
      .map(parseState)
      .filter((state): state is DeviceState => state !== undefined);
    this.apply(states.map((state) => ({ topic: registry.has(state.deviceId) ? 'state' : 'device-added', state })));
    loading = false;
    for (const raw of early.splice(0)) this.receive(raw);
    this.listen(registry.bus);
  }

  async stop(): Promise<void> {
    this.options.registry.bus.off(this);
    this.flush();
    await Promise.all([...this.sending]);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    await unsubscribe?.();
  }

  private listen(bus: DeviceBus): void {
    // One listener per topic, each taking that topic's arguments as a list.
    const on = <K extends DeviceBusTopic>(topic: K): void => {
      bus.on(this, topic, (...args: DeviceBusEvents[K]) => this.collect(topic, args));
    };
    for (const topic of TOPICS) on(topic);
  }

  private collect(topic: DeviceBusTopic, args: unknown[]): void {
    if (this.applying) return;
    this.outgoing.push(toWire(topic, args));
    // Everything the bus delivers in this turn goes out together.
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const messages = this.outgoing;
    if (messages.length === 0) return;
    this.outgoing = [];
    const batch: WireBatch = { origin: this.options.instanceId, seq: ++this.seq, messages };
    const { commands } = this.options.redis;
    const states = new Map<string, DeviceState | undefined>();
    for (const message of messages) {
      if (message.topic === 'state' || message.topic === 'device-added') states.set(message.state.deviceId, message.state);
      else if (message.topic === 'device-removed') states.set(message.deviceId, undefined);
    }
    // Sent at once, not after the previous batch's answer: commands on one connection reach Redis
    // in the order they are written, so batches are published in order without a round trip each.
    const multi = commands.multi();
    for (const [deviceId, state] of states) {
      if (state) multi.hSet(STATES_KEY, deviceId, JSON.stringify(state));
      else multi.hDel(STATES_KEY, deviceId);
    }
    multi.publish(KEY_PREFIX + BUS_CHANNEL, JSON.stringify(batch));
    const sent: Promise<void> = multi.exec().then(
      () => {
        this.counters.batchesOut++;
        this.counters.messagesOut += messages.length;
      },
      (error: unknown) => {
        this.counters.publishFailures++;
        this.logger.warn('could not send device updates to the other hub instances', { messages: messages.length, err: error });
      },
    );
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
  }

  private receive(raw: string): void {
    let batch: WireBatch;
    try {
      batch = JSON.parse(raw) as WireBatch;
      if (typeof batch.origin !== 'string' || !Array.isArray(batch.messages)) throw new Error('not a batch');
    } catch (error) {
      this.counters.malformed++;
      this.logger.warn('unreadable device batch from another hub instance, ignored', { err: error });
      return;
    }
    if (batch.origin === this.options.instanceId) return;
    this.counters.batchesIn++;
    this.counters.messagesIn += batch.messages.length;
    this.apply(batch.messages.map(fromWire));
  }

  /** Applies another instance's messages; what this bus delivers meanwhile (they, and anything they cause) is not sent back. */
  private apply(messages: RemoteBusMessage[]): void {
    this.applying = true;
    try {
      this.options.registry.applyRemote(messages);
    } finally {
      this.applying = false;
    }
  }
}

function toWire(topic: DeviceBusTopic, args: unknown[]): RemoteBusMessage {
  switch (topic) {
    case 'device-added':
    case 'state':
      return { topic, state: args[0] as DeviceState };
    case 'device-removed':
      return { topic, deviceId: args[0] as string };
    case 'event':
      return { topic, event: args[0] as DeviceBusEvents['event'][0] };
    case 'telemetry':
      return { topic, deviceId: args[0] as string, telemetry: args[1] as DeviceBusEvents['telemetry'][1], at: args[2] as Date };
    case 'session':
      return { topic, session: args[0] as DeviceBusEvents['session'][0] };
  }
}

/** JSON turned the telemetry's Date into a string: made a Date again. */
function fromWire(message: RemoteBusMessage): RemoteBusMessage {
  if (message.topic === 'telemetry') return { ...message, at: new Date(message.at as unknown as string) };
  return message;
}

function parseState(json: string): DeviceState | undefined {
  try {
    const state = JSON.parse(json) as DeviceState;
    return typeof state?.deviceId === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}
