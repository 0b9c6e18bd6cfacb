/**
 * The HTTP client of the stream-vs-static bench, in its own process so it does
 * not share an event loop (or a core's time slices) with the Node.js servers
 * it measures, as a player never does: CLIENTS concurrent keep-alive clients
 * asking for random single ranges, every answer checked (206, exact length).
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';

export const CLIENTS = 50;

export interface Profile {
  name: string;
  minBytes: number;
  maxBytes: number;
}

export interface RoundCommand {
  type: 'round';
  target: Target;
  size: number;
  total: number;
  profile: Profile;
}

export interface Target {
  port: number;
  path: string;
  headers: Record<string, string>;
}

export interface RoundResult {
  requests: number;
  ms: number;
  latencies: number[];
  bytes: number;
}

function request(agent: http.Agent, target: Target, size: number, profile: Profile): Promise<{ ms: number; bytes: number }> {
  const start = Math.floor(Math.random() * (size - profile.minBytes));
  const length = profile.minBytes + Math.floor(Math.random() * (profile.maxBytes - profile.minBytes + 1));
  const end = Math.min(size - 1, start + length - 1);
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: target.port, path: target.path, agent, headers: { ...target.headers, range: `bytes=${start}-${end}` } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        if (res.statusCode !== 206 || bytes !== end - start + 1) reject(new Error(`unexpected answer ${res.statusCode} with ${bytes} bytes for ${start}-${end}`));
        else resolve({ ms: performance.now() - began, bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function round(target: Target, size: number, total: number, profile: Profile): Promise<RoundResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  let issued = 0;
  let bytes = 0;
  const began = performance.now();
  const client = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      const r = await request(agent, target, size, profile);
      latencies.push(r.ms);
      bytes += r.bytes;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const ms = performance.now() - began;
  agent.destroy();
  return { requests: total, ms, latencies, bytes };
}


process.on('message', (command: RoundCommand) => {
  round(command.target, command.size, command.total, command.profile)
    .then((result) => process.send?.({ type: 'result', result }))
    .catch((error: unknown) => process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
process.on('disconnect', () => process.exit(0));
