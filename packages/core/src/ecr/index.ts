/** ECR: registry hostnames, image references, and regions and partitions. */
export * from './hostname.ts';
export * from './reference.ts';
export * from './regions.ts';
