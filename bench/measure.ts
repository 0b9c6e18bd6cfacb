import { performance } from 'node:perf_hooks';

/** Counts arrivals on one path and lets a scenario await the n-th one (its arrival time). */
export interface ArrivalCounter {
  tick(): void;
  count(): number;
  whenCount(count: number): Promise<number>;
}

export function arrivalCounter(): ArrivalCounter {
  let received = 0;
  const waiters = new Map<number, (at: number) => void>();
  return {
    tick() {
      received++;
      const waiter = waiters.get(received);
      if (waiter) {
        waiters.delete(received);
        waiter(performance.now());
      }
    },
    count: () => received,
    whenCount(count) {
      if (received >= count) return Promise.resolve(performance.now());
      return new Promise((resolve) => waiters.set(count, resolve));
    },
  };
}

/** The p-th percentile of ascending-sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}
