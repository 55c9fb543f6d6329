import * as z from 'zod';
import * as reply from './response-schemas';
import type { ErrorCode } from '../errors';
import {
  adminUserChangesBody,
  auditQuery,
  changeEmailBody,
  changePasswordBody,
  deleteAccountBody,
  listUsersQuery,
  emailBody,
  resetPasswordBody,
  loginBody,
  logoutBody,
  pictureKeyBody,
  pictureSizeQuery,
  profileChangesBody,
  refreshBody,
  registerBody,
  tokenBody,
  verifyEmailBody,
} from './schemas';

/**
 * Every HTTP route of serverless.yml, one entry each, next to the schemas it reads and answers with.
 * lib/ops/openapi.ts turns this list into GET /openapi.json; test/openapi.test.ts fails when serverless.yml
 * and this list disagree, and the tests validate every response they receive against the document.
 *
 * Adding a route: add its `httpApi` event to serverless.yml and an entry here with its request schemas
 * (the same zod objects the handler passes to `endpoint`), its success replies and the error codes of
 * each status it can answer. Errors every route shares (400/413/415 of a JSON body, 401 of a Bearer
 * route, 500, 503) are added by `shared errors` below, so list only the route's own.
 */
export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface Reply {
  description: string;
  /** A JSON body. */
  json?: z.ZodType;
  /** An HTML page (the pages of the mailed links). */
  html?: boolean;
  /** Another body type, e.g. text/css for static assets. */
  media?: string[];
  /** A redirect: the answer carries `Location`. */
  redirect?: boolean;
  /** Extra response headers, name → description. */
  headers?: Record<string, string>;
}

export interface Operation {
  method: Method;
  /** As in serverless.yml: /users/{id}. */
  path: string;
  operationId: string;
  tag: 'auth' | 'profile' | 'pictures' | 'sessions' | 'admin' | 'service';
  summary: string;
  description?: string;
  /** Bearer: needs an access token. */
  auth?: 'bearer';
  /** A JSON body (form: also an HTML form post), or a multipart upload. */
  body?: { schema: z.ZodType; form?: boolean; required?: boolean } | { multipart: true };
  query?: z.ZodObject;
  /** Success (and redirect) answers by status. */
  replies: Record<number, Reply>;
  /** Status → the error codes this route answers with it (besides the shared ones). */
  errors?: Record<number, ErrorCode[]>;
  /** Error answers also come as an HTML page (form posts of the mailed-link pages). */
  htmlErrors?: boolean;
}

const profileReply: Reply = { description: 'The profile.', json: reply.profile };
const tokensReply: Reply = { description: 'A token pair.', json: reply.tokenPair };
const noContent: Reply = { description: 'Done; no body.' };
const page: Reply = { description: 'An HTML page.', html: true };

const pictureErrors: Record<number, ErrorCode[]> = {
  400: ['missing_file', 'invalid_multipart'],
  403: ['forbidden'],
  404: ['not_found'],
  413: ['file_too_large'],
  415: ['unsupported_media_type'],
  422: ['invalid_image', 'image_too_large'],
};

export const operations: Operation[] = [
  {
    method: 'POST',
    path: '/auth/register',
    operationId: 'register',
    tag: 'auth',
    summary: 'Create an account',
    description: 'The same 202 for new and known emails alike; the mailbox gets a confirmation link (or an "account exists" notice).',
    body: { schema: registerBody },
    replies: { 202: { description: 'Check the inbox.', json: reply.message } },
  },
  {
    method: 'GET',
    path: '/auth/verify-email',
    operationId: 'showVerifyEmailPage',
    tag: 'auth',
    summary: 'The page of the mailed confirmation link',
    description: 'Shows a button that POSTs the token; the GET itself changes nothing, so link scanners cannot use the token up.',
    query: z.object({ token: z.string().optional() }),
    replies: { 200: page, 400: { description: 'The link is incomplete.', html: true } },
  },
  {
    method: 'POST',
    path: '/auth/verify-email',
    operationId: 'verifyEmail',
    tag: 'auth',
    summary: 'Confirm an email address',
    description:
      'Sets the password given here (and the profile of the sign-up it belongs to); without one, the only sign-up of the address. ' +
      'When several sign-ups used the address, the password is required (400 password_required). Voids every other link of the account.',
    body: { schema: verifyEmailBody, form: true },
    replies: {
      200: { description: 'Confirmed: the user (JSON), or a success page for the form post.', json: reply.verifiedUser, html: true },
      303: { description: 'Form post with VERIFY_REDIRECT_URL set.', redirect: true },
    },
    errors: { 400: ['invalid_token', 'password_required', 'validation_failed'] },
    htmlErrors: true,
  },
  {
    method: 'POST',
    path: '/auth/resend-verification',
    operationId: 'resendVerification',
    tag: 'auth',
    summary: 'Send the confirmation mail again',
    description: 'JSON, or the form of the verify-email error pages (answered with a page).',
    body: { schema: emailBody, form: true },
    replies: { 202: { description: 'Always the same answer (a page for the form post).', json: reply.message, html: true } },
  },
  {
    method: 'POST',
    path: '/auth/login',
    operationId: 'login',
    tag: 'auth',
    summary: 'Sign in',
    body: { schema: loginBody },
    replies: { 200: tokensReply },
    errors: { 401: ['invalid_credentials'], 403: ['email_not_verified', 'account_disabled'], 429: ['too_many_attempts'] },
  },
  {
    method: 'POST',
    path: '/auth/refresh',
    operationId: 'refresh',
    tag: 'auth',
    summary: 'Rotate the refresh token',
    body: { schema: refreshBody },
    replies: { 200: tokensReply },
    errors: { 401: ['invalid_token'] },
  },
  {
    method: 'POST',
    path: '/auth/logout',
    operationId: 'logout',
    tag: 'auth',
    summary: 'End the session of a refresh token',
    body: { schema: logoutBody },
    replies: { 204: noContent },
  },
  {
    method: 'GET',
    path: '/users/me',
    operationId: 'getMyProfile',
    tag: 'profile',
    summary: 'Your profile',
    auth: 'bearer',
    replies: { 200: profileReply },
  },
  {
    method: 'GET',
    path: '/users/{id}',
    operationId: 'getProfile',
    tag: 'profile',
    summary: "A user's profile",
    description: 'The email only for yourself and for admins.',
    auth: 'bearer',
    replies: { 200: profileReply },
    errors: { 404: ['not_found'] },
  },
  {
    method: 'PATCH',
    path: '/users/me',
    operationId: 'updateMyProfile',
    tag: 'profile',
    summary: 'Edit your profile',
    description: 'Send only the fields to change; an empty string clears an optional text field.',
    auth: 'bearer',
    body: { schema: profileChangesBody },
    replies: { 200: profileReply },
    errors: { 409: ['nickname_taken'] },
  },
  {
    method: 'POST',
    path: '/users/me/picture',
    operationId: 'uploadMyPicture',
    tag: 'pictures',
    summary: 'Upload your picture (multipart, field `file`)',
    description: 'JPEG, PNG, GIF, WebP or AVIF, decided by the bytes (HEIC is 415 with how to send JPEG instead). Behind API Gateway up to about 4 MB; larger files go through upload-url.',
    auth: 'bearer',
    body: { multipart: true },
    replies: { 200: profileReply },
    errors: pictureErrors,
  },
  {
    method: 'POST',
    path: '/users/{id}/picture',
    operationId: 'uploadPicture',
    tag: 'pictures',
    summary: "Upload another user's picture (managers and admins)",
    auth: 'bearer',
    body: { multipart: true },
    replies: { 200: profileReply },
    errors: pictureErrors,
  },
  {
    method: 'DELETE',
    path: '/users/me/picture',
    operationId: 'deleteMyPicture',
    tag: 'pictures',
    summary: 'Back to the default avatar',
    auth: 'bearer',
    replies: { 200: profileReply },
  },
  {
    method: 'GET',
    path: '/users/me/picture',
    operationId: 'getMyPicture',
    tag: 'pictures',
    summary: 'Redirect to your picture',
    description: 'The same 302 as `GET /users/{id}/picture`, for the caller of the token.',
    auth: 'bearer',
    query: pictureSizeQuery([64, 200, 512]),
    replies: { 302: { description: 'To the image.', redirect: true } },
    errors: { 400: ['validation_failed'] },
  },
  {
    method: 'GET',
    path: '/users/{id}/picture',
    operationId: 'getPicture',
    tag: 'pictures',
    summary: "Redirect to a user's picture",
    description: 'A 302 to a presigned URL of the picture (the default avatar when there is none). Usable as an `<img src>`.',
    query: pictureSizeQuery([64, 200, 512]),
    replies: { 302: { description: 'To the image.', redirect: true } },
    errors: { 400: ['validation_failed'], 404: ['not_found'] },
  },
  {
    method: 'POST',
    path: '/users/me/picture/upload-url',
    operationId: 'createPictureUpload',
    tag: 'pictures',
    summary: 'A presigned POST straight to the bucket',
    description: 'For files up to PICTURE_DIRECT_MAX_BYTES (20 MiB by default, `maxBytes` in the answer); then call /users/me/picture/confirm with the key.',
    auth: 'bearer',
    replies: { 200: { description: 'Where and how to upload.', json: reply.directUpload } },
  },
  {
    method: 'POST',
    path: '/users/me/picture/confirm',
    operationId: 'confirmPictureUpload',
    tag: 'pictures',
    summary: 'Use the uploaded file as your picture',
    auth: 'bearer',
    body: { schema: pictureKeyBody },
    replies: { 200: profileReply },
    errors: { ...pictureErrors, 400: ['missing_file', 'validation_failed'] },
  },
  {
    method: 'GET',
    path: '/health',
    operationId: 'health',
    tag: 'service',
    summary: 'Are database, storage and mail reachable?',
    description: 'Each check has a 2 s timeout. 503 names the failing check.',
    replies: {
      200: { description: 'Everything answers.', json: reply.health },
      503: { description: 'At least one check failed.', json: reply.healthFailing, headers: { 'retry-after': 'Seconds to wait.' } },
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'service',
    summary: 'This document (OpenAPI 3.1)',
    description: 'Cacheable; send If-None-Match with the ETag to get a 304.',
    replies: {
      200: { description: 'The document.', json: z.looseObject({ openapi: z.string() }), headers: { etag: 'Strong ETag of the document.' } },
      304: { description: 'Not modified.', headers: { etag: 'Strong ETag of the document.' } },
    },
  },
  {
    method: 'GET',
    path: '/docs',
    operationId: 'apiReference',
    tag: 'service',
    summary: 'The interactive API reference (Swagger UI) over /openapi.json',
    replies: { 200: page },
  },
  {
    method: 'GET',
    path: '/',
    operationId: 'webApp',
    tag: 'service',
    summary: 'The web app',
    replies: { 200: page },
  },
  {
    method: 'GET',
    path: '/assets/{file}',
    operationId: 'staticAsset',
    tag: 'service',
    summary: 'A file of the web app or the reference (content-hashed name, cached as immutable)',
    replies: { 200: { description: 'The file.', media: ['text/javascript', 'text/css', 'image/png'] } },
    errors: { 404: ['not_found'] },
  },
  {
    method: 'DELETE',
    path: '/users/{id}/picture',
    operationId: 'deletePicture',
    tag: 'pictures',
    summary: "Remove a user's picture (managers and admins for others)",
    auth: 'bearer',
    replies: { 200: profileReply },
    errors: { 403: ['forbidden'], 404: ['not_found'] },
  },
  // Administration (issue 11); the rules are lib/admin/policy.ts.
  {
    method: 'GET',
    path: '/admin/users',
    operationId: 'listUsers',
    tag: 'admin',
    summary: 'Users, newest first (managers and admins)',
    auth: 'bearer',
    query: listUsersQuery,
    replies: { 200: { description: 'One page.', json: reply.adminUserList } },
    errors: { 403: ['forbidden'] },
  },
  {
    method: 'GET',
    path: '/admin/users/{id}',
    operationId: 'getUser',
    tag: 'admin',
    summary: 'One user, with admin fields',
    auth: 'bearer',
    replies: { 200: { description: 'The user.', json: reply.adminUser } },
    errors: { 403: ['forbidden'], 404: ['not_found'] },
  },
  {
    method: 'PATCH',
    path: '/admin/users/{id}',
    operationId: 'updateUser',
    tag: 'admin',
    summary: "Edit a user's profile, role or disabled flag",
    description: '`role` is for admins only; managers edit and disable only `user` accounts; the last active admin stays.',
    auth: 'bearer',
    body: { schema: adminUserChangesBody },
    replies: { 200: { description: 'The user.', json: reply.adminUser } },
    errors: { 403: ['forbidden'], 404: ['not_found'], 409: ['nickname_taken', 'last_admin'] },
  },
  {
    method: 'DELETE',
    path: '/admin/users/{id}',
    operationId: 'deleteUser',
    tag: 'admin',
    summary: 'Delete a user (admins)',
    auth: 'bearer',
    replies: { 204: noContent },
    errors: { 403: ['forbidden'], 404: ['not_found'], 409: ['last_admin'] },
  },
  {
    method: 'POST',
    path: '/admin/users/{id}/unlock',
    operationId: 'unlockUser',
    tag: 'admin',
    summary: "Clear a user's login throttle",
    auth: 'bearer',
    replies: { 204: noContent },
    errors: { 403: ['forbidden'], 404: ['not_found'] },
  },
  {
    method: 'GET',
    path: '/admin/audit',
    operationId: 'listAudit',
    tag: 'admin',
    summary: 'Every write of the admin routes (admins)',
    auth: 'bearer',
    query: auditQuery,
    replies: { 200: { description: 'One page.', json: reply.auditList } },
    errors: { 403: ['forbidden'] },
  },
  // Account lifecycle and sessions (functions/forgot-password.ts … delete-account.ts).
  {
    method: 'POST',
    path: '/auth/forgot-password',
    operationId: 'forgotPassword',
    tag: 'auth',
    summary: 'Mail a password reset link',
    description: 'The same 202 for known and unknown emails; only a known account gets a link (valid 1 h).',
    body: { schema: emailBody },
    replies: { 202: { description: 'Check the inbox.', json: reply.message } },
  },
  {
    method: 'GET',
    path: '/auth/reset-password',
    operationId: 'showResetPasswordPage',
    tag: 'auth',
    summary: 'The page of the mailed reset link (a new-password form)',
    query: z.object({ token: z.string().optional() }),
    replies: { 200: page, 400: { description: 'The link is incomplete.', html: true } },
  },
  {
    method: 'POST',
    path: '/auth/reset-password',
    operationId: 'resetPassword',
    tag: 'auth',
    summary: 'Set a new password with a reset token',
    description: 'Also confirms the email, ends every session and clears the login throttle.',
    body: { schema: resetPasswordBody, form: true },
    replies: {
      200: { description: 'Done (JSON), or a success page for the form post.', json: reply.message, html: true },
      303: { description: 'Form post with RESET_REDIRECT_URL set.', redirect: true },
    },
    errors: { 400: ['invalid_token'] },
    htmlErrors: true,
  },
  {
    method: 'POST',
    path: '/users/me/password',
    operationId: 'changePassword',
    tag: 'sessions',
    summary: 'Change your password',
    description: 'Answers the token pair of a new session; every other session ends.',
    auth: 'bearer',
    body: { schema: changePasswordBody },
    replies: { 200: tokensReply },
    errors: { 403: ['wrong_password'], 429: ['too_many_attempts'] },
  },
  {
    method: 'POST',
    path: '/users/me/email',
    operationId: 'changeEmail',
    tag: 'sessions',
    summary: 'Change your email (confirmed from the new mailbox)',
    auth: 'bearer',
    body: { schema: changeEmailBody },
    replies: { 202: { description: 'Check the new inbox.', json: reply.message } },
    errors: { 403: ['wrong_password'], 429: ['too_many_attempts'] },
  },
  {
    method: 'GET',
    path: '/auth/confirm-email',
    operationId: 'showConfirmEmailPage',
    tag: 'auth',
    summary: 'The page of the mailed email-change link',
    query: z.object({ token: z.string().optional() }),
    replies: { 200: page, 400: { description: 'The link is incomplete.', html: true } },
  },
  {
    method: 'POST',
    path: '/auth/confirm-email',
    operationId: 'confirmEmailChange',
    tag: 'auth',
    summary: 'Confirm an email change',
    body: { schema: tokenBody, form: true },
    replies: {
      200: { description: 'The user with the new email (JSON), or a success page for the form post.', json: reply.verifiedUser, html: true },
      303: { description: 'Form post with a redirect URL set.', redirect: true },
    },
    errors: { 400: ['invalid_token'] },
    htmlErrors: true,
  },
  {
    method: 'DELETE',
    path: '/users/me',
    operationId: 'deleteMyAccount',
    tag: 'sessions',
    summary: 'Delete your account, its pictures and sessions',
    auth: 'bearer',
    body: { schema: deleteAccountBody },
    replies: { 204: noContent },
    errors: { 403: ['wrong_password'], 409: ['last_admin'], 429: ['too_many_attempts'] },
  },
  {
    method: 'GET',
    path: '/users/me/sessions',
    operationId: 'listMySessions',
    tag: 'sessions',
    summary: 'Where you are signed in',
    auth: 'bearer',
    replies: { 200: { description: 'Your sessions.', json: reply.sessionList } },
  },
  {
    method: 'DELETE',
    path: '/users/me/sessions/{id}',
    operationId: 'revokeSession',
    tag: 'sessions',
    summary: 'Sign out one session',
    auth: 'bearer',
    replies: { 204: noContent },
    errors: { 404: ['not_found'] },
  },
  {
    method: 'DELETE',
    path: '/users/me/sessions',
    operationId: 'revokeAllSessions',
    tag: 'sessions',
    summary: 'Sign out everywhere',
    auth: 'bearer',
    replies: { 204: noContent },
  },
];

/** Errors any route can answer, keyed by what the route has. */
export function sharedErrors(operation: Operation): Record<number, ErrorCode[]> {
  const shared: Record<number, ErrorCode[]> = { 500: ['internal_error'], 503: ['service_unavailable'] };
  if (operation.auth) shared[401] = ['unauthorized'];
  if (operation.body && 'schema' in operation.body) {
    shared[400] = ['validation_failed', 'invalid_json'];
    shared[413] = ['payload_too_large'];
    shared[415] = ['unsupported_media_type'];
  } else if (operation.body) {
    shared[415] = ['unsupported_media_type'];
  }
  if (operation.query) shared[400] = ['validation_failed'];
  return shared;
}

/** The route's own and shared error codes, by status. */
export function errorsOf(operation: Operation): Record<number, ErrorCode[]> {
  const all: Record<number, ErrorCode[]> = {};
  for (const source of [sharedErrors(operation), operation.errors ?? {}]) {
    for (const [status, codes] of Object.entries(source)) {
      all[Number(status)] = [...new Set([...(all[Number(status)] ?? []), ...codes])];
    }
  }
  return all;
}

export const routeKey = (operation: Pick<Operation, 'method' | 'path'>) => `${operation.method} ${operation.path}`;
