/** The registry credential NVCF pulls with: how an access key is encoded for NVCF and read back. */
export * from './codec.ts';
