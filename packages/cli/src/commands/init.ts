import { rm, writeFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import {
  type ConfigInput,
  DEFAULT_GRACE_HOURS,
  DEFAULT_ROTATION_SCHEDULE,
  loadConfig,
  parseConfig,
} from '@nvcf-ecr/core/config';
import { ConfigError, type ConfigIssue } from '@nvcf-ecr/core/errors';
import type { Command, CommandContext } from '../cli.ts';
import { DEFAULT_CONFIG_FILE } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';

/**
 * `nvcf-ecr init`: writes a starter configuration from flags. The file is validated twice: the object against
 * the schema before anything is written (a bad flag writes nothing), then the written file by loading it the
 * way every command does (core's `loadConfig`), so what `init` leaves behind is known to load.
 */

export const DEFAULT_REGISTRY_NAME = 'default';
/** NVCF's GB200 functions run on Grace (Arm) CPUs, so their repositories need linux/arm64 too. */
const GB200_PLATFORMS = ['linux/amd64', 'linux/arm64'];

const HELP = `Writes a starter configuration file with one registry, then loads it to prove it is valid. It has no
import, so it loads where the nvcf-ecr package is not installed; every key and its default is in the
configuration reference (README.md).

Options:
  --hostname <host>             registry hostname, <account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws
                                (required)
  --repository <repo>           a repository NVCF may pull from (repeatable; at least one)
  --arm64-repository <repo>     a repository of GB200 (Grace, Arm) functions: its images must have linux/amd64
                                and linux/arm64 (repeatable; added to the repositories if not listed)
  --registry-name <name>        the registry's name in commands and resource names (default ${DEFAULT_REGISTRY_NAME})
  --credential-name <name>      the NVCF registry credential's name (default ecr-<registry-name>)
  --ngc-secret <name>           Secrets Manager secret holding the NGC API key (default: nvcf-ecr/<stage>/ngc-api-key)
  --account-id <id>             owner account, for public.ecr.aws only
  --email <address>             notify this address of non-compliant images, failed rotations and audit
                                failures (repeatable)
  --out <file>                  where to write it, .ts, .mjs or .json (default ${DEFAULT_CONFIG_FILE})
  --force                       overwrite an existing file
  -h, --help                    show this help

Examples:
  nvcf-ecr init --hostname 123456789012.dkr.ecr.us-east-1.amazonaws.com --registry-name prod \\
    --repository inference --arm64-repository inference-gb200 --email platform-team@example.com
  nvcf-ecr init --hostname public.ecr.aws --account-id 123456789012 --repository my-alias/model --out public.config.ts

Exit codes:
  0  written and valid
  2  usage error: a missing or invalid value (nothing is written), or the file exists (use --force)`;

export const command: Command = {
  name: 'init',
  summary: 'write a starter nvcf-ecr.config.ts from flags',
  usage:
    'nvcf-ecr init --hostname HOST --repository REPO... [--arm64-repository REPO...] [--out FILE] [--force]',
  help: HELP,
  options: {
    hostname: { type: 'string' },
    repository: { type: 'string', multiple: true },
    'arm64-repository': { type: 'string', multiple: true },
    'registry-name': { type: 'string' },
    'credential-name': { type: 'string' },
    'ngc-secret': { type: 'string' },
    'account-id': { type: 'string' },
    email: { type: 'string', multiple: true },
    out: { type: 'string' },
    force: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  run: init,
};

const FLAGS: Record<string, string> = {
  'ngc.apiKeySecretName': '--ngc-secret',
  'registries[0].name': '--registry-name',
  'registries[0].hostname': '--hostname',
  'registries[0].credentialName': '--credential-name',
  'registries[0].accountId': '--account-id',
  'registries[0].repositories': '--repository',
  'registries[0].platforms.repositories': '--arm64-repository',
  'notifications.email': '--email',
};

/** The flag behind a schema path (`registries[0].repositories[2]` → `--repository`), else the path itself. */
function flagFor(path: string): string {
  const match = Object.keys(FLAGS)
    .filter((p) => path === p || path.startsWith(`${p}[`) || path.startsWith(`${p}.`))
    .sort((a, b) => b.length - a.length)[0];
  return match ? (FLAGS[match] as string) : path;
}

/** The configuration the flags describe (not yet validated). */
export function configFromFlags(values: CommandContext['values']): ConfigInput {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const hostname = text('hostname');
  if (hostname === undefined) throw new UsageError('--hostname is required', 'init');
  const arm64 = list('arm64-repository');
  const repositories = [...new Set([...list('repository'), ...arm64])];
  if (repositories.length === 0)
    throw new UsageError('give at least one --repository (or --arm64-repository)', 'init');
  const name = text('registry-name') ?? DEFAULT_REGISTRY_NAME;
  const accountId = text('account-id');
  return {
    // Left out, the name is each deployment's own (`nvcf-ecr/<stage>/ngc-api-key`): stages never share it.
    ngc: text('ngc-secret') === undefined ? {} : { apiKeySecretName: text('ngc-secret') },
    registries: [
      {
        name,
        hostname,
        ...(accountId !== undefined ? { accountId } : {}),
        repositories,
        credentialName: text('credential-name') ?? `ecr-${name}`,
        rotation: { schedule: DEFAULT_ROTATION_SCHEDULE, graceHours: DEFAULT_GRACE_HOURS },
        platforms: {
          require: ['linux/amd64'],
          repositories: Object.fromEntries(arm64.map((r) => [r, [...GB200_PLATFORMS]])),
        },
      },
    ],
    notifications: { email: list('email') },
  };
}

async function init({ values, io }: CommandContext): Promise<number> {
  const out = typeof values['out'] === 'string' ? values['out'] : DEFAULT_CONFIG_FILE;
  const ext = extname(out);
  if (!['.ts', '.mts', '.mjs', '.js', '.json'].includes(ext))
    throw new UsageError(`--out must end in .ts, .mjs or .json, got '${out}'`, 'init');
  const config = configFromFlags(values);
  const parsed = parseConfig(config);
  if (!parsed.ok) throw new UsageError(describeIssues(parsed.issues), 'init');

  const text = ext === '.json' ? `${JSON.stringify(config, null, 2)}\n` : moduleSource(config);
  try {
    // 'wx' fails when the file exists: no check-then-write race with another writer.
    await writeFile(out, text, { flag: values['force'] === true ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new UsageError(`${out} exists: pass --force to overwrite it`, 'init', { cause: err });
    throw new CliError(`could not write ${out}: ${(err as Error).message}`, 2, { cause: err });
  }
  try {
    await loadConfig(resolve(out));
  } catch (err) {
    // Unreachable unless the runtime cannot load the file type (a Node without type stripping for .ts).
    await rm(out, { force: true });
    const why = err instanceof ConfigError ? err.message : (err as Error).message;
    throw new CliError(`${out} was written but does not load, so it was removed: ${why}`, 2, { cause: err });
  }
  const registry = parsed.value.registries[0];
  io.stdout.write(
    `wrote ${out}: registry ${registry?.name} (${registry?.hostname}, ${registry?.repositories.length} repositories), ` +
      `NVCF credential '${registry?.credentialName}', pull user ${registry?.userName}\n` +
      `next: review it, 'npm run synth' to see what it deploys, then 'nvcf-ecr doctor' once deployed\n`,
  );
  return 0;
}

function describeIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${flagFor(i.path)}: ${i.message}`).join('; ');
}

/** The configuration as an ES module with no import (Node strips nothing from a `.ts` without types). */
export function moduleSource(config: ConfigInput): string {
  return `// nvcf-ecr configuration, written by 'nvcf-ecr init'. Every key and its default: the configuration
// reference in README.md. Check a deployment against it with 'nvcf-ecr doctor'.
export default ${toSource(config, '')};
`;
}

/** A JavaScript literal of plain data: single quotes, unquoted identifier keys, two-space indentation. */
function toSource(value: unknown, indent: string): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => typeof v !== 'object' || v === null))
      return `[${value.map((v) => toSource(v, inner)).join(', ')}]`;
    return `[\n${value.map((v) => `${inner}${toSource(v, inner)},`).join('\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k));
    return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${toSource(v, inner)},`).join('\n')}\n${indent}}`;
  }
  return typeof value === 'string' ? quote(value) : String(value);
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}
