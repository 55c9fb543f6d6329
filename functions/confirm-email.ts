import type { Context } from 'aws-lambda';
import { config } from '../lib/platform/config';
import { HttpError } from '../lib/errors';
import { endpoint, html, privateJson, redirect, validate, type ApiEvent } from '../lib/http/endpoint';
import { confirmEmailChange } from '../lib/accounts/lifecycle';
import { confirmEmailChangePage, emailChangedPage, incompleteLinkPage, invalidEmailChangeLinkPage, linkPageHeaders } from '../lib/http/pages';
import { toProfile } from '../lib/accounts/profiles';
import { opaqueToken, tokenBody } from '../lib/http/schemas';
import { services } from '../lib/platform/services';
import { delivery } from '../lib/platform/smtp';

const formAction = `${config().publicBaseUrl}/auth/confirm-email`;
const pageHeaders = linkPageHeaders(config().publicBaseUrl);

// GET /auth/confirm-email?token= — a confirm button; changes nothing.
const showPage = endpoint({}, async ({ event }) => {
  const token = opaqueToken.safeParse(event.queryStringParameters?.token);
  return token.success ? html(200, confirmEmailChangePage(formAction, token.data), pageHeaders) : html(400, incompleteLinkPage(), pageHeaders);
});

// POST /auth/confirm-email {token} — JSON, or the page's form post.
const confirm = endpoint({ bodyType: 'json-or-form' }, async ({ event, isFormPost }) => {
  if (!isFormPost) {
    const { token } = validate(tokenBody, event.body, 'body');
    const user = await confirmEmailChange(token, delivery.mailer);
    return privateJson(200, { user: await toProfile(user, services.objects, { includeEmail: true }) });
  }
  const form = tokenBody.safeParse(event.body);
  try {
    await confirmEmailChange(form.success ? form.data.token : '', delivery.mailer);
  } catch (error) {
    if (error instanceof HttpError && error.code === 'invalid_token') return html(400, invalidEmailChangeLinkPage(), pageHeaders);
    throw error;
  }
  const redirectUrl = config().verifyRedirectUrl;
  return redirectUrl ? redirect(303, redirectUrl, { 'cache-control': 'no-store' }) : html(200, emailChangedPage(`${config().publicBaseUrl}/#/signin`), pageHeaders);
});

export const handler = (event: ApiEvent, context: Context) =>
  event.requestContext?.http?.method === 'GET' ? showPage(event, context) : confirm(event, context);
