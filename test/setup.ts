// Shared test setup: every test file starts from a clean environment and may read only the checkout.
// Tests that need a variable set it with vi.stubEnv and vitest restores it (unstubEnvs).
import { afterEach, vi } from 'vitest';
import { installCheckoutGuard } from './helpers/checkout-guard.ts';

installCheckoutGuard();

afterEach(() => {
  vi.unstubAllEnvs();
});
