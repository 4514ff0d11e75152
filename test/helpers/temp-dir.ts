import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A temporary directory for the calling suite: made before its tests, removed with its contents after them.
 * The returned function gives its path (only while the suite runs).
 */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(() => (dir === undefined ? undefined : rm(dir, { recursive: true, force: true })));
  return () => {
    if (dir === undefined) throw new Error('the temporary directory exists only while its suite runs');
    return dir;
  };
}
