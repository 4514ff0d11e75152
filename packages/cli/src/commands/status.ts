import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Config, deploymentRegion, type RegistryConfig } from '@nvcf-ecr/core/config';
import { CoreError } from '@nvcf-ecr/core/errors';
import { type RegistryRotationStatus, rotationStatus } from '@nvcf-ecr/core/rotation';
import type { NvcfClient } from '@nvcf-ecr/nvcf';
import type { Command, CommandContext, OptionValues } from '../cli.ts';
import {
  AWS_OPTIONS,
  awsClientOptions,
  COMMON_OPTIONS_HELP,
  CONFIG_OPTIONS,
  iamClientOptions,
  loadCommandConfig,
  nvcfClientFor,
} from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { type CliIo, formatFields, type Style, styleFor, writeJson } from '../output.ts';

/**
 * `nvcf-ecr status [<registry>]`: the rotation state of each configured registry (core's `rotationStatus`),
 * as text or `--json`. Also home of what `rotate` and `retire` share: picking the registry and building the
 * clients from `--config`/`--endpoint`/`--nvcf-endpoint` and the standard AWS credential chain.
 */

/** `status --json`: schema version 1, one entry per registry. */
export interface StatusReport {
  schemaVersion: 1;
  registries: RegistryRotationStatus[];
}

/** The environment variable that sets the CLI's clock (see {@link commandNow}). */
export const NOW_ENV = 'NVCF_ECR_NOW';

export const NOW_HELP = `Environment:
  ${NOW_ENV}=<ISO time>  the time grace periods and key ages are judged at (default: this
                           machine's clock); for a sandbox whose virtual clock was advanced, set it
                           to the "now" of GET /_sandbox/clock`;

const HELP = `Shows, for each configured registry (or the one named): the secret's stages and the key each holds
(masked), the pull user's keys with their role, age, state and last use, NVCF's credential and whether it
was updated after the current key was created, the last and next rotation, a pending or stuck rotation
with its last failure, the previous key's grace period, and what would refuse a rotation started now.

Options:
${COMMON_OPTIONS_HELP}
  --json                  print one JSON object {schemaVersion: 1, registries: [...]}
  -h, --help              show this help

${NOW_HELP}

Examples:
  nvcf-ecr status
  nvcf-ecr status prod --json

Exit codes:
  0  shown
  1  a rotation is stuck (see packages/core/src/rotation/README.md, "Recovering")
  2  usage error, or AWS/NVCF could not be read`;

export const command: Command = {
  name: 'status',
  summary: 'show the rotation state of the pull keys and the NVCF credential',
  usage: 'nvcf-ecr status [<registry>] [--json] [--config FILE] [--endpoint URL] [--nvcf-endpoint URL]',
  help: HELP,
  options: { ...CONFIG_OPTIONS, ...AWS_OPTIONS, json: { type: 'boolean' } },
  positionals: { min: 0, max: 1 },
  run: status,
};

async function status({ positionals, values, io }: CommandContext): Promise<number> {
  const config = (await loadCommandConfig(values, { required: true })) as Config;
  const selected =
    positionals[0] === undefined ? config.registries : [registryByName(config, positionals[0], 'status')];
  const registries: RegistryRotationStatus[] = [];
  const now = commandNow(io.env, 'status');
  const clients = rotationClients(values, io, config);
  for (const registry of selected) {
    registries.push(
      await reportingServiceErrors(`reading the rotation state of ${registry.name}`, () =>
        rotationStatus(registry, { secrets: clients.secrets, iam: clients.iam, nvcf: clients.nvcf, now }),
      ),
    );
  }
  const report: StatusReport = { schemaVersion: 1, registries };
  if (values['json'] === true) writeJson(io, report);
  else io.stdout.write(registries.map((r) => formatStatus(r, styleFor(io.stdout, io.env))).join('\n'));
  return registries.some((r) => r.pending?.stuck) ? 1 : 0;
}

/** The configured registry named `name`, or a usage error listing the names. */
export function registryByName(config: Config, name: string, command: string): RegistryConfig {
  const registry = config.registries.find((r) => r.name === name);
  if (!registry) {
    throw new UsageError(
      `no registry named '${name}' in the configuration: the registries are ${config.registries.map((r) => r.name).join(', ')}`,
      command,
    );
  }
  return registry;
}

/**
 * The CLI's clock: this machine's, or the fixed time in `NVCF_ECR_NOW`. The rotation and retirement decide
 * against the clock of the system they run in; a sandbox's clock is virtual (tests and demos move it
 * forward), so a command run against one needs the sandbox's time, not the machine's.
 */
export function commandNow(env: CliIo['env'], command: string): () => Date {
  const raw = env[NOW_ENV];
  if (raw === undefined || raw === '') return () => new Date();
  const at = new Date(raw);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(
      `${NOW_ENV} must be an ISO-8601 time, e.g. 2026-01-31T12:00:00Z, got '${raw}'`,
      command,
    );
  return () => at;
}

/**
 * Runs a command body, turning what AWS, NVCF or the credential chain answered into a CLI error (exit 2)
 * that says what failed, instead of an "internal error": these are the operator's to fix, not bugs.
 */
export async function reportingServiceErrors<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof Error) || err instanceof CliError || err instanceof CoreError) throw err;
    const e = err as Error & { $metadata?: unknown };
    const serviceError = e.$metadata !== undefined || e.name.startsWith('Nvcf');
    if (e.name === 'CredentialsProviderError') {
      throw new CliError(
        `${what} failed: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or log in with SSO)`,
        2,
        { cause: err },
      );
    }
    if (serviceError) throw new CliError(`${what} failed: ${e.name}: ${e.message}`, 2, { cause: err });
    throw err;
  }
}

/**
 * Clients for the rotation commands: Secrets Manager and IAM with the standard chain, NVCF with the NGC key.
 * Secrets Manager in the deployment region, where the stacks put every registry's secret and the NGC key
 * secret — not the registry's own region, which may differ.
 */
export function rotationClients(
  values: OptionValues,
  io: CliIo,
  config: Config,
): { secrets: SecretsManagerClient; iam: IAMClient; nvcf: NvcfClient } {
  const options = awsClientOptions(values, io.env, deploymentRegion(config));
  const secrets = new SecretsManagerClient(options);
  return {
    secrets,
    iam: new IAMClient(iamClientOptions(options)),
    nvcf: nvcfClientFor(values, io.env, config, secrets),
  };
}

function age(hours: number): string {
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

export function formatStatus(r: RegistryRotationStatus, style: Style): string {
  const head = `${style.bold(r.registry)}  ${r.hostname}  ${style.dim(`(secret ${r.secretId}, user ${r.userName})`)}\n`;
  const nvcf =
    r.nvcf === null
      ? ['not queried']
      : 'missing' in r.nvcf
        ? [style.red(`no credential '${r.credentialName}' for ${r.hostname}`)]
        : 'error' in r.nvcf
          ? [style.yellow(`could not be read: ${r.nvcf.error}`)]
          : [
              `credential ${r.nvcf.credentialId} '${r.credentialName}', updated ${r.nvcf.lastUpdatedAt}` +
                (r.nvcf.updatedAfterCurrentKey === null
                  ? ''
                  : r.nvcf.updatedAfterCurrentKey
                    ? ' (after the current key was created)'
                    : style.red(' (BEFORE the current key was created: NVCF may hold an older key)')),
              ...(r.nvcf.updatedAfterCurrentKey === null
                ? []
                : r.nvcfHoldsCurrentKeySince
                  ? [`holds the current key since ${r.nvcfHoldsCurrentKeySince} (the rotation's record)`]
                  : [
                      style.yellow(
                        'may hold another key than the current one (a cancelled rotation left it): the next rotation points it at the current key first',
                      ),
                    ]),
            ];
  const pending = r.pending
    ? [
        `${r.pending.token} since ${r.pending.since ?? '?'}${r.pending.stuck ? style.red(' STUCK') : ' (in progress)'}`,
        ...(r.pending.lastFailure
          ? [
              `last failure: ${r.pending.lastFailure.step} ${r.pending.lastFailure.refused ? 'refused' : 'failed'} at ` +
                `${r.pending.lastFailure.at}: ${r.pending.lastFailure.reason ?? ''}`,
            ]
          : []),
        ...(r.pending.stuck ? ["recover: see packages/core/src/rotation/README.md, 'Recovering'"] : []),
      ]
    : [];
  return (
    head +
    formatFields(
      [
        [
          'rotation',
          [
            `${r.rotation.enabled ? style.green('enabled') : style.red('disabled')}, ${r.rotation.schedule}, grace ${r.rotation.graceHours} h`,
          ],
        ],
        ['last rotated', r.rotation.lastRotatedAt ? [r.rotation.lastRotatedAt] : []],
        ['next rotation', r.rotation.nextRotationAt ? [r.rotation.nextRotationAt] : []],
        [
          'stages',
          r.stages.map(
            (s) =>
              `${s.stages.join(',')}  ${s.accessKeyId ?? style.dim('no key (bootstrap value or empty)')}  ${style.dim(`version ${s.versionId}${s.createdAt ? `, ${s.createdAt}` : ''}`)}`,
          ),
        ],
        [
          'keys',
          r.keys.map(
            (k) =>
              `${k.accessKeyId}  ${k.status === 'Active' ? k.status : style.dim(k.status)}  ${k.role.padEnd(10)}  age ${age(k.ageHours)}  ` +
              `last used ${k.lastUsedAt ? `${k.lastUsedAt}${k.lastUsedService ? ` (${k.lastUsedService})` : ''}` : 'never'}`,
          ),
        ],
        ['nvcf', nvcf],
        ['pending', pending],
        [
          'previous key',
          r.previousKey
            ? [
                `${r.previousKey.accessKeyId} ${r.previousKey.status}` +
                  (r.previousKey.graceEndsAt
                    ? `, grace ${r.previousKey.inGrace ? 'until' : 'ended'} ${r.previousKey.graceEndsAt}`
                    : ''),
              ]
            : [],
        ],
        ['blockers', r.blockers.map((b) => style.yellow(`${b.code}: ${b.reason}`))],
      ],
      style,
    )
  );
}
