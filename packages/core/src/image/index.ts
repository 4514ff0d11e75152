/**
 * Images: references resolved to manifests, platforms read the way containerd selects them, the platform
 * policy, and the sources images are read from (ECR, OCI layouts, OCI and docker archives).
 */
export * from './cache.ts';
export * from './digest.ts';
export * from './fetcher.ts';
export * from './manifest.ts';
export * from './media-types.ts';
export * from './platform.ts';
export * from './policy.ts';
export * from './resolve.ts';
export * from './sources/docker-archive.ts';
export * from './sources/ecr.ts';
export * from './sources/layout.ts';
export * from './sources/oci-archive.ts';
export * from './sources/oci-layout.ts';
