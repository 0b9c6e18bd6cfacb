import { randomUUID } from 'node:crypto';
import { isoTime } from '../time/clock';
import { silentLogger, type Logger } from '../log/logger';
import type { DeviceEvent, PlaybackSession } from '../types/schemas';
import type { DeviceState, DeviceTelemetry } from './device-state';

/** What the device model tells its consumers. */
export interface DeviceBusEvents {
  'device-added': [state: DeviceState];
  'device-removed': [deviceId: string, last: DeviceState];
  /** Something other than `lastSeen` changed. */
  state: [state: DeviceState, previous: DeviceState];
  /** A normalized event: from a state change, or derived by a consumer (a story node entered, a command result). */
  event: [event: DeviceEvent];
  /** A status message carried diagnostics (wifi, temperature, disk, uptime). */
  telemetry: [deviceId: string, telemetry: DeviceTelemetry, at: Date];
  /** A listening session started or ended. */
  session: [session: PlaybackSession];
}

export type DeviceBusTopic = keyof DeviceBusEvents;
export type DeviceBusListener<K extends DeviceBusTopic> = (...args: DeviceBusEvents[K]) => void;

/** Who added a listener: `off(owner)` removes all of them together (a string names it in the log). */
export type BusOwner = string | object;

export interface DeviceBusStats {
  /** Messages delivered (each to every listener). */
  delivered: number;
  /** Listener calls that threw: logged and counted; the other listeners still got the message. */
  listenerFailures: number;
  listeners: number;
}

interface Subscription {
  owner: BusOwner;
  topic: DeviceBusTopic;
  listener: (...args: never[]) => void;
}

/**
 * The one way the device model reaches its consumers (the home broker bridge,
 * the WebSocket gateway, nodes, the story follower, analytics, metrics, the
 * event log). Like zigbee2mqtt's event bus:
 * - each listener is isolated: one that throws is logged and counted, the others still get the message;
 * - a consumer's listeners are removed together, by owner, when it stops;
 * - order is causal: a message published while another is being delivered
 *   (a story node entered because of a chapter change) is queued and delivered
 *   after it, and after everything its cause published in the same batch.
 */
export class DeviceBus {
  private subscriptions: Subscription[] = [];
  private readonly queue: Array<() => void> = [];
  private delivering = false;
  private readonly counters = { delivered: 0, listenerFailures: 0 };

  constructor(private readonly logger: Logger = silentLogger) {}

  /** Adds a listener; the returned function removes just this one. */
  on<K extends DeviceBusTopic>(owner: BusOwner, topic: K, listener: DeviceBusListener<K>): () => void {
    const subscription: Subscription = { owner, topic, listener: listener as unknown as (...args: never[]) => void };
    // Copy on write: a delivery under way keeps the list it started with.
    this.subscriptions = [...this.subscriptions, subscription];
    return () => {
      this.subscriptions = this.subscriptions.filter((s) => s !== subscription);
    };
  }

  /** Removes every listener the owner added. */
  off(owner: BusOwner): void {
    this.subscriptions = this.subscriptions.filter((s) => s.owner !== owner);
  }

  /** Delivers to every listener of the topic, after whatever is being delivered now. */
  emit<K extends DeviceBusTopic>(topic: K, ...args: DeviceBusEvents[K]): void {
    this.batch(() => this.queue.push(() => this.deliver(topic, args)));
  }

  /** Builds a device event and emits it. */
  publishEvent(deviceId: string, type: DeviceEvent['type'], data: Record<string, unknown>, at: Date): DeviceEvent {
    const event: DeviceEvent = { id: randomUUID(), deviceId, type, timestamp: isoTime(at), data };
    this.emit('event', event);
    return event;
  }

  /**
   * Runs `publish`, delivering what it emits only once it returns: a state
   * change and the events it causes go out together, before anything their
   * listeners publish in turn.
   */
  batch(publish: () => void): void {
    if (this.delivering) {
      publish();
      return;
    }
    this.delivering = true;
    try {
      publish();
    } finally {
      // deliver() never throws: listeners are isolated.
      for (let next = this.queue.shift(); next; next = this.queue.shift()) next();
      this.delivering = false;
    }
  }

  /** How many listeners there are (of one topic, of one owner). */
  listenerCount(topic?: DeviceBusTopic, owner?: BusOwner): number {
    return this.subscriptions.filter((s) => (topic === undefined || s.topic === topic) && (owner === undefined || s.owner === owner)).length;
  }

  stats(): DeviceBusStats {
    return { ...this.counters, listeners: this.subscriptions.length };
  }

  private deliver(topic: DeviceBusTopic, args: unknown[]): void {
    this.counters.delivered++;
    for (const subscription of this.subscriptions) {
      if (subscription.topic !== topic) continue;
      try {
        (subscription.listener as (...a: unknown[]) => void)(...args);
      } catch (error) {
        this.counters.listenerFailures++;
        this.logger.error('a device event listener failed; the others still got it', { owner: ownerName(subscription.owner), topic, err: error });
      }
    }
  }
}

function ownerName(owner: BusOwner): string {
  if (typeof owner === 'string') return owner;
  const named = owner as { name?: unknown; constructor?: { name?: string } };
  return typeof named.name === 'string' ? named.name : named.constructor?.name ?? 'consumer';
}
