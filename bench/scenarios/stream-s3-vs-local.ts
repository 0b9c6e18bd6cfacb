/**
 * Range streaming from an S3-compatible bucket against the data directory: the
 * same file in two audio libraries behind one hub server, one on local storage,
 * one on S3 (YOTO_OBJECT_STORE_URL, s3rver in its own process standing in for
 * MinIO), 50 concurrent keep-alive clients asking for random short and long
 * ranges of GET /api/audio/:id/stream.
 * Run alone: node dist/bench/scenarios/stream-s3-vs-local.js
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import express from 'express';
import { HubHttpServer } from '../../server/http/http-server';
import { createAudioLibrary, createAudioLibraryService, createS3AudioStorage, parseObjectStoreUrl, type AudioLibraryHandle } from '../../server/library';
import { silentLogger } from '../../server/log/logger';
import { openStore, type Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { wavFile } from '../../test/library/media';
import { runWhenMain, type BenchResult } from '../bench-result';
import { interleaved } from '../measure';
import { CLIENTS, type Target } from '../range-client-process';
import { addProfileResults, RANGE_FILE_SECONDS, RANGE_PROFILES, startRangeClient, summarizeRounds } from '../range-rounds';

const FILE_SECONDS = RANGE_FILE_SECONDS;
const REQUESTS_PER_ROUND = 2000;
const WARMUP_REQUESTS = 300;
const ROUNDS = 3;
const PROFILES = RANGE_PROFILES;

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
  const library = async (name: string, s3Url?: string): Promise<{ handle: AudioLibraryHandle; fileId: string }> => {
    const dataDir = path.join(root, name);
    const store = await openStore({ dataDir, validate: storeValidator() });
    stores.push(store);
    const storage = s3Url !== undefined ? createS3AudioStorage(parseObjectStoreUrl(s3Url), { env: {}, logger: silentLogger }) : undefined;
    const files = createAudioLibraryService({ store, dataDir, logger: silentLogger, ...(storage ? { storage } : {}) });
    const handle = createAudioLibrary({ files, logger: silentLogger, isInUse: () => undefined });
    libraries.push(handle);
    const record = await files.importFile(source, { userId: 'bench-user', title: 'Bench' });
    return { handle, fileId: record.id };
  };
  const local = await library('local');
  const bucket = await library('s3', s3.url);

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
  const targets = {
    local: { port: hub.port, path: `/api/local/${local.fileId}/stream`, headers: {} },
    s3: { port: hub.port, path: `/api/s3/${bucket.fileId}/stream`, headers: {} },
  } satisfies Record<string, Target>;
  try {
    const results: Record<string, number | string> = { fileBytes: bytes.length };
    const ratios: Record<string, number> = {};
    for (const profile of PROFILES) {
      for (const target of Object.values(targets)) await client.round(target, bytes.length, WARMUP_REQUESTS, profile);
      const rounds = await interleaved({
        local: () => client.round(targets.local, bytes.length, REQUESTS_PER_ROUND, profile),
        s3: () => client.round(targets.s3, bytes.length, REQUESTS_PER_ROUND, profile),
      }, ROUNDS);
      const summaries = { Local: summarizeRounds(rounds.local), S3: summarizeRounds(rounds.s3) };
      const p = profile.name;
      addProfileResults(results, p, summaries);
      ratios[`${p}S3OverLocalRequestsPerSecond`] = Number((summaries.S3.rps / summaries.Local.rps).toFixed(2));
      ratios[`${p}S3OverLocalP99Latency`] = Number((summaries.S3.p99 / summaries.Local.p99).toFixed(2));
    }
    return {
      name: 'stream-s3-vs-local',
      description:
        `${CLIENTS} concurrent keep-alive clients, ${ROUNDS} x ${REQUESTS_PER_ROUND} random single-range GETs per profile ` +
        `(${PROFILES.map((p) => `${p.name}: ${p.minBytes} B to ${p.maxBytes / 1024} KiB`).join('; ')}) ` +
        `of GET /api/audio/:id/stream on a ${(bytes.length / 1e6).toFixed(1)} MB file kept in the data directory against the same file in an S3 bucket ` +
        '(s3rver in its own process, AWS SDK v3 GetObject with Range per request); one hub server, rounds interleaved, median round.',
      results,
      ratios,
      notes: [
        'Every bucket read is an HTTP request to the S3 server (signed, over keep-alive connections), so an S3 range costs a round trip a local read does not: S3OverLocal ratios below 1 are expected; they say what the bucket costs, not a bar.',
        's3rver is a Node.js (Koa) server that reads each object from its own folder and stands in for MinIO here; a MinIO or AWS S3 answers differently (network latency to AWS dominates there).',
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
