/**
 * What both event logs (files, PostgreSQL) share: the flush that writes
 * pending events in batches, at most one scheduled write every
 * EVENT_WRITE_INTERVAL_MS.
 */
import type { Logger } from '../log/logger';
import type { DeviceEvent } from './collections';
import type { EventQuery } from './event-log';
import { StoreError } from './errors';

/**
 * The shortest time between two scheduled writes, ms. A write per turn of the
 * event loop (what the flush did until now) made a fleet of 1,000 players at
 * 5,000 events a second write hundreds of times a second, each write costing more
 * than the events in it; paced, a write carries the events of its 20 ms. An event
 * waits about this long at most before its write begins; `flush()` writes at once.
 */
export const EVENT_WRITE_INTERVAL_MS = 20;

/**
 * Writes pending events in batches: `schedule()` writes one batch (everything
 * pending that fits) on a timer, at least `intervalMs` after the previous write
 * began, and schedules the next while events are pending; `drain()` writes right
 * away until none is left. A batch that fails stays pending (the writer puts it
 * back): the scheduled write logs the failure through `onError` and the next
 * append tries again.
 */
export class EventFlusher {
  private scheduled: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly hasPending: () => boolean,
    private readonly writeNextBatch: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = EVENT_WRITE_INTERVAL_MS,
  ) {}

  /** The write in progress, if any. */
  get inFlight(): Promise<void> | undefined {
    return this.writing;
  }

  schedule(): void {
    if (this.stopped || this.scheduled || this.writing) return;
    const wait = Math.max(0, this.lastWriteAt + this.intervalMs - performance.now());
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.write().then(() => {
        if (this.hasPending()) this.schedule();
      }, this.onError);
    }, wait);
  }

  cancel(): void {
    if (this.scheduled) clearTimeout(this.scheduled);
    this.scheduled = undefined;
  }

  /**
   * For close(): cancels the scheduled write and schedules none again; drain() still writes.
   * Without it, a scheduled write under way when close() began scheduled the next batch when it
   * ended (events were pending), and that timer outlived the log: it fired on a closed file.
   */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** Resolves once nothing is pending (after a scheduled write under way); rejects when a batch failed. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.writing) await this.writing;
      else if (this.hasPending()) await this.write();
      else return;
    }
  }

  private write(): Promise<void> {
    this.lastWriteAt = performance.now();
    // Cleared before the caller's continuation runs: an append right after always finds no write under way and schedules.
    this.writing = this.writeNextBatch().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }
}

/**
 * The part of an event log that does not depend on where events go:
 * append() checks and buffers (`buffer`, O(1)) and schedules the flush;
 * subclasses write batches.
 */
export abstract class BufferedEventLog {
  protected readonly flusher: EventFlusher;
  protected closing: Promise<void> | undefined;
  /** Events appended since the log was opened. */
  protected appended = 0;

  protected constructor(logger: Logger, writeIntervalMs = EVENT_WRITE_INTERVAL_MS) {
    this.flusher = new EventFlusher(
      () => this.hasPending(),
      () => this.writeNextBatch(),
      (error) => logger.error('could not write device events; they stay pending', { err: error }),
      writeIntervalMs,
    );
  }

  /** Queues the event for the next batch; throws (invalid_event) when it cannot be logged. */
  protected abstract buffer(event: DeviceEvent): void;
  protected abstract hasPending(): boolean;
  /** Writes the next batch of pending events; on failure puts them back and throws. */
  protected abstract writeNextBatch(): Promise<void>;
  /** At most `limit` (> 0) written events matching `query`, newest first. */
  protected abstract queryWritten(query: EventQuery, limit: number): Promise<DeviceEvent[]>;

  /** Events that match `query` (pending ones are written first), newest first; at most `query.limit` (default 100). */
  async query(query: EventQuery = {}): Promise<DeviceEvent[]> {
    const limit = query.limit ?? 100;
    if (limit <= 0) return [];
    await this.flush();
    return this.queryWritten(query, limit);
  }

  /** Buffers the event; it is written by the next scheduled write (within EVENT_WRITE_INTERVAL_MS). The log keeps the object: do not change it afterwards. */
  append(event: DeviceEvent): void {
    if (this.closing) throw new StoreError('store_closed', 'the event log is closed');
    this.buffer(event);
    this.appended++;
    this.flusher.schedule();
  }

  /** Resolves once every event appended before the call is written. */
  async flush(): Promise<void> {
    this.flusher.cancel();
    await this.flusher.drain();
  }
}
