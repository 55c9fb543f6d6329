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
import { operations } from '../lib/http/operations';
import { PASSWORD, mailTo, uniqueEmail } from './support/accounts';
import { sharedOffline, type OfflineApi } from './support/offline';

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

// Each test is a few browser steps; a loaded 2-core machine may make them slow, never wrong.
jest.setTimeout(90_000);

let api: OfflineApi;
let browser: Browser;
const storageOrigin = new URL(process.env.S3_PUBLIC_ENDPOINT!).origin;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (as .ci/run does) or set CHROMIUM_PATH.`);
  await mkdir(screenshots, { recursive: true });
  [api, browser] = await Promise.all([
    sharedOffline(),
    // A fresh, throw-away user-data dir per launch (playwright's default).
    chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_FLAGS, headless: true }),
  ]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
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

  test('the account page lists the sessions and revokes another one', async () => {
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

  test('forgot → mailed reset page → new password → sign in with it', async () => {
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
    // The reset page has one new-password field (waiting for a second one cost playwright's 30 s timeout).
    expect(await page.locator('input[type="password"]').count()).toBe(1);
    await page.locator('input[type="password"]').fill(password);
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

  test('managers and admins get the user list with search', async () => {
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
