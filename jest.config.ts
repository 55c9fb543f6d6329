import type { Config } from 'jest';

// Native ESM (npm test passes --experimental-vm-modules): Middy 7, jose and file-type ship ESM only.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } }],
  },
  // The bundle gets the browser files from an esbuild plugin (esbuild.config.ts); tests build them the same way.
  moduleNameMapper: { '^portrait:static-assets$': '<rootDir>/test/support/static-assets.ts' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  maxWorkers: 4,
  testTimeout: 30_000,
  slowTestThreshold: 20,
};

export default config;
