/**
 * Assertions for refused requests: the documented error body and nothing of the machinery behind it.
 */
import { expect } from '@jest/globals';
import type { InvokeResult } from './events';

// What internals look like when they escape: stack frames, SQL, driver, library and S3 vocabulary.
const LEAKS: readonly RegExp[] = [
  /\bat .*\.[cm]?[jt]s:\d+/,
  /\bstack\b/i,
  /node_modules|file:\/\/|\/work\//i,
  /\bselect\s|\binsert\s|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b|\bwhere\s+\w+\s*=/i,
  /\bpg_|postgres|SQLSTATE|duplicate key|violates|relation "/i,
  /\bS3\b|s3rver|NoSuchKey|NoSuchBucket|AccessDenied|amz/i,
  /sharp|vips|libjpeg|libpng|gifload|webpload|Input buffer/i,
  /busboy|middy|zod|jose|nodemailer|ERR_[A-Z_]{3,}|JWS\w+|JWT[A-Z]\w+/,
  /ECONN\w*|ETIMEDOUT|EPIPE/,
  /(?:Type|Range|Syntax|Reference)Error|Unexpected token|JSON\.parse|undefined is not|cannot read propert/i,
];

/** Fails when a response body shows a stack trace, SQL, or a driver, library or S3 message. */
export function expectNoLeak(response: InvokeResult): void {
  const leaked = LEAKS.filter((pattern) => pattern.test(response.body)).map(String);
  expect({ leaked, body: response.body }).toEqual({ leaked: [], body: response.body });
}

/**
 * The request was refused the documented way: the status, `{"error": {"code", "message", details?}}`
 * as JSON, a request id, and no internals. `notEchoing` lists input that must not be reflected.
 */
export function expectRefused(response: InvokeResult, status: number, code: string, notEchoing: string[] = []): void {
  expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status, code });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.headers['x-request-id']).toMatch(/\S/);
  expect(Object.keys(response.json)).toEqual(['error']);
  expect(Object.keys(response.json.error).filter((key) => !['code', 'message', 'details'].includes(key))).toEqual([]);
  expect(response.json.error.message).toEqual(expect.stringMatching(/\S/));
  expectNoLeak(response);
  for (const input of notEchoing) expect(response.body).not.toContain(input);
}
