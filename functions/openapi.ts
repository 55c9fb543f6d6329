import { endpoint } from '../lib/http/endpoint';
import { buildOpenApiDocument, serializeDocument } from '../lib/ops/openapi';

// Built once per container from the zod schemas of lib/http/operations.ts.
const served = serializeDocument(buildOpenApiDocument());

// GET /openapi.json — cacheable, revalidated by ETag.
export const handler = endpoint({}, async ({ headers }) => {
  const cacheHeaders = { etag: served.etag, 'cache-control': 'public, max-age=300, must-revalidate' };
  const known = (headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (known.includes(served.etag) || known.includes('*')) return { statusCode: 304, headers: cacheHeaders };
  return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8', ...cacheHeaders }, body: served.body };
});
