/**
 * Saturation: several publisher processes (bench/publisher-process.ts) send
 * volume changes at a rising rate until a consumer falls behind; the answer is
 * the highest rate it kept up with (every message of a step received within
 * the lag bound after the step). A coarse ramp finds the region, a fine one
 * the rate within a few percent.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { askChild, endChild } from './child-process';
import { interleaved, medianResults, type ArrivalCounter, type BenchConsumer } from './measure';
import type { PublisherBurst, PublisherInit, PublisherReply } from './publisher-process';

export interface SaturationOptions {
  /** First rate tried, messages per second (all publishers together). */
  startRate?: number;
  /** Rates tried are capped here. */
  maxRate?: number;
  /** Length of one step at one rate. */
  stepMs?: number;
  /** After a step, every message must have arrived within this time. */
  lagMs?: number;
}

export interface CompareOptions extends SaturationOptions {
  /**
   * Before each ramp, what a message costs the consumer at this rate (messages/s), for `cpuMs`
   * after half as long to warm up: this process's CPU time and its event loop's busy time over the
   * messages (the consumer's; publishers and broker run elsewhere).
   * Steadier than the saturation rate, which two shared cores make noisy near the ramp's top.
   */
  cpuAtRate?: number;
  cpuMs?: number;
}

export interface SaturationResult {
  /** Highest rate (messages/s, as offered) the consumer received in full within the lag bound. */
  sustained: number;
  /** Why the ramp stopped. */
  stoppedBecause: 'fell behind' | 'publishers at their limit' | 'max rate';
}

/** Publisher child processes, the players split between them. */
export class PublisherPool {
  private constructor(private readonly children: ChildProcess[]) {}

  /** `init` is every process's login, or one per process. */
  static async start(count: number, init: Omit<PublisherInit, 'type' | 'devices'> | Array<Omit<PublisherInit, 'type' | 'devices'>>, devices: string[]): Promise<PublisherPool> {
    const children = Array.from({ length: count }, () => fork(path.join(__dirname, 'publisher-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const pool = new PublisherPool(children);
    await Promise.all(children.map((child, i) => {
      const own = devices.filter((_, j) => j % count === i);
      return pool.ask(child, { type: 'init', ...(Array.isArray(init) ? init[i]! : init), devices: own.length > 0 ? own : devices });
    }));
    return pool;
  }

  /** Publishes `rate` messages/s in all for `durationMs`; answers the messages sent and the rate reached. */
  async burst(rate: number, durationMs: number): Promise<{ sent: number; rate: number }> {
    const command: PublisherBurst = { type: 'burst', rate: rate / this.children.length, durationMs };
    const replies = await Promise.all(this.children.map((child) => this.ask(child, command)));
    const sent = replies.reduce((sum, r) => sum + (r.type === 'done' ? r.sent : 0), 0);
    const ms = Math.max(...replies.map((r) => (r.type === 'done' ? r.ms : durationMs)));
    return { sent, rate: sent / (ms / 1000) };
  }

  /** Ends the publishers at once, whatever they still had to send. */
  async kill(): Promise<void> {
    await Promise.all(this.children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => endChild(child, () => child.send({ type: 'stop' }))));
  }

  private ask(child: ChildProcess, command: PublisherInit | PublisherBurst): Promise<PublisherReply> {
    return askChild<PublisherReply>(child, command, 'publisher');
  }
}

function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Ramps the rate up (x1.5, then x1.07 from the last rate kept up with) until the consumer counted by `counter` falls behind. */
export async function saturate(pool: PublisherPool, counter: ArrivalCounter, options: SaturationOptions = {}): Promise<SaturationResult> {
  const { startRate = 2000, maxRate = 200_000, stepMs = 1500, lagMs = 300 } = options;
  let sustained = 0;
  let factor = 1.5;
  let rate = startRate;
  for (;;) {
    if (rate > maxRate) return { sustained, stoppedBecause: 'max rate' };
    const before = counter.count();
    const step = await pool.burst(rate, stepMs);
    const kept = await within(counter.whenCount(before + step.sent), lagMs);
    if (kept && step.rate < rate * 0.9) return { sustained: Math.max(sustained, step.rate), stoppedBecause: 'publishers at their limit' };
    if (kept) {
      sustained = step.rate;
      rate *= factor;
      continue;
    }
    // Let the consumer drain before the next step (or before the end).
    await within(counter.whenCount(before + step.sent), 20_000);
    if (factor === 1.5 && sustained > 0) {
      factor = 1.07;
      rate = sustained * factor;
      continue;
    }
    return { sustained, stoppedBecause: 'fell behind' };
  }
}

/** What one message costs a consumer, in microseconds. */
export interface PerMessageCost {
  /** This process's CPU time, every thread (the garbage collector's helpers and libuv's pool too). */
  cpu: number;
  /** The event loop's busy time (performance.eventLoopUtilization): the one thread that bounds the rate. */
  loop: number;
}

/** What each message costs this process while the pool sends `rate` messages/s for `ms` and the consumer receives them all. */
export async function costPerMessage(pool: PublisherPool, counter: ArrivalCounter, rate: number, ms: number): Promise<PerMessageCost> {
  const before = counter.count();
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const step = await pool.burst(rate, ms);
  await counter.whenCount(before + step.sent);
  const used = process.cpuUsage(cpu);
  const busy = performance.eventLoopUtilization(loop);
  return { cpu: (used.user + used.system) / step.sent, loop: (busy.active * 1000) / step.sent };
}

/**
 * Each consumer alone on the event loop (started, what a message costs it at `cpuAtRate` when
 * asked, ramped to saturation, stopped), `runs` times interleaved; answers each one's median
 * sustained rate (and median cost per message) with the runs.
 */
export async function compareSaturation<K extends string>(
  pool: PublisherPool,
  consumers: Record<K, () => Promise<BenchConsumer>>,
  runs: number,
  options: CompareOptions = {},
): Promise<{ sustained: Record<K, number>; perMessage: Record<keyof PerMessageCost, Record<K, number>> | undefined; results: Record<string, number | string> }> {
  const { cpuAtRate, cpuMs = 4000 } = options;
  const names = Object.keys(consumers) as K[];
  const stops: Record<string, string[]> = {};
  const costs = Object.fromEntries(names.map((name) => [name, [] as PerMessageCost[]])) as Record<K, PerMessageCost[]>;
  const sides = Object.fromEntries(names.map((name) => [name, async () => {
    const consumer = await consumers[name]();
    try {
      if (cpuAtRate !== undefined) {
        // Before the ramp: once a consumer has fallen behind, the broker's queue for it is no steady state.
        await costPerMessage(pool, consumer.counter, cpuAtRate, cpuMs / 2);
        costs[name].push(await costPerMessage(pool, consumer.counter, cpuAtRate, cpuMs));
      }
      const result = await saturate(pool, consumer.counter, options);
      (stops[name] ??= []).push(result.stoppedBecause);
      return result.sustained;
    } finally {
      await consumer.stop();
    }
  }])) as Record<K, () => Promise<number>>;
  const { medians, results } = medianResults('saturationPerSecond', await interleaved(sides, runs), 0);
  for (const name of names) results[`saturationStop${name.charAt(0).toUpperCase()}${name.slice(1)}`] = [...new Set(stops[name])].join(', ');
  if (cpuAtRate === undefined) return { sustained: medians, perMessage: undefined, results };
  const of = (key: keyof PerMessageCost) => Object.fromEntries(names.map((name) => [name, costs[name].map((cost) => cost[key])])) as Record<K, number[]>;
  const cpu = medianResults('cpuMicrosPerMessage', of('cpu'), 2);
  const loop = medianResults('loopMicrosPerMessage', of('loop'), 2);
  return { sustained: medians, perMessage: { cpu: cpu.medians, loop: loop.medians }, results: { ...results, cpuAtRatePerSecond: cpuAtRate, ...cpu.results, ...loop.results } };
}

/**
 * Sends small bursts through the pool until one arrives in full at the consumer (its subscriptions are
 * in place). Through the pool, not another client, so each player's volume keeps alternating.
 */
export async function warmUp(pool: PublisherPool, counter: ArrivalCounter): Promise<void> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const before = counter.count();
    const step = await pool.burst(200, 100);
    if (await within(counter.whenCount(before + step.sent), 1000)) return;
  }
  throw new Error('the consumer never received a warm-up burst in full');
}
