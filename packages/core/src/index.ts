/**
 * `@nvcf-ecr/core`: the domain. No `process.env`, no client construction: collaborators (AWS SDK clients,
 * the NVCF client, a clock, a logger) are passed in by the edge (`functions/`, the CLI, the sandbox runtime).
 */
export * from './config/index.ts';
export * from './ecr/hostname.ts';
export * from './ecr/reference.ts';
export * from './ecr/regions.ts';
export * from './errors.ts';
export * from './image/platform.ts';
export * from './log.ts';
export * from './redact.ts';
