import { describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';

// The rest of the suite hashes at N=2^10 (PASSWORD_HASH_COST=10 in test/support/settings.ts). This file
// runs with the production default, set before any module reads the settings.
delete process.env.PASSWORD_HASH_COST;
const { handler: login } = await import('../functions/login');
const { handler: register } = await import('../functions/register');
const { query } = await import('../lib/platform/db');
const { config } = await import('../lib/platform/config');
const { invoke } = await import('./support/events');

// Not from ./support/accounts: importing it loads the settings before the line above could change them.
const PASSWORD = 'correct horse battery staple';
const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.test`;

const loginWith = (email: string, password: string) => invoke(login, { method: 'POST', route: '/auth/login', json: { email, password } });

describe('password hashing at the production cost', () => {
  test('the default cost is OWASP\'s scrypt N=2^15, r=8, p=3 and registration stores it in the hash', async () => {
    expect(config().passwordHashing).toEqual({ N: 32768, r: 8, p: 3 });
    const email = uniqueEmail('cost');
    expect((await invoke(register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } })).status).toBe(202);
    const { rows } = await query<{ password_hash: string }>('select password_hash from users where email = $1', [email]);
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$v=1\$N=32768,r=8,p=3\$/);
  });

  test('unknown emails take about as long as wrong passwords (a dummy hash at the same cost is checked)', async () => {
    await loginWith(uniqueEmail('warm'), 'not the password'); // builds the container's dummy hash once
    const started = performance.now();
    const response = await loginWith(uniqueEmail('ghost'), 'not the password');
    const unknownMs = performance.now() - started;
    expect(response.status).toBe(401);
    // Without the dummy hash an unknown email answers in a few ms; one N=2^15 hash takes ~100 ms or more
    // (and only gets slower under load, so this bound cannot flake the wrong way).
    expect(unknownMs).toBeGreaterThan(50);
  });
});
