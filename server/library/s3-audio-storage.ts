import { setMaxListeners } from 'node:events';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '../log/logger';
import { notStored, StorageUnavailableError, type AudioStorage, type StoredObject } from './audio-storage';
import type { ObjectStoreConfig } from './object-store-url';
import { ObjectCache, objectCacheSettings, type CachedCopy, type ObjectDownload, type ObjectVersion } from './object-cache';
import type { ByteSource } from './range-response';

/**
 * A bucket shared by several hub instances may hold an object another instance
 * just uploaded and has not yet recorded: the start-up sweep leaves objects
 * younger than this alone (a crash's leftovers go at the next start after it).
 */
export const OBJECT_SWEEP_GRACE_MS = 60 * 60 * 1000;

/**
 * Multipart part size: uploads go to the bucket in parts of this size, at most
 * UPLOAD_QUEUE of them in flight, so an upload of any length holds at most
 * (UPLOAD_QUEUE + 1) parts in memory.
 */
const UPLOAD_PART_BYTES = 8 * 1024 * 1024;
const UPLOAD_QUEUE = 2;
/**
 * Players hold a connection to the bucket for as long as they stream (paused
 * ones too): far more than the SDK's default of 50 sockets, which would make
 * the 51st concurrent stream wait for a free one.
 */
const MAX_SOCKETS = 1024;
/** A bucket that does not accept the connection within this time is unavailable (503), not a hanging request. */
const CONNECT_TIMEOUT_MS = 5000;
/**
 * A bucket that accepted the connection but has not answered (a GetObject's headers, a HeadObject...)
 * within this time is unavailable too. Not a socket idle timeout: a paused player holds its stream's
 * connection idle for as long as it likes once the answer is there.
 */
export const DEFAULT_S3_ANSWER_TIMEOUT_MS = 15_000;
/** An upload may go this many answer timeouts without finishing a part (a part is 8 MiB). */
const UPLOAD_STALL_FACTOR = 4;
/**
 * Short ranges (how players and browsers seek: the header, then jumps) are read in
 * blocks of this size through an in-memory cache, so the next seek near the same
 * place costs no round trip to the bucket, until the object's local copy (object-cache.ts)
 * is there. The hub never changes stored audio in place (a new upload gets a new id); blocks
 * of an object written or deleted through this hub, or found replaced in the bucket by the
 * copy's check, are dropped.
 */
const CACHE_BLOCK_BYTES = 256 * 1024;
/** The cache's bound: least recently used blocks go first. */
export const DEFAULT_S3_CACHE_BYTES = 64 * 1024 * 1024;

/** The names the library writes (`<uuid>.<ext>`, `<uuid>.cover`): the sweep touches nothing else under the prefix. */
const LIBRARY_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(mp3|m4a|aac|ogg|opus|flac|wav|cover)$/;

export interface S3AudioStorageOptions {
  /** Where credentials (when the URL has none) and the region (when the URL names none) are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Milliseconds since the epoch (the sweep's grace period). */
  now?: () => number;
  /** Bytes of short-range blocks kept in memory (default DEFAULT_S3_CACHE_BYTES; 0: none). */
  cacheBytes?: number;
  /** Milliseconds the bucket has to answer a request (default DEFAULT_S3_ANSWER_TIMEOUT_MS). */
  answerTimeoutMs?: number;
  /**
   * The folder of local copies of the bucket's objects (object-cache.ts), e.g.
   * `<dataDir>/cache/objects`; none: every range is read from the bucket.
   */
  objectCacheDir?: string;
  /** Bytes of local copies (default YOTO_OBJECT_CACHE_MB of `env`, else 1024 MiB; 0: no copies). */
  objectCacheBytes?: number;
  /** Milliseconds a local copy is used before the bucket is asked again whether it still has that version (default YOTO_OBJECT_CACHE_CHECK_S of `env`, else 5 s; 0: every request). */
  objectCacheCheckMs?: number;
}

/** The local copies of a bucket storage, for tests and benches (undefined: none, or not a bucket). */
const objectCaches = new WeakMap<AudioStorage, ObjectCache>();
export function objectCacheOf(storage: AudioStorage): ObjectCache | undefined {
  return objectCaches.get(storage);
}

/** Blocks of objects by `<name> <index>`, least recently used first (a Map keeps insertion order). */
class BlockCache {
  private readonly blocks = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer>>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  /** The block, from memory or from `load` (one load per block however many readers wait for it). */
  async get(name: string, index: number, load: () => Promise<Buffer>): Promise<Buffer> {
    const key = `${name} ${index}`;
    const cached = this.blocks.get(key);
    if (cached) {
      this.blocks.delete(key);
      this.blocks.set(key, cached);
      return cached;
    }
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then((block) => {
        this.store(key, block);
        return block;
      }).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  forget(name: string): void {
    for (const [key, block] of this.blocks) {
      if (!key.startsWith(`${name} `)) continue;
      this.blocks.delete(key);
      this.bytes -= block.length;
    }
  }

  private store(key: string, block: Buffer): void {
    if (block.length > this.limit) return;
    this.blocks.set(key, block);
    this.bytes += block.length;
    for (const [oldest, evicted] of this.blocks) {
      if (this.bytes <= this.limit) break;
      this.blocks.delete(oldest);
      this.bytes -= evicted.length;
    }
  }
}

function credentialsFromEnv(env: NodeJS.ProcessEnv): ObjectStoreConfig['credentials'] & { sessionToken?: string } | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** What went wrong, in words, from an SDK error (whose message can be empty for a refused connection). */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const parts = [error.name !== 'Error' ? error.name : undefined, code, status !== undefined ? `HTTP ${status}` : undefined, error.message || undefined];
  return [...new Set(parts.filter((p): p is string => p !== undefined && p !== ''))].join(': ');
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'NoSuchKey' || error.name === 'NotFound') return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404 && error.name !== 'NoSuchBucket';
}

/**
 * The audio bytes in an S3-compatible bucket, through the AWS SDK v3: uploads
 * stream from the local temporary file in multipart parts (lib-storage). Ranges
 * are read from the object's local copy when there is one the bucket confirms
 * (`objectCacheDir`), else (and while the copy downloads) with a GetObject with
 * a Range header whose body is piped to the client (a client that goes away
 * destroys it, which aborts the request to the bucket).
 */
export function createS3AudioStorage(config: ObjectStoreConfig, options: S3AudioStorageOptions): AudioStorage {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const logger = options.logger;
  const credentials = config.credentials ?? credentialsFromEnv(env);
  const agent = { keepAlive: true, maxSockets: MAX_SOCKETS };
  const client = new S3Client({
    region: config.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    // Without credentials in the URL or the hub's environment: the SDK's own chain (profile, instance or container role).
    ...(credentials ? { credentials } : {}),
    // Checksums only where S3 requires them: S3-compatible servers (older MinIO, Ceph) refuse the newer trailing-checksum uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      httpAgent: new http.Agent(agent),
      httpsAgent: new https.Agent(agent),
    },
  });
  // Aborts what is still waiting for the bucket when the hub stops (a bucket that does not answer must not hold the stop up).
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  const answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_S3_ANSWER_TIMEOUT_MS;
  const location = `s3://${config.bucket}/${config.prefix}${config.endpoint !== undefined ? ` at ${config.endpoint}` : ''}`;
  const keyOf = (name: string): string => `${config.prefix}${name}`;
  const failure = (error: unknown, doing: string, name?: string): Error => {
    if (name !== undefined && isNotFound(error)) return notStored(name);
    return new StorageUnavailableError(`the audio storage (${location}) is unavailable: ${doing} failed (${reasonOf(error)})`);
  };

  /**
   * Runs one request with a signal that aborts when the bucket has not answered within
   * answerTimeoutMs (then it rejects with StorageUnavailableError), when `caller` aborts, or when
   * the storage closes. `doing` names the request in the error.
   */
  const answered = async <T>(doing: string, send: (signal: AbortSignal) => Promise<T>, caller?: AbortSignal): Promise<T> => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('no answer'));
    }, answerTimeoutMs);
    const follow = (signal: AbortSignal): (() => void) => {
      const abort = (): void => controller.abort(signal.reason);
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
      return () => signal.removeEventListener('abort', abort);
    };
    const unfollow = [follow(closing.signal), ...(caller ? [follow(caller)] : [])];
    try {
      return await send(controller.signal);
    } catch (error) {
      if (timedOut) throw new StorageUnavailableError(`the audio storage (${location}) is unavailable: ${doing} got no answer within ${answerTimeoutMs / 1000} s`);
      throw error;
    } finally {
      clearTimeout(timer);
      for (const stop of unfollow) stop();
    }
  };

  /** GetObject with a Range; `signal` (none: the read is never aborted) aborts it, also once the body is streaming. */
  const getRange = async (name: string, start: number, end: number, signal?: AbortSignal): Promise<Readable> => {
    let answer;
    try {
      answer = await answered('reading', (abortSignal) => client.send(new GetObjectCommand({ Bucket: config.bucket, Key: keyOf(name), Range: `bytes=${start}-${end}` }), { abortSignal }), signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof StorageUnavailableError) throw error;
      throw failure(error, 'reading', name);
    }
    const body = answer.Body;
    if (!(body instanceof Readable)) throw new StorageUnavailableError(`the audio storage (${location}) answered without a body`);
    if (!signal) return body;
    // Once the answer is there the signal no longer reaches the request: destroying the body closes its socket.
    const abort = (): void => {
      body.destroy();
    };
    if (signal.aborted) abort();
    else {
      signal.addEventListener('abort', abort, { once: true });
      body.once('close', () => signal.removeEventListener('abort', abort));
    }
    return body;
  };

  const readWhole = async (name: string, start: number, end: number, signal?: AbortSignal): Promise<Buffer> => {
    const body = await getRange(name, start, end, signal);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunk as Buffer);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw failure(error, 'reading', name);
    }
    return Buffer.concat(chunks);
  };
  const cacheBytes = options.cacheBytes ?? DEFAULT_S3_CACHE_BYTES;
  const cache = cacheBytes > 0 ? new BlockCache(cacheBytes) : undefined;

  const headObject = async (name: string): Promise<ObjectVersion & { modified: Date }> => {
    try {
      const head = await answered('looking up', (abortSignal) => client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: keyOf(name) }), { abortSignal }));
      return { etag: head.ETag ?? '', size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      throw failure(error, 'looking up', name);
    }
  };

  /** The whole object, for a local copy: its version from the answer's headers, so the copy is of exactly what was read. */
  const getWhole = async (name: string, signal: AbortSignal): Promise<ObjectDownload> => {
    let answer;
    try {
      answer = await answered('reading', (abortSignal) => client.send(new GetObjectCommand({ Bucket: config.bucket, Key: keyOf(name) }), { abortSignal }), signal);
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      throw failure(error, 'reading', name);
    }
    if (!(answer.Body instanceof Readable)) throw new StorageUnavailableError(`the audio storage (${location}) answered without a body`);
    return { etag: answer.ETag ?? '', size: answer.ContentLength ?? 0, body: answer.Body };
  };

  const copySettings = objectCacheSettings(env);
  const copyBytes = options.objectCacheBytes ?? copySettings.limitBytes;
  const copies = options.objectCacheDir !== undefined && copyBytes > 0
    ? new ObjectCache({ dir: options.objectCacheDir, limitBytes: copyBytes, checkMs: options.objectCacheCheckMs ?? copySettings.checkMs, logger, now, stallMs: answerTimeoutMs, onStale: (name) => cache?.forget(name) })
    : undefined;

  /**
   * The local copy of `name` when there is one the bucket still has (a stale one is dropped);
   * otherwise undefined, and a download of the whole object into the cache is started for the
   * next requests (this one reads the bucket: nobody waits for the download).
   */
  const localCopy = async (name: string): Promise<CachedCopy | undefined> => {
    if (!copies) return undefined;
    const copy = await copies.current(name, () => headObject(name));
    if (!copy) copies.fill(name, (signal) => getWhole(name, signal));
    return copy;
  };

  const source = (name: string): ByteSource => ({
    async read(start, length, signal) {
      const copy = await localCopy(name);
      const local = copy ? await copies!.read(copy, start, length) : undefined;
      if (local) return local;
      if (!cache) return readWhole(name, start, start + length - 1, signal);
      const first = Math.floor(start / CACHE_BLOCK_BYTES);
      const last = Math.floor((start + length - 1) / CACHE_BLOCK_BYTES);
      const parts: Buffer[] = [];
      for (let index = first; index <= last; index++) {
        // The bucket answers a block that runs past the object's end with the bytes there are. A block
        // is loaded without the reader's signal: one reader leaving does not abort it for the others.
        const block = await cache.get(name, index, () => readWhole(name, index * CACHE_BLOCK_BYTES, (index + 1) * CACHE_BLOCK_BYTES - 1));
        if (signal.aborted) throw signal.reason;
        const blockStart = index * CACHE_BLOCK_BYTES;
        // Only the asked-for bytes of each block: a view of one block, or a copy of the range's length.
        parts.push(block.subarray(Math.max(0, start - blockStart), Math.min(block.length, start + length - blockStart)));
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    },
    async open(start, end, signal) {
      const copy = await localCopy(name);
      const local = copy ? await copies!.stream(copy, start, end) : undefined;
      return local ?? getRange(name, start, end, signal);
    },
  });

  /** After `name` was written or deleted through this hub: its local copy (and a download under way) is of another version. */
  const replaced = async (name: string): Promise<void> => {
    cache?.forget(name);
    await copies?.drop(name);
  };

  const storage: AudioStorage = {
    kind: 's3',
    location,
    async putFile(name, sourcePath, contentType) {
      const body = fs.createReadStream(sourcePath);
      const abort = new AbortController();
      const onClose = (): void => abort.abort();
      closing.signal.addEventListener('abort', onClose, { once: true });
      const upload = new Upload({
        abortController: abort,
        client,
        params: { Bucket: config.bucket, Key: keyOf(name), Body: body, ContentType: contentType },
        partSize: UPLOAD_PART_BYTES,
        queueSize: UPLOAD_QUEUE,
        // A failed multipart upload is aborted, so the bucket keeps no parts of it.
        leavePartsOnError: false,
      });
      // An upload whose parts stop going through (no progress for UPLOAD_STALL_FACTOR answer timeouts) is aborted.
      let stalled = false;
      let stall: NodeJS.Timeout | undefined;
      const watch = (): void => {
        clearTimeout(stall);
        stall = setTimeout(() => {
          stalled = true;
          abort.abort();
        }, answerTimeoutMs * UPLOAD_STALL_FACTOR);
      };
      upload.on('httpUploadProgress', watch);
      watch();
      try {
        await upload.done();
      } catch (error) {
        if (stalled) throw new StorageUnavailableError(`the audio storage (${location}) is unavailable: uploading made no progress for ${(answerTimeoutMs * UPLOAD_STALL_FACTOR) / 1000} s`);
        throw failure(error, 'uploading');
      } finally {
        clearTimeout(stall);
        closing.signal.removeEventListener('abort', onClose);
        // A failed upload stops reading mid-file: close the file it was reading.
        body.destroy();
      }
      await replaced(name);
      await fsp.rm(sourcePath, { force: true });
    },
    async putBytes(name, data, contentType) {
      try {
        await answered('uploading', (abortSignal) => client.send(new PutObjectCommand({ Bucket: config.bucket, Key: keyOf(name), Body: data, ContentType: contentType }), { abortSignal }));
      } catch (error) {
        if (error instanceof StorageUnavailableError) throw error;
        throw failure(error, 'uploading');
      }
      await replaced(name);
    },
    async stat(name) {
      const head = await headObject(name);
      return { size: head.size, modified: head.modified };
    },
    read(name, start, length) {
      return readWhole(name, start, start + length - 1);
    },
    rangeBytes: (name) => ({ source: source(name) }),
    async remove(name) {
      // The copy goes first: a bucket that cannot be reached now still leaves no copy to serve.
      await replaced(name);
      try {
        await answered('deleting', (abortSignal) => client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: keyOf(name) }), { abortSignal }));
      } catch (error) {
        if (error instanceof StorageUnavailableError) throw error;
        throw failure(error, 'deleting');
      }
    },
    async removeUnowned(isOwned) {
      const before = now() - OBJECT_SWEEP_GRACE_MS;
      const removed: string[] = [];
      // Copies of objects no record owns (files deleted while this hub was down, or through another instance) are never asked for again.
      await copies?.prune(isOwned);
      try {
        const stale = (await list()).filter((object) => object.modified.getTime() < before && !isOwned(object.name));
        for (const object of stale) {
          await answered('deleting', (abortSignal) => client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: keyOf(object.name) }), { abortSignal }));
          removed.push(object.name);
        }
      } catch (error) {
        // Stopped midway: what is left goes at the next start.
        if (closing.signal.aborted) return removed;
        if (error instanceof StorageUnavailableError) throw error;
        throw failure(error, 'sweeping');
      }
      return removed;
    },
    async close() {
      closing.abort();
      await copies?.close();
      client.destroy();
    },
  };
  if (copies) objectCaches.set(storage, copies);
  return storage;

  /** The library's objects directly under the prefix. */
  async function list(): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await answered('listing', (abortSignal) => client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }), { abortSignal }));
      } catch (error) {
        if (closing.signal.aborted || error instanceof StorageUnavailableError) throw error;
        throw failure(error, 'listing');
      }
      for (const entry of page.Contents ?? []) {
        const name = entry.Key?.slice(config.prefix.length);
        if (name === undefined || !LIBRARY_NAME.test(name)) continue;
        objects.push({ name, size: entry.Size ?? 0, modified: entry.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    logger.debug('listed the audio storage', { location, objects: objects.length });
    return objects;
  }
}
