import { readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

/**
 * Bundles the published `nvcf-ecr` command into one ES module, `dist/nvcf-ecr.js`, which `bin/nvcf-ecr.js`
 * prefers when it exists. Our own code — the `@nvcf-ecr/*` workspaces (private, never published) and the
 * handlers under `functions/` that `sandbox` and `demo` run — is bundled, types stripped, except the sandbox
 * itself (development-only, AGPL code inside: `sandbox` and `demo` import it at run time); every third-party
 * package stays external and must be a declared dependency. The build fails when the bundle imports a package
 * `dependencies` does not declare, or `dependencies` declares one the bundle does not import, so the published
 * dependency list is exact by construction.
 *
 *   node scripts/build.ts [--outdir DIR]   build (default: the package's dist/)
 *   node scripts/build.ts --clean          remove dist/ (postpack: the repository runs the sources again)
 */

const PACKAGE_DIR = resolve(import.meta.dirname, '..');
const OWN_SCOPE = '@nvcf-ecr/';
const SANDBOX_PACKAGE = '@nvcf-ecr/sandbox';
const BUILTINS = new Set(builtinModules);

export interface BundleResult {
  outfile: string;
  /** Third-party packages the bundle imports (left external), sorted. */
  externals: string[];
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

export async function bundle(outdir = join(PACKAGE_DIR, 'dist')): Promise<BundleResult> {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const declared = new Set(Object.keys(pkg.dependencies ?? {}));
  const externals = new Set<string>();
  const thirdPartyExternal: Plugin = {
    name: 'third-party-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) return { external: true };
        const name = packageName(args.path);
        // The sandbox is loaded at run time when installed (src/sandbox-module.ts), never bundled nor declared.
        if (name === SANDBOX_PACKAGE) return { external: true };
        if (name.startsWith(OWN_SCOPE)) return undefined;
        externals.add(name);
        return { external: true };
      });
    },
  };
  const outfile = join(outdir, 'nvcf-ecr.js');
  await build({
    entryPoints: [join(PACKAGE_DIR, 'src', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [thirdPartyExternal],
  });
  const used = [...externals].sort();
  const undeclared = used.filter((name) => !declared.has(name));
  const unused = [...declared].filter((name) => !externals.has(name)).sort();
  if (undeclared.length > 0 || unused.length > 0) {
    rmSync(outfile, { force: true });
    throw new Error(
      [
        undeclared.length > 0
          ? `the bundle imports undeclared packages: add ${undeclared.join(', ')} to dependencies`
          : '',
        unused.length > 0
          ? `dependencies declares packages the bundle never imports: remove ${unused.join(', ')}`
          : '',
      ]
        .filter(Boolean)
        .join('; '),
    );
  }
  return { outfile, externals: used };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, clean: { type: 'boolean' } } });
  if (values.clean) {
    rmSync(join(PACKAGE_DIR, 'dist'), { recursive: true, force: true });
  } else {
    const result = await bundle(values.outdir ? resolve(values.outdir) : undefined);
    process.stdout.write(`bundled ${result.outfile} (external: ${result.externals.join(', ')})\n`);
  }
}
