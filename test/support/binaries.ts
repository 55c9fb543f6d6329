import { execFileSync } from 'node:child_process';

/** The Debian packages each real-part test needs, and the one line that installs them. */
export const REAL_PARTS = {
  pgbouncer: { binaries: ['pgbouncer'], install: 'apt-get install -y --no-install-recommends pgbouncer' },
  rgw: { binaries: ['radosgw', 'ceph-mon', 'ceph-osd', 'radosgw-admin', 'monmaptool'], install: 'apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd' },
} as const;

const PATHS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a binary on PATH or in the Debian system folders, or undefined. */
export function findBinary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { env: { ...process.env, PATH: [process.env.PATH, ...PATHS].join(':') } })
      .toString()
      .trim() || undefined;
  } catch {
    return undefined;
  }
}
