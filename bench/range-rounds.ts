/**
 * The parent side of bench/range-client-process.ts: forks the client process,
 * runs rounds of random single-range GETs against a target, and summarizes them.
 * Used by the stream-vs-static and stream-s3-vs-local scenarios.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { median } from './measure';
import type { Profile, RoundCommand, RoundResult, Target } from './range-client-process';

/** Short ranges are how players and browsers seek; long ones are how they play. */
export const RANGE_PROFILES = [
  { name: 'short', minBytes: 1, maxBytes: 64 * 1024 },
  { name: 'long', minBytes: 64 * 1024, maxBytes: 1024 * 1024 },
] as const satisfies readonly Profile[];

/** The file both range scenarios serve: 8 kHz mono 16-bit WAV, 16 kB/s, ~3.8 MB. */
export const RANGE_FILE_SECONDS = 240;

export interface RangeClient {
  /** One round of `total` requests from the client process's concurrent keep-alive clients. */
  round(target: Target, size: number, total: number, profile: Profile): Promise<RoundResult>;
  stop(): void;
}

export function startRangeClient(): RangeClient {
  const child = fork(path.join(__dirname, 'range-client-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    round: (target, size, total, profile) => new Promise((resolve, reject) => {
      const onMessage = (answer: { type: 'result'; result: RoundResult } | { type: 'error'; message: string }): void => {
        if (answer.type === 'error') reject(new Error(`range client: ${answer.message}`));
        else resolve(answer.result);
      };
      child.once('message', onMessage);
      const command: RoundCommand = { type: 'round', target, size, total, profile };
      child.send(command);
    }),
    stop: () => child.disconnect(),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface RoundsSummary {
  rps: number;
  p50: number;
  p99: number;
  mbps: number;
  runs: string;
}

/** Requests/s and MB/s: the median round; latency percentiles over every request of every round. */
export function summarizeRounds(rounds: RoundResult[]): RoundsSummary {
  const rates = rounds.map((r) => (r.requests / r.ms) * 1000);
  const mid = rounds[rates.indexOf(median(rates))]!;
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    runs: rates.map((rate) => Math.round(rate)).join(' '),
    rps: Math.round(median(rates)),
    p50: Number(percentile(latencies, 50).toFixed(2)),
    p99: Number(percentile(latencies, 99).toFixed(2)),
    mbps: Number(((mid.bytes / mid.ms) * 1000 / 1e6).toFixed(1)),
  };
}

/** Writes each side's summary of one profile into `results` as `<profile><Side>RequestsPerSecond`, `...P50Ms`, `...P99Ms`, `...MBPerSecond`. */
export function addProfileResults(results: Record<string, number | string>, profile: string, summaries: Record<string, RoundsSummary>): void {
  for (const [side, sum] of Object.entries(summaries)) {
    Object.assign(results, {
      [`${profile}${side}RequestsPerSecond`]: sum.rps,
      [`${profile}${side}RequestsPerSecondRuns`]: sum.runs,
      [`${profile}${side}P50Ms`]: sum.p50,
      [`${profile}${side}P99Ms`]: sum.p99,
      [`${profile}${side}MBPerSecond`]: sum.mbps,
    });
  }
}
