/**
 * `@nvcf-ecr/core`: the domain. No `process.env`, no client construction: collaborators (AWS SDK clients,
 * the NVCF client, a clock, a logger) are passed in by the edge (`functions/`, the CLI, the sandbox runtime).
 */
export * from './audit/index.ts';
export * from './aws-errors.ts';
export * from './config/index.ts';
export * from './credential/codec.ts';
export * from './ecr/hostname.ts';
export * from './ecr/reference.ts';
export * from './ecr/regions.ts';
export * from './errors.ts';
export * from './events/messages.ts';
export * from './events/names.ts';
export * from './events/pattern.ts';
export * from './events/patterns.ts';
export * from './events/publish.ts';
export * from './events/schedule.ts';
export * from './events/transform.ts';
export * from './events/webhooks.ts';
export * from './iam/effective.ts';
export * from './iam/policy.ts';
export * from './iam/probes.ts';
export * from './iam/pull-access.ts';
export * from './iam/simulator.ts';
export * from './iam/statements.ts';
export * from './image/cache.ts';
export * from './image/digest.ts';
export * from './image/fetcher.ts';
export * from './image/manifest.ts';
export * from './image/media-types.ts';
export * from './image/platform.ts';
export * from './image/policy.ts';
export * from './image/resolve.ts';
export * from './image/sources/docker-archive.ts';
export * from './image/sources/ecr.ts';
export * from './image/sources/layout.ts';
export * from './image/sources/oci-archive.ts';
export * from './image/sources/oci-layout.ts';
export * from './log.ts';
export * from './metrics.ts';
export * from './per-region.ts';
export * from './ports/nvcf.ts';
export * from './redact.ts';
export * from './rotation/index.ts';
export * from './validation/detail.ts';
export * from './validation/event.ts';
export * from './validation/validate.ts';
