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

/** The median of the values (any order). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/**
 * Runs every side `runs` times, interleaved (A B, then B A, then A B ...), so no side always runs
 * first or on a warmer machine; answers each side's results in run order.
 */
export async function interleaved<K extends string, T>(sides: Record<K, () => Promise<T>>, runs: number): Promise<Record<K, T[]>> {
  const names = Object.keys(sides) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as T[]])) as Record<K, T[]>;
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const name of order) results[name].push(await sides[name]());
  }
  return results;
}

/** Each side's median and its runs, for results: `<prefix><Side>` and `<prefix><Side>Runs`. */
export function medianResults<K extends string>(prefix: string, runs: Record<K, number[]>, digits = 1): { medians: Record<K, number>; results: Record<string, number | string> } {
  const medians = {} as Record<K, number>;
  const results: Record<string, number | string> = {};
  for (const name of Object.keys(runs) as K[]) {
    medians[name] = median(runs[name]);
    const key = `${prefix}${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    results[key] = round(medians[name], digits);
    results[`${key}Runs`] = runs[name].map((value) => round(value, digits)).join(' ');
  }
  return { medians, results };
}

/** Waits until `check()` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Volume changes for these players in turn, as players send them on `device/<id>/data/events`:
 * each player's volume goes 5, 9, 5, ... so every message is a change (one normalized event).
 */
export function volumeChanges(deviceIds: readonly string[]): () => BenchMessage {
  let sequence = 0;
  const last = new Map<string, number>();
  return () => {
    const deviceId = deviceIds[sequence % deviceIds.length]!;
    const volume = last.get(deviceId) === 5 ? 9 : 5;
    last.set(deviceId, volume);
    return [`device/${deviceId}/data/events`, JSON.stringify({ volume, volumeMax: 16, eventUtc: 1_795_000_000 + sequence++ })];
  };
}

/** A consumer under test: what it received, and how to take it down. */
export interface BenchConsumer {
  counter: ArrivalCounter;
  stop(): Promise<void>;
}

export interface PathComparison<K extends string> {
  /** Per path: median over the runs of p50 and p99 latency (ms), and of the burst rate (messages/s). */
  p50: Record<K, number>;
  p99: Record<K, number>;
  burst: Record<K, number>;
  results: Record<string, number | string>;
}

/**
 * Both paths subscribed at once, on the same messages: `runs` times latency rounds (one message at a
 * time) then a burst; each figure is the median over the runs.
 */
export async function comparePaths<K extends string>(
  publisher: BenchPublisher,
  next: () => BenchMessage,
  paths: Record<K, ArrivalCounter>,
  options: { runs: number; latencyRounds: number; burstMessages: number },
): Promise<PathComparison<K>> {
  const names = Object.keys(paths) as K[];
  const p50 = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const p99 = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const burst = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  await latencyRounds(publisher, next, paths, 20);
  for (let i = 0; i < options.runs; i++) {
    const latency = await latencyRounds(publisher, next, paths, options.latencyRounds);
    const rate = await burstRates(publisher, next, paths, options.burstMessages);
    for (const name of names) {
      p50[name].push(percentile(latency[name], 50));
      p99[name].push(percentile(latency[name], 99));
      burst[name].push(rate[name]);
    }
  }
  const a = medianResults('p50Ms', p50, 3);
  const b = medianResults('p99Ms', p99, 3);
  const c = medianResults('burstPerSecond', burst, 0);
  return { p50: a.medians, p99: b.medians, burst: c.medians, results: { ...a.results, ...b.results, ...c.results } };
}

/** The ratios of path `a` over path `b`: saturation, p50, p99, burst and, when measured, CPU and event loop time per message, each named `<measure><label>`. */
export function pathRatios<K extends string>(label: string, a: K, b: K, paths: PathComparison<K>, saturation: Record<K, number>, perMessage?: { cpu: Record<K, number>; loop: Record<K, number> }): Record<string, number> {
  return {
    [`saturation${label}`]: round(saturation[a] / saturation[b], 2),
    [`p50${label}`]: round(paths.p50[a] / paths.p50[b], 2),
    [`p99${label}`]: round(paths.p99[a] / paths.p99[b], 2),
    [`burst${label}`]: round(paths.burst[a] / paths.burst[b], 2),
    ...(perMessage
      ? { [`cpuPerMessage${label}`]: round(perMessage.cpu[a] / perMessage.cpu[b], 2), [`loopPerMessage${label}`]: round(perMessage.loop[a] / perMessage.loop[b], 2) }
      : {}),
  };
}
