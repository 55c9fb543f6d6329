import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { config } from './config';
import { HttpError, serviceUnavailable } from '../errors';
import { requestSignal } from './request-scope';
import { urlSigner, type UrlSigner } from './url-signer';

/** get() found an object larger than the caller accepts; it was not read. */
export class ObjectTooLargeError extends Error {
  override name = 'ObjectTooLargeError';
}

export interface StoredObject {
  key: string;
  size: number;
  /** Set by list(); the janitor leaves objects younger than its margins alone. */
  lastModified?: Date;
}

/** What the rest of the code needs from a bucket; tests can hand in another implementation. */
export interface ObjectStore extends UrlSigner {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when it does not exist. Refuses objects above maxBytes without reading them. */
  get(key: string, maxBytes: number): Promise<Buffer | undefined>;
  head(key: string): Promise<StoredObject | undefined>;
  list(prefix: string): Promise<StoredObject[]>;
  deleteMany(keys: string[]): Promise<void>;
  presignPost(key: string, maxBytes: number, expiresIn: number): Promise<{ url: string; fields: Record<string, string> }>;
}

function clientConfig(endpoint: string | undefined): S3ClientConfig {
  const { region, credentials } = config().s3;
  return {
    region,
    credentials,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // MinIO and s3rver reject the SDK's default CRC32 trailer checksums (SDK >= 3.729).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    // requestTimeout only logs a warning unless throwOnRequestTimeout is set: a store that accepts connections
    // but never answers would hang the request. It runs until the response headers, so downloads are not cut;
    // two attempts of 2 s keep a hung store's 503 within a few seconds.
    requestHandler: { connectionTimeout: 2000, requestTimeout: 2000, throwOnRequestTimeout: true },
  };
}

export const OBJECT_CACHE_CONTROL = 'private, max-age=31536000, immutable';

/** S3 clients, one per container: one for calls, one that signs URLs for browsers (S3_PUBLIC_ENDPOINT). */
const client = new S3Client(clientConfig(config().s3.endpoint));
const publicEndpoint = config().s3.publicEndpoint;
const signingClient = publicEndpoint && publicEndpoint !== config().s3.endpoint ? new S3Client(clientConfig(publicEndpoint)) : client;
const bucket = config().s3.bucket;

const isMissing = (error: unknown) => {
  const { name, $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || $metadata?.httpStatusCode === 404;
};

/** Any failure talking to the store is a 503 for the client; the SDK's message stays in the cause. */
const unavailable = (error: unknown) =>
  error instanceof HttpError || error instanceof ObjectTooLargeError ? error : serviceUnavailable('file storage', error);

export const s3Store: ObjectStore = {
  async put(key, body, contentType) {
    try {
      // A key's bytes never change (a new picture gets a new pictureId), so a browser may keep them as long as it
      // holds the URL; presigned URLs change once per signing window (lib/accounts/profiles.ts urlSigningWindow).
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, CacheControl: OBJECT_CACHE_CONTROL }),
        { abortSignal: requestSignal() },
      );
    } catch (error) {
      throw unavailable(error);
    }
  },

  async get(key, maxBytes) {
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: requestSignal() });
      if ((object.ContentLength ?? 0) > maxBytes) {
        object.Body?.transformToWebStream().cancel().catch(() => {});
        throw new ObjectTooLargeError(`${key} is larger than ${maxBytes} bytes`);
      }
      return Buffer.from(await object.Body!.transformToByteArray());
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw unavailable(error);
    }
  },

  async head(key) {
    try {
      const object = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: requestSignal() });
      return { key, size: object.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw unavailable(error);
    }
  },

  async list(prefix) {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const item of page.Contents ?? []) objects.push({ key: item.Key!, size: item.Size ?? 0, lastModified: item.LastModified });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw unavailable(error);
    }
    return objects;
  },

  // Not tied to the request's abort signal: deletes are the clean-up after a failure or a replacement, which must
  // finish even when the client was already answered 503. Gets and puts stop on it (see lib/platform/request-scope.ts).
  async deleteMany(keys) {
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      try {
        const result = await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        if (result.Errors?.length) throw new Error(`could not delete ${result.Errors.length} object(s)`);
      } catch (error) {
        throw unavailable(error);
      }
    }
  },

  // Signed without the SDK (lib/platform/url-signer.ts), so that functions that only show pictures need no S3 client.
  presignGet: urlSigner.presignGet,

  async presignPost(key, maxBytes, expiresIn) {
    return createPresignedPost(signingClient, {
      Bucket: bucket,
      Key: key,
      Conditions: [['content-length-range', 1, maxBytes]],
      Expires: expiresIn,
    });
  },
};

let bucketReady: Promise<void> | undefined;
let defaultAvatarReady: Promise<void> | undefined;

/**
 * Makes sure the bucket exists (private: no policy or ACL is ever set) and, when a renderer is given,
 * that the default avatar is stored. Each runs once per container; a failure lets the next request retry.
 */
export function ensureBucket(defaultAvatar?: DefaultAvatarSource): Promise<void> {
  bucketReady ??= createBucketIfMissing().catch((error) => {
    bucketReady = undefined;
    throw unavailable(error);
  });
  if (!defaultAvatar) return bucketReady;
  defaultAvatarReady ??= bucketReady
    .then(() => storeDefaultAvatar(defaultAvatar))
    .catch((error) => {
      defaultAvatarReady = undefined;
      throw unavailable(error);
    });
  return defaultAvatarReady;
}

/** Objects stored once per bucket: keys named by their owner (lib/pictures/keys.ts names the avatar's). */
export interface DefaultAvatarSource {
  /** Where they all live, listed to find what is missing. */
  prefix: string;
  key(size: number): string;
  sizes: number[];
  render(sizes: number[]): Promise<Map<number, Buffer>>;
}


async function createBucketIfMissing() {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!isMissing(error)) throw error;
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (createError) {
      // Another container may have created it in the meantime.
      const name = (createError as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
    }
  }
}

async function storeDefaultAvatar(defaultAvatar: DefaultAvatarSource) {
  const present = new Set((await s3Store.list(defaultAvatar.prefix)).map((object) => object.key));
  const missing = defaultAvatar.sizes.filter((size) => !present.has(defaultAvatar.key(size)));
  if (missing.length === 0) return;
  const rendered = await defaultAvatar.render(missing);
  await Promise.all([...rendered].map(([size, image]) => s3Store.put(defaultAvatar.key(size), image, 'image/webp')));
}
