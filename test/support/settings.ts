import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { RunningMailCatcher } from '../../scripts/stack/mail';
import type { RunningS3 } from '../../scripts/stack/s3';

/** The settings the app reads, pointed at a test stack; a fresh JWT secret each time. */
export function testSettings(stack: { root: string; databaseUrl: string; s3: RunningS3; mail: RunningMailCatcher; bucket: string }) {
  return {
    DATABASE_URL: stack.databaseUrl,
    S3_ENDPOINT: stack.s3.endpoint,
    S3_PUBLIC_ENDPOINT: stack.s3.endpoint,
    S3_REGION: 'us-east-1',
    S3_BUCKET: stack.bucket,
    S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    JWT_ISSUER: 'portrait-test',
    JWT_AUDIENCE: 'portrait-test-api',
    SMTP_URL: stack.mail.url,
    MAIL_FROM: 'Portrait Test <no-reply@portrait.test>',
    PUBLIC_BASE_URL: 'http://localhost:3000',
    // scrypt N=2^10 instead of 2^15: ~1 ms a hash. test/password-cost.test.ts pins production's.
    PASSWORD_HASH_COST: '10',
    TEST_MAIL_DIR: path.join(stack.root, 'mail'),
    TEST_DATA_DIR: stack.root,
  };
}
