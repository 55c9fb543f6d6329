// The web app in a real browser: Debian's Chromium driven by playwright-core, against serverless-offline
// and the test stack (Postgres, s3rver, the SMTP catcher). Screenshots land in .data/screenshots/.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { query } from '../lib/platform/db';
import { operations, routeKey } from '../lib/http/operations';
import { PASSWORD, createVerifiedUser, mailTo, uniqueEmail } from './support/accounts';
import { expectPerContract } from './support/contract';
import { startOffline, type OfflineApi } from './support/offline';

// Functions passed to page.evaluate run in the browser; these names exist there (this file compiles without the DOM lib).
declare const document: any;
declare const DataTransfer: any;
declare const MutationObserver: any;
declare function getComputedStyle(element: unknown): { outlineStyle: string };

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const screenshots = path.join(root, '.data', 'screenshots');
/** Debian's package (`apt-get install -y chromium`, see .ci/run); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const offers = (route: string) => operations.some((operation) => routeKey(operation) === route);
/** Steps of routes still missing on this server are skipped, not failed, so they run once the route lands. */
const when = (route: string) => (offers(route) ? test : test.skip);

// Each test is a few browser steps; a loaded 2-core machine may make them slow, never wrong.
jest.setTimeout(90_000);

let api: OfflineApi;
let browser: Browser;
const storageOrigin = new URL(process.env.S3_PUBLIC_ENDPOINT!).origin;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (as .ci/run does) or set CHROMIUM_PATH.`);
  await mkdir(screenshots, { recursive: true });
  [api, browser] = await Promise.all([
    startOffline(),
    // A fresh, throw-away user-data dir per launch (playwright's default).
    chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_FLAGS, headless: true }),
  ]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
});

interface Watched {
  page: Page;
  context: BrowserContext;
  /** Console errors, page errors and CSP violations. */
  problems: string[];
  /** Requests to hosts other than the API and the picture store. */
  foreign: string[];
}

async function openApp(viewport = { width: 1100, height: 900 }): Promise<Watched> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const watched: Watched = { page, context, problems: [], foreign: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => watched.problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    const origin = new URL(request.url()).origin;
    if (!['null', new URL(api.baseUrl).origin, storageOrigin].includes(origin) && !request.url().startsWith('blob:') && !request.url().startsWith('data:')) {
      watched.foreign.push(request.url());
    }
  });
  await page.goto(`${api.baseUrl}/`);
  return watched;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });

const AXE_SOURCE = (await import('node:fs')).readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core run inside the page (through the DevTools protocol, so the page's CSP stays on). */
async function axeViolations(page: Page) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => (globalThis as any).axe.run(document, { resultTypes: ['violations'] }));
  return (results.violations as { id: string; impact: string; nodes: { target: string[] }[] }[]).map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    where: violation.nodes.map((node) => node.target.join(' ')).slice(0, 3),
  }));
}

async function expectAccessible(page: Page) {
  const violations = await axeViolations(page);
  expect(violations.filter((violation) => violation.impact === 'critical' || violation.impact === 'serious')).toEqual([]);
}

async function fillAndSubmit(page: Page, form: string, values: Record<string, string>, button: string) {
  const scope = page.getByRole('form', { name: form });
  for (const [label, value] of Object.entries(values)) await scope.getByLabel(label, { exact: true }).fill(value);
  await scope.getByRole('button', { name: button }).click();
}

async function jpeg(width: number, height: number, quality = 85, noise = false): Promise<Buffer> {
  const base = noise
    ? sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    : sharp({ create: { width, height, channels: 3, background: { r: 40, g: 120, b: 200 } } });
  return base.jpeg({ quality }).toBuffer();
}

/** A small drawn portrait (a face on a gradient), so the screenshots show a real-looking picture. */
function portraitJpeg(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#ffb347"/><stop offset="1" stop-color="#6a5acd"/></linearGradient></defs>
    <rect width="640" height="480" fill="url(#sky)"/>
    <ellipse cx="320" cy="520" rx="170" ry="140" fill="#2f3e63"/>
    <circle cx="320" cy="230" r="110" fill="#f1c27d"/>
    <path d="M210 215 Q320 80 430 215 Q420 130 320 115 Q220 130 210 215Z" fill="#4a2c17"/>
    <circle cx="282" cy="235" r="10" fill="#222"/><circle cx="358" cy="235" r="10" fill="#222"/>
    <path d="M280 285 Q320 315 360 285" stroke="#8b3a3a" stroke-width="7" fill="none" stroke-linecap="round"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer();
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${api.baseUrl}/#/signin`);
  await fillAndSubmit(page, 'Sign in', { Email: email, Password: password }, 'Sign in');
  await expect(page.getByRole('heading', { level: 1 })).resolves;
  await page.waitForURL(/#\/profile$/);
}

describe('the web app in Chromium', () => {
  const email = uniqueEmail('browser');
  let password = PASSWORD;

  test('sign up, then "check your inbox", with no console errors and no other hosts', async () => {
    const { page, context, problems, foreign } = await openApp();
    await page.getByRole('link', { name: 'Create account' }).first().click();
    await shot(page, '01-sign-up');
    await expectAccessible(page);
    await fillAndSubmit(page, 'Create an account', { Email: email, Password: password, 'First name (optional)': 'Ada' }, 'Create account');
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await shot(page, '02-check-inbox');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await context.close();
  });

  test("the API's field errors show next to their inputs and are announced", async () => {
    const { page, context } = await openApp();
    await page.goto(`${api.baseUrl}/#/signup`);
    await fillAndSubmit(page, 'Create an account', { Email: uniqueEmail('short'), Password: 'short' }, 'Create account');
    await page.locator('.field-error').filter({ hasText: 'at least 8 characters' }).waitFor();
    const passwordInput = page.getByRole('form', { name: 'Create an account' }).getByLabel('Password', { exact: true });
    await expect(passwordInput.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/missing or invalid/);
    await context.close();
  });

  test('the mailed link opens the confirm page; the password and its button confirm the address', async () => {
    const mail = await mailTo(email, { timeoutMs: 10_000 });
    const link = mail.links.find((url) => url.includes('/auth/verify-email?token='))!;
    const { page, context, problems } = await openApp();
    await page.goto(link.replace(/^https?:\/\/[^/]+/, api.baseUrl));
    await shot(page, '03-confirm-page');
    // The confirmer's password decides whose sign-up the account becomes (SECURITY.md, pre-registration).
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button').first().click();
    await page.waitForLoadState();
    await expect(page.textContent('body')).resolves.toMatch(/confirmed/i);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });

  test('sign in, edit the profile, upload a picture by drag and drop with a preview, see it shown', async () => {
    const { page, context, problems, foreign } = await openApp();
    await page.goto(`${api.baseUrl}/#/signin`);
    await shot(page, '04-sign-in');
    await expectAccessible(page);
    await signIn(page, email, password);
    await page.getByRole('heading', { name: 'Hello, Ada' }).waitFor();

    const details = page.getByRole('form', { name: 'Profile details' });
    await details.getByLabel('Last name').fill('Lovelace');
    await details.getByLabel('Bio').fill('Counts engines.');
    await details.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const saved = await query<{ last_name: string; bio: string }>('select last_name, bio from users where email = $1', [email]);
    expect(saved.rows[0]).toEqual({ last_name: 'Lovelace', bio: 'Counts engines.' });

    // Drop a file on the zone: a preview appears before anything is sent.
    const bytes = await portraitJpeg();
    const dataTransfer = await page.evaluateHandle((base64) => {
      const transfer = new DataTransfer();
      const binary = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      transfer.items.add(new File([binary], 'portrait.jpg', { type: 'image/jpeg' }));
      return transfer;
    }, bytes.toString('base64'));
    await page.locator('.drop-zone').dispatchEvent('drop', { dataTransfer });
    const preview = page.getByRole('img', { name: 'Preview of the chosen picture' });
    await preview.waitFor();
    expect(await preview.getAttribute('src')).toMatch(/^blob:/);
    await shot(page, '05-profile-preview');
    await expectAccessible(page);

    await watchProgress(page);
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await page.getByRole('status').filter({ hasText: 'Your picture is updated.' }).waitFor();
    expect(await progressSeen(page)).toBe(true);
    const shown = page.getByRole('img', { name: /^Picture of / });
    await shown.waitFor();
    expect(await shown.getAttribute('src')).toContain(`${storageOrigin}/`);
    await page.waitForFunction(() => [...document.images].every((image: any) => image.complete && image.naturalWidth > 0));
    await shot(page, '06-profile-with-picture');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await context.close();
  });

  test('works at 390 px wide: no sideways scrolling, accessible', async () => {
    const { page, context, problems } = await openApp({ width: 390, height: 844 });
    await page.goto(`${api.baseUrl}/#/signin`);
    await shot(page, '09-sign-in-390');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await signIn(page, email, password);
    await page.getByRole('heading', { name: /^Hello/ }).waitFor();
    await page.waitForFunction(() => [...document.images].every((image: any) => image.complete));
    await shot(page, '10-profile-390');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectAccessible(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('a file above 4 MB goes straight to storage (presigned POST, then confirm) with a progress bar', async () => {
    const { page, context, problems } = await openApp();
    await signIn(page, email, password);
    const big = await jpeg(2000, 1600, 100, true);
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(big.length).toBeLessThan(5 * 1024 * 1024);
    await page.locator('#picture-file').setInputFiles({ name: 'big.jpg', mimeType: 'image/jpeg', buffer: big });
    await page.getByRole('img', { name: 'Preview of the chosen picture' }).waitFor();
    await watchProgress(page);
    const uploads: string[] = [];
    page.on('request', (request) => request.method() === 'POST' && uploads.push(request.url()));
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await page.getByRole('status').filter({ hasText: 'Your picture is updated.' }).waitFor({ timeout: 30_000 });
    expect(await progressSeen(page)).toBe(true);
    expect(uploads.some((url) => url.startsWith(storageOrigin))).toBe(true);
    expect(uploads.some((url) => url.endsWith('/users/me/picture/confirm'))).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  test('removing the picture shows the default avatar again', async () => {
    const { page, context } = await openApp();
    await signIn(page, email, password);
    await page.getByRole('button', { name: 'Remove picture' }).click();
    await page.getByRole('img', { name: 'Default avatar' }).waitFor();
    await context.close();
  });

  when('GET /users/me/sessions')('the account page lists the sessions and revokes another one', async () => {
    const other = await openApp();
    await signIn(other.page, email, password);
    const { page, context, problems } = await openApp();
    await signIn(page, email, password);
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
    await page.locator('.sessions li').nth(1).waitFor();
    await shot(page, '07-account');
    await expectAccessible(page);
    await page.locator('.sessions li').getByRole('button', { name: /^Sign out the session/ }).first().click();
    await page.getByRole('status').filter({ hasText: 'That session is signed out.' }).waitFor();
    expect(problems).toEqual([]);
    await other.context.close();
    await context.close();
  });

  test('sign out ends the session: the app asks to sign in again', async () => {
    const { page, context } = await openApp();
    await signIn(page, email, password);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/#\/signin$/);
    await page.goto(`${api.baseUrl}/#/profile`);
    await page.waitForURL(/#\/signin$/);
    await context.close();
  });

  when('POST /auth/forgot-password')('forgot → mailed reset page → new password → sign in with it', async () => {
    const { page, context, problems } = await openApp();
    await page.goto(`${api.baseUrl}/#/forgot`);
    // The confirmation mail went out seconds ago; the once-a-minute limit per address would hold the reset mail back.
    await query('delete from mail_throttle where email = $1', [email]);
    const sentAt = Date.now();
    await fillAndSubmit(page, 'Forgot password', { Email: email }, 'Send a reset link');
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await shot(page, '08-forgot');
    const mail = await mailTo(email, { timeoutMs: 10_000, since: sentAt });
    const link = mail.links.find((url) => url.includes('/auth/reset-password?token='))!;
    await page.goto(link.replace(/^https?:\/\/[^/]+/, api.baseUrl));
    password = 'a brand new passphrase';
    await page.locator('input[type="password"]').first().fill(password);
    await page.locator('input[type="password"]').nth(1).fill(password).catch(() => undefined);
    await page.getByRole('button').first().click();
    await page.waitForLoadState();
    await signIn(page, email, password);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('keyboard only: Tab reaches the sign-in fields and Enter submits; focus is visible', async () => {
    const { page, context } = await openApp();
    await page.goto(`${api.baseUrl}/#/signin`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // Each screen moves focus to its <main>, so the next Tab lands on the screen's first field.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('email');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/profile$/);
    await context.close();
  });

  when('GET /admin/users')('managers and admins get the user list with search', async () => {
    await query("update users set role = 'admin' where email = $1", [email]);
    const { page, context, problems } = await openApp();
    await signIn(page, email, password);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.locator('tbody tr').first().waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill(email.split('@')[0]!);
    await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
    await page.locator('tbody tr').filter({ hasText: email }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    await shot(page, '11-admin-users');
    await expectAccessible(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('the API reference at /docs renders every operation from /openapi.json without outside requests', async () => {
    const { page, context, problems, foreign } = await openApp();
    await page.goto(`${api.baseUrl}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    const count = await page.locator('.opblock').count();
    expect(count).toBe(operations.length);
    await shot(page, '12-docs');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await context.close();
  });
});

// ---- screens of routes that are not on this server yet -------------------------------------
// Until a route of DESIGN.md lands, its screen is tried against stand-in answers that are checked
// against the route's pending entry in lib/http/operations.ts (the contract). Once it lands, these skip
// and the tests above run against the real route.

const pendingOnly = (route: string) => (offers(route) ? test.skip : test);

/** Answers `method template` with a contract-checked body; other methods on the URL pass through. */
async function standIn(page: Page, method: string, template: string, answer: (body: any, url: URL) => { status: number; json?: unknown }) {
  const pattern = new RegExp(`^${api.baseUrl.replace(/[.*+?^$()|[\]\\]/g, '\\$&')}${template.replace(/\{[^}]+\}/g, '[^/?]+')}(\\?.*)?$`);
  await page.route(pattern, async (route) => {
    if (route.request().method() !== method) return route.fallback();
    const { status, json } = answer(route.request().postDataJSON(), new URL(route.request().url()));
    const body = json === undefined ? '' : JSON.stringify(json);
    expectPerContract({ method, route: template, status, contentType: 'application/json', body });
    await route.fulfill({ status, contentType: 'application/json', body });
  });
}

async function loginPair(email: string, password: string) {
  const response = await fetch(`${api.baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return response.json();
}

describe('screens of DESIGN.md routes not on this server yet, against their contract', () => {
  pendingOnly('GET /users/me/sessions')('account: sessions with sign-out, change email and password, delete the account', async () => {
    const user = await createVerifiedUser();
    const { page, context, problems } = await openApp();
    const now = new Date().toISOString();
    const sessions = [
      { id: '0b3f1c52-8d7e-4a51-9c1e-2f6a7d9e0c11', createdAt: now, lastUsedAt: now, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0.0.0 Safari/537.36', ip: '127.0.0.1', current: true },
      { id: '7c9d2e41-5a6b-4f83-8e2d-1b0c3a4f5e22', createdAt: now, lastUsedAt: null, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1', ip: '192.0.2.7', current: false },
    ];
    const revoked: string[] = [];
    await standIn(page, 'GET', '/users/me/sessions', () => ({ status: 200, json: { sessions: sessions.filter((session) => !revoked.includes(session.id)) } }));
    await standIn(page, 'DELETE', '/users/me/sessions/{id}', (_, url) => {
      revoked.push(url.pathname.split('/').pop()!);
      return { status: 204 };
    });
    const passwordChanges: unknown[] = [];
    const pair = await loginPair(user.email, user.password);
    await standIn(page, 'POST', '/users/me/password', (body) => {
      passwordChanges.push(body);
      return { status: 200, json: pair };
    });
    await standIn(page, 'POST', '/users/me/email', (body) =>
      body.password === user.password
        ? { status: 202, json: { message: 'Check the new inbox to confirm the change.' } }
        : { status: 403, json: { error: { code: 'wrong_password', message: 'The password is wrong.' } } },
    );
    await standIn(page, 'DELETE', '/users/me', () => ({ status: 204 }));

    await signIn(page, user.email, user.password);
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await page.locator('.sessions li').nth(1).waitFor();
    await expect(page.locator('.sessions li').first().textContent()).resolves.toContain('(this tab)');
    await shot(page, '07-account');
    await expectAccessible(page);

    await page.getByRole('button', { name: /^Sign out the session/ }).click();
    await page.getByRole('status').filter({ hasText: 'That session is signed out.' }).waitFor();
    expect(revoked).toEqual([sessions[1]!.id]);
    await expect(page.locator('.sessions li').count()).resolves.toBe(1);

    await fillAndSubmit(page, 'Change email', { 'New email': uniqueEmail('new'), Password: 'not it' }, 'Change email');
    await page.getByRole('status').filter({ hasText: 'The password is wrong.' }).waitFor();
    await fillAndSubmit(page, 'Change email', { 'New email': uniqueEmail('new'), Password: user.password }, 'Change email');
    await page.getByRole('status').filter({ hasText: 'Check the new inbox' }).waitFor();

    await fillAndSubmit(page, 'Change password', { 'Current password': user.password, 'New password': 'another long passphrase' }, 'Change password');
    await page.getByRole('status').filter({ hasText: 'Password changed.' }).waitFor();
    expect(passwordChanges).toEqual([{ currentPassword: user.password, newPassword: 'another long passphrase' }]);

    const deleteForm = page.getByRole('form', { name: 'Delete account' });
    await deleteForm.getByLabel('Password', { exact: true }).fill(user.password);
    await deleteForm.getByLabel('Yes, delete my account').check();
    await deleteForm.getByRole('button', { name: 'Delete account' }).click();
    await page.waitForURL(/#\/signup$/);
    await page.getByRole('status').filter({ hasText: 'Your account is deleted.' }).waitFor();
    expect(problems.filter((problem) => !/status of 40[34]/.test(problem))).toEqual([]);
    await context.close();
  });

  pendingOnly('POST /auth/forgot-password')('forgot password: the request is sent and the inbox screen shown', async () => {
    const { page, context } = await openApp();
    const asked: unknown[] = [];
    await standIn(page, 'POST', '/auth/forgot-password', (body) => {
      asked.push(body);
      return { status: 202, json: { message: 'If this address has an account, a reset link is on its way.' } };
    });
    await page.goto(`${api.baseUrl}/#/forgot`);
    await fillAndSubmit(page, 'Forgot password', { Email: 'someone@example.test' }, 'Send a reset link');
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await shot(page, '08-forgot');
    expect(asked).toEqual([{ email: 'someone@example.test' }]);
    await context.close();
  });

  pendingOnly('GET /admin/users')('users (admin): search, paging, change a role, disable an account', async () => {
    const admin = await createVerifiedUser({ role: 'admin' });
    const me = (await (await fetch(`${api.baseUrl}/users/me`, { headers: { authorization: `Bearer ${admin.accessToken}` } })).json()) as Record<string, unknown>;
    const people = Array.from({ length: 25 }, (_, index) => ({
      ...me,
      id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      email: `person${index}@example.test`,
      nickname: `person_${index}`,
      role: 'user',
      disabled: false,
      lastLoginAt: null,
      lockedUntil: index === 1 ? new Date(Date.now() + 600_000).toISOString() : null,
    }));
    const queries: string[] = [];
    const changes: unknown[] = [];
    const { page, context, problems } = await openApp();
    await standIn(page, 'GET', '/admin/users', (_, url) => {
      queries.push(url.search);
      const q = url.searchParams.get('q') ?? '';
      const matching = people.filter((person) => person.email.startsWith(q) || person.nickname.includes(q));
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const end = start + Number(url.searchParams.get('limit'));
      return { status: 200, json: { users: matching.slice(start, end), nextCursor: end < matching.length ? String(end) : null } };
    });
    await standIn(page, 'PATCH', '/admin/users/{id}', (body, url) => {
      changes.push(body);
      const person = people.find((candidate) => candidate.id === url.pathname.split('/').pop())!;
      Object.assign(person, body);
      return { status: 200, json: person };
    });
    await standIn(page, 'POST', '/admin/users/{id}/unlock', () => ({ status: 204 }));

    await signIn(page, admin.email, admin.password);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.locator('tbody tr').nth(19).waitFor();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.locator('tbody tr').nth(24).waitFor();
    await expect(page.getByRole('button', { name: 'Next page' }).isHidden()).resolves.toBe(true);

    await page.getByRole('combobox', { name: 'Role of person_0', exact: true }).selectOption('manager');
    await page.getByRole('status').filter({ hasText: 'person_0 updated.' }).waitFor();
    await page.getByRole('button', { name: 'Disable person_2', exact: true }).click();
    await page.getByRole('button', { name: 'Enable person_2', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Unlock sign-in of person_1', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'person_1 can sign in again.' }).waitFor();
    expect(changes).toEqual([{ role: 'manager' }, { disabled: true }]);

    await page.getByRole('searchbox', { name: 'Search' }).fill('person1');
    await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
    await page.locator('tbody tr').filter({ hasText: 'person19@example.test' }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(11);
    expect(queries.at(-1)).toContain('q=person1');
    await shot(page, '11-admin-users');
    await expectAccessible(page);
    expect(problems).toEqual([]);
    await context.close();
  });
});

/** Records whether the progress bar showed and moved during an upload. */
async function watchProgress(page: Page) {
  await page.evaluate(() => {
    const bar = document.querySelector('progress')!;
    (globalThis as any).__progressSeen = false;
    new MutationObserver(() => {
      if (!bar.hidden) (globalThis as any).__progressSeen = true;
    }).observe(bar, { attributes: true });
  });
}
const progressSeen = (page: Page) => page.evaluate(() => (globalThis as any).__progressSeen as boolean);
