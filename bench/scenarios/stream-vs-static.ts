/**
 * Range streaming: the audio library's stream endpoint (GET /api/audio/:id/stream
 * through the hub server, auth seam included) against express.static serving
 * the same file, 50 concurrent keep-alive clients asking for random ranges.
 * The design bar: Range requests at least as fast as express.static.
 * Run alone: node dist/bench/scenarios/stream-vs-static.js
 */
import * as fs from 'node:fs/promises';
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import express from 'express';
import { HubHttpServer } from '../../server/http/http-server';
import { createAudioLibrary, createAudioLibraryService } from '../../server/library';
import { silentLogger } from '../../server/log/logger';
import { openStore } from '../../server/store';
import { createMetrics } from '../../server/system/metrics';
import { requestContext } from '../../server/system/request-context';
import { storeValidator } from '../../server/store/store-validator';

import { runWhenMain, type BenchResult } from '../bench-result';
import { interleaved, median } from '../measure';
import { startStaticNginx } from '../../test/helpers/nginx';
import { CLIENTS, type Profile, type RoundCommand, type RoundResult, type Target } from '../range-client-process';
import { wavFile } from '../../test/library/media';

const FILE_SECONDS = 240; // 8 kHz mono 16-bit WAV: 16 kB/s, ~3.8 MB
const REQUESTS_PER_ROUND = 6000;
const WARMUP_REQUESTS = 1000;
const ROUNDS = 3;
/** Short ranges are how players and browsers seek; long ones are how they play. */
const PROFILES = [
  { name: 'short', minBytes: 1, maxBytes: 64 * 1024 },
  { name: 'long', minBytes: 64 * 1024, maxBytes: 1024 * 1024 },
] as const satisfies readonly Profile[];

/** Runs one round in the client process. */
function round(target: Target, size: number, total: number, profile: Profile): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: { type: 'result'; result: RoundResult } | { type: 'error'; message: string }): void => {
      if (answer.type === 'error') reject(new Error(`range client: ${answer.message}`));
      else resolve(answer.result);
    };
    rangeClient.once('message', onMessage);
    const command: RoundCommand = { type: 'round', target, size, total, profile };
    rangeClient.send(command);
  });
}

let rangeClient: ChildProcess;


function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Requests/s and MB/s: the median round; latency percentiles over every request of every round. */
function summarize(rounds: RoundResult[]): { rps: number; p50: number; p99: number; mbps: number; runs: string } {
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

export async function run(): Promise<BenchResult> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'yoto-bench-stream-'));
  const dataDir = path.join(root, 'data');
  const staticDir = path.join(root, 'static');
  const panelDir = path.join(root, 'panel');
  await Promise.all([fs.mkdir(staticDir), fs.mkdir(panelDir)]);
  const bytes = wavFile(FILE_SECONDS, 8000, (i) => Math.round(Math.sin(i / 7) * 8000));
  const source = path.join(staticDir, 'audio.wav');
  await fs.writeFile(source, bytes);

  const store = await openStore({ dataDir, validate: storeValidator() });
  const library = createAudioLibrary({ files: createAudioLibraryService({ store, dataDir, logger: silentLogger }), logger: silentLogger, isInUse: () => undefined });
  const record = await library.files.importFile(source, { userId: 'bench-user', title: 'Bench' });
  const hub = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir, logger: silentLogger });
  // The middleware every API request passes in the hub (request ids, metrics), then an auth
  // seam standing for the token check, which is not what this bench measures.
  const metrics = createMetrics();
  hub.useApi(requestContext(silentLogger));
  hub.useApi(metrics.middleware);
  const auth = express.Router();
  auth.use((_req, res, next) => {
    res.locals['user'] = { id: 'bench-user', email: 'bench@example.test', role: 'member' };
    next();
  });
  hub.mountApi('/', auth);
  hub.mountApi('/audio', library.router);
  await hub.listen();

  const staticApp = express();
  staticApp.disable('x-powered-by');
  staticApp.use(express.static(staticDir));
  const staticServer = http.createServer(staticApp);
  await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', () => resolve()));

  const nginx = await startStaticNginx(staticDir);
  rangeClient = fork(path.join(__dirname, '..', 'range-client-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const targets = {
    stream: { port: hub.port, path: `/api/audio/${record.id}/stream`, headers: {} },
    static: { port: (staticServer.address() as AddressInfo).port, path: '/audio.wav', headers: {} },
    nginx: { port: nginx.port, path: '/audio.wav', headers: {} },
  } satisfies Record<string, Target>;
  try {
    const results: Record<string, number | string> = { fileBytes: bytes.length };
    const ratios: Record<string, number> = {};
    for (const profile of PROFILES) {
      for (const target of Object.values(targets)) await round(target, bytes.length, WARMUP_REQUESTS, profile);
      // Interleaved so no side always runs on a warmer (or hotter) machine.
      const rounds = await interleaved({
        stream: () => round(targets.stream, bytes.length, REQUESTS_PER_ROUND, profile),
        static: () => round(targets.static, bytes.length, REQUESTS_PER_ROUND, profile),
        nginx: () => round(targets.nginx, bytes.length, REQUESTS_PER_ROUND, profile),
      }, ROUNDS);
      const summaries = { Stream: summarize(rounds.stream), Static: summarize(rounds.static), Nginx: summarize(rounds.nginx) };
      const p = profile.name;
      for (const [side, sum] of Object.entries(summaries)) {
        Object.assign(results, {
          [`${p}${side}RequestsPerSecond`]: sum.rps,
          [`${p}${side}RequestsPerSecondRuns`]: sum.runs,
          [`${p}${side}P50Ms`]: sum.p50,
          [`${p}${side}P99Ms`]: sum.p99,
          [`${p}${side}MBPerSecond`]: sum.mbps,
        });
      }
      ratios[`${p}StreamOverStaticRequestsPerSecond`] = Number((summaries.Stream.rps / summaries.Static.rps).toFixed(2));
      ratios[`${p}StreamOverStaticP99Latency`] = Number((summaries.Stream.p99 / summaries.Static.p99).toFixed(2));
      ratios[`${p}StreamOverNginxRequestsPerSecond`] = Number((summaries.Stream.rps / summaries.Nginx.rps).toFixed(2));
    }
    metrics.stop();
    return {
      name: 'stream-vs-static',
      description:
        `${CLIENTS} concurrent keep-alive clients, ${ROUNDS} x ${REQUESTS_PER_ROUND} random single-range GETs per profile ` +
        `(${PROFILES.map((p) => `${p.name}: ${p.minBytes} B to ${p.maxBytes / 1024} KiB`).join('; ')}) ` +
        `on a ${(bytes.length / 1e6).toFixed(1)} MB file: GET /api/audio/:id/stream (hub server with request ids and metrics, auth seam, ownership check, sendFileRange) against express.static and nginx (one worker, sendfile) on the same file; rounds interleaved, median round.`,
      results,
      ratios,
      notes: [
        'Bar (DESIGN.md section 10, issue 16): every StreamOverStaticRequestsPerSecond >= 1 and StreamOverStaticP99Latency <= 1 mean the stream endpoint is at least as fast; StreamOverNginxRequestsPerSecond >= 0.5 against the physical reference.',
        'The client runs in its own process (bench/range-client-process.ts), as players do; the two Node.js servers share the bench process, nginx is its own. Every answer is checked (206 and exact byte count).',
        'The stream endpoint does not stat the file per request (size and mtime come from the record); express.static (send) does. Ranges up to 256 KiB are read in one go from a file handle shared by overlapping requests; longer ones are streamed.',
      ],
    };
  } finally {
    rangeClient.disconnect();
    await nginx.stop();
    await hub.close();
    await new Promise<void>((resolve) => {
      staticServer.close(() => resolve());
      staticServer.closeAllConnections();
    });
    await library.close();
    await store.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
