/** Mail content and the Mailer interface; the SMTP transport lives in lib/platform/smtp.ts (only mailing functions load it). */
import { config } from '../platform/config';
import { escapeHtml } from '../http/pages';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  /** Fails like send() when the mail server cannot be reached; sends nothing. */
  check(): Promise<void>;
}

function layout(title: string, paragraphs: string[], action?: { label: string; url: string }) {
  const button = action
    ? `<p><a href="${escapeHtml(action.url)}" style="display:inline-block;padding:10px 18px;background:#2f6fed;color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(action.label)}</a></p>
<p style="color:#666;font-size:13px">Or paste this link into your browser:<br>${escapeHtml(action.url)}</p>`
    : '';
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222">
<h2>${escapeHtml(title)}</h2>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${button}
</body></html>`;
}

/** Links come from PUBLIC_BASE_URL only, never from request headers. */
export function verificationLink(token: string): string {
  return `${config().publicBaseUrl}/auth/verify-email?token=${encodeURIComponent(token)}`;
}

export function verificationMail(to: string, token: string, ttlSeconds: number): MailMessage {
  const url = verificationLink(token);
  const hours = Math.round(ttlSeconds / 3600);
  const validity = hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(ttlSeconds / 60)} minutes`;
  const lines = [
    'Welcome to Portrait. Please confirm your email address to finish creating your account.',
    `The link works once and expires in ${validity}. If you did not sign up, ignore this mail.`,
  ];
  return {
    to,
    subject: 'Confirm your email address',
    text: `${lines[0]}\n\n${url}\n\n${lines[1]}\n`,
    html: layout('Confirm your email address', lines, { label: 'Confirm email address', url }),
  };
}

/** `resetUrl`: a password reset link, for an owner who forgot the password (valid PASSWORD_RESET_TOKEN_TTL). */
export function accountExistsMail(to: string, resetUrl: string): MailMessage {
  const lines = [
    'Someone (hopefully you) tried to create a Portrait account with this email address, but an account already exists.',
    'You can log in with this email address and your password. If it was not you, you can ignore this mail; nothing has changed.',
    'Forgot your password? Choose a new one with this link (it works once and expires soon):',
  ];
  return {
    to,
    subject: 'You already have a Portrait account',
    text: `${lines[0]}\n\n${lines[1]}\n\n${lines[2]}\n${resetUrl}\n`,
    html: layout('You already have an account', lines, { label: 'Reset password', url: resetUrl }),
  };
}

function validityOf(ttlSeconds: number): string {
  const hours = Math.round(ttlSeconds / 3600);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(ttlSeconds / 60)} minutes`;
}

export function passwordResetMail(to: string, url: string, ttlSeconds: number): MailMessage {
  const lines = [
    'Someone (hopefully you) asked to reset the password of your Portrait account.',
    `The link works once and expires in ${validityOf(ttlSeconds)}. If you did not ask, ignore this mail: your password stays as it is.`,
  ];
  return {
    to,
    subject: 'Reset your Portrait password',
    text: `${lines[0]}\n\n${url}\n\n${lines[1]}\n`,
    html: layout('Reset your password', lines, { label: 'Choose a new password', url }),
  };
}

export function emailChangeMail(to: string, url: string, ttlSeconds: number): MailMessage {
  const lines = [
    'Someone (hopefully you) asked to use this address for a Portrait account.',
    `Confirm it with the link below; until then the account keeps its old address. The link works once and expires in ${validityOf(ttlSeconds)}.`,
  ];
  return {
    to,
    subject: 'Confirm your new email address',
    text: `${lines[0]}\n\n${url}\n\n${lines[1]}\n`,
    html: layout('Confirm your new email address', lines, { label: 'Confirm new address', url }),
  };
}

export function emailChangeNoticeMail(to: string, newEmail: string): MailMessage {
  const lines = [
    `Someone signed in to your Portrait account asked to change its email address to ${newEmail}.`,
    'Nothing changes until the new address is confirmed. If it was not you, change your password now and sign out your other sessions.',
  ];
  return { to, subject: 'Your Portrait email address is about to change', text: `${lines.join('\n\n')}\n`, html: layout('Email change requested', lines) };
}

export function emailChangedMail(to: string, newEmail: string): MailMessage {
  const lines = [
    `The email address of your Portrait account was changed to ${newEmail}. This address no longer signs in.`,
    'If it was not you, contact us right away.',
  ];
  return { to, subject: 'Your Portrait email address was changed', text: `${lines.join('\n\n')}\n`, html: layout('Your address was changed', lines) };
}

/** After a deletion; `byAdmin` when an administrator deleted the account rather than its owner. */
export function goodbyeMail(to: string, options: { byAdmin?: boolean } = {}): MailMessage {
  const lines = [
    options.byAdmin
      ? 'An administrator deleted your Portrait account, its pictures and its sessions.'
      : 'Your Portrait account, its pictures and its sessions have been deleted.',
    'Thanks for having been with us. You can create a new account with this address at any time.',
  ];
  return { to, subject: 'Your Portrait account was deleted', text: `${lines.join('\n\n')}\n`, html: layout('Goodbye', lines) };
}
