import { defineConfig } from 'vitest/config';

// One run covers every tier: test/unit (no network), test/e2e (against an in-process sandbox on
// 127.0.0.1) and test/stacks (synthesised CloudFormation). Benchmarks live in test/bench and never run here.
//
// Unit and stacks files share their workers' module graph (`isolate: false`): they hold no state between files
// beyond what `test/setup.ts` resets (environment stubs) and the read-only checkout guard, and re-importing the
// SDK, CDK and SST for each of them cost about 100 s of the two cores' time. Every other file (the e2e tier,
// which starts sandboxes and module-level clients, and the licence walk) keeps a fresh module graph.
const TIMEOUTS = { testTimeout: 30_000, hookTimeout: 60_000 } as const;

export default defineConfig({
  test: {
    ...TIMEOUTS,
    setupFiles: ['test/setup.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'stacks', include: ['test/stacks/**/*.test.ts'], isolate: false } },
      {
        extends: true,
        test: {
          name: 'isolated',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', 'test/stacks/**', 'test/bench/**', '**/node_modules/**'],
        },
      },
    ],
  },
});
