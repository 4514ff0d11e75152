/**
 * Rotation of the NVCF pull key (packages/core/src/rotation/README.md): the Secrets Manager rotation protocol
 * (guard and four steps), the retirement of previous keys, the status view, the secret value and event
 * schemas.
 */
export * from './aws-errors.ts';
export * from './deps.ts';
export * from './details.ts';
export * from './invocation.ts';
export * from './keys.ts';
export * from './retire.ts';
export * from './run.ts';
export * from './secret-value.ts';
export * from './state.ts';
export * from './status.ts';
export * from './steps.ts';
export * from './wait.ts';
