/**
 * Time and timers for the device model, injected so tests and simulations can
 * move time instead of waiting for it.
 */
export interface TimerClock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Opaque: whatever the clock needs to cancel a timer. */
export interface TimerHandle {
  readonly id: number;
}

/** Real time and real `setTimeout`s. */
export function systemTimerClock(): TimerClock {
  const timers = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  return {
    now: () => Date.now(),
    setTimer(callback, delayMs) {
      const id = nextId++;
      timers.set(
        id,
        setTimeout(() => {
          timers.delete(id);
          callback();
        }, delayMs),
      );
      return { id };
    },
    clearTimer(handle) {
      const timer = timers.get(handle.id);
      if (timer === undefined) return;
      clearTimeout(timer);
      timers.delete(handle.id);
    },
  };
}

interface PendingTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/** A clock that only moves when told to; due timers fire, in order, inside `advance()`. */
export class ManualTimerClock implements TimerClock {
  private current: number;
  private pending: PendingTimer[] = [];
  private nextId = 1;

  constructor(start: number | Date = Date.UTC(2026, 0, 10, 8, 0, 0)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, dueAt: this.current + Math.max(0, delayMs), callback };
    this.pending.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.pending = this.pending.filter((timer) => timer.id !== handle.id);
  }

  /** How many timers are waiting to fire. */
  get pendingCount(): number {
    return this.pending.length;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.earliestDue(target);
      if (!next) break;
      this.pending = this.pending.filter((timer) => timer !== next);
      this.current = next.dueAt;
      next.callback();
    }
    this.current = target;
  }

  private earliestDue(limit: number): PendingTimer | undefined {
    let earliest: PendingTimer | undefined;
    for (const timer of this.pending) {
      if (timer.dueAt > limit) continue;
      if (!earliest || timer.dueAt < earliest.dueAt || (timer.dueAt === earliest.dueAt && timer.id < earliest.id)) earliest = timer;
    }
    return earliest;
  }
}
