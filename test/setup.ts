// Shared test setup: every test file starts from a clean environment. Tests that need a variable set it
// with vi.stubEnv and vitest restores it (unstubEnvs).
import { afterEach, vi } from 'vitest';

afterEach(() => {
  vi.unstubAllEnvs();
});
