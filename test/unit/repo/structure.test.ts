import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKOUT } from '../../helpers/checkout-guard.ts';
import { read, trackedTextFiles } from './references.ts';

// `@nvcf-ecr/core` is imported by area (`@nvcf-ecr/core/rotation`, `/audit`, …), so an import line says which
// folder of packages/core/src to open. The subpath is the folder (its index.ts) or the file under src/.

const CORE_SRC = 'packages/core/src';
const exportsMap = (JSON.parse(read('packages/core/package.json')) as { exports: Record<string, string> })
  .exports;
const code = trackedTextFiles().filter((f) => /\.(ts|mts|mjs|js)$/.test(f));

/** `@nvcf-ecr/core` or `@nvcf-ecr/core/sub` named by an import, export-from, dynamic import or vi.mock. */
const SPECIFIER = /(?:from\s+|import\s*\(\s*|vi\.mock\(\s*)'(@nvcf-ecr\/core(?:\/[^']*)?)'/g;

function specifiersIn(file: string): string[] {
  return [...read(file).matchAll(SPECIFIER)].map((m) => m[1] as string);
}

describe('Core subpath exports', () => {
  it('offers every area as a subpath and no root barrel', () => {
    const areas = [
      'rotation',
      'audit',
      'validation',
      'image',
      'iam',
      'config',
      'events',
      'credential',
      'ecr',
    ];
    for (const area of areas) expect(Object.keys(exportsMap), area).toContain(`./${area}`);
    expect(Object.keys(exportsMap)).not.toContain('.');
    expect(existsSync(join(CHECKOUT, CORE_SRC, 'index.ts'))).toBe(false);
  });

  it('names each subpath after the folder or file it exports', () => {
    for (const [key, target] of Object.entries(exportsMap)) {
      const sub = key.slice(2);
      expect([`./src/${sub}/index.ts`, `./src/${sub}.ts`], key).toContain(target);
      expect(existsSync(join(CHECKOUT, 'packages/core', target)), target).toBe(true);
    }
  });

  it('leaves no folder of core without a subpath', () => {
    const folders = new Set(
      code
        .filter((f) => f.startsWith(`${CORE_SRC}/`))
        .map((f) => f.slice(CORE_SRC.length + 1).split('/'))
        .map((parts) =>
          parts.length === 1 ? (parts[0] as string).replace(/\.ts$/, '') : (parts[0] as string),
        ),
    );
    expect(folders.size).toBeGreaterThan(10);
    for (const folder of folders) expect(Object.keys(exportsMap), folder).toContain(`./${folder}`);
  });

  it('is imported by subpath everywhere, never through the root', () => {
    const imports = code.flatMap((file) => specifiersIn(file).map((specifier) => ({ file, specifier })));
    // The scan reads real imports: the handlers, the stacks, the CLI and the tests all use core.
    expect(imports.length).toBeGreaterThan(100);
    expect(imports.filter((i) => i.specifier === '@nvcf-ecr/core')).toEqual([]);
    const unknown = imports.filter(
      (i) => !(`./${i.specifier.slice('@nvcf-ecr/core/'.length)}` in exportsMap),
    );
    expect(unknown).toEqual([]);
  });

  it('imports itself relatively, never by package name', () => {
    const own = code.filter((f) => f.startsWith(`${CORE_SRC}/`) && specifiersIn(f).length > 0);
    expect(own).toEqual([]);
  });
});
