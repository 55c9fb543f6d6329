// The API client: JSON over fetch to this origin. The access token lives only in memory; the refresh
// token in sessionStorage (this tab only, survives a reload), see SECURITY.md.

export interface Picture {
  default: boolean;
  url: string;
  variants: Record<string, string>;
  expiresAt: string;
}

export interface Profile {
  id: string;
  email?: string;
  emailVerified: boolean;
  nickname: string;
  firstName: string | null;
  lastName: string | null;
  bio: string | null;
  githubUrl?: string | null;
  linkedinUrl?: string | null;
  websiteUrl?: string | null;
  role: 'user' | 'manager' | 'admin';
  picture: Picture;
  createdAt: string;
  updatedAt: string;
}

export interface AdminUser extends Profile {
  email: string;
  disabled: boolean;
  lastLoginAt: string | null;
  lockedUntil: string | null;
}

export interface Session {
  id: string;
  createdAt: string;
  lastUsedAt: string | null;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface DirectUpload {
  url: string;
  fields: Record<string, string>;
  key: string;
  expiresIn: number;
  maxBytes: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
    readonly retryAfter?: number,
  ) {
    super(message);
  }
  /** The route is not on this server (an older deploy): the catch-all answered. */
  get missingRoute() {
    return (this.status === 404 || this.status === 405) && (this.code === 'not_found' || this.code === 'method_not_allowed');
  }
}

const REFRESH_KEY = 'portrait.refreshToken';
let accessToken: string | undefined;
let refreshing: Promise<boolean> | undefined;

export const signedIn = () => accessToken !== undefined;
export const hasStoredSession = () => sessionStorage.getItem(REFRESH_KEY) !== null;

export function keepTokens(pair: TokenPair) {
  accessToken = pair.accessToken;
  sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
}

export function forgetTokens() {
  accessToken = undefined;
  sessionStorage.removeItem(REFRESH_KEY);
}

async function toError(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string; details?: Record<string, string> } }
    | undefined;
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  return new ApiError(
    response.status,
    body?.error?.code ?? 'http_error',
    body?.error?.message ?? `The server answered ${response.status}.`,
    body?.error?.details,
    retryAfter,
  );
}

/** A new token pair from the stored refresh token; false (and signed out) when it is no longer valid. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    const response = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
    if (response.ok) {
      keepTokens((await response.json()) as TokenPair);
      return true;
    }
    if (response.status === 401) forgetTokens();
    else throw await toError(response);
    return false;
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

interface CallOptions {
  json?: unknown;
  body?: BodyInit;
  auth?: boolean;
}

/** Calls the API; a Bearer call whose access token expired is refreshed and retried once. */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const send = () => {
    const headers: Record<string, string> = {};
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    if (options.auth && accessToken) headers.authorization = `Bearer ${accessToken}`;
    return fetch(path, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : options.body });
  };
  let response = await send();
  if (response.status === 401 && options.auth && (await refreshSession())) response = await send();
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export interface Progress {
  (fraction: number): void;
}

/** XMLHttpRequest, because fetch reports no upload progress. */
function sendWithProgress(url: string, form: FormData, onProgress: Progress, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; text: string; retryAfter?: number }>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    // Only the API exposes Retry-After; asking the bucket for it would log a CORS refusal.
    const sameOrigin = new URL(url, location.href).origin === location.origin;
    request.addEventListener('load', () =>
      resolve({
        status: request.status,
        text: request.responseText,
        retryAfter: sameOrigin ? Number(request.getResponseHeader('retry-after')) || undefined : undefined,
      }),
    );
    request.addEventListener('error', () => reject(new ApiError(0, 'network_error', 'The upload did not reach the server.')));
    request.send(form);
  });
}

function parseApiAnswer<T>(answer: { status: number; text: string; retryAfter?: number }): T {
  let body: any;
  try {
    body = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    body = undefined;
  }
  if (answer.status >= 200 && answer.status < 300) return body as T;
  throw new ApiError(answer.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `The server answered ${answer.status}.`, body?.error?.details, answer.retryAfter);
}

/** Multipart upload through the API (files up to about 4 MB behind API Gateway). */
export async function uploadThroughApi(file: Blob, onProgress: Progress): Promise<Profile> {
  const form = new FormData();
  form.append('file', file, 'picture');
  const attempt = () => sendWithProgress('/users/me/picture', form, onProgress, accessToken ? { authorization: `Bearer ${accessToken}` } : {});
  let answer = await attempt();
  if (answer.status === 401 && (await refreshSession())) answer = await attempt();
  return parseApiAnswer<Profile>(answer);
}

/** Large files: a presigned POST straight to the bucket, then the API checks and converts the object. */
export async function uploadDirect(file: Blob, onProgress: Progress): Promise<Profile> {
  const target = await call<DirectUpload>('POST', '/users/me/picture/upload-url', { auth: true });
  const form = new FormData();
  for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
  form.append('file', file);
  const answer = await sendWithProgress(target.url, form, onProgress);
  if (answer.status < 200 || answer.status >= 300) {
    throw new ApiError(answer.status, 'upload_failed', answer.status === 400 || answer.status === 413 ? 'The storage refused the file (too large?).' : 'The upload to storage failed.');
  }
  return call<Profile>('POST', '/users/me/picture/confirm', { auth: true, json: { key: target.key } });
}
