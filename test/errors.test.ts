import { describe, expect, test } from '@jest/globals';
import { errorCatalogue, HttpError, type ErrorCode } from '../lib/errors';
import { toHttpError } from '../lib/http/endpoint';
import { errorsOf, operations } from '../lib/http/operations';
import httpJsonBodyParser from '@middy/http-json-body-parser';

describe('the error catalogue', () => {
  test('every status the OpenAPI document gives a code is one the catalogue lists for it', () => {
    const mismatches: string[] = [];
    for (const operation of operations) {
      for (const [status, codes] of Object.entries(errorsOf(operation))) {
        for (const code of codes) {
          const statuses: readonly number[] = errorCatalogue[code].statuses;
          if (!statuses.includes(Number(status))) mismatches.push(`${operation.method} ${operation.path}: ${status} ${code}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  test('codes are snake_case and every code but the catch-all route\'s is answered by a documented route', () => {
    const documented = new Set<ErrorCode>(operations.flatMap((operation) => Object.values(errorsOf(operation)).flat()));
    for (const code of Object.keys(errorCatalogue)) expect(code).toMatch(/^[a-z]+(?:_[a-z]+)*$/);
    expect(Object.keys(errorCatalogue).filter((code) => !documented.has(code as ErrorCode))).toEqual(['method_not_allowed']);
  });

  test('Middy parser failures are told apart by status and cause, whatever their message says', () => {
    const parse = (body: string) => {
      const event = { headers: { 'content-type': 'application/json' }, body, isBase64Encoded: false };
      try {
        httpJsonBodyParser().before!({ event, context: {}, response: null, error: null, internal: {} } as never);
      } catch (error) {
        if (error instanceof Error) error.message = 'reworded by a future Middy';
        return toHttpError(error);
      }
      throw new Error('the parser accepted the body');
    };
    expect(parse('{"a":').message).toBe('The body is not valid JSON.');
    expect(parse('{"__proto__":{"admin":true}}').message).toBe('The JSON body contains a forbidden key.');
    expect(parse('{"__proto__":{"admin":true}}')).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  test('anything that is not an HttpError or a Middy parser error is a 500 with a generic message', () => {
    const rendered = toHttpError(new Error('password=hunter2 leaked in a driver message'));
    expect(rendered).toBeInstanceOf(HttpError);
    expect(rendered).toMatchObject({ status: 500, code: 'internal_error' });
    expect(rendered.message).not.toContain('hunter2');
  });
});
