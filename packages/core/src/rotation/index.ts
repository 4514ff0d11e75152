/**
 * Rotation of the NVCF pull key (packages/core/src/rotation/README.md): the Secrets Manager rotation protocol
 * (guard and four steps), the retirement of previous keys, the status view, the secret value and event
 * schemas.
 */
export * from './aws-errors.ts';
export { createSecret } from './create-secret.ts';
export * from './deps.ts';
export * from './details.ts';
export { finishSecret } from './finish-secret.ts';
export * from './invocation.ts';
export * from './key-ids.ts';
export * from './keys.ts';
export { NVCF_CREDENTIAL_TAGS } from './nvcf-sync.ts';
export * from './retire.ts';
export * from './rotate-credential.ts';
export * from './secret-value.ts';
export { setSecret } from './set-secret.ts';
export * from './start-rotation.ts';
export * from './state.ts';
export * from './status.ts';
export { ACCESS_KEYS_PER_USER, guard, type StepContext } from './step-context.ts';
export { testSecret } from './test-secret.ts';
export { classifyUserKeys } from './user-keys.ts';
export * from './wait.ts';
export * from './window.ts';
