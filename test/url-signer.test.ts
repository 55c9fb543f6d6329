// lib/platform/url-signer.ts signs picture URLs without the AWS SDK; they must be the SDK's URLs exactly, so that
// every S3 that accepts the SDK's presigned GETs (AWS, MinIO, Ceph RGW) accepts ours.
import { describe, expect, test } from '@jest/globals';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createUrlSigner, type SigningCredentials } from '../lib/platform/url-signer';

const signedAt = new Date(Date.UTC(2026, 0, 31, 23, 59, 59));
const keys: SigningCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function sdkUrl(bucket: string, key: string, region: string, credentials: SigningCredentials, endpoint?: string) {
  const client = new S3Client({
    region,
    credentials,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // As lib/platform/storage.ts configures its clients.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 900, signingDate: signedAt });
}

describe('presigned GET URLs without the SDK', () => {
  test.each([
    ['MinIO / s3rver, path style with a port', 'portrait', 'http://127.0.0.1:9000', 'us-east-1', keys],
    ['a public https endpoint', 'portrait-pictures', 'https://files.example.com', 'eu-central-1', keys],
    ['AWS, virtual-hosted, with role credentials', 'portrait-prod-picturebucket-1x2y3z', undefined, 'eu-west-1', { ...keys, sessionToken: 'IQoJb3JpZ2luX2VjE/+abc==' }],
    ['AWS, a dotted bucket name goes path style', 'pictures.example.com', undefined, 'us-east-1', keys],
  ])('%s: the same URL as the SDK', async (_name, bucket, endpoint, region, credentials) => {
    const signer = createUrlSigner({ bucket, endpoint, region, credentials: () => credentials });
    for (const key of ['pictures/0b7c6a52-3f0e-4a7e-9d1e-5b8f2a6c9d01/6f1e2d3c-aaaa-4bbb-8ccc-0123456789ab/200.webp', 'defaults/avatar/64.webp', 'odd names/ä ()!*\'.webp']) {
      expect(await signer.presignGet(key, 900, signedAt)).toBe(await sdkUrl(bucket, key, region, credentials, endpoint));
    }
  });

  test('one signing time gives one URL; another time or key gives another', async () => {
    const signer = createUrlSigner({ bucket: 'portrait', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', credentials: () => keys });
    const url = await signer.presignGet('defaults/avatar/64.webp', 900, signedAt);

    expect(await signer.presignGet('defaults/avatar/64.webp', 900, new Date(signedAt))).toBe(url);
    expect(await signer.presignGet('defaults/avatar/64.webp', 900, new Date(signedAt.getTime() + 1000))).not.toBe(url);
    expect(await signer.presignGet('defaults/avatar/200.webp', 900, signedAt)).not.toBe(url);
  });

  test('credentials are read at each signing (rotated role credentials are picked up)', async () => {
    let current = keys;
    const signer = createUrlSigner({ bucket: 'portrait', region: 'us-east-1', credentials: () => current });
    const before = await signer.presignGet('a.webp', 900, signedAt);
    current = { accessKeyId: 'ASIAROTATED', secretAccessKey: 'another-secret', sessionToken: 'token' };

    const after = await signer.presignGet('a.webp', 900, signedAt);

    expect(after).not.toBe(before);
    expect(after).toBe(await sdkUrl('portrait', 'a.webp', 'us-east-1', current));
  });
});
