/** Mail content and the Mailer interface; the SMTP transport lives in lib/smtp.ts (only mailing functions load it). */
import { config } from './config';
import { escapeHtml } from './pages';

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

export function accountExistsMail(to: string): MailMessage {
  const lines = [
    'Someone (hopefully you) tried to create a Portrait account with this email address, but an account already exists.',
    'You can log in with this email address and your password. If it was not you, you can ignore this mail; nothing has changed.',
  ];
  return {
    to,
    subject: 'You already have a Portrait account',
    text: `${lines[0]}\n\n${lines[1]}\n`,
    html: layout('You already have an account', lines),
  };
}
