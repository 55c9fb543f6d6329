// An SMTP catcher (smtp-server) that saves every mail as an .eml file, and readers for those files
// that work from any process.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mailparser from 'mailparser';
import smtpServer from 'smtp-server';
import { listen } from './net';

export interface CaughtMail {
  /** Envelope recipients (RCPT TO); the To header for .eml files without them. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  /** http(s) URLs found in the text part (derived from the HTML when there is none). */
  links: string[];
  file: string;
  receivedAt: number;
}

export interface WaitForMailOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Only mails received at or after this epoch-ms time. */
  since?: number;
  /** Wait for the count-th matching mail (oldest first) and return it. Default 1. */
  count?: number;
}

export interface StartMailCatcherOptions {
  dir: string;
  port?: number;
  onMail?: (mail: CaughtMail) => void;
}

export interface RunningMailCatcher {
  url: string;
  port: number;
  mails(): CaughtMail[];
  waitForMail(to: string, opts?: WaitForMailOptions): Promise<CaughtMail>;
  /** While on, every RCPT TO is answered with `responseCode` (4xx/5xx). */
  setRefusing(on: boolean, responseCode?: number): void;
  stop(): Promise<void>;
}

const ENVELOPE_FROM = 'X-Envelope-From';
const ENVELOPE_TO = 'X-Envelope-To';
const MAIL_POLL_MS = 50;

// 2025-11-21T19:54:00.123Z -> 20251121T195400.123Z: sortable, readable, reversible.
function fileStamp(time: number): string {
  return new Date(time).toISOString().replace(/[-:]/g, '');
}

function timeOfFile(file: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z/.exec(path.basename(file));
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
}

function sanitiseForFileName(value: string): string {
  return value.replace(/[^a-zA-Z0-9@._+-]/g, '_').slice(0, 80);
}

function linksIn(text: string): string[] {
  const found = text.match(/https?:\/\/[^\s<>"'()[\]]+/g) ?? [];
  return [...new Set(found.map((link) => link.replace(/[.,;:!?]+$/, '')))];
}

function addressesOf(field: mailparser.AddressObject | mailparser.AddressObject[] | undefined): string[] {
  const objects = Array.isArray(field) ? field : field ? [field] : [];
  return objects.flatMap((object) => object.value.map((entry) => entry.address ?? '').filter(Boolean));
}

function headerText(parsed: mailparser.ParsedMail, name: string): string | undefined {
  const value = parsed.headers.get(name.toLowerCase());
  return typeof value === 'string' ? value : undefined;
}

async function parseMail(raw: Buffer, file: string, receivedAt: number): Promise<CaughtMail> {
  const parsed = await mailparser.simpleParser(raw);
  const envelopeTo = headerText(parsed, ENVELOPE_TO);
  const text = parsed.text ?? '';
  return {
    to: envelopeTo ? envelopeTo.split(',').map((address) => address.trim()).filter(Boolean) : addressesOf(parsed.to),
    from: headerText(parsed, ENVELOPE_FROM) ?? addressesOf(parsed.from)[0] ?? '',
    subject: parsed.subject ?? '',
    text,
    html: typeof parsed.html === 'string' ? parsed.html : '',
    links: linksIn(text),
    file,
    receivedAt,
  };
}

function isAddressedTo(mail: CaughtMail, to: string): boolean {
  const wanted = to.toLowerCase();
  return mail.to.some((address) => address.toLowerCase() === wanted);
}

function pickMail(mails: CaughtMail[], to: string, opts: WaitForMailOptions): CaughtMail | undefined {
  const since = opts.since ?? 0;
  const matching = mails.filter((mail) => mail.receivedAt >= since && isAddressedTo(mail, to));
  return matching[(opts.count ?? 1) - 1];
}

function noMailError(to: string, opts: WaitForMailOptions, mails: CaughtMail[]): Error {
  const seen = mails.map((mail) => `${mail.to.join(',')}: ${mail.subject}`).join('; ') || 'none';
  return new Error(`No mail #${opts.count ?? 1} to ${to} within ${opts.timeoutMs ?? 5000} ms (mails seen: ${seen})`);
}

// .eml files never change once renamed into place, so parse each only once.
const parsedFiles = new Map<string, CaughtMail>();

/** All mails saved in `dir` by a catcher (of any process), oldest first. */
export async function readMails(dir: string): Promise<CaughtMail[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names.filter((name) => name.endsWith('.eml')).map((name) => path.resolve(dir, name));
  const mails = await Promise.all(
    files.map(async (file) => {
      const cached = parsedFiles.get(file);
      if (cached) return cached;
      const mail = await parseMail(await readFile(file), file, timeOfFile(file) ?? 0);
      parsedFiles.set(file, mail);
      return mail;
    }),
  );
  return mails.sort((a, b) => a.receivedAt - b.receivedAt || a.file.localeCompare(b.file));
}

/** Polls `dir` until the mail to `to` described by `opts` is there. */
export async function waitForMailIn(dir: string, to: string, opts: WaitForMailOptions = {}): Promise<CaughtMail> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const mails = await readMails(dir);
    const mail = pickMail(mails, to, opts);
    if (mail) return mail;
    if (Date.now() >= deadline) throw noMailError(to, opts, mails);
    await sleep(MAIL_POLL_MS);
  }
}

export async function startMailCatcher(opts: StartMailCatcherOptions): Promise<RunningMailCatcher> {
  const dir = path.resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const caught: CaughtMail[] = [];
  const arrivals = new EventEmitter();
  let refusal: { responseCode: number } | undefined;

  const save = async (raw: Buffer, from: string, to: string[]): Promise<CaughtMail> => {
    const receivedAt = Date.now();
    const name = `${fileStamp(receivedAt)}-${randomBytes(2).toString('hex')}-${sanitiseForFileName(to.join('_'))}.eml`;
    const file = path.join(dir, name);
    const envelope = `${ENVELOPE_FROM}: ${from}\r\n${ENVELOPE_TO}: ${to.join(', ')}\r\n`;
    const eml = Buffer.concat([Buffer.from(envelope), raw]);
    // Written aside and renamed, so readers in other processes never see half a mail.
    await writeFile(`${file}.partial`, eml);
    await rename(`${file}.partial`, file);
    return parseMail(eml, file, receivedAt);
  };

  const server = new smtpServer.SMTPServer({
    authOptional: true,
    // An SMTP_URL with credentials must work against the catcher too.
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
    disabledCommands: ['STARTTLS'],
    logger: false,
    // No reverse DNS of the client: useless here, slow where DNS is missing.
    disableReverseLookup: true,
    closeTimeout: 1000,
    onRcptTo: (_address, _session, callback) => {
      if (!refusal) return callback();
      const error = Object.assign(new Error('Mail catcher is refusing mail (fault test)'), refusal);
      callback(error);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((recipient) => recipient.address);
        save(Buffer.concat(chunks), from, to).then(
          (mail) => {
            caught.push(mail);
            arrivals.emit('mail', mail);
            opts.onMail?.(mail);
            callback();
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  });

  const port = await listen(server, opts.port ?? 0, server.server);
  // Connection errors (a client hanging up) must not crash the process.
  server.on('error', () => undefined);

  const waitForMail = (to: string, waitOpts: WaitForMailOptions = {}) =>
    new Promise<CaughtMail>((resolve, reject) => {
      const check = () => {
        const mail = pickMail(caught, to, waitOpts);
        if (!mail) return false;
        clearTimeout(timer);
        arrivals.removeListener('mail', check);
        resolve(mail);
        return true;
      };
      const timer = setTimeout(() => {
        arrivals.removeListener('mail', check);
        reject(noMailError(to, waitOpts, caught));
      }, waitOpts.timeoutMs ?? 5000);
      if (!check()) arrivals.on('mail', check);
    });

  let stopping: Promise<void> | undefined;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails: () => [...caught],
    waitForMail,
    setRefusing: (on, responseCode = 550) => {
      refusal = on ? { responseCode } : undefined;
    },
    stop: () => (stopping ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

/** What `npm run dev` prints per mail: recipient, subject, the links to click. */
export function formatMailForConsole(mail: CaughtMail): string {
  const lines = [`✉  ${mail.to.join(', ')} — ${mail.subject}`];
  for (const link of mail.links) lines.push(`   ${link}`);
  lines.push(`   (${mail.file})`);
  return lines.join('\n');
}
