import type { Context } from 'aws-lambda';
import { verifyEmail } from '../lib/accounts/accounts';
import { config } from '../lib/platform/config';
import { HttpError } from '../lib/errors';
import { endpoint, html, privateJson, redirect, validate, type ApiEvent } from '../lib/http/endpoint';
import { confirmEmailPage, emailConfirmedPage, incompleteLinkPage, invalidLinkPage, linkPageHeaders } from '../lib/http/pages';
import { toProfile } from '../lib/accounts/profiles';
import { opaqueToken, verifyEmailBody } from '../lib/http/schemas';
import { urlSigner } from '../lib/platform/url-signer';

const formAction = `${config().publicBaseUrl}/auth/verify-email`;
const resendAction = `${config().publicBaseUrl}/auth/resend-verification`;
const pageHeaders = linkPageHeaders(config().publicBaseUrl);

// GET /auth/verify-email?token= — shows a confirm button; changes nothing.
const showPage = endpoint({}, async ({ event }) => {
  const token = opaqueToken.safeParse(event.queryStringParameters?.token);
  return token.success
    ? html(200, confirmEmailPage(formAction, token.data), pageHeaders)
    : html(400, incompleteLinkPage(resendAction), pageHeaders);
});

// POST /auth/verify-email {token} — JSON, or the page's form post.
const confirm = endpoint({ bodyType: 'json-or-form' }, async ({ event, isFormPost }) => {
  if (!isFormPost) {
    const { token, password } = validate(verifyEmailBody, event.body, 'body');
    const user = await verifyEmail(token, password);
    return privateJson(200, { user: await toProfile(user, urlSigner, { includeEmail: true }) });
  }
  const form = verifyEmailBody.safeParse(event.body);
  try {
    await verifyEmail(form.success ? form.data.token : '', form.success ? form.data.password : undefined);
  } catch (error) {
    if (error instanceof HttpError && error.code === 'invalid_token') return html(400, invalidLinkPage(resendAction), pageHeaders);
    if (error instanceof HttpError && error.status === 400 && form.success) {
      return html(400, confirmEmailPage(formAction, form.data.token, error.details?.password ?? error.message), pageHeaders);
    }
    throw error;
  }
  const redirectUrl = config().verifyRedirectUrl;
  return redirectUrl ? redirect(303, redirectUrl, { 'cache-control': 'no-store' }) : html(200, emailConfirmedPage(`${config().publicBaseUrl}/#/signin`), pageHeaders);
});

export const handler = (event: ApiEvent, context: Context) =>
  event.requestContext?.http?.method === 'GET' ? showPage(event, context) : confirm(event, context);
