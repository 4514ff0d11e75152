import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { type Config, deploymentRegion } from '@nvcf-ecr/core/config';
import { redactString } from '@nvcf-ecr/core/redact';
import { NvcfClient } from '@nvcf-ecr/nvcf';
import type { Command, CommandContext } from '../cli.ts';
import {
  AWS_OPTIONS,
  awsClientOptions,
  COMMON_OPTIONS_HELP,
  DEFAULT_CONFIG_FILE,
  loadCommandConfig,
} from '../context.ts';
import { type DoctorCheck, diagnose } from '../doctor/checks.ts';
import { CliError } from '../errors.ts';
import { type CliIo, styleFor, writeJson } from '../output.ts';

/**
 * `nvcf-ecr doctor`: is this machine, account and NVCF org ready? One line per check, `ok`/`fail`/`skip`,
 * each failure with its fix; `--json` for CI. The checks live in `doctor/checks.ts`.
 */

const HELP = `Checks, in order, and says for each failure what is wrong and how to fix it:
  config                      the configuration loads and is valid
  aws-credentials             AWS accepts this machine's credentials (STS GetCallerIdentity; standard chain)
  ngc-key                     the NGC API key secret exists and holds a key
  nvcf                        NVCF accepts that key (it lists the registry credentials)
  registry.<name>.secret      the registry's rotated secret exists
  registry.<name>.rotation    its rotation is on and has run at least once
  registry.<name>.nvcf-credential   NVCF holds the registry's credential for the exact hostname
A check whose prerequisite failed is skipped. Nothing is written; no secret is shown.

Options:
${COMMON_OPTIONS_HELP}
  --json                  print {schemaVersion: 1, ok, checks: [{id, status, message, fix?}]}
  -h, --help              show this help

Examples:
  nvcf-ecr doctor
  nvcf-ecr doctor --json | jq '.checks[] | select(.status == "fail")'

Exit codes:
  0  every check passed
  1  a check failed
  2  usage error`;

export const command: Command = {
  name: 'doctor',
  summary: 'check the configuration, AWS credentials, NGC key and NVCF, and say how to fix what is wrong',
  usage: 'nvcf-ecr doctor [--json] [--config FILE] [--endpoint URL] [--nvcf-endpoint URL]',
  help: HELP,
  options: { ...AWS_OPTIONS, json: { type: 'boolean' } },
  positionals: { min: 0, max: 0 },
  run: doctor,
};

/** `doctor --json`: schema version 1. */
export interface DoctorReport {
  schemaVersion: 1;
  ok: boolean;
  checks: DoctorCheck[];
}

async function doctor({ values, io }: CommandContext): Promise<number> {
  const checks: DoctorCheck[] = [];
  const config = await loadConfigCheck(values, io.env, checks);
  if (config) checks.push(...(await diagnose(config, depsFor(values, io, config))));
  const report: DoctorReport = { schemaVersion: 1, ok: checks.every((c) => c.status === 'ok'), checks };
  if (values['json'] === true) writeJson(io, report);
  else io.stdout.write(formatChecks(checks, io));
  return report.ok ? 0 : 1;
}

async function loadConfigCheck(
  values: CommandContext['values'],
  env: CliIo['env'],
  checks: DoctorCheck[],
): Promise<Config | undefined> {
  const file = typeof values['config'] === 'string' ? values['config'] : DEFAULT_CONFIG_FILE;
  try {
    const config = (await loadCommandConfig(values, { required: true, env })) as Config;
    const names = config.registries.map((r) => r.name).join(', ');
    checks.push({
      id: 'config',
      status: 'ok',
      message: `${file}: ${config.registries.length} registr${config.registries.length === 1 ? 'y' : 'ies'} (${names})`,
    });
    return config;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    checks.push({
      id: 'config',
      status: 'fail',
      message: err.message,
      fix: `fix the keys listed (the configuration reference in README.md), or write one with 'nvcf-ecr init'`,
    });
    for (const id of ['aws-credentials', 'ngc-key', 'nvcf'])
      checks.push({ id, status: 'skip', message: 'not checked: it needs config, which failed' });
    return undefined;
  }
}

function depsFor(values: CommandContext['values'], io: CliIo, config: Config) {
  const options = awsClientOptions(values, io.env, deploymentRegion(config));
  const nvcfBaseUrl =
    (typeof values['nvcf-endpoint'] === 'string' ? values['nvcf-endpoint'] : undefined) ??
    io.env['NVCF_ECR_NVCF_ENDPOINT'] ??
    config.ngc.baseUrl;
  return {
    sts: new STSClient(options),
    secrets: new SecretsManagerClient(options),
    nvcfBaseUrl,
    nvcf: (apiKey: string) =>
      new NvcfClient({
        baseUrl: nvcfBaseUrl,
        ...(config.ngc.org ? { org: config.ngc.org } : {}),
        ...(config.ngc.team ? { team: config.ngc.team } : {}),
        apiKey: async () => apiKey,
        // A diagnosis should answer quickly: one retry, 10 s per attempt.
        retry: { maxAttempts: 2 },
      }),
  };
}

function formatChecks(checks: readonly DoctorCheck[], io: CliIo): string {
  const style = styleFor(io.stdout, io.env);
  const width = Math.max(...checks.map((c) => c.id.length));
  const lines: string[] = [];
  for (const c of checks) {
    const word =
      c.status === 'ok' ? style.green('ok  ') : c.status === 'fail' ? style.red('fail') : style.dim('skip');
    const [first = '', ...rest] = c.message.split('\n');
    lines.push(`${word}  ${c.id.padEnd(width)}  ${first}`);
    for (const more of rest) lines.push(`${' '.repeat(width + 8)}${more}`);
    if (c.fix) lines.push(`${' '.repeat(width + 8)}${style.yellow('fix:')} ${c.fix}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push(
    '',
    failed === 0
      ? style.green('every check passed')
      : style.red(`${failed} check${failed === 1 ? '' : 's'} failed`),
  );
  return `${lines.map((l) => redactString(l)).join('\n')}\n`;
}
