/**
 * What both event logs (files, PostgreSQL) share: the flush that writes
 * pending events in batches on the turn after an append.
 */
import type { Logger } from '../log/logger';
import type { DeviceEvent } from './collections';
import type { EventQuery } from './event-log';
import { StoreError } from './errors';

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
 * append() checks and buffers (`buffer`, O(1)) and schedules the flush;
 * subclasses write batches.
 */
export abstract class BufferedEventLog {
  protected readonly flusher: EventFlusher;
  protected closing: Promise<void> | undefined;
  /** Events appended since the log was opened. */
  protected appended = 0;

  protected constructor(logger: Logger) {
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
  /** At most `limit` (> 0) written events matching `query`, newest first. */
  protected abstract queryWritten(query: EventQuery, limit: number): Promise<DeviceEvent[]>;

  /** Events that match `query` (pending ones are written first), newest first; at most `query.limit` (default 100). */
  async query(query: EventQuery = {}): Promise<DeviceEvent[]> {
    const limit = query.limit ?? 100;
    if (limit <= 0) return [];
    await this.flush();
    return this.queryWritten(query, limit);
  }

  /** Buffers the event; it is written on the next flush (scheduled right away). The log keeps the object: do not change it afterwards. */
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
