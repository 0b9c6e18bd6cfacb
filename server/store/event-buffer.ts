/**
 * What both event logs (files, PostgreSQL) share: the latest events of each
 * device in memory, and the flush that writes pending events in batches on
 * the turn after an append.
 */
import type { Logger } from '../log/logger';
import type { DeviceEvent } from './collections';
import { StoreError } from './errors';
import { RingBuffer } from './ring-buffer';

/** The latest `perDevice` events of each device, for recent(). */
export class RecentEvents {
  private readonly rings = new Map<string, RingBuffer<DeviceEvent>>();

  constructor(readonly perDevice: number) {}

  push(event: DeviceEvent): void {
    let ring = this.rings.get(event.deviceId);
    if (!ring) {
      ring = new RingBuffer<DeviceEvent>(Math.max(1, this.perDevice));
      this.rings.set(event.deviceId, ring);
    }
    ring.push(event);
  }

  /** Copies, newest first. */
  recent(deviceId: string, limit = this.perDevice): DeviceEvent[] {
    const ring = this.rings.get(deviceId);
    return ring ? ring.newestFirst(limit).map((event) => structuredClone(event)) : [];
  }

  get devices(): number {
    return this.rings.size;
  }
}

/**
 * Writes pending events batch after batch until none is left: `schedule()`
 * starts that on the next turn (once, however many appends ask), `drain()`
 * right away; a batch that fails stays pending (the writer puts it back) and
 * the scheduled flush logs the failure through `onError`.
 */
export class EventFlusher {
  private scheduled: NodeJS.Immediate | undefined;
  private draining: Promise<void> | undefined;

  constructor(
    private readonly hasPending: () => boolean,
    private readonly writeNextBatch: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The drain in progress, if any. */
  get inFlight(): Promise<void> | undefined {
    return this.draining;
  }

  schedule(): void {
    if (this.scheduled || this.draining) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.drain().catch(this.onError);
    });
  }

  cancel(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  /** Resolves once nothing is pending (or a batch failed). */
  drain(): Promise<void> {
    if (this.draining) return this.draining;
    if (!this.hasPending()) return Promise.resolve();
    this.draining = (async () => {
      try {
        while (this.hasPending()) await this.writeNextBatch();
      } finally {
        // Cleared in the same turn as the empty check: an append right after always schedules a new flush.
        this.draining = undefined;
      }
    })();
    return this.draining;
  }
}

/**
 * The part of an event log that does not depend on where events go:
 * append() checks and buffers (`buffer`, O(1)), remembers the event for
 * recent() and schedules the flush; subclasses write batches.
 */
export abstract class BufferedEventLog {
  protected readonly latest: RecentEvents;
  protected readonly flusher: EventFlusher;
  protected closing: Promise<void> | undefined;
  /** Events appended since the log was opened. */
  protected appended = 0;

  protected constructor(recentPerDevice: number, logger: Logger) {
    this.latest = new RecentEvents(recentPerDevice);
    this.flusher = new EventFlusher(
      () => this.hasPending(),
      () => this.writeNextBatch(),
      (error) => logger.error('could not write device events; they stay pending', { err: error }),
    );
  }

  /** Queues the event for the next batch; throws (invalid_event) when it cannot be logged. */
  protected abstract buffer(event: DeviceEvent): void;
  protected abstract hasPending(): boolean;
  /** Writes the next batch of pending events; on failure puts them back and throws. */
  protected abstract writeNextBatch(): Promise<void>;

  /** Buffers the event; it is written on the next flush (scheduled right away). The log keeps the object: do not change it afterwards. */
  append(event: DeviceEvent): void {
    if (this.closing) throw new StoreError('store_closed', 'the event log is closed');
    this.buffer(event);
    this.latest.push(event);
    this.appended++;
    this.flusher.schedule();
  }

  /** Resolves once every event appended before the call is written. */
  async flush(): Promise<void> {
    this.flusher.cancel();
    await this.flusher.drain();
  }

  /** The device's latest events, newest first, from memory. */
  recent(deviceId: string, limit?: number): DeviceEvent[] {
    return this.latest.recent(deviceId, limit);
  }
}
