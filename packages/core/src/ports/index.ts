/**
 * What the domain needs from outside, as interfaces the edge implements: the NVCF API (with `@nvcf-ecr/nvcf`)
 * and the AWS operations that are not worth a whole SDK client in every bundle (`./aws.ts`; SDK-backed
 * implementations in `./sdk.ts`, exported as `@nvcf-ecr/core/ports/sdk`).
 */
export * from './aws.ts';
export * from './nvcf.ts';
