import type { Context } from 'aws-lambda';
import { config } from '../lib/platform/config';
import { HttpError } from '../lib/errors';
import { endpoint, html, json, redirect, validate, type ApiEvent } from '../lib/http/endpoint';
import { resetPassword } from '../lib/accounts/lifecycle';
import { badPasswordPage, incompleteLinkPage, invalidResetLinkPage, passwordChangedPage, resetPasswordPage, linkPageHeaders } from '../lib/http/pages';
import { opaqueToken, resetPasswordBody } from '../lib/http/schemas';

const formAction = `${config().publicBaseUrl}/auth/reset-password`;
const signInUrl = `${config().publicBaseUrl}/#/signin`;
const forgotUrl = `${config().publicBaseUrl}/#/forgot`;
const pageHeaders = linkPageHeaders(config().publicBaseUrl);

// GET /auth/reset-password?token= — a new-password form; changes nothing (mail scanners may open it).
const showPage = endpoint({}, async ({ event }) => {
  const token = opaqueToken.safeParse(event.queryStringParameters?.token);
  return token.success ? html(200, resetPasswordPage(formAction, token.data), pageHeaders) : html(400, incompleteLinkPage(), pageHeaders);
});

// POST /auth/reset-password {token, password} — JSON, or the page's form post.
const reset = endpoint({ bodyType: 'json-or-form' }, async ({ event, isFormPost }) => {
  if (!isFormPost) {
    const { token, password } = validate(resetPasswordBody, event.body, 'body');
    await resetPassword(token, password);
    return json(200, { message: 'Your new password is set. Every session was signed out; sign in again.' }, { 'cache-control': 'no-store' });
  }
  const form = resetPasswordBody.safeParse(event.body);
  const fields = event.body as unknown as Record<string, unknown> | undefined;
  const token = typeof fields?.token === 'string' ? fields.token : '';
  if (!form.success) {
    const problem = form.error.issues.find((issue) => issue.path[0] === 'password');
    if (problem && opaqueToken.safeParse(token).success) return html(400, badPasswordPage(`The password ${problem.message}.`, formAction, token), pageHeaders);
    return html(400, invalidResetLinkPage(forgotUrl), pageHeaders);
  }
  try {
    await resetPassword(form.data.token, form.data.password);
  } catch (error) {
    if (error instanceof HttpError && error.code === 'invalid_token') return html(400, invalidResetLinkPage(forgotUrl), pageHeaders);
    if (error instanceof HttpError && error.code === 'validation_failed') {
      return html(400, badPasswordPage('The password must not be your email address.', formAction, form.data.token), pageHeaders);
    }
    throw error;
  }
  const redirectUrl = config().resetRedirectUrl;
  return redirectUrl ? redirect(303, redirectUrl, { 'cache-control': 'no-store' }) : html(200, passwordChangedPage(signInUrl), pageHeaders);
});

export const handler = (event: ApiEvent, context: Context) =>
  event.requestContext?.http?.method === 'GET' ? showPage(event, context) : reset(event, context);
