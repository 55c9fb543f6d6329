/**
 * Multipart framing desync (issue 8, item 3): a Content-Type whose boundary one reader takes one way and
 * another reader another way (RFC 2231 `boundary*=`, backslash escapes, a repeated parameter) let busboy parse a
 * boundary the framing check had not validated; busboy then threw outside the request ("Part terminated early")
 * and killed the process, or waited for the 29 s timeout. One parser now decides boundary and framing; every
 * malformed body is a 400 invalid_multipart within a second, and nothing else is thrown.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { handler as uploadPicture } from '../functions/upload-picture';
import { HttpError } from '../lib/errors';
import { parseMultipart, parseParameters } from '../lib/http/multipart';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fx from '../scripts/support/images';
import { multipartBody } from '../scripts/support/multipart';

let user: TestUser;
let jpeg: Buffer;
beforeAll(async () => {
  [user, jpeg] = await Promise.all([createVerifiedUser(), fx.smallJpeg(64, 48)]);
});

const A = 'BoundaryAaaaaaaaaaaaa';
const B = 'BoundaryBbbbbbbbbbbbb';
const formFramedBy = (boundary: string, options: { truncateTo?: number; omitClosingDelimiter?: boolean } = {}) =>
  multipartBody([{ name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', content: jpeg }], { boundary, ...options }).body;

async function uploadWith(contentType: string, body: Buffer) {
  const started = performance.now();
  const response = await invoke(uploadPicture, {
    method: 'POST',
    route: '/users/me/picture',
    bearer: user.accessToken,
    body,
    headers: { 'content-type': contentType },
  });
  return { response, elapsed: performance.now() - started };
}

describe('a Content-Type that two readers could read differently is 400 invalid_multipart, at once', () => {
  const ambiguous: [string, string][] = [
    ['an RFC 2231 boundary*= next to a plain one', `multipart/form-data; boundary*=utf-8''${B}; boundary=${A}`],
    ['an RFC 2231 boundary*= alone', `multipart/form-data; boundary*=utf-8''${B}`],
    ['a plain boundary then an RFC 2231 one', `multipart/form-data; boundary=${A}; boundary*=utf-8''${B}`],
    ['a repeated boundary', `multipart/form-data; boundary=${A}; boundary=${B}`],
    ['a repeated boundary in other case', `multipart/form-data; BOUNDARY=${A}; boundary="${B}"`],
    ['a backslash escape in the quoted boundary', `multipart/form-data; boundary="${A}\\"; boundary=${B}"`],
    ['a backslash inside the quoted boundary', `multipart/form-data; boundary="Bound\\ary"`],
    ['an unterminated quoted boundary', `multipart/form-data; boundary="${A}`],
    ['garbage between parameters', `multipart/form-data; boundary=${A} junk; charset=utf-8`],
  ];
  for (const [name, contentType] of ambiguous) {
    for (const framedBy of [A, B]) {
      test(`${name}, body framed by ${framedBy === A ? 'the first' : 'the second'} boundary`, async () => {
        const { response, elapsed } = await uploadWith(contentType, formFramedBy(framedBy));
        expect(response.status).toBe(400);
        expect(response.json.error.code).toBe('invalid_multipart');
        expect(elapsed).toBeLessThan(1000);
      });
    }
  }

  test('a body cut off inside the file under each of these is 400 too (busboy crashed the process on it)', async () => {
    for (const [, contentType] of ambiguous) {
      const { response } = await uploadWith(contentType, formFramedBy(B, { truncateTo: 0.6 }));
      expect(response.status).toBe(400);
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // a late stream error would surface here
  });
});

test('well-formed parameter lists still parse: quoted, bare, no space, trailing semicolon, other parameters', () => {
  expect(parseParameters('; boundary="a b:c"', { escapes: 'refuse' })?.get('boundary')).toBe('a b:c');
  expect(parseParameters(';boundary=abc+d_e.f', { escapes: 'refuse' })?.get('boundary')).toBe('abc+d_e.f');
  expect(parseParameters('; charset=utf-8; boundary=x;', { escapes: 'refuse' })?.get('boundary')).toBe('x');
  // Browsers send filenames with raw backslashes; Content-Disposition reads them literally.
  expect(parseParameters('; name="file"; filename="C:\\a.jpg"', { escapes: 'literal' })?.get('filename')).toBe('C:\\a.jpg');
  expect(parseParameters('; name="file"; name="other"', { escapes: 'literal' })).toBeUndefined();
  expect(parseParameters("; name*=utf-8''file", { escapes: 'literal' })).toBeUndefined();
});

describe('no body makes the parser throw anything but a 400 or 413, or take long', () => {
  const tooLarge = () => new HttpError(413, 'file_too_large', 'too large');
  const expectParsedOrRefused = (body: Buffer) => {
    try {
      parseMultipart(body, A, 5 * 1024 * 1024, tooLarge);
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      expect([400, 413]).toContain((error as HttpError).status);
    }
  };

  test('every truncation of a form', () => {
    const body = formFramedBy(A);
    const started = performance.now();
    for (let length = 0; length <= body.length; length += 1) expectParsedOrRefused(body.subarray(0, length));
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('random byte flips and CR/LF/dash insertions', () => {
    const body = formFramedBy(A);
    let seed = 42;
    const random = (below: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % below);
    for (let round = 0; round < 2000; round += 1) {
      const mutated = Buffer.from(body);
      for (let flips = 0; flips < 3; flips += 1) mutated[random(mutated.length)] = [0x0d, 0x0a, 0x2d, random(256)][random(4)]!;
      expectParsedOrRefused(mutated);
    }
  });

  test('a megabyte of delimiters without header blocks', () => {
    const started = performance.now();
    expectParsedOrRefused(Buffer.from(`--${A}\r\n`.repeat(40_000)));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('how many parts a form may have', () => {
  const formWith = (textFields: number) =>
    multipartBody(
      [...Array.from({ length: textFields }, (_, index) => ({ name: `f${index}`, value: 'x' })), { name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', content: jpeg }],
      { boundary: A },
    ).body;

  test('the file after 20 text fields (21 parts) is 400 invalid_multipart naming the limit, not missing_file', async () => {
    const { response } = await uploadWith(`multipart/form-data; boundary=${A}`, formWith(20));
    expect({ status: response.status, code: response.json.error.code }).toEqual({ status: 400, code: 'invalid_multipart' });
    expect(response.json.error.message).toMatch(/more than 20 parts/);
  });

  test('the file after 15 text fields (16 parts) uploads', async () => {
    const { response } = await uploadWith(`multipart/form-data; boundary=${A}`, formWith(15));
    expect(response.status).toBe(200);
  });
});
