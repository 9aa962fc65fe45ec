import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM helper shared with the build
import { aliases, repoRoot, swcOptions } from './scripts/swc-options.mjs';
import path from 'node:path';

const alias = Object.fromEntries(Object.entries(aliases as Record<string, string>).map(([k, v]) => [k, path.join(repoRoot, v)]));

export default defineConfig({
  plugins: [swc.vite({ ...swcOptions(), module: { type: 'es6' } })],
  resolve: { alias },
  test: {
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/process-logs-on-failure.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
