/**
 * The `--blobs` setting (docs/operating.md, "Blob storage"): where the server keeps attachment
 * blobs. `fs` (or nothing) is the file system under the data dir; an S3 address is
 *
 *   s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION[&forcePathStyle=false]
 *                        [&accessKeyId=…&secretAccessKey=…[&sessionToken=…]]
 *
 * Credentials come from the query when given, otherwise from the AWS SDK's standard chain
 * (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, instance roles). This module only
 * parses: it does not load the AWS SDK, so a server without S3 never pays for it in memory.
 */

/** A parsed S3 blob location. */
export interface S3BlobLocation {
  readonly bucket: string;
  /** Key prefix every object of the store goes under: '' or ending in '/'. */
  readonly prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph, R2…); undefined for AWS itself. */
  readonly endpoint: string | undefined;
  readonly region: string;
  /** Path-style addressing (`endpoint/bucket/key`): the default with an explicit endpoint. */
  readonly forcePathStyle: boolean;
  /** Static credentials from the address; undefined: the SDK's default chain. */
  readonly credentials:
    | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
    | undefined;
  /** The address without credentials, for logs. */
  readonly display: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KNOWN = new Set(['endpoint', 'region', 'forcePathStyle', 'accessKeyId', 'secretAccessKey', 'sessionToken']);

/** An unusable `--blobs` value; the message says what is wrong (never a credential). */
export class BlobLocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobLocationError';
  }
}

/** True when `value` names S3 storage (`s3://…`). */
export function isS3BlobLocation(value: string | undefined): value is string {
  return value !== undefined && /^s3:\/\//i.test(value);
}

/**
 * Parses an `s3://` address; `env` supplies `AWS_REGION`/`AWS_DEFAULT_REGION` when the address
 * has no region. Throws `BlobLocationError`.
 */
export function parseS3BlobLocation(value: string, env: NodeJS.ProcessEnv = process.env): S3BlobLocation {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BlobLocationError('--blobs takes fs or s3://BUCKET[/PREFIX]?endpoint=…&region=…');
  }
  if (url.protocol !== 's3:') throw new BlobLocationError('--blobs takes fs or an s3:// address');
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) throw new BlobLocationError('--blobs: the bucket name is not a valid S3 bucket name');
  if (url.username !== '' || url.password !== '' || url.port !== '') {
    throw new BlobLocationError('--blobs: put credentials in accessKeyId/secretAccessKey (or the AWS_* variables)');
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.has(key)) throw new BlobLocationError(`--blobs: unknown setting ${JSON.stringify(key)}`);
  }
  const path = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (path.split('/').some((s) => s === '.' || s === '..') || !/^[A-Za-z0-9._/-]*$/.test(path)) {
    throw new BlobLocationError('--blobs: the key prefix takes letters, digits, . _ - and /, without . or .. segments');
  }
  const q = url.searchParams;
  const endpoint = q.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let e: URL;
    try {
      e = new URL(endpoint);
    } catch {
      throw new BlobLocationError('--blobs: endpoint must be an http:// or https:// URL');
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') {
      throw new BlobLocationError('--blobs: endpoint must be an http:// or https:// URL');
    }
  }
  const region = q.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const pathStyle = q.get('forcePathStyle');
  if (pathStyle !== null && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new BlobLocationError('--blobs: forcePathStyle is true or false');
  }
  const accessKeyId = q.get('accessKeyId');
  const secretAccessKey = q.get('secretAccessKey');
  if ((accessKeyId === null) !== (secretAccessKey === null)) {
    throw new BlobLocationError('--blobs: accessKeyId and secretAccessKey go together');
  }
  const sessionToken = q.get('sessionToken');
  const prefix = path === '' ? '' : `${path}/`;
  return {
    bucket,
    prefix,
    endpoint,
    region,
    forcePathStyle: pathStyle === null ? endpoint !== undefined : pathStyle === 'true',
    credentials:
      accessKeyId === null || secretAccessKey === null
        ? undefined
        : { accessKeyId, secretAccessKey, ...(sessionToken === null ? {} : { sessionToken }) },
    display: `s3://${bucket}/${prefix}${endpoint === undefined ? '' : ` at ${endpoint}`}`,
  };
}
