import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** mulberry32: kill points are random but reproducible from the seed in a failure message. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs a Node.js script, kills it with SIGKILL as soon as it has printed `acknowledgements` lines,
 * and resolves to every complete line it printed (lines that arrived after the kill signal was sent
 * were acknowledged too).
 */
export async function runUntilKilled(script: string, args: string[], acknowledgements: number): Promise<string[]> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length >= acknowledgements && child.signalCode === null) child.kill('SIGKILL');
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (signal !== 'SIGKILL') throw new Error(`${script} ended without being killed (exit code ${code}): ${stderr}`);
  return lines;
}
