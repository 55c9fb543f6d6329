// The inbox page of the dev SMTP catcher: every mail kept under .data/mail, readable in a browser
// (decoded text with clickable links, and the HTML part in a sandbox), and as JSON for scripts.
// Self-contained: no scripts, no third-party assets; listens on 127.0.0.1 only.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { escapeHtml } from '../lib/http/pages';
import { readMails, type CaughtMail } from './stack/mail';

export interface RunningInbox {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:1rem;border-radius:6px}
iframe{width:100%;height:28rem;border:1px solid #ddd;border-radius:6px}a{color:#2f6fed}.muted{color:#666;font-size:.9em}`;

// Everything inline; the mail's own HTML is framed from a response with a stricter policy.
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'none'; base-uri 'none'";
const MAIL_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'";

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Portrait dev inbox</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** Text with every http(s) URL turned into a link that opens in a new tab. */
function linkified(text: string): string {
  return text
    .split(/(https?:\/\/[^\s<>"']+)/g)
    .map((part, index) => {
      if (index % 2 === 0) return escapeHtml(part);
      const url = part.replace(/[.,;:!?)]+$/, '');
      const rest = part.slice(url.length);
      return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener">${escapeHtml(url)}</a>${escapeHtml(rest)}`;
    })
    .join('');
}

const idOf = (mail: CaughtMail) => path.basename(mail.file, '.eml');
const when = (mail: CaughtMail) => new Date(mail.receivedAt).toISOString().replace('T', ' ').slice(0, 19);

function listPage(mails: CaughtMail[]): string {
  const rows = mails
    .slice()
    .reverse()
    .map(
      (mail) =>
        `<tr><td class="muted">${when(mail)}</td><td>${escapeHtml(mail.to.join(', '))}</td>` +
        `<td><a href="/mail/${encodeURIComponent(idOf(mail))}">${escapeHtml(mail.subject || '(no subject)')}</a></td></tr>`,
    )
    .join('\n');
  return page(
    'Inbox',
    `<h1>Inbox</h1><p class="muted">Mails caught by <code>npm run dev</code>, newest first (kept in .data/mail; as JSON: <a href="/api/mails">/api/mails</a>). Reload to see new ones.</p>
${mails.length ? `<table><tr><th>Received (UTC)</th><th>To</th><th>Subject</th></tr>${rows}</table>` : '<p>No mail yet. Register an account and its verification mail appears here.</p>'}`,
  );
}

function mailPage(mail: CaughtMail): string {
  const id = encodeURIComponent(idOf(mail));
  const links = mail.links.map((link) => `<li><a href="${escapeHtml(link)}" target="_blank" rel="noopener">${escapeHtml(link)}</a></li>`).join('');
  return page(
    mail.subject,
    `<p><a href="/">← Inbox</a></p><h1>${escapeHtml(mail.subject || '(no subject)')}</h1>
<p class="muted">From ${escapeHtml(mail.from)} to ${escapeHtml(mail.to.join(', '))}, ${when(mail)} UTC · <a href="/mail/${id}.eml">raw .eml</a></p>
${links ? `<h2>Links</h2><ul>${links}</ul>` : ''}
<h2>Text</h2><pre>${linkified(mail.text) || '(no text part)'}</pre>
${mail.html ? `<h2>HTML</h2><iframe src="/mail/${id}/html" sandbox="allow-popups allow-popups-to-escape-sandbox" title="HTML part"></iframe>` : ''}`,
  );
}

export async function startInbox(opts: { dir: string; port?: number }): Promise<RunningInbox> {
  const dir = path.resolve(opts.dir);
  const server: Server = createServer((request, response) => {
    const send = (status: number, type: string, body: string | Buffer, csp = PAGE_CSP) => {
      response.writeHead(status, {
        'content-type': type,
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
      response.end(body);
    };
    void (async () => {
      if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'GET only\n');
      const url = new URL(request.url ?? '/', 'http://inbox');
      const mails = await readMails(dir);
      if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', listPage(mails));
      if (url.pathname === '/api/mails') {
        const listed = mails.map((mail) => ({ id: idOf(mail), receivedAt: new Date(mail.receivedAt).toISOString(), from: mail.from, to: mail.to, subject: mail.subject, links: mail.links, text: mail.text }));
        return send(200, 'application/json; charset=utf-8', `${JSON.stringify(listed.reverse(), null, 2)}\n`);
      }
      const match = /^\/mail\/([^/]+?)(\.eml|\/html)?$/.exec(url.pathname);
      const mail = match && mails.find((candidate) => idOf(candidate) === decodeURIComponent(match[1]!));
      if (!match || !mail) return send(404, 'text/html; charset=utf-8', page('Not found', '<p>No such mail. <a href="/">Inbox</a></p>'));
      if (match[2] === '.eml') return send(200, 'message/rfc822', await readFile(mail.file));
      if (match[2] === '/html') return send(200, 'text/html; charset=utf-8', `<base target="_blank">${mail.html}`, MAIL_HTML_CSP);
      return send(200, 'text/html; charset=utf-8', mailPage(mail));
    })().catch((error: unknown) => send(500, 'text/plain; charset=utf-8', `inbox failed: ${(error as Error).message}\n`));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
