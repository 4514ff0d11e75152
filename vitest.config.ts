import { defineConfig } from 'vitest/config';

// One run covers every tier: test/unit (no network), test/e2e (against an in-process sandbox on
// 127.0.0.1) and test/stacks (synthesised CloudFormation). Benchmarks live in test/bench and never run here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/setup.ts'],
  },
});
