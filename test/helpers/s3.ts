import * as fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** One GET the S3 server answered (or stopped answering): what a test asserts about reads from the bucket. */
export interface S3Read {
  /** The object key (bucket name and leading slash removed). */
  key: string;
  /** The Range header sent, if any. */
  range: string | undefined;
  /** Resolves when the server's answer closed: `complete` false when it was cut off before its end (the hub aborted the read). */
  ended: Promise<{ complete: boolean }>;
}

export interface S3Server {
  /**
   * The hub setting (YOTO_OBJECT_STORE_URL / `objectStoreUrl`) for this server's bucket,
   * credentials included: `s3://S3RVER:S3RVER@<bucket>?endpoint=http://127.0.0.1:<port>&region=us-east-1&forcePathStyle=true`.
   */
  url: string;
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** An AWS SDK client on this server, to look into the bucket. */
  client: S3Client;
  /** Every key in the bucket under `prefix` (default all), sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** Calls `listener` for every object GET the server receives from now on; returns a function that stops. */
  onRead(listener: (read: S3Read) => void): () => void;
  /** Stops the server (cutting connections still open) and removes its folder. */
  stop(): Promise<void>;
}

/** s3rver's fixed test account. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';

/**
 * An S3-compatible server (s3rver, from npm) on a free loopback port, storing in a fresh
 * temporary folder, with one empty bucket (`bucket`, default `yoto-audio`).
 */
export async function startS3(options: { bucket?: string } = {}): Promise<S3Server> {
  const bucket = options.bucket ?? 'yoto-audio';
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'yoto-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const readListeners = new Set<(read: S3Read) => void>();
  server.httpServer.on('request', (req: IncomingMessage, res) => {
    if (req.method !== 'GET' || readListeners.size === 0) return;
    const url = new URL(req.url ?? '/', endpoint);
    const prefix = `/${bucket}/`;
    // An object GET: the SDK marks it ?x-id=GetObject; any other parameter is another operation (a listing, an ACL...).
    if (!url.pathname.startsWith(prefix) || [...url.searchParams.keys()].some((key) => key !== 'x-id')) return;
    const ended = new Promise<{ complete: boolean }>((resolve) => res.once('close', () => resolve({ complete: res.writableFinished })));
    const read: S3Read = { key: decodeURIComponent(url.pathname.slice(prefix.length)), range: req.headers.range, ended };
    for (const listener of readListeners) listener(read);
  });
  const url = `s3://${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}@${bucket}?endpoint=${endpoint}&region=${REGION}&forcePathStyle=true`;
  let stopped = false;
  return {
    url,
    endpoint,
    bucket,
    region: REGION,
    credentials: { ...CREDENTIALS },
    client,
    async keys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        keys.push(...(page.Contents ?? []).map((entry) => entry.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    onRead(listener) {
      readListeners.add(listener);
      return () => readListeners.delete(listener);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      const closed = server.close();
      server.httpServer.closeAllConnections();
      await closed;
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
