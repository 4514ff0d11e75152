#!/usr/bin/env node
// Entry point of the `nvcf-ecr` command. The published package ships one bundle in dist/; in the
// repository there is no build step: Node 22 runs the TypeScript sources directly by stripping types.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/nvcf-ecr.js', import.meta.url);
const entry = existsSync(bundle) ? bundle : new URL('../src/index.ts', import.meta.url);
const { start } = await import(entry.href);
await start();
