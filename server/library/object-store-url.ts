/**
 * YOTO_OBJECT_STORE_URL: where the audio library keeps its bytes when they are
 * not in the data directory.
 *
 *   s3://[ACCESS_KEY_ID:SECRET_ACCESS_KEY@]BUCKET[/PREFIX][?endpoint=URL&region=REGION&forcePathStyle=true|false]
 *
 * - BUCKET: the bucket (it must exist; the hub does not create it).
 * - PREFIX: folder of the keys, default `audio`: objects are `PREFIX/<id>.<ext>` and `PREFIX/<id>.cover`.
 * - endpoint: an S3-compatible server (MinIO, Ceph, Garage...), e.g. http://minio:9000; absent: AWS S3.
 * - region: default AWS_REGION or AWS_DEFAULT_REGION from the environment, else us-east-1.
 * - forcePathStyle: `http://host/BUCKET/key` instead of `http://BUCKET.host/key`; default true
 *   when an endpoint is given (MinIO needs it), false for AWS S3.
 * - credentials: percent-encoded in the URL's user info, or else from the environment as
 *   the AWS SDK reads them (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 *   AWS_PROFILE, an instance or container role).
 */
export interface ObjectStoreConfig {
  bucket: string;
  /** Key prefix ending in '/', e.g. `audio/`. */
  prefix: string;
  endpoint?: string;
  /** Undefined: from the environment, else us-east-1. */
  region?: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class ObjectStoreUrlError extends Error {
  constructor(message: string) {
    super(`YOTO_OBJECT_STORE_URL: ${message}`);
    this.name = 'ObjectStoreUrlError';
  }
}

const EXAMPLE = 's3://my-bucket?endpoint=http://127.0.0.1:9000&region=us-east-1';
const QUERY_KEYS = new Set(['endpoint', 'region', 'forcePathStyle']);
/** S3 bucket naming rules (3 to 63 lower-case letters, digits, dots and hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_PART = /^[A-Za-z0-9!_.*'()-]+$/;

export function parseObjectStoreUrl(value: string): ObjectStoreConfig {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ObjectStoreUrlError(`must be a URL such as ${EXAMPLE}`);
  }
  if (url.protocol !== 's3:') throw new ObjectStoreUrlError(`must start with s3:// (such as ${EXAMPLE}), got "${url.protocol}"`);
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) throw new ObjectStoreUrlError(`"${bucket}" is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)`);
  if (url.port !== '') throw new ObjectStoreUrlError('put the server\'s host and port in the endpoint parameter (s3://bucket?endpoint=http://host:9000), not after the bucket');
  const parts = url.pathname.split('/').filter((part) => part !== '');
  const bad = parts.find((part) => !PREFIX_PART.test(part) || part === '.' || part === '..');
  if (bad !== undefined) throw new ObjectStoreUrlError(`the key prefix may hold letters, digits and !_.*'()- between slashes, got "${bad}"`);
  const prefix = `${(parts.length > 0 ? parts : ['audio']).join('/')}/`;

  for (const key of url.searchParams.keys()) {
    if (!QUERY_KEYS.has(key)) throw new ObjectStoreUrlError(`unknown parameter "${key}" (known: endpoint, region, forcePathStyle)`);
  }
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw new ObjectStoreUrlError(`endpoint must be an http(s) URL such as http://127.0.0.1:9000, got "${endpoint}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ObjectStoreUrlError(`endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  const region = url.searchParams.get('region') ?? undefined;
  if (region !== undefined && !/^[a-z0-9-]{1,64}$/.test(region)) throw new ObjectStoreUrlError(`region must be a name such as eu-west-1, got "${region}"`);
  const pathStyle = url.searchParams.get('forcePathStyle');
  if (pathStyle !== null && pathStyle !== 'true' && pathStyle !== 'false') throw new ObjectStoreUrlError(`forcePathStyle must be true or false, got "${pathStyle}"`);

  let credentials: ObjectStoreConfig['credentials'];
  if (url.username !== '' || url.password !== '') {
    if (url.username === '' || url.password === '') throw new ObjectStoreUrlError('give both the access key id and the secret (s3://KEY_ID:SECRET@bucket), or neither');
    try {
      credentials = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) };
    } catch {
      throw new ObjectStoreUrlError('the credentials are not valid percent-encoding');
    }
  }
  return {
    bucket,
    prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    forcePathStyle: pathStyle === null ? endpoint !== undefined : pathStyle === 'true',
    ...(credentials ? { credentials } : {}),
  };
}
