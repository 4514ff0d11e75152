import type { LambdaHandler, RuntimeHandlers } from '@nvcf-ecr/sandbox';
import { handlerFactories } from '../../../functions/index.ts';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';

/**
 * The handlers the sandbox runs, composed from `functions/` exactly as deployed: `nvcf-ecr sandbox`,
 * `nvcf-ecr demo` and the end-to-end tests all use this one composition, so the sandbox never runs code the
 * stacks do not deploy.
 */
export function sandboxHandlers(): RuntimeHandlers {
  const handlers: RuntimeHandlers = {};
  for (const [key, factory] of Object.entries(handlerFactories)) {
    if (!factory) continue;
    // The runtime hands each function only the events its trigger produces; the handler validates them anyway.
    handlers[key as keyof RuntimeHandlers] = (env) => factory(fromSandboxEnvironment(env)) as LambdaHandler;
  }
  return handlers;
}
