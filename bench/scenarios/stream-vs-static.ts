/**
 * Range streaming: a player's stream URL (GET /stream/audio/:id?t=<signed token>
 * through the hub server, mounted as the hub mounts it) and the panel's stream
 * endpoint (GET /api/audio/:id/stream, auth seam included) against
 * express.static and nginx serving the same file, 50 concurrent keep-alive
 * clients asking for random ranges.
 * The design bar: Range requests at least as fast as express.static, and at least half of nginx.
 * Run alone: node dist/bench/scenarios/stream-vs-static.js
 */
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import express from 'express';
import { HubHttpServer } from '../../server/http/http-server';
import { createAudioLibrary, createAudioLibraryService } from '../../server/library';
import { silentLogger } from '../../server/log/logger';
import { openStore } from '../../server/store';
import { createStreamService } from '../../server/streams';
import { createMetrics } from '../../server/system/metrics';
import { directRequestContext, requestContext } from '../../server/system/request-context';
import { storeValidator } from '../../server/store/store-validator';

import { runWhenMain, type BenchResult } from '../bench-result';
import { interleaved } from '../measure';
import { startStaticNginx } from '../../test/helpers/nginx';
import { CLIENTS, type Target } from '../range-client-process';
import { addProfileResults, RANGE_FILE_SECONDS, RANGE_PROFILES, startRangeClient, summarizeRounds as summarize } from '../range-rounds';
import { wavFile } from '../../test/library/media';

const FILE_SECONDS = RANGE_FILE_SECONDS;
const REQUESTS_PER_ROUND = 6000;
const WARMUP_REQUESTS = 1000;
const ROUNDS = 3;
const PROFILES = RANGE_PROFILES;

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
  // The player streams as hub.ts mounts them: ahead of Express, with request ids and metrics.
  const streams = createStreamService({ dataDir, publicUrl: undefined, hubUrl: () => hub.url, library: library.files, logger: silentLogger });
  hub.useDirect(directRequestContext(silentLogger));
  hub.useDirect(metrics.directMiddleware);
  hub.mountDirect('/stream', streams.routes);
  await hub.listen();
  const playerUrl = new URL(streams.urlFor({ kind: 'audio', fileId: record.id }, { deviceId: 'bench-player', scriptId: 'bench-script' }));

  const staticApp = express();
  staticApp.disable('x-powered-by');
  staticApp.use(express.static(staticDir));
  const staticServer = http.createServer(staticApp);
  await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', () => resolve()));

  const nginx = await startStaticNginx(staticDir);
  const rangeClient = startRangeClient();
  const round = rangeClient.round;
  const targets = {
    stream: { port: hub.port, path: `${playerUrl.pathname}${playerUrl.search}`, headers: {} },
    panel: { port: hub.port, path: `/api/audio/${record.id}/stream`, headers: {} },
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
        panel: () => round(targets.panel, bytes.length, REQUESTS_PER_ROUND, profile),
        static: () => round(targets.static, bytes.length, REQUESTS_PER_ROUND, profile),
        nginx: () => round(targets.nginx, bytes.length, REQUESTS_PER_ROUND, profile),
      }, ROUNDS);
      const summaries = { Stream: summarize(rounds.stream), Panel: summarize(rounds.panel), Static: summarize(rounds.static), Nginx: summarize(rounds.nginx) };
      const p = profile.name;
      addProfileResults(results, p, summaries);
      ratios[`${p}StreamOverStaticRequestsPerSecond`] = Number((summaries.Stream.rps / summaries.Static.rps).toFixed(2));
      ratios[`${p}StreamOverStaticP99Latency`] = Number((summaries.Stream.p99 / summaries.Static.p99).toFixed(2));
      ratios[`${p}StreamOverNginxRequestsPerSecond`] = Number((summaries.Stream.rps / summaries.Nginx.rps).toFixed(2));
      ratios[`${p}PanelOverStaticRequestsPerSecond`] = Number((summaries.Panel.rps / summaries.Static.rps).toFixed(2));
      ratios[`${p}PanelOverNginxRequestsPerSecond`] = Number((summaries.Panel.rps / summaries.Nginx.rps).toFixed(2));
    }
    metrics.stop();
    return {
      name: 'stream-vs-static',
      description:
        `${CLIENTS} concurrent keep-alive clients, ${ROUNDS} x ${REQUESTS_PER_ROUND} random single-range GETs per profile ` +
        `(${PROFILES.map((p) => `${p.name}: ${p.minBytes} B to ${p.maxBytes / 1024} KiB`).join('; ')}) ` +
        `on a ${(bytes.length / 1e6).toFixed(1)} MB file: a player's GET /stream/audio/:id?t= (Stream: hub server, answered ahead of Express with request ids, metrics, the signed token's check and the library lookup) ` +
        `and the panel's GET /api/audio/:id/stream (Panel: the API's Express chain with request ids, metrics, an auth seam and the ownership check) against express.static and nginx (one worker, sendfile) on the same file; rounds interleaved, median round.`,
      results,
      ratios,
      notes: [
        'Bar (DESIGN.md section 10, issue 16): every StreamOverStaticRequestsPerSecond >= 1 and StreamOverStaticP99Latency <= 1 mean the player stream is at least as fast; StreamOverNginxRequestsPerSecond >= 0.5 against the physical reference. Panel ratios are reported, with no bar.',
        'The client runs in its own process (bench/range-client-process.ts), as players do; the two Node.js servers share the bench process, nginx is its own. Every answer is checked (206 and exact byte count).',
        'The stream endpoints do not stat the file per request (size and mtime come from the record); express.static (send) does. Ranges up to 256 KiB are read in one go from a file handle the data directory storage keeps open between requests (at most a second); longer ones are streamed. A token whose signature was checked once is not checked again (expiry and revocation are, every time).',
      ],
    };
  } finally {
    rangeClient.stop();
    await nginx.stop();
    await hub.close();
    await streams.close();
    await new Promise<void>((resolve) => {
      staticServer.close(() => resolve());
      staticServer.closeAllConnections();
    });
    await library.close();
    await library.files.storage.close();
    await store.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
