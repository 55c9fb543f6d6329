// One measuring process of `npm run bench` (started by runWorker in
// scripts/bench-support.ts): argv is a task name and its JSON options; the
// settings come through the environment. Progress and the result go back
// over the IPC channel. Handlers are imported only after the environment is
// in place, as a Lambda container loads them.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { httpEvent, lambdaContext, type EventOptions } from './support/events';
import { fileUpload } from './support/multipart';
import type { BenchUser } from './bench-stack';
import { peakRssMiB, timed, type WorkerMessage } from './bench-support';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

const send = (message: WorkerMessage) => process.send?.(message);
const progress = (line: string) => send({ progress: line });

/** Calls a handler like API Gateway would and fails loudly on an unexpected status. */
async function call(handler: Handler, event: APIGatewayProxyEventV2, expected: number) {
  const response = (await handler(event, lambdaContext())) as { statusCode: number; body?: string };
  if (response.statusCode !== expected) throw new Error(`${event.routeKey} answered ${response.statusCode}: ${response.body?.slice(0, 300)}`);
  return response;
}

/** A fresh copy of a prepared event: the multipart parser replaces event.body, and request ids must differ. */
const copyOf = (event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 => ({
  ...event,
  headers: { ...event.headers },
  requestContext: { ...event.requestContext, requestId: randomUUID() },
});

async function accessTokenFor(user: BenchUser): Promise<string> {
  const { handler: login } = await import('../functions/login');
  const response = await call(login, httpEvent({ method: 'POST', route: '/auth/login', json: { email: user.email, password: user.password } }), 200);
  return JSON.parse(response.body!).accessToken;
}

/** A 12 MP AVIF (4000×3000, the largest AVIF accepted: lib/pictures/images AVIF_MAX_PIXELS), from the 50 MP photo. */
async function avif12mp(): Promise<Buffer> {
  const [{ default: sharp }, { photo50mp }] = await Promise.all([import('sharp'), import('./support/images')]);
  return sharp(await photo50mp()).resize(4000, 3000).avif({ quality: 60, effort: 0 }).toBuffer();
}

const PICTURE_INPUTS = {
  'jpeg-12mp': async () => (await import('./support/images')).cameraPhoto12mp(),
  // 8160×6120 (49.9 MP, a 50 MP phone sensor), ~9 MB: past PICTURE_MAX_BYTES, so through the direct upload.
  'jpeg-50mp': async () => (await import('./support/images')).photo50mp(),
  'avif-12mp': avif12mp,
  'png-2000': async () => (await import('./support/images')).largePng(),
  'gif-animated': async () => (await import('./support/images')).animatedGif(),
};

export type PictureInput = keyof typeof PICTURE_INPUTS;

/**
 * Writes an input's bytes to `path`, in a process of its own: building a 50 MP photo or encoding an AVIF takes
 * far more memory than the upload, and glibc keeps it, so the measuring process must not build its own input.
 */
async function pictureInput({ input, path }: { input: PictureInput; path: string }): Promise<{ bytes: number }> {
  const bytes = await PICTURE_INPUTS[input]();
  await writeFile(path, bytes);
  return { bytes: bytes.length };
}

export interface PictureUploadOptions {
  input: PictureInput;
  /** The input's bytes, written by the picture-input task. */
  inputFile: string;
  user: BenchUser;
  /** multipart: POST /users/me/picture; direct: the object is put under incoming/ (as the browser's POST does), then POST /users/me/picture/confirm. */
  route: 'multipart' | 'direct';
  runs: number;
  warmups: number;
}

export interface PictureUploadResult {
  bytes: number;
  uploadMs: number[];
  /** CPU time (user + system, all threads: libvips' too) of this process during each upload call. */
  uploadCpuMs: number[];
  sharpMs: number[];
  /** The three puts of one upload's variants, in parallel, without the handler. */
  putMs: number[];
  /** The delete of those three keys (DeleteObjects): what an upload waits for after its commit, for the replaced picture. */
  deleteMs: number[];
  rssBeforeMiB: number;
  peakRssMiB: number;
  /** RSS sampled every 2 ms during the upload calls only, less the RSS just before each: the upload's own growth. */
  uploadRssGrowthMiB: number;
  /** The highest RSS sampled during the upload calls: what the function's memory must hold. */
  uploadRssPeakMiB: number;
  /** The largest variant's edge (PICTURE_SIZES): every upload holds at least that square of raw pixels while encoding it. */
  largestSize: number;
}

/**
 * The upload handler (multipart: parse, sniff, decode, resize, encode, three puts, commit, deletion of the
 * replaced picture; direct: the confirm step's get of the raw upload, then the same) against renderVariants
 * alone on the same bytes, interleaved run by run so that drift (GC, CPU clock) hits both alike.
 */
async function pictureUpload({ inputFile, user, route, runs, warmups }: PictureUploadOptions): Promise<PictureUploadResult> {
  const bytes = await readFile(inputFile);
  const [{ handler: upload }, { handler: confirm }, { renderVariants }, { config }, { s3Store }, { incomingPrefix }] = await Promise.all([
    import('../functions/upload-picture'),
    import('../functions/confirm-picture'),
    import('../lib/pictures/images'),
    import('../lib/platform/config'),
    import('../lib/platform/storage'),
    import('../lib/pictures/keys'),
  ]);
  const { maxPixels, sizes } = config().pictures;
  const bearer = await accessTokenFor(user);
  const prepared = httpEvent({ method: 'POST', route: '/users/me/picture', bearer, ...fileUpload(bytes) } satisfies EventOptions);
  // The direct upload's bytes reach the bucket from the browser, not through the function: put before the clock starts.
  const nextCall = async () => {
    if (route === 'multipart') return () => call(upload, copyOf(prepared), 200);
    const key = `${incomingPrefix(user.id)}${randomUUID()}`;
    await s3Store.put(key, bytes, 'application/octet-stream');
    const event = httpEvent({ method: 'POST', route: '/users/me/picture/confirm', bearer, json: { key } });
    return () => call(confirm, event, 200);
  };
  const rssBeforeMiB = peakRssMiB();

  // The storage calls of one upload on their own: put the variants, then delete them by their keys
  // (what the next upload does to its predecessor).
  const storageRoundTrip = async (variants: Map<number, Buffer>) => {
    const prefix = `bench/${randomUUID()}/`;
    const put = await timed(() => Promise.all([...variants].map(([size, webp]) => s3Store.put(`${prefix}${size}.webp`, webp, 'image/webp'))));
    const removed = await timed(() => s3Store.deleteMany([...variants.keys()].map((size) => `${prefix}${size}.webp`)));
    return { put, removed };
  };

  // Timed runs first, with nothing else on this process's event loop; then as many runs again with RSS sampled
  // every 2 ms (each sample is a syscall on the loop the handler runs on, ~1 ms per upload in all).
  const uploadMs: number[] = [];
  const uploadCpuMs: number[] = [];
  const sharpMs: number[] = [];
  const putMs: number[] = [];
  const deleteMs: number[] = [];
  for (let run = 0; run < warmups + runs; run++) {
    const uploadCall = await nextCall();
    const cpuBefore = process.cpuUsage();
    const uploadTime = await timed(uploadCall);
    const cpu = process.cpuUsage(cpuBefore);
    let variants = new Map<number, Buffer>();
    const sharpTime = await timed(async () => (variants = await renderVariants(bytes, { maxPixels, sizes })));
    const storage = await storageRoundTrip(variants);
    if (run < warmups) continue;
    uploadMs.push(uploadTime);
    uploadCpuMs.push((cpu.user + cpu.system) / 1000);
    sharpMs.push(sharpTime);
    putMs.push(storage.put);
    deleteMs.push(storage.removed);
    if ((run - warmups + 1) % 5 === 0 || run === warmups + runs - 1) progress(`${run - warmups + 1}/${runs} timed runs`);
  }
  let uploadRssGrowth = 0;
  let uploadRssPeak = 0;
  for (let run = 0; run < runs; run++) {
    const uploadCall = await nextCall();
    const idleRss = process.memoryUsage.rss();
    let highest = idleRss;
    const sampler = setInterval(() => (highest = Math.max(highest, process.memoryUsage.rss())), 2);
    await uploadCall();
    clearInterval(sampler);
    highest = Math.max(highest, process.memoryUsage.rss());
    uploadRssGrowth = Math.max(uploadRssGrowth, highest - idleRss);
    uploadRssPeak = Math.max(uploadRssPeak, highest);
    if ((run + 1) % 5 === 0 || run === runs - 1) progress(`${run + 1}/${runs} runs with RSS sampled`);
  }
  const mib = (value: number) => value / 1024 / 1024;
  return {
    bytes: bytes.length,
    uploadMs,
    uploadCpuMs,
    sharpMs,
    putMs,
    deleteMs,
    rssBeforeMiB,
    peakRssMiB: peakRssMiB(),
    uploadRssGrowthMiB: mib(uploadRssGrowth),
    uploadRssPeakMiB: mib(uploadRssPeak),
    largestSize: Math.max(...sizes),
  };
}

export interface ImageStepsResult {
  /** loadShrunk: the header checks and one decode shrunk on load to the largest size, oriented, sRGB, raw pixels. */
  loadMs: number[];
  /** decodeToSquare: the load, then the attention analysis and the cut to the square. */
  squareMs: number[];
  /** encodeSquares: the WebP variants from the square, in parallel. */
  encodeMs: number[];
  /** renderVariants: the whole image step. */
  totalMs: number[];
  /** The libwebp effort the variants are encoded at (WEBP_OPTIONS). */
  webpEffort: number;
}

/** Where sharp's image step spends its time on one input (lib/pictures/images), step by step, in one process. */
async function imageSteps({ inputFile, runs }: { inputFile: string; runs: number }): Promise<ImageStepsResult> {
  const bytes = await readFile(inputFile);
  const [{ decodeToSquare, encodeSquares, loadShrunk, renderVariants, WEBP_OPTIONS }, { config }] = await Promise.all([import('../lib/pictures/images'), import('../lib/platform/config')]);
  const { maxPixels, sizes } = config().pictures;
  const largest = Math.max(...sizes);
  const load = () => loadShrunk(bytes, largest, maxPixels);
  const square = await decodeToSquare(bytes, largest, maxPixels);
  const result: ImageStepsResult = { loadMs: [], squareMs: [], encodeMs: [], totalMs: [], webpEffort: WEBP_OPTIONS.effort };
  for (let run = -2; run < runs; run++) {
    const times = [await timed(load), await timed(() => decodeToSquare(bytes, largest, maxPixels)), await timed(() => encodeSquares(square, sizes)), await timed(() => renderVariants(bytes, { maxPixels, sizes }))];
    if (run < 0) continue;
    result.loadMs.push(times[0]!);
    result.squareMs.push(times[1]!);
    result.encodeMs.push(times[2]!);
    result.totalMs.push(times[3]!);
  }
  return result;
}

export interface WarmHandlersOptions {
  user: BenchUser;
  profileRuns: number;
  loginRuns: number;
  warmups: number;
}

export interface WarmHandlersResult {
  profileMs: number[];
  loginMs: number[];
  peakRssMiB: number;
}

/** get-profile (token check, one row, three presigned URLs) and login (scrypt, refresh token row), warm. */
async function warmHandlers({ user, profileRuns, loginRuns, warmups }: WarmHandlersOptions): Promise<WarmHandlersResult> {
  const [{ handler: getProfile }, { handler: login }] = await Promise.all([import('../functions/get-profile'), import('../functions/login')]);
  const bearer = await accessTokenFor(user);
  const profileEvent = httpEvent({ method: 'GET', route: '/users/me', bearer });
  const loginEvent = httpEvent({ method: 'POST', route: '/auth/login', json: { email: user.email, password: user.password } });

  const profileMs: number[] = [];
  for (let run = 0; run < warmups + profileRuns; run++) {
    const time = await timed(() => call(getProfile, copyOf(profileEvent), 200));
    if (run >= warmups) profileMs.push(time);
  }
  progress(`get-profile: ${profileRuns} runs`);
  const loginMs: number[] = [];
  for (let run = 0; run < warmups + loginRuns; run++) {
    const time = await timed(() => call(login, copyOf(loginEvent), 200));
    if (run >= warmups) loginMs.push(time);
  }
  progress(`login: ${loginRuns} runs`);
  return { profileMs, loginMs, peakRssMiB: peakRssMiB() };
}

export interface AdminSearchOptions {
  user: BenchUser;
  runs: number;
  warmups: number;
}

export type AdminSearchResult = Record<string, number[]>;

/** GET /admin/users through the handler: first and deep pages, with and without a search. */
async function adminSearch({ user, runs, warmups }: AdminSearchOptions): Promise<AdminSearchResult> {
  const { handler: listUsers } = await import('../functions/admin-list-users');
  const { userListQuery } = await import('../lib/admin/admin');
  const { encodeCursor } = await import('../lib/admin/cursor');
  const { query } = await import('../lib/platform/db');
  const bearer = await accessTokenFor(user);
  /** The cursor that starts the list (filtered by q) at row `offset`, as the client would hold after paging there. */
  const cursorAt = async (offset: number, q?: string) => {
    const { text, values } = userListQuery({ q, limit: offset });
    const { rows } = await query<{ id: string; created_micros: string }>(`select id, created_micros from (${text}) page offset $${values.length + 1}`, [
      ...values,
      offset - 1,
    ]);
    return encodeCursor([rows[0]!.created_micros, rows[0]!.id]);
  };
  const cases: Record<string, Record<string, string>> = {
    'first page': { limit: '20' },
    'deep page (row 90 000)': { limit: '20', cursor: await cursorAt(90_000) },
    'search q=a, first page': { limit: '20', q: 'a' },
    'search q=a, deep page (match 5 000)': { limit: '20', q: 'a', cursor: await cursorAt(5_000, 'a') },
    'search q=c4ca4 (a few matches)': { limit: '20', q: 'c4ca4' },
  };
  const { listUsersQuery } = await import('../lib/http/schemas');
  const result: AdminSearchResult = {};
  for (const [name, params] of Object.entries(cases)) {
    const event = httpEvent({ method: 'GET', route: '/admin/users', query: params, bearer });
    // The statement alone, to tell the database's share from the handler's (20 profiles × 3 presigned URLs).
    const statement = userListQuery(listUsersQuery.parse(params) as Parameters<typeof userListQuery>[0]);
    result[name] = [];
    result[`${name}: SQL only`] = [];
    for (let run = 0; run < warmups + runs; run++) {
      const time = await timed(() => call(listUsers, copyOf(event), 200));
      const sql = await timed(() => query(statement.text, statement.values));
      if (run >= warmups) {
        result[name].push(time);
        result[`${name}: SQL only`]!.push(sql);
      }
    }
    progress(`${name}: ${runs} runs`);
  }
  return result;
}

const tasks: Record<string, (options: any) => Promise<unknown>> = {
  'picture-input': pictureInput,
  'picture-upload': pictureUpload,
  'image-steps': imageSteps,
  'warm-handlers': warmHandlers,
  'admin-search': adminSearch,
};

async function main() {
  const [task = '', options = '{}'] = process.argv.slice(2);
  const run = tasks[task];
  if (!run) throw new Error(`unknown bench task "${task}" (known: ${Object.keys(tasks).join(', ')})`);
  send({ result: await run(JSON.parse(options)) });
}

if (process.send) {
  main().then(
    // The pg pool lets an idle process exit; the disconnect closes the IPC channel.
    () => process.disconnect?.(),
    (error: unknown) => {
      send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exitCode = 1;
      process.disconnect?.();
    },
  );
}
