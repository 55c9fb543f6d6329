/**
 * Opaque keyset cursors: the sort key of the last row of a page, base64url JSON. A cursor names a
 * position, not an offset, so rows inserted or deleted between pages never shift the next page.
 */
import * as z from 'zod';

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** A zod field that turns a cursor string into its key, or fails validation. */
export function cursorField<T>(key: z.ZodType<T>) {
  return z
    .string({ error: 'must be a string' })
    .max(200, 'is not a cursor of this list')
    .transform((value, context) => {
      try {
        const parsed = key.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
        if (parsed.success) return parsed.data;
      } catch {
        // fall through
      }
      context.addIssue({ code: 'custom', message: 'is not a cursor of this list' });
      return z.NEVER;
    });
}
