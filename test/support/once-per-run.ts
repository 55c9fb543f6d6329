import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Something built once per test run and shared by the test files that need it, which jest runs in separate
 * worker processes: the first to ask takes the lock directory `<TEST_DATA_DIR>/<name>.lock` and `make`s it,
 * then leaves a note there; the others wait for the note and rebuild their view of it with `fromNote`.
 * A failure is noted too, so that the waiting files fail with its message instead of timing out.
 */
export async function oncePerRun<T, Note extends object>(
  name: string,
  timeoutMs: number,
  make: () => Promise<{ value: T; note: Note }>,
  fromNote: (note: Note) => T | Promise<T>,
): Promise<T> {
  const note = notePath(name);
  let maker = true;
  try {
    await mkdir(path.dirname(note));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    maker = false;
  }
  if (maker) {
    try {
      const made = await make();
      await publish(note, made.note);
      return made.value;
    } catch (error) {
      await publish(note, { error: String(error instanceof Error ? error.message : error) });
      throw error;
    }
  }
  const deadline = Date.now() + timeoutMs + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(note, 'utf8').catch(() => undefined);
    if (text) {
      const result = JSON.parse(text) as Note & { error?: string };
      if (result.error) throw new Error(`${name} (made by another test file) failed: ${result.error}`);
      return fromNote(result);
    }
    await sleep(250);
  }
  throw new Error(`waited too long for another test file to make ${name}`);
}

/** Where the note of `name` is (or will be): the global teardown reads it to stop what was started. */
export function notePath(name: string, root = process.env.TEST_DATA_DIR): string {
  if (!root) throw new Error('TEST_DATA_DIR is not set: run through jest (test/support/global-setup.ts)');
  return path.join(root, `${name}.lock`, 'result.json');
}

/** Written aside and renamed, so that a waiting reader never sees half a note. */
async function publish(note: string, result: object) {
  await writeFile(`${note}.tmp`, JSON.stringify(result));
  await rename(`${note}.tmp`, note);
}
