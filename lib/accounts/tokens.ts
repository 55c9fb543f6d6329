import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { config } from '../platform/config';
import { HttpError, unauthorized } from '../errors';

export type Role = 'user' | 'manager' | 'admin';
export const roles: readonly Role[] = ['user', 'manager', 'admin'];

export interface AccessClaims {
  userId: string;
  role: Role;
  /** The session (refresh-token family) the token was issued for: its `sid` claim. */
  sessionId: string;
}

/** A verified token's claims before the session check: also when it was issued. */
export type VerifiedAccessToken = AccessClaims & { issuedAt: number };

const algorithm = 'HS256';
/** Anything longer is not one of our tokens; refuse it before any crypto. */
const MAX_JWT_LENGTH = 2048;
const ACCESS_TOKEN_TYPE = 'at+jwt';
/** How far the clocks of the containers that sign and verify tokens may disagree. */
const MAX_CLOCK_SKEW_SECONDS = 60;

export async function signAccessToken({ userId, role, sessionId }: AccessClaims): Promise<string> {
  const { secret, issuer, audience, accessTokenTtl } = config().jwt;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role, sid: sessionId })
    .setProtectedHeader({ alg: algorithm, typ: ACCESS_TOKEN_TYPE })
    .setSubject(userId)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + accessTokenTtl)
    .setJti(randomUUID())
    .sign(secret);
}

/** Verifies an access token: HS256 only, our issuer and audience, exp and sub required. Any failure is 401. */
export async function verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
  const invalid = () => unauthorized('The access token is invalid: log in again.', 'The access token is invalid');
  if (token.length > MAX_JWT_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  const { secret, issuer, audience } = config().jwt;
  try {
    // Key material or key references in the header are never honoured; refuse tokens that carry them.
    const header = decodeProtectedHeader(token);
    if (header.typ !== ACCESS_TOKEN_TYPE || 'jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header || 'kid' in header) {
      throw invalid();
    }
    const { payload } = await jwtVerify(token, secret, {
      algorithms: [algorithm],
      issuer,
      audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    });
    const role = payload.role as Role;
    const sid = payload.sid;
    if (typeof payload.sub !== 'string' || !isUuid(payload.sub) || !roles.includes(role)) throw invalid();
    if (typeof sid !== 'string' || !isUuid(sid)) throw invalid();
    // We sign with iat = now: a token "issued" later than now (beyond clock skew) is not one of ours.
    if (payload.iat! > Math.floor(Date.now() / 1000) + MAX_CLOCK_SKEW_SECONDS) throw invalid();
    return { userId: payload.sub.toLowerCase(), role, sessionId: sid.toLowerCase(), issuedAt: payload.iat! };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (error instanceof joseErrors.JWTExpired) {
      throw unauthorized('The access token has expired: get a new one with POST /auth/refresh.', 'The access token expired');
    }
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError || error instanceof SyntaxError) throw invalid();
    throw error;
  }
}

/** Reads `Authorization: Bearer <jwt>`; absent or malformed is 401. */
export async function authenticate(headers: Record<string, string | undefined>): Promise<VerifiedAccessToken> {
  const header = headers.authorization;
  const match = header ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
  if (!match?.[1]) throw unauthorized('Send an access token as "Authorization: Bearer <token>".');
  return verifyAccessToken(match[1]);
}

/** Opaque tokens (refresh, verification): 32 random bytes, base64url; only their SHA-256 is stored. */
export function newOpaqueToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashOpaqueToken(token) };
}

export function hashOpaqueToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** 32 bytes base64url is exactly 43 characters; anything else cannot be ours. */
export const opaqueTokenPattern = /^[A-Za-z0-9_-]{43}$/;

export const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
