/**
 * Time and timers, injected. Production code uses the real clock; tests and
 * simulations drive a ManualClock, so that minutes of playback, sleep timers,
 * presence timeouts, token expiry and the four-minute events re-request run
 * without waiting. This is the project's one clock: the device model, the
 * realtime gateway, the Yoto adapter and the virtual cloud all take it.
 */
export interface ClockTimer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): ClockTimer;
  setInterval(callback: () => void, ms: number): ClockTimer;
}

/**
 * The time of day only, for code that reads time but never schedules
 * (token expiry, card timestamps). Any Clock fits.
 */
export type TimeSource = Pick<Clock, 'now'>;

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(callback, ms) {
    const handle = setInterval(callback, ms);
    return { cancel: () => clearInterval(handle) };
  },
};

interface ManualTimer {
  id: number;
  due: number;
  callback: () => void;
  /** Set for intervals: the period to reschedule with. */
  every?: number;
}

/** A clock that only moves when a test calls advance(). */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Map<number, ManualTimer>();
  private nextId = 1;

  constructor(start: number | Date = Date.parse('2025-12-23T18:42:30.000Z')) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    return this.schedule(callback, ms, undefined);
  }

  setInterval(callback: () => void, ms: number): ClockTimer {
    return this.schedule(callback, ms, Math.max(1, ms));
  }

  /** How many timers are waiting (a stopped component leaves none). */
  pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due in order.
   * After each timer it yields to the event loop, so that the I/O a timer
   * started (an MQTT publish) gets going before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const next = this.earliestDueBy(target);
      if (!next) break;
      this.current = Math.max(this.current, next.due);
      if (next.every !== undefined) next.due = this.current + next.every;
      else this.timers.delete(next.id);
      next.callback();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.current = target;
  }

  private schedule(callback: () => void, ms: number, every: number | undefined): ClockTimer {
    const timer: ManualTimer = { id: this.nextId++, due: this.current + Math.max(0, ms), callback, ...(every !== undefined ? { every } : {}) };
    this.timers.set(timer.id, timer);
    return { cancel: () => this.timers.delete(timer.id) };
  }

  private earliestDueBy(target: number): ManualTimer | undefined {
    let earliest: ManualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.due > target) continue;
      if (!earliest || timer.due < earliest.due || (timer.due === earliest.due && timer.id < earliest.id)) earliest = timer;
    }
    return earliest;
  }
}

let isoMs = Number.NaN;
let isoText = '';

/**
 * `at.toISOString()`, remembering the last millisecond: one player message stamps its state's
 * lastSeen, updatedAt and every event it causes with the same time, and a busy hub takes many
 * messages in one millisecond (npm run bench -- device-message-path).
 */
export function isoTime(at: Date): string {
  const ms = at.getTime();
  if (ms !== isoMs) {
    isoText = at.toISOString();
    isoMs = ms;
  }
  return isoText;
}
