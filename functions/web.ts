import { gunzipSync } from 'node:zlib';
import assets from 'portrait:static-assets';
import { notFound } from '../lib/errors';
import { endpoint } from '../lib/http/endpoint';
import { appCsp, appPage, assetHeaders, DOCS_CSP, docsPage, findAsset, pageHeaders } from '../lib/web/app';
import type { StaticAsset } from '../lib/web/static-assets';

const app = appPage(assets);
const docs = docsPage(assets);
const csp = appCsp();
const unzipped = new Map<string, string>();
const plainBody = (asset: StaticAsset) => {
  if (!unzipped.has(asset.name)) unzipped.set(asset.name, gunzipSync(Buffer.from(asset.gzip, 'base64')).toString('base64'));
  return unzipped.get(asset.name)!;
};

// GET / (the web app), GET /docs (the API reference) and GET /assets/{file} (their hashed, immutable files).
export const handler = endpoint({}, async ({ event, pathParameters, headers }) => {
  if (event.rawPath === '/') return { statusCode: 200, headers: pageHeaders(csp), body: app };
  if (event.rawPath === '/docs') return { statusCode: 200, headers: pageHeaders(DOCS_CSP), body: docs };
  const asset = findAsset(assets, pathParameters.file ?? '');
  if (!asset) throw notFound('No such file.');
  const gzip = /\bgzip\b/.test(headers['accept-encoding'] ?? '');
  return { statusCode: 200, headers: assetHeaders(asset, gzip), body: gzip ? asset.gzip : plainBody(asset), isBase64Encoded: true };
});
