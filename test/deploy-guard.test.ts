import { describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** `serverless <args>` through the project's own Node and binary, as `npx serverless` runs it. */
function serverless(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/serverless/bin/serverless.js'), ...args], {
      cwd: root,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('deploying a stage without settings', () => {
  test('`serverless deploy` to the dev stage (the default) fails before anything is built, naming what to do', async () => {
    const { code, output } = await serverless(['deploy', '--stage', 'dev']);
    expect(code).not.toBe(0);
    expect(output).toContain('Stage "dev" has no deploy settings');
    expect(output).toContain('portrait/<stage>');
    expect(output).not.toMatch(/Packaging|esbuild/i);
  }, 60_000);
});
