/**
 * Range streaming from an S3-compatible bucket against the data directory: the
 * same file in two audio libraries behind one hub server, one on local storage,
 * one on S3 (YOTO_OBJECT_STORE_URL, s3rver in its own process standing in for
 * MinIO, the hub's local copies of bucket objects at their defaults), 50
 * concurrent keep-alive clients asking for random short and long ranges of GET
 * /api/audio/:id/stream, and the same ranges asked of s3rver directly (an
 * unsigned GET of the object: what the bucket itself serves, the physical
 * reference of the hub-from-S3 side before its copy).
 *
 * Warm: once the hub has its copy of the object (what players see from the second
 * request for a file on). Cold: the first request for an object the hub has never
 * read, and a round of short ranges starting then, while the copy downloads.
 *
 * Knobs: BENCH_S3_REQUESTS (requests per round, default 2000), BENCH_S3_ROUNDS (default 3),
 * BENCH_S3_PROFILES (default short,long).
 * Run alone: node dist/bench/scenarios/stream-s3-vs-local.js
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { HubHttpServer } from '../../server/http/http-server';
import { createAudioLibrary, createAudioLibraryService, parseObjectStoreUrl, type AudioLibraryHandle } from '../../server/library';
import { createS3AudioStorage, objectCacheOf } from '../../server/library/s3-audio-storage';
import { silentLogger } from '../../server/log/logger';
import { openStore, type Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { wavFile } from '../../test/library/media';
import { runWhenMain, type BenchResult } from '../bench-result';
import { interleaved, median } from '../measure';
import { CLIENTS, type Target } from '../range-client-process';
import { addProfileResults, RANGE_FILE_SECONDS, RANGE_PROFILES, startRangeClient, summarizeRounds } from '../range-rounds';

const FILE_SECONDS = RANGE_FILE_SECONDS;
const REQUESTS_PER_ROUND = Number(process.env['BENCH_S3_REQUESTS'] ?? 2000);
const WARMUP_REQUESTS = 300;
const ROUNDS = Number(process.env['BENCH_S3_ROUNDS'] ?? 3);
const PROFILES = RANGE_PROFILES.filter((p) => (process.env['BENCH_S3_PROFILES'] ?? 'short,long').split(',').includes(p.name));
/** Objects never read before, one per cold measurement. */
const COLD_RUNS = 3;
const COLD_ROUND_REQUESTS = 500;

/** Milliseconds until the whole answer to one Range GET has arrived. */
function timedGet(target: Target, start: number, end: number): Promise<number> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: target.port, path: target.path, headers: { ...target.headers, range: `bytes=${start}-${end}` } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 206 ? resolve(performance.now() - began) : reject(new Error(`answered ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** The S3 server process and its bucket's URL. */
async function startS3Process(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = fork(path.join(__dirname, '..', 's3-server-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`the S3 server process exited (${code})`)));
  });
  return {
    url,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.disconnect();
    }),
  };
}

export async function run(): Promise<BenchResult> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'yoto-bench-s3-'));
  const panelDir = path.join(root, 'panel');
  await fs.mkdir(panelDir);
  const bytes = wavFile(FILE_SECONDS, 8000, (i) => Math.round(Math.sin(i / 7) * 8000));
  const source = path.join(root, 'audio.wav');
  await fs.writeFile(source, bytes);
  const s3 = await startS3Process();

  const stores: Store[] = [];
  const libraries: AudioLibraryHandle[] = [];
  /** A library with the file imported 1 + COLD_RUNS times: the first for the warm rounds, the others never read before their cold run. */
  const library = async (name: string, s3Url?: string): Promise<{ handle: AudioLibraryHandle; fileId: string; coldIds: string[]; fileName: string }> => {
    const dataDir = path.join(root, name);
    const store = await openStore({ dataDir, validate: storeValidator() });
    stores.push(store);
    // The hub's local copies at their defaults (YOTO_OBJECT_CACHE_MB, YOTO_OBJECT_CACHE_CHECK_S unset), where the hub keeps them.
    const storage = s3Url !== undefined
      ? createS3AudioStorage(parseObjectStoreUrl(s3Url), { env: {}, logger: silentLogger, objectCacheDir: path.join(dataDir, 'cache', 'objects') })
      : undefined;
    const files = createAudioLibraryService({ store, dataDir, logger: silentLogger, ...(storage ? { storage } : {}) });
    const handle = createAudioLibrary({ files, logger: silentLogger, isInUse: () => undefined });
    libraries.push(handle);
    const records = [];
    for (let i = 0; i <= COLD_RUNS; i++) records.push(await files.importFile(source, { userId: 'bench-user', title: `Bench ${i}` }));
    return { handle, fileId: records[0]!.id, fileName: records[0]!.fileName, coldIds: records.slice(1).map((r) => r.id) };
  };
  const local = await library('local');
  const bucket = await library('s3', s3.url);
  const copies = objectCacheOf(bucket.handle.files.storage)!;

  const hub = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir, logger: silentLogger });
  // An auth seam standing for the token check, which is not what this bench measures.
  const auth = express.Router();
  auth.use((_req, res, next) => {
    res.locals['user'] = { id: 'bench-user', email: 'bench@example.test', role: 'member' };
    next();
  });
  hub.mountApi('/', auth);
  hub.mountApi('/local', local.handle.router);
  hub.mountApi('/s3', bucket.handle.router);
  await hub.listen();

  const client = startRangeClient();
  const stream = (side: 'local' | 's3', id: string): Target => ({ port: hub.port, path: `/api/${side}/${id}/stream`, headers: {} });
  const endpoint = new URL(parseObjectStoreUrl(s3.url).endpoint!);
  const targets = {
    local: stream('local', local.fileId),
    s3: stream('s3', bucket.fileId),
    // The object itself, unsigned (s3rver serves anonymous GETs), on the bucket server's own port.
    bucket: { port: Number(endpoint.port), path: `/${parseObjectStoreUrl(s3.url).bucket}/audio/${bucket.fileName}`, headers: {} },
  } satisfies Record<string, Target>;
  try {
    const results: Record<string, number | string> = { fileBytes: bytes.length };
    const ratios: Record<string, number> = {};

    // Cold: the first request for an object the hub never read (it reads the bucket and starts the copy), then a round of short ranges from then on.
    const short = RANGE_PROFILES[0];
    const cold = { localFirstMs: [] as number[], s3FirstMs: [] as number[], copyMs: [] as number[], roundRps: [] as number[] };
    for (let i = 0; i < COLD_RUNS; i++) {
      const at = Math.floor(Math.random() * (bytes.length - 65536));
      cold.localFirstMs.push(await timedGet(stream('local', local.coldIds[i]!), at, at + 4095));
      const began = performance.now();
      cold.s3FirstMs.push(await timedGet(stream('s3', bucket.coldIds[i]!), at, at + 4095));
      const copied = copies.settled().then(() => performance.now() - began);
      const round = await client.round(stream('s3', bucket.coldIds[i]!), bytes.length, COLD_ROUND_REQUESTS, short);
      cold.roundRps.push((round.requests / round.ms) * 1000);
      cold.copyMs.push(await copied);
    }
    Object.assign(results, {
      coldFirstRequestLocalMs: Number(median(cold.localFirstMs).toFixed(2)),
      coldFirstRequestS3Ms: Number(median(cold.s3FirstMs).toFixed(2)),
      coldFirstRequestS3MsRuns: cold.s3FirstMs.map((v) => v.toFixed(1)).join(' '),
      coldCopyCompleteMs: Number(median(cold.copyMs).toFixed(1)),
      coldCopyCompleteMsRuns: cold.copyMs.map((v) => v.toFixed(1)).join(' '),
      coldShortRoundS3RequestsPerSecond: Math.round(median(cold.roundRps)),
      coldShortRoundS3RequestsPerSecondRuns: cold.roundRps.map((v) => Math.round(v)).join(' '),
    });
    ratios['coldFirstRequestS3OverLocalLatency'] = Number((median(cold.s3FirstMs) / median(cold.localFirstMs)).toFixed(2));

    // Warm: the hub has its copy of the object (the warm-up's first request started it).
    for (const profile of PROFILES) {
      for (const target of Object.values(targets)) await client.round(target, bytes.length, WARMUP_REQUESTS, profile);
      await copies.settled();
      const rounds = await interleaved({
        local: () => client.round(targets.local, bytes.length, REQUESTS_PER_ROUND, profile),
        s3: () => client.round(targets.s3, bytes.length, REQUESTS_PER_ROUND, profile),
        bucket: () => client.round(targets.bucket, bytes.length, REQUESTS_PER_ROUND, profile),
      }, ROUNDS);
      const summaries = { Local: summarizeRounds(rounds.local), S3: summarizeRounds(rounds.s3), Bucket: summarizeRounds(rounds.bucket) };
      const p = profile.name;
      addProfileResults(results, p, summaries);
      ratios[`${p}S3OverLocalRequestsPerSecond`] = Number((summaries.S3.rps / summaries.Local.rps).toFixed(2));
      ratios[`${p}S3OverLocalP99Latency`] = Number((summaries.S3.p99 / summaries.Local.p99).toFixed(2));
      ratios[`${p}S3OverDirectBucketRequestsPerSecond`] = Number((summaries.S3.rps / summaries.Bucket.rps).toFixed(2));
    }
    if (cold.roundRps.length > 0 && typeof results['shortLocalRequestsPerSecond'] === 'number') {
      ratios['coldShortRoundS3OverWarmLocalRequestsPerSecond'] = Number((median(cold.roundRps) / results['shortLocalRequestsPerSecond']).toFixed(2));
    }
    return {
      name: 'stream-s3-vs-local',
      description:
        `${CLIENTS} concurrent keep-alive clients, ${ROUNDS} x ${REQUESTS_PER_ROUND} random single-range GETs per profile ` +
        `(${PROFILES.map((p) => `${p.name}: ${p.minBytes} B to ${p.maxBytes / 1024} KiB`).join('; ')}) ` +
        `of GET /api/audio/:id/stream on a ${(bytes.length / 1e6).toFixed(1)} MB file kept in the data directory, the same file in an S3 bucket ` +
        '(s3rver in its own process) served by the hub from its local copy, and the object asked of s3rver directly (unsigned GET with Range); ' +
        'one hub server, rounds interleaved, median round. ' +
        `Cold (${COLD_RUNS} objects never read before): the first 4 KiB range, the time until the hub's copy is complete, and a round of ${COLD_ROUND_REQUESTS} short ranges from the first request on.`,
      results,
      ratios,
      notes: [
        'Warm S3 ranges are read from the hub\'s local copy of the object (<dataDir>/cache/objects), checked against the bucket with one HeadObject every 5 s: S3OverLocal is the copy against the data directory, goal >= 1.0.',
        'S3OverDirectBucket: the hub (from its copy) against s3rver answering the same ranges itself; s3rver is a Node.js (Koa) server reading each object from its folder, a stand-in for MinIO (a MinIO or AWS S3 answers differently; network latency to AWS dominates there).',
        'Cold figures: before its copy is complete the hub reads the bucket (short ranges through 256 KiB blocks kept in memory, long ones piped from one GetObject each) while the copy downloads.',
        'The client, the hub and the S3 server each run in their own process on the same 2-core machine.',
      ],
    };
  } finally {
    client.stop();
    await hub.close();
    for (const handle of libraries) {
      await handle.close();
      await handle.files.storage.close();
      await handle.files.swept;
    }
    for (const store of stores) await store.close();
    await s3.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
