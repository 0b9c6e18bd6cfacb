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

/** One MQTT message to publish: topic and payload. */
export type BenchMessage = [topic: string, payload: string];

/** The publishing side of an mqtt.js client. */
export interface BenchPublisher {
  publish(topic: string, payload: string, options: { qos: 1 }): unknown;
}


/**
 * Latency rounds: publishes one message at a time and waits until every path has received it,
 * recording each path's receive time against the publish time. Answers the samples per path, ascending.
 */
export async function latencyRounds<K extends string>(
  publisher: BenchPublisher,
  next: () => BenchMessage,
  paths: Record<K, ArrivalCounter>,
  rounds: number,
): Promise<Record<K, number[]>> {
  const names = Object.keys(paths) as K[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < rounds; i++) {
    const targets = names.map((name) => paths[name].count() + 1);
    const [topic, payload] = next();
    const sentAt = performance.now();
    publisher.publish(topic, payload, { qos: 1 });
    const arrivals = await Promise.all(names.map((name, j) => paths[name].whenCount(targets[j]!)));
    names.forEach((name, j) => samples[name].push(arrivals[j]! - sentAt));
  }
  for (const name of names) samples[name].sort((a, b) => a - b);
  return samples;
}

/** Throughput: publishes `messages` back to back; each path's rate from the first publish to its last arrival. */
export async function burstRates<K extends string>(
  publisher: BenchPublisher,
  next: () => BenchMessage,
  paths: Record<K, ArrivalCounter>,
  messages: number,
): Promise<Record<K, number>> {
  const names = Object.keys(paths) as K[];
  const starts = names.map((name) => paths[name].count());
  const burstStart = performance.now();
  for (let i = 0; i < messages; i++) {
    const [topic, payload] = next();
    publisher.publish(topic, payload, { qos: 1 });
  }
  const done = await Promise.all(names.map((name, j) => paths[name].whenCount(starts[j]! + messages)));
  return Object.fromEntries(names.map((name, j) => [name, Math.round(messages / ((done[j]! - burstStart) / 1000))])) as Record<K, number>;
}
