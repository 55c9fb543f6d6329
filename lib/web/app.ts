import { config } from '../platform/config';
import { escapeHtml } from '../http/pages';
import type { StaticAsset, StaticAssets } from './static-assets';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Origins the browser may fetch pictures from and upload to: the presigning endpoint, or S3 itself. */
export function storageOrigins(): string[] {
  const { publicEndpoint, endpoint, bucket, region } = config().s3;
  const signing = publicEndpoint ?? endpoint;
  if (signing) return [new URL(signing).origin];
  return [`https://${bucket}.s3.${region}.amazonaws.com`, `https://s3.${region}.amazonaws.com`, `https://${bucket}.s3.amazonaws.com`];
}

/** No inline script or style, no eval, nothing from other hosts but the picture store. */
export function appCsp(): string {
  const storage = storageOrigins().join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' blob: data: ${storage}`,
    `connect-src 'self' ${storage}`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Swagger UI sets element styles from script (allowed) and draws some icons as data: URLs; it calls only this API. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const pageHeaders = (csp: string): Record<string, string> => ({
  'content-type': 'text/html; charset=utf-8',
  // The page names the hashed assets of this deploy: always revalidate it.
  'cache-control': 'no-cache',
  'content-security-policy': csp,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
});

const assetUrl = (asset: StaticAsset) => `/assets/${asset.name}`;

export function appPage({ files }: StaticAssets): string {
  // Files past the multipart route's reach go through the direct upload, so the page's limit is that route's.
  const maxBytes = config().pictures.directMaxBytes;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portrait</title>
<link rel="icon" href="${assetUrl(files.favicon)}">
<link rel="stylesheet" href="${assetUrl(files.styles)}">
<script type="module" src="${assetUrl(files.app)}"></script>
</head>
<body data-max-bytes="${escapeHtml(String(maxBytes))}">
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="#/">Portrait</a><nav id="nav" aria-label="Main"></nav></header>
<div id="status" class="status" role="status" aria-live="polite"></div>
<main id="main" tabindex="-1"><noscript>The Portrait web app needs JavaScript. The API itself is described at <a href="/docs">/docs</a>.</noscript></main>
<footer class="foot"><a href="/docs">API reference</a> · <a href="/openapi.json">openapi.json</a></footer>
</body>
</html>`;
}

export function docsPage({ files }: StaticAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portrait API reference</title>
<link rel="icon" href="${assetUrl(files.favicon)}">
<link rel="stylesheet" href="${assetUrl(files.swaggerCss)}">
<script defer src="${assetUrl(files.swaggerJs)}"></script>
<script type="module" src="${assetUrl(files.docs)}"></script>
</head>
<body>
<main id="swagger-ui"><noscript>The reference needs JavaScript; the document itself is <a href="/openapi.json">/openapi.json</a>.</noscript></main>
</body>
</html>`;
}

/** The served asset of a hashed name, as a Lambda response body (gzip when the client takes it). */
export function findAsset(assets: StaticAssets, name: string): StaticAsset | undefined {
  return Object.values(assets.files).find((asset) => asset.name === name);
}

export function assetHeaders(asset: StaticAsset, gzip: boolean): Record<string, string> {
  return {
    'content-type': asset.type,
    'cache-control': IMMUTABLE,
    'x-content-type-options': 'nosniff',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  };
}
