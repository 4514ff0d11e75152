/** What the domain needs from the NVCF API, as interfaces the edge implements with `@nvcf-ecr/nvcf`. */
export * from './nvcf.ts';
