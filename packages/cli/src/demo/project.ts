import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the demo's inputs are. The demo tells the story of the example configuration (`nvcf-ecr.config.ts`:
 * repositories `inference`, `inference-gb200` and `tools`, GB200 requiring linux/arm64) with the project's
 * real images (`test/fixtures/images`), so it runs in a clone of the repository: found from the current
 * directory upwards (`npm start` runs at the root), else from where this module lives (the command run from
 * elsewhere, or the bundle in `packages/cli/dist`). regclient's
 * buildx-built test repository (`test/fixtures/regclient-testrepo`) supplies the multi-platform index and the
 * artifact.
 */

export interface DemoProject {
  /** The repository's root. */
  root: string;
  /** The example configuration. */
  configPath: string;
  /** The project's OCI layout of built images (`test/fixtures/images`). */
  images: string;
  /** regclient's buildx-built OCI layout (`test/fixtures/regclient-testrepo`). */
  regclient: string;
}

export const EXAMPLE_CONFIG = 'nvcf-ecr.config.ts';
export const IMAGES_LAYOUT = join('test', 'fixtures', 'images');
export const REGCLIENT_LAYOUT = join('test', 'fixtures', 'regclient-testrepo');

/** The project around `cwd` (or around `moduleUrl`), or undefined when neither is inside a clone. */
export function findProject(cwd: string, moduleUrl: string): DemoProject | undefined {
  const root = findRoot(resolve(cwd)) ?? findRoot(dirname(fileURLToPath(moduleUrl)));
  if (!root) return undefined;
  return {
    root,
    configPath: join(root, EXAMPLE_CONFIG),
    images: join(root, IMAGES_LAYOUT),
    regclient: join(root, REGCLIENT_LAYOUT),
  };
}

function findRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, EXAMPLE_CONFIG)) && existsSync(join(dir, IMAGES_LAYOUT, 'index.json')))
      return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
