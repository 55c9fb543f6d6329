// The zips `serverless package` writes, read with fflate: names and sizes from the central
// directory, a file's bytes on demand, or everything written out to a folder.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unzipSync } from 'fflate';

export interface ZipEntry {
  name: string;
  /** Uncompressed size in bytes. */
  size: number;
  compressedSize: number;
}

export interface ZipArchive {
  /** The zip's own size in bytes. */
  bytes: number;
  /** Files only (directory entries are left out). */
  entries: ZipEntry[];
  read(name: string): Buffer;
  /** Every file, decompressed in one pass. */
  readAll(): Map<string, Buffer>;
}

export function readZip(zip: Uint8Array): ZipArchive {
  const entries: ZipEntry[] = [];
  // A filter that answers false reads the central directory and decompresses nothing.
  unzipSync(zip, {
    filter: (file) => {
      if (!file.name.endsWith('/')) entries.push({ name: file.name, size: file.originalSize, compressedSize: file.size });
      return false;
    },
  });
  const names = new Set(entries.map((entry) => entry.name));
  return {
    bytes: zip.byteLength,
    entries,
    read(name) {
      if (!names.has(name)) throw new Error(`${name} is not in the zip`);
      const file = unzipSync(zip, { filter: (candidate) => candidate.name === name })[name]!;
      return asBuffer(file);
    },
    readAll() {
      const files = unzipSync(zip, { filter: (file) => !file.name.endsWith('/') });
      return new Map(Object.entries(files).map(([name, data]) => [name, asBuffer(data)]));
    },
  };
}

const asBuffer = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** Writes every file of the archive under `dir`, refusing names that point outside it. */
export async function extractZip(archive: ZipArchive, dir: string): Promise<void> {
  const root = path.resolve(dir);
  for (const [name, data] of archive.readAll()) {
    const target = path.resolve(root, name);
    if (!target.startsWith(root + path.sep)) throw new Error(`${name} points outside the archive`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, data);
  }
}
