import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as z from 'zod/mini';
import { parseRegistryHostname, type RegistryHost } from '../ecr/hostname.ts';
import type { Partition } from '../ecr/regions.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import {
  type Deployment,
  defaultNgcSecretName,
  defaultSecretName,
  defaultUserName,
  nameIssues,
} from './names.ts';
import {
  type ConfigInput,
  canonicalPlatform,
  configSchema,
  type ParsedConfig,
  type RegistryConfigParsed,
} from './schema.ts';

// Callers of loadConfig/assertConfig catch this without importing the whole core.
export { ConfigError, type ConfigIssue } from '../errors.ts';
export * from './names.ts';
export * from './schema.ts';

/** A registry of the configuration with what the hostname implies filled in. */
export interface RegistryConfig extends RegistryConfigParsed {
  readonly kind: 'private' | 'public';
  readonly accountId: string;
  readonly region: string;
  readonly partition: Partition;
  readonly userName: string;
  readonly secretName: string;
  /** Whether the configuration gave `userName` and `secretName` (else they are the defaults, `names.ts`). */
  readonly named: { readonly userName: boolean; readonly secretName: boolean };
  readonly host: RegistryHost;
}

export interface Config extends Omit<ParsedConfig, 'registries' | 'ngc'> {
  readonly ngc: ParsedConfig['ngc'] & { readonly apiKeySecretName: string };
  /** Whether the configuration gave `ngc.apiKeySecretName`. */
  readonly ngcSecretNamed: boolean;
  readonly registries: readonly RegistryConfig[];
  /** The deployment the default names were chosen for ({@link forDeployment}); undefined: none (`names.ts`). */
  readonly deployment: Deployment | undefined;
}

/**
 * Types the operator's configuration. Identity at run time; its value is that editors check the keys.
 *
 * @example
 * export default defineConfig({
 *   ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
 *   registries: [{ name: 'prod', hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
 *                  repositories: ['inference'], credentialName: 'ecr-prod' }],
 * });
 */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

export type ParseResult = { ok: true; value: Config } | { ok: false; issues: ConfigIssue[] };

/** Validates raw input into a {@link Config}, reporting every problem with its path. Never throws for bad input. */
export function parseConfig(raw: unknown): ParseResult {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) return { ok: false, issues: result.error.issues.map(toIssue) };
  const config = resolveConfig(result.data);
  const issues = nameIssues(config);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: config };
}

/** Like {@link parseConfig} but throws {@link ConfigError} listing every problem. */
export function assertConfig(raw: unknown, source?: string): Config {
  const r = parseConfig(raw);
  if (!r.ok) throw new ConfigError(r.issues, source);
  return r.value;
}

/**
 * The configuration as deployed to `at` (a stage in a region): every name it leaves out becomes that
 * deployment's default (`names.ts`), so two stages, or two regions, of one configuration never claim the same
 * IAM user or secret; names it gives stay. Throws {@link ConfigError} for names the deployment cannot create.
 * The stacks deploy this, the handlers receive it, and the CLI uses it when a stage is named.
 */
export function forDeployment(config: Config, at: Deployment, source?: string): Config {
  const deployed: Config = {
    ...config,
    deployment: at,
    ngc: {
      ...config.ngc,
      apiKeySecretName: config.ngcSecretNamed ? config.ngc.apiKeySecretName : defaultNgcSecretName(at),
    },
    registries: config.registries.map((r) => ({
      ...r,
      userName: r.named.userName ? r.userName : defaultUserName(r.name, at),
      secretName: r.named.secretName ? r.secretName : defaultSecretName(r.name, at),
    })),
  };
  const issues = nameIssues(deployed, at);
  if (issues.length > 0)
    throw new ConfigError(issues, source ?? `the configuration for stage '${at.stage}' in ${at.region}`);
  return deployed;
}

function resolveConfig(parsed: ParsedConfig): Config {
  return {
    ...parsed,
    deployment: undefined,
    ngc: { ...parsed.ngc, apiKeySecretName: parsed.ngc.apiKeySecretName ?? defaultNgcSecretName() },
    ngcSecretNamed: parsed.ngc.apiKeySecretName !== undefined,
    registries: parsed.registries.map((r): RegistryConfig => {
      const host = parseRegistryHostname(r.hostname);
      const platforms = {
        require: r.platforms.require.map(canonicalPlatform),
        repositories: Object.fromEntries(
          Object.entries(r.platforms.repositories).map(([k, v]) => [k, v.map(canonicalPlatform)]),
        ),
      };
      return {
        ...r,
        platforms,
        kind: host.kind,
        accountId: host.kind === 'private' ? host.accountId : (r.accountId ?? ''),
        region: host.region,
        partition: host.partition,
        userName: r.userName ?? defaultUserName(r.name),
        secretName: r.secretName ?? defaultSecretName(r.name),
        named: { userName: r.userName !== undefined, secretName: r.secretName !== undefined },
        host,
      };
    }),
  };
}

/**
 * The configuration as JSON that {@link parseConfig} accepts again (derived fields dropped). This is how the
 * stacks hand the configuration to the handlers.
 */
export function serializeConfig(config: Config): string {
  const { deployment: _d, ngcSecretNamed: _n, ...rest } = config;
  return JSON.stringify({
    ...rest,
    // The names are written out as resolved (for the deployment, when there is one): the reader must use
    // exactly these, whatever it would default to.
    registries: config.registries.map(
      ({ kind: _k, region: _r, partition: _p, host: _h, named: _nm, ...registry }) => registry,
    ),
  });
}

/** The registry a repository belongs to (by hostname when given), or `undefined` when none lists it. */
export function findRegistry(
  config: Config,
  repository: string,
  hostname?: string,
): RegistryConfig | undefined {
  return config.registries.find(
    (r) => r.repositories.includes(repository) && (hostname === undefined || r.hostname === hostname),
  );
}

/**
 * The region the stacks deploy to, and so where every rotated secret, the NGC API key secret and the project
 * bus live: the region of the first private registry (ECR delivers a registry's push events in its own
 * region, so the push rule must be there), else us-east-1, where ECR Public authenticates
 * (https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html). The stacks and the CLI
 * take it from here; `npx sst deploy --region` may still deploy elsewhere.
 */
export function deploymentRegion(config: Pick<Config, 'registries'>): string {
  return config.registries.find((r) => r.kind === 'private')?.region ?? 'us-east-1';
}

/** Required platforms of a repository: its own policy, else the registry's default. */
export function requiredPlatforms(registry: RegistryConfig, repository: string): string[] {
  return registry.platforms.repositories[repository] ?? registry.platforms.require;
}

const CONFIG_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js', '.json'];

/**
 * Loads and validates a configuration file: `.ts`/`.mts` (Node 22 strips the types), `.mjs`/`.js`
 * (default export or `config` export), or `.json`. Throws {@link ConfigError} naming the file and every
 * problem; a missing or unreadable file is a ConfigError too, never a stack trace.
 */
export async function loadConfig(path: string): Promise<Config> {
  const abs = resolve(path);
  const ext = extname(abs);
  const fail = (message: string, cause?: unknown): never => {
    throw new ConfigError([{ path: '', message }], path, cause === undefined ? undefined : { cause });
  };
  if (!CONFIG_EXTENSIONS.includes(ext)) {
    fail(`unsupported file type '${ext || '(none)'}': use .ts, .mjs or .json`);
  }
  let raw: unknown;
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (err) {
      return fail(describeReadError(err, path), err);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return fail(`is not valid JSON: ${(err as Error).message}`, err);
    }
  } else {
    try {
      await readFile(abs);
    } catch (err) {
      return fail(describeReadError(err, path), err);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } catch (err) {
      return fail(`could not be loaded: ${(err as Error).message}`, err);
    }
    raw = mod['default'] ?? mod['config'];
    if (raw === undefined) fail('exports no configuration: add `export default defineConfig({...})`');
  }
  return assertConfig(raw, path);
}

function describeReadError(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return `file not found: ${path} (write one with 'nvcf-ecr init', or pass --config FILE)`;
  if (code === 'EACCES') return `file is not readable: ${path}`;
  return `could not be read: ${(err as Error).message}`;
}

type ZodIssue = z.core.$ZodIssue;

function toIssue(issue: ZodIssue): ConfigIssue {
  const path = formatPath(issue.path);
  return { path, message: describe(issue) };
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function describe(issue: ZodIssue): string {
  // Messages written in the schema say how to fix the value; keep them.
  if (issue.message && issue.message !== 'Invalid input') return issue.message;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return input === undefined
        ? `is required (${withArticle(issue.expected)})`
        : `must be ${withArticle(issue.expected)}, not ${kindOf(input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}: check the spelling against the configuration reference in README.md`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
    case 'invalid_format':
      return `has the wrong format (${issue.format})`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return 'is invalid';
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return withArticle(typeof v);
}

function withArticle(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

export * from './webhooks.ts';
