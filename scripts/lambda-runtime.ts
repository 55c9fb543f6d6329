// A local stand-in for the Lambda Runtime API (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// and a packaged function started under AWS's own runtime client (`aws-lambda-ric`, the loop the
// nodejs24.x runtime runs), so that a zip is loaded and invoked the way Lambda does it: handler
// string resolved against LAMBDA_TASK_ROOT, one event per GET /invocation/next, answers and errors
// POSTed back, and an import that throws reported to /init/error.
//
// Used by test/lambda-runtime.test.ts and the `bundles` section of `npm run bench` (init times).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The pinned Node 24 (the `node` devDependency), the runtime the zips are built for. */
const NODE_24 = path.join(ROOT, 'node_modules', '.bin', 'node');
/** The runtime client's entry (its package's `bin`); it loads its native addon next to it. */
export const RUNTIME_CLIENT = path.join(ROOT, 'node_modules', 'aws-lambda-ric', 'index.mjs');
const API = '/2018-06-01/runtime';

/** Whether `aws-lambda-ric` is installed with its native addon built (its install script ran). */
export function runtimeClientInstalled(): boolean {
  return existsSync(RUNTIME_CLIENT) && existsSync(path.join(path.dirname(RUNTIME_CLIENT), 'rapid-client.node'));
}

/** What the runtime client POSTs for a failed init or invocation. */
export interface RuntimeError {
  errorType: string;
  errorMessage: string;
  /** The stack, one line an entry (`trace` in aws-lambda-ric's report). */
  trace?: string[];
}

export type InvocationResult = { kind: 'response'; body: unknown } | { kind: 'error'; error: RuntimeError };

interface PendingInvocation {
  requestId: string;
  event: unknown;
  settle(result: InvocationResult): void;
}

export interface RuntimeApi {
  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  address: string;
  /** Resolves when the runtime first asks for an event: its init is over. */
  firstPoll: Promise<void>;
  /** Resolves when the runtime reports a failed init. */
  initError: Promise<RuntimeError>;
  /** Queues one event and answers what the function POSTed back for it. */
  invoke(event: unknown): Promise<InvocationResult>;
  close(): Promise<void>;
}

/** The Runtime API for one sandbox: one runtime polls it, events are served one at a time in order. */
export async function startRuntimeApi(options: { functionName: string; timeoutMs?: number }): Promise<RuntimeApi> {
  const { functionName, timeoutMs = 30_000 } = options;
  const queued: PendingInvocation[] = [];
  const inFlight = new Map<string, PendingInvocation>();
  let waitingPoll: ServerResponse | undefined;
  let firstPolled!: () => void;
  const firstPoll = new Promise<void>((resolve) => (firstPolled = resolve));
  let reportInitError!: (error: RuntimeError) => void;
  const initError = new Promise<RuntimeError>((resolve) => (reportInitError = resolve));

  const serve = (response: ServerResponse, invocation: PendingInvocation) => {
    inFlight.set(invocation.requestId, invocation);
    response.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': invocation.requestId,
      'lambda-runtime-deadline-ms': String(Date.now() + timeoutMs),
      'lambda-runtime-invoked-function-arn': `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
      'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Parent=${randomUUID().replace(/-/g, '').slice(0, 16)};Sampled=0`,
    });
    response.end(JSON.stringify(invocation.event));
  };

  const server = createServer(async (request, response) => {
    const url = request.url ?? '';
    const body = await readBody(request);
    if (request.method === 'GET' && url === `${API}/invocation/next`) {
      firstPolled();
      const next = queued.shift();
      if (next) serve(response, next);
      else waitingPoll = response; // long poll: answered by the next invoke()
      return;
    }
    const invocation = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (request.method === 'POST' && invocation) {
      const requestId = decodeURIComponent(invocation[1]!);
      const pending = inFlight.get(requestId);
      if (!pending) return answer(response, 400, { errorMessage: `unknown request id ${requestId}`, errorType: 'InvalidRequestID' });
      inFlight.delete(requestId);
      pending.settle(invocation[2] === 'response' ? { kind: 'response', body: parseJson(body) } : { kind: 'error', error: parseJson(body) as RuntimeError });
      return answer(response, 202, { status: 'OK' });
    }
    if (request.method === 'POST' && url === `${API}/init/error`) {
      reportInitError(parseJson(body) as RuntimeError);
      return answer(response, 202, { status: 'OK' });
    }
    answer(response, 404, { errorMessage: `no route ${request.method} ${url}`, errorType: 'NotFound' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    address: `127.0.0.1:${port}`,
    firstPoll,
    initError,
    invoke(event) {
      return new Promise((settle) => {
        const invocation = { requestId: randomUUID(), event, settle };
        if (waitingPoll) {
          const response = waitingPoll;
          waitingPoll = undefined;
          serve(response, invocation);
        } else {
          queued.push(invocation);
        }
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function answer(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export interface StartedFunction {
  runtime: RuntimeApi;
  /** Milliseconds from starting the process to its first poll: the runtime's start plus the handler's import. */
  initMs: number;
  invoke(event: unknown): Promise<InvocationResult>;
  /** What the process wrote (runtime and function logs). */
  output(): string;
  stop(): Promise<void>;
}

export interface FunctionOptions {
  /** serverless.yml's name for the function (the sandbox's AWS_LAMBDA_FUNCTION_NAME). */
  name: string;
  /** The unzipped package. */
  taskRoot: string;
  /** `functions/login.handler`, as in the template. */
  handler: string;
  /** The function's own settings (the template's Environment.Variables, resolved). */
  environment: Record<string, string>;
  memoryMb?: number;
  initTimeoutMs?: number;
}

/** Thrown when init fails: the runtime's report to /init/error, if it made one. */
export class InitFailed extends Error {
  override name = 'InitFailed';
  constructor(
    message: string,
    readonly initError: RuntimeError | undefined,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Starts the function's package under the runtime client with the variables Lambda sets in a
 * sandbox, and waits for its init to end: resolves at the first poll for an event, rejects with
 * InitFailed when the runtime reports an init error or the process exits first.
 */
export async function startFunction(options: FunctionOptions): Promise<StartedFunction> {
  const { name, taskRoot, handler, environment, memoryMb = 256, initTimeoutMs = 20_000 } = options;
  const runtime = await startRuntimeApi({ functionName: name });
  const started = performance.now();
  const child: ChildProcess = spawn(NODE_24, [RUNTIME_CLIENT, handler], {
    cwd: taskRoot,
    // Only what a sandbox holds: the function's variables and Lambda's own, no variable of this shell.
    env: {
      PATH: `${path.dirname(NODE_24)}:/usr/local/bin:/usr/bin:/bin`,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      ...environment,
      AWS_LAMBDA_RUNTIME_API: runtime.address,
      _HANDLER: handler,
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: path.dirname(RUNTIME_CLIENT),
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_FUNCTION_NAME: `portrait-prod-${name}`,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/portrait-prod-${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      AWS_REGION: environment.AWS_REGION ?? 'us-east-1',
      AWS_DEFAULT_REGION: environment.AWS_REGION ?? 'us-east-1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await runtime.close();
  };

  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    runtime.firstPoll.then(() => ({ kind: 'ready' as const })),
    runtime.initError.then((error) => ({ kind: 'init-error' as const, error })),
    exited.then((how) => ({ kind: 'exited' as const, how })),
    new Promise<{ kind: 'timeout' }>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), initTimeoutMs))),
  ]);
  clearTimeout(timer);
  const initMs = performance.now() - started;
  if (outcome.kind !== 'ready') {
    // An init error is followed by the runtime's exit; wait for it so the whole log is kept.
    // The timer is cleared either way: a pending one would keep the caller's process (a test worker) alive.
    if (outcome.kind === 'init-error') {
      let exitWait: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (exitWait = setTimeout(resolve, 2000)))]);
      clearTimeout(exitWait);
    }
    await stop();
    const why =
      outcome.kind === 'init-error'
        ? `init error ${outcome.error.errorType}: ${outcome.error.errorMessage}`
        : outcome.kind === 'exited'
          ? `the runtime exited (${outcome.how}) before asking for an event`
          : `no poll for an event within ${initTimeoutMs} ms`;
    throw new InitFailed(`${name}: ${why}\n${output}`, outcome.kind === 'init-error' ? outcome.error : undefined, output);
  }
  const invoke = (event: unknown) =>
    Promise.race([
      runtime.invoke(event),
      exited.then((how): never => {
        throw new Error(`${name}: the runtime exited (${how}) during an invocation\n${output}`);
      }),
    ]);
  return { runtime, initMs, invoke, output: () => output, stop };
}
