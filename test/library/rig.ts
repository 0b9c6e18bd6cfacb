import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import express from 'express';
import { HubHttpServer } from '../../server/http/http-server';
import type { RequestUser } from '../../server/http/request-user';
import { createAudioLibrary, createAudioLibraryService, parseObjectStoreUrl, type AudioLibraryHandle, type AudioLibraryOptions, type S3AudioStorageOptions } from '../../server/library';
import { createS3AudioStorage } from '../../server/library/s3-audio-storage';
import { silentLogger, type Logger } from '../../server/log/logger';
import { openStore, type Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { hooked } from '../helpers/hooked';
import { startS3, type S3Server } from '../helpers/s3';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { multipart, type MultipartPart } from './media';

export const USERS: Record<string, RequestUser> = {
  alice: { id: 'user-alice', email: 'alice@example.test', role: 'member' },
  bob: { id: 'user-bob', email: 'bob@example.test', role: 'member' },
  admin: { id: 'user-admin', email: 'admin@example.test', role: 'admin' },
};

/**
 * The seam where the accounts middleware goes, for tests: sets res.locals.user to
 * the USERS entry the x-test-user header names (alice, bob, admin), else nobody.
 */
export function testUserAuth(): express.Router {
  const auth = express.Router();
  auth.use((req, res, next) => {
    const name = req.headers['x-test-user'];
    const user = typeof name === 'string' ? USERS[name] : undefined;
    if (user) res.locals['user'] = user;
    next();
  });
  return auth;
}

export interface LibraryRig {
  /** A folder holding dataDir and nothing else, to prove nothing is written beside it. */
  root: string;
  dataDir: string;
  store: Store;
  server: HubHttpServer;
  library: AudioLibraryHandle;
  /** http://127.0.0.1:<port>/api/audio */
  base: string;
  fetchAs(user: string | undefined, pathAndQuery: string, init?: RequestInit): Promise<Response>;
  upload(user: string, parts: MultipartPart[]): Promise<Response>;
  /** The S3-compatible server the bytes are in, when the rig runs on the `s3` backend. */
  s3: S3Server | undefined;
  /** The stored bytes under a name (`<id>.<ext>`, `<id>.cover`), read straight from the data directory or the bucket; undefined when absent. */
  stored(name: string): Promise<Buffer | undefined>;
  /** Every stored name, sorted (the data directory's audio files, or the bucket's keys under audio/). */
  storedNames(): Promise<string[]>;
  close(): Promise<void>;
}

/** Where a rig keeps the audio bytes: the data directory (the default) or a bucket on an s3rver it starts. */
export type StorageBackend = 'local' | 's3';
export const BACKENDS: readonly StorageBackend[] = ['local', 's3'];

export interface LibraryRigOptions extends Partial<Pick<AudioLibraryOptions, 'maxUploadBytes' | 'isInUse'>> {
  backend?: StorageBackend;
  /** The S3 storage's clock (its start-up sweep spares objects younger than an hour). */
  storageNow?: () => number;
  /** Reopen this data directory (a restart) instead of a new one. */
  dataDir?: string;
  /** With the s3 backend: this bucket URL instead of an s3rver the rig starts. */
  objectStoreUrl?: string;
  /** With the s3 backend: how long the bucket has to answer. */
  answerTimeoutMs?: number;
  /** With the s3 backend: local copies of the bucket's objects (none unless given), as the hub keeps them in `<dataDir>/cache/objects`. */
  objectCache?: Pick<S3AudioStorageOptions, 'objectCacheDir' | 'objectCacheBytes' | 'objectCacheCheckMs'>;
  /** The storage's logger (default silent). */
  storageLogger?: Logger;
}

/**
 * A real HubHttpServer on port 0 with the library mounted at /api/audio and,
 * before it, the seam where the accounts middleware goes: here a test-only
 * one that sets res.locals.user from the x-test-user header.
 */
export async function startLibraryRig(options: LibraryRigOptions = {}, s3Server?: S3Server): Promise<LibraryRig> {
  const { backend = 'local', storageNow, dataDir: reopened, objectStoreUrl, answerTimeoutMs, objectCache, storageLogger, ...libraryOptions } = options;
  const root = reopened !== undefined ? path.dirname(reopened) : await makeTempDir('library');
  const dataDir = reopened ?? path.join(root, 'data');
  const panelDir = await makeTempDir('library-panel');
  const store = await openStore({ dataDir, validate: storeValidator() });
  const s3 = backend === 's3' && objectStoreUrl === undefined ? (s3Server ?? (await startS3())) : undefined;
  const bucketUrl = objectStoreUrl ?? s3?.url;
  const storage = backend === 's3' && bucketUrl !== undefined
    ? createS3AudioStorage(parseObjectStoreUrl(bucketUrl), { env: {}, logger: storageLogger ?? silentLogger, ...objectCache, ...(storageNow ? { now: storageNow } : {}), ...(answerTimeoutMs !== undefined ? { answerTimeoutMs } : {}) })
    : undefined;
  const files = createAudioLibraryService({ store, dataDir, logger: silentLogger, ...(storage ? { storage } : {}) });
  const library = createAudioLibrary({ files, logger: silentLogger, isInUse: () => undefined, ...libraryOptions });
  const server = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir, logger: silentLogger });
  server.mountApi('/', testUserAuth());
  server.mountApi('/audio', library.router);
  await server.listen();
  const base = `${server.url}/api/audio`;
  const fetchAs = (user: string | undefined, pathAndQuery: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (user) headers.set('x-test-user', user);
    return fetch(`${base}${pathAndQuery}`, { ...init, headers });
  };
  return {
    root,
    dataDir,
    store,
    server,
    library,
    base,
    fetchAs,
    s3,
    async stored(name) {
      if (!s3) return fs.readFile(path.join(dataDir, 'audio', name)).catch(() => undefined);
      try {
        const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `audio/${name}` }));
        return Buffer.from(await object.Body!.transformToByteArray());
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async storedNames() {
      if (s3) return (await s3.keys('audio/')).map((key) => key.slice('audio/'.length));
      const entries = await fs.readdir(path.join(dataDir, 'audio'), { withFileTypes: true });
      return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
    },
    upload(user, parts) {
      const { body, contentType } = multipart(parts);
      return fetchAs(user, '/', { method: 'POST', body, headers: { 'content-type': contentType } });
    },
    async close() {
      await server.close();
      await library.close();
      await files.storage.close();
      await files.swept;
      await store.close();
      // A server the rig started is the rig's to stop; one it was given is the caller's.
      if (s3 && !s3Server) await s3.stop();
    },
  };
}

/** A library rig for the whole suite (see hooked()), closed and its temporary folders removed after it. */
export function useLibraryRig(options: Parameters<typeof startLibraryRig>[0] = {}): LibraryRig {
  return hooked('suite', () => startLibraryRig(options), async (rig) => {
    await rig.close();
    await removeTempDirs();
  });
}

/** Every file under `dir`, relative, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
