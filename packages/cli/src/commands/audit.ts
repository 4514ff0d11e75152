import { writeFile } from 'node:fs/promises';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type AuditReport,
  failsAt,
  renderHtml,
  renderJson,
  renderMarkdown,
  renderTable,
  runAudit,
  SEVERITIES,
  type Severity,
} from '@nvcf-ecr/core/audit';
import { deploymentRegion } from '@nvcf-ecr/core/config';
import { AuditError } from '@nvcf-ecr/core/errors';
import { createLogger } from '@nvcf-ecr/core/log';
import { perRegion } from '@nvcf-ecr/core/per-region';
import { sdkPublicImageLister } from '@nvcf-ecr/core/ports/sdk';
import type { Command, CommandContext } from '../cli.ts';
import {
  AWS_OPTIONS,
  awsClientOptions,
  COMMON_OPTIONS_HELP,
  commandNow,
  iamClientOptions,
  loadCommandConfig,
  NOW_HELP,
  nvcfClientForCommand,
} from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { type CliIo, styleFor } from '../output.ts';

/**
 * `nvcf-ecr audit`: the compliance audit the scheduled Lambda runs, from a terminal or CI, printed as a
 * table, JSON, Markdown or HTML. Same checks, same report; nothing is written to AWS.
 */

const FORMATS = ['table', 'json', 'md', 'html'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Runs every compliance check of the NVCF pull chain against live AWS and NVCF APIs: the pull user's
effective policies (simulated), its keys (count, age, the key the secret names), the rotated secret (rotation
on, recent, no stuck AWSPENDING), the NVCF credential (present for the exact hostname, current, no
duplicates), the NGC API key, and the images (platforms of every tagged image, images NVCF functions use,
index children, the CPU architecture of each deployment). Configured exemptions apply.

Options:
  --registry <name>       audit this registry only (repeatable; default: every configured registry)
  --format <format>       table (default), json, md or html
  --json                  same as --format json
  --out <file>            write the report to <file> instead of stdout
  --fail-on <severity>    exit 1 when a failure is at least this severe: critical, high, medium (default),
                          low or info
${COMMON_OPTIONS_HELP}
  -h, --help              show this help

Progress goes to stderr; the report to stdout (or --out).

${NOW_HELP}

Examples:
  nvcf-ecr audit
  nvcf-ecr audit --registry prod --format html --out audit.html
  nvcf-ecr audit --json --fail-on high | jq '.summary'

Exit codes:
  0  no failure at or above --fail-on, and every check could be evaluated
  1  some failure is at or above --fail-on
  2  the audit could not run, or some check could not be evaluated (an API refused or failed), or a usage error`;

export const command: Command = {
  name: 'audit',
  summary: 'audit the whole NVCF pull chain (IAM, secret, NVCF credential, images)',
  usage:
    'nvcf-ecr audit [--registry NAME] [--format table|json|md|html] [--json] [--out FILE] [--fail-on SEVERITY]',
  help: HELP,
  options: {
    ...AWS_OPTIONS,
    registry: { type: 'string', multiple: true },
    format: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    'fail-on': { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  run: audit,
};

function parseFormat(values: CommandContext['values']): Format {
  const format = values['format'];
  const json = values['json'] === true;
  if (format === undefined) return json ? 'json' : 'table';
  if (typeof format !== 'string' || !(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${String(format)}'`, 'audit');
  }
  if (json && format !== 'json')
    throw new UsageError(`--json contradicts --format ${format}: give one of them`, 'audit');
  return format as Format;
}

function parseFailOn(values: CommandContext['values']): Severity {
  const raw = values['fail-on'];
  if (raw === undefined) return 'medium';
  if (typeof raw !== 'string' || !(SEVERITIES as readonly string[]).includes(raw)) {
    throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')}, got '${String(raw)}'`, 'audit');
  }
  return raw as Severity;
}

function render(report: AuditReport, format: Format, io: CliIo, toFile: boolean): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    default:
      return renderTable(report, toFile ? undefined : styleFor(io.stdout, io.env));
  }
}

async function audit({ values, io }: CommandContext): Promise<number> {
  const format = parseFormat(values);
  const failOn = parseFailOn(values);
  const registries = (values['registry'] as string[] | undefined) ?? undefined;
  const out = typeof values['out'] === 'string' ? values['out'] : undefined;
  const config = await loadCommandConfig(values, { required: true, env: io.env });
  if (!config) throw new CliError('no configuration', 2);
  const base = awsClientOptions(values, io.env, deploymentRegion(config));
  const secrets = new SecretsManagerClient(base);
  const logger = createLogger({
    level: 'warn',
    sink: (r) => io.stderr.write(`nvcf-ecr: ${r.level}: ${r.message}\n`),
  });
  let report: AuditReport;
  try {
    report = await runAudit(
      config,
      {
        iam: new IAMClient(iamClientOptions(base)),
        secrets,
        ecr: perRegion((region) => new ECRClient({ ...base, region })),
        ecrPublic: sdkPublicImageLister(new ECRPUBLICClient({ ...base, region: 'us-east-1' })),
        nvcf: nvcfClientForCommand(values, io.env, config, secrets),
        now: commandNow(io.env, 'audit'),
        logger,
      },
      { registries, onProgress: (line) => io.stderr.write(`nvcf-ecr audit: ${line}\n`) },
    );
  } catch (err) {
    if (err instanceof AuditError) throw new UsageError(err.message, 'audit', { cause: err });
    throw err;
  }
  const text = render(report, format, io, out !== undefined);
  if (out) {
    try {
      await writeFile(out, text);
    } catch (err) {
      throw new CliError(`could not write ${out}: ${(err as Error).message}`, 2, { cause: err });
    }
    io.stderr.write(`nvcf-ecr audit: report written to ${out}\n`);
  } else {
    io.stdout.write(text);
  }
  if (failsAt(report, failOn)) return 1;
  return report.summary.errors > 0 ? 2 : 0;
}
