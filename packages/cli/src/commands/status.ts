import { type RegistryRotationStatus, rotationStatus } from '@nvcf-ecr/core/rotation';
import type { Command, CommandContext } from '../cli.ts';
import {
  AWS_OPTIONS,
  COMMON_OPTIONS_HELP,
  NOW_HELP,
  reportingServiceErrors,
  rotationCommandSetup,
} from '../context.ts';
import { formatFields, type Style, styleFor, writeJson } from '../output.ts';

/**
 * `nvcf-ecr status [<registry>]`: the rotation state of each configured registry (core's `rotationStatus`),
 * as text or `--json`.
 */

/** `status --json`: schema version 1, one entry per registry. */
export interface StatusReport {
  schemaVersion: 1;
  registries: RegistryRotationStatus[];
}

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
  options: { ...AWS_OPTIONS, json: { type: 'boolean' } },
  positionals: { min: 0, max: 1 },
  run: status,
};

async function status(context: CommandContext): Promise<number> {
  const { values, io } = context;
  const { registries: selected, secrets, iam, nvcf, now } = await rotationCommandSetup(context, 'status');
  const registries: RegistryRotationStatus[] = [];
  for (const registry of selected) {
    registries.push(
      await reportingServiceErrors(`reading the rotation state of ${registry.name}`, () =>
        rotationStatus(registry, { secrets, iam, nvcf, now }),
      ),
    );
  }
  const report: StatusReport = { schemaVersion: 1, registries };
  if (values['json'] === true) writeJson(io, report);
  else io.stdout.write(registries.map((r) => formatStatus(r, styleFor(io.stdout, io.env))).join('\n'));
  return registries.some((r) => r.pending?.stuck) ? 1 : 0;
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
