/**
 * Presigned S3 GET URLs (SigV4, query string) with node:crypto alone, so that the functions that only
 * show pictures (every profile answer, the auth functions among them) carry no AWS SDK: the SDK's client
 * and presigner are ~400 kB of every bundle and most of its import time. The URLs are byte for byte the
 * SDK's (test/url-signer.test.ts compares them), path-style when an endpoint is set, virtual-hosted on AWS.
 */
import { createHash, createHmac } from 'node:crypto';
import { config } from './config';

export interface UrlSigner {
  /** A GET URL valid for expiresIn seconds from signedAt (default now); one signedAt gives one URL. */
  presignGet(key: string, expiresIn: number, signedAt?: Date): Promise<string>;
}

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface UrlSignerOptions {
  region: string;
  bucket: string;
  /** S3_PUBLIC_ENDPOINT or S3_ENDPOINT; unset means AWS S3. */
  endpoint?: string;
  /** Read at each signing: Lambda's role credentials come from its environment. */
  credentials: () => SigningCredentials;
}

// RFC 3986 unreserved characters stay, everything else is percent-encoded (SigV4's UriEncode).
const uriEncode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();
// Virtual-hosted style needs a name that is a single DNS label (no dots, for TLS), as the SDK decides.
const isVirtualHostable = (bucket: string) => /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes('--');

export function createUrlSigner(options: UrlSignerOptions): UrlSigner {
  const { region, bucket } = options;
  let origin: string;
  let pathPrefix: string;
  if (options.endpoint) {
    origin = new URL(options.endpoint).origin;
    pathPrefix = `/${uriEncode(bucket)}`;
  } else if (isVirtualHostable(bucket)) {
    origin = `https://${bucket}.s3.${region}.amazonaws.com`;
    pathPrefix = '';
  } else {
    origin = `https://s3.${region}.amazonaws.com`;
    pathPrefix = `/${uriEncode(bucket)}`;
  }
  const host = new URL(origin).host;
  const signingKeys = new Map<string, Buffer>();

  return {
    async presignGet(key, expiresIn, signedAt = new Date()) {
      const credentials = options.credentials();
      const amzDate = signedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
      const day = amzDate.slice(0, 8);
      const scope = `${day}/${region}/s3/aws4_request`;
      const path = `${pathPrefix}/${key.split('/').map(uriEncode).join('/')}`;
      const query: [string, string][] = [
        ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
        ['X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'],
        ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
        ['X-Amz-Date', amzDate],
        ['X-Amz-Expires', String(expiresIn)],
        ...(credentials.sessionToken ? ([['X-Amz-Security-Token', credentials.sessionToken]] as [string, string][]) : []),
        ['X-Amz-SignedHeaders', 'host'],
        ['x-id', 'GetObject'],
      ];
      const canonicalQuery = query.map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`).sort().join('&');
      const canonicalRequest = ['GET', path, canonicalQuery, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
      const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
      // The signing key depends on the secret and the day only: derive it once a day, not per URL.
      const cacheKey = `${credentials.secretAccessKey}\n${day}`;
      let signingKey = signingKeys.get(cacheKey);
      if (!signingKey) {
        signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 's3'), 'aws4_request');
        signingKeys.clear();
        signingKeys.set(cacheKey, signingKey);
      }
      const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
      const signed = [...query.slice(0, -2), ['X-Amz-Signature', signature], ...query.slice(-2)] as [string, string][];
      return `${origin}${path}?${signed.map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`).join('&')}`;
    },
  };
}

/**
 * The S3 keys from the settings, or else the credentials Lambda puts in every function's environment
 * (the function role's, with a session token): the same ones the SDK's default chain finds first there.
 */
function environmentCredentials(): SigningCredentials {
  const configured = config().s3.credentials;
  if (configured) return configured;
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN } = process.env;
  if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) {
    throw new Error('No credentials to sign picture URLs: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or run where AWS_ACCESS_KEY_ID is set (Lambda)');
  }
  return { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY, sessionToken: AWS_SESSION_TOKEN };
}

/** Signs against S3_PUBLIC_ENDPOINT when set (a browser cannot reach `minio:9000`). One per container. */
export const urlSigner: UrlSigner = createUrlSigner({
  region: config().s3.region,
  bucket: config().s3.bucket,
  endpoint: config().s3.publicEndpoint ?? config().s3.endpoint,
  credentials: environmentCredentials,
});
