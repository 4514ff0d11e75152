/**
 * Push validation (packages/core/src/validation/README.md): the verdict on a pushed image's platforms, the
 * ECR push event it starts from and the `Image Validation` event it publishes.
 */
export * from './detail.ts';
export * from './event.ts';
export * from './functions.ts';
export * from './not-found.ts';
export * from './validate.ts';
