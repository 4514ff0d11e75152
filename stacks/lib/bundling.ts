import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What the stacks add to SST's esbuild options when they bundle a function (`sst/runtime/handlers/node.js`
 * spreads `nodejs.esbuild` last, over its own: ESM, minified, `mainFields` module first, `keepNames`). The
 * cold-start benchmark rebuilds each bundle with these same options, so it measures what deploys. Each option
 * only removes code the function never runs; none changes what the code that stays does.
 */

/** The module the bundles use in place of `@aws-sdk/credential-provider-node`, relative to the project root. */
export const LAMBDA_CREDENTIALS = 'functions/lib/lambda-credentials.ts';

/** The subset of esbuild's plugin API used here (SST pins esbuild 0.18; the repository has a newer one). */
export interface BundlingPlugin {
  readonly name: string;
  setup(build: {
    onLoad(
      options: { filter: RegExp },
      callback: (args: { path: string }) => Promise<{ contents: string; loader: 'js' | 'json' }>,
    ): void;
  }): void;
}

export interface FunctionBundling {
  readonly alias: Record<string, string>;
  readonly keepNames: false;
  readonly plugins: BundlingPlugin[];
}

/** The esbuild options every function is bundled with, on top of SST's. `root` is the project root. */
export function functionBundling(root: string): FunctionBundling {
  return {
    // In Lambda the role's credentials are always in the environment: bundle the SDK's env provider instead of
    // its whole workstation chain (functions/lib/lambda-credentials.ts says why; about 100 KB per bundle).
    // esbuild wants an absolute path; SST bundles the stacks, so `import.meta.url` is not this file's.
    alias: { '@aws-sdk/credential-provider-node': join(root, LAMBDA_CREDENTIALS) },
    // SST keeps every function's and class's `name` through minification, by wrapping each in a `__name()`
    // call (about 5 % of a bundle: 34 KB of the audit's). Nothing the functions run reads the name of a function
    // or class it declares: every error class sets `this.name` itself (core, nvcf and the SDK's errors alike),
    // the SDK names commands with strings (`.n("ECRClient", "DescribeImagesCommand")`), middy reads a
    // middleware's name only for timing hooks the handlers do not set. What is lost is the original names in
    // stack traces, which the bundles have no source map for either; the logs carry error names and messages.
    keepNames: false,
    plugins: [sdkSchemaLiteralKeys, sdkClientVersionOnly],
  };
}

/**
 * The SDK clients' generated schemas (`@aws-sdk/client-<service>/dist-es/schemas/schemas_0.js`, one constant
 * per operation and shape of the whole service) write trait keys as computed properties of string constants
 * (`const _e = "error"; … { [_e]: _c }`). esbuild cannot prove that a computed key has no side effect (a
 * key's `toString` could run code), so it keeps every such statement, and with them every shape of the
 * service: S3's 68 KB of schemas are bundled for two operations. The SDK's maintainers know
 * (https://github.com/aws/aws-sdk-js-v3/issues/7607) and the generator's fix writes the keys as literals
 * (https://github.com/smithy-lang/smithy-typescript/pull/1889). This plugin makes the same change as the
 * files are loaded: `[_e]:` becomes `"error":` wherever `_e` is a top-level `const` of a string literal in the
 * same file. A `const` holds its value for ever, and a computed key that is a string is that string, so every
 * object is the same as before (`test/stacks/bundling.test.ts` compares the schemas of every client we use);
 * esbuild then drops the shapes no imported command reaches.
 */
export const sdkSchemaLiteralKeys: BundlingPlugin = {
  name: 'sdk-schema-literal-keys',
  setup(build) {
    build.onLoad(
      {
        filter: /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/][^\\/]+\.js$/,
      },
      async ({ path }) => ({ contents: literalSchemaKeys(await readFile(path, 'utf8')), loader: 'js' }),
    );
  },
};

/** `[name]:` → `"value":` for every top-level `const name = "value";` of `source`; anything else as it was. */
export function literalSchemaKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const m of source.matchAll(/^const ([A-Za-z_$][\w$]*) = ("(?:[^"\\\n]|\\.)*");$/gm)) {
    if (m[1] !== undefined && m[2] !== undefined) strings.set(m[1], m[2]);
  }
  return source.replace(
    /\[([A-Za-z_$][\w$]*)\]:/g,
    (key, name: string) => strings.get(name)?.concat(':') ?? key,
  );
}

/**
 * Each client's runtime configuration imports its whole `package.json` (scripts, dependencies, about 2 KB)
 * to read one field, `version`, for the user agent (`packageInfo.version` in `dist-es/runtimeConfig.js`);
 * esbuild bundles a default-imported JSON file whole. The plugin hands esbuild that one field.
 */
export const sdkClientVersionOnly: BundlingPlugin = {
  name: 'sdk-client-version-only',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/ },
      async ({ path }) => {
        const { version } = JSON.parse(await readFile(path, 'utf8')) as { version: string };
        return { contents: JSON.stringify({ version }), loader: 'json' };
      },
    );
  },
};
