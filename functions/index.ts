import { createAuditHandler } from './audit.ts';
import type { FunctionEnvironment } from './lib/environment.ts';
import { createRetireKeysHandler } from './retire-keys.ts';
import { createRotateCredentialHandler } from './rotate-credential.ts';
import { createValidatePushHandler } from './validate-push.ts';

/**
 * Every handler factory, by the function key the stacks and the local runtime use (`FUNCTIONS` in
 * `packages/core/src/events/names.ts`). Tests, `nvcf-ecr sandbox` and `nvcf-ecr demo` compose this one map,
 * so the sandbox always runs exactly the handlers that are deployed. Each handler adds its line.
 */
export type HandlerFactory = (
  env: FunctionEnvironment,
) => (event: never, context?: unknown) => Promise<unknown>;

export const handlerFactories: Partial<
  Record<'rotateCredential' | 'retireKeys' | 'validatePush' | 'audit', HandlerFactory>
> = {
  validatePush: createValidatePushHandler,
  rotateCredential: createRotateCredentialHandler,
  retireKeys: createRetireKeysHandler,
  audit: createAuditHandler,
};
