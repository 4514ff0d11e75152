import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { deploymentRegion, type RegistryConfig } from '@nvcf-ecr/core/config';
import { createLogger } from '@nvcf-ecr/core/log';
import { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';
import { retirePreviousKey } from '@nvcf-ecr/core/rotation';
import type { Command, CommandContext } from '../cli.ts';
import {
  AWS_OPTIONS,
  awsClientOptions,
  COMMON_OPTIONS_HELP,
  NOW_HELP,
  reportingServiceErrors,
  rotationCommandSetup,
} from '../context.ts';
import { styleFor, writeJson } from '../output.ts';

/**
 * `nvcf-ecr retire <registry>`: what the hourly retirement does, now, for one registry (core's
 * `retirePreviousKey`, the same rules): deactivate the previous key once its grace period is over and it is
 * not in use, postpone otherwise; never the AWSCURRENT key.
 */

const HELP = `Deactivates the registry's previous pull key if its grace period (rotation.graceHours) is over, it was
not used within the last hour (or rotation.retire says to deactivate anyway), and NVCF was updated after the
current key was created. The key is deactivated, not deleted: reactivate it with 'aws iam update-access-key'
if something still needed it; the next rotation deletes it. The AWSCURRENT key is never touched.

Options:
  --event-bus <name>      also put the NVCF Previous Key Retired / Retirement Postponed event on this bus
  --json                  print the outcome as one JSON object
${COMMON_OPTIONS_HELP}
  -h, --help              show this help

${NOW_HELP}

Exit codes:
  0  retired, or nothing to retire (no previous key, already Inactive, still in its grace period)
  1  postponed: the key is still in use, or NVCF may still hold it
  2  usage error, or AWS/NVCF could not be read`;

export const command: Command = {
  name: 'retire',
  summary: "deactivate a registry's previous pull key after its grace period",
  usage:
    'nvcf-ecr retire <registry> [--json] [--event-bus NAME] [--config FILE] [--endpoint URL] [--nvcf-endpoint URL]',
  help: HELP,
  options: { ...AWS_OPTIONS, json: { type: 'boolean' }, 'event-bus': { type: 'string' } },
  positionals: { min: 1, max: 1 },
  run: retire,
};

async function retire(context: CommandContext): Promise<number> {
  const { values, io } = context;
  const { config, registries, secrets, iam, nvcf, now } = await rotationCommandSetup(context, 'retire');
  const registry = registries[0] as RegistryConfig;
  const bus = typeof values['event-bus'] === 'string' ? values['event-bus'] : undefined;
  // Errors the verb logs (a best-effort event that failed) go to stderr; the outcome is the command's output.
  const logger = createLogger({ level: 'error', sink: (r) => io.stderr.write(`nvcf-ecr: ${r.message}\n`) });
  const outcome = await reportingServiceErrors(`retiring the previous key of ${registry.name}`, () =>
    retirePreviousKey(registry, {
      config,
      secrets,
      iam,
      nvcf,
      ...(bus
        ? {
            // The project bus lives in the deployment region, with the secrets.
            events: sdkEventBus(
              new EventBridgeClient(awsClientOptions(values, io.env, deploymentRegion(config))),
            ),
            eventBusName: bus,
          }
        : {}),
      now,
      logger,
    }),
  );
  if (values['json'] === true) writeJson(io, outcome);
  else {
    const style = styleFor(io.stdout, io.env);
    const word =
      outcome.action === 'retired'
        ? style.green('retired')
        : outcome.action === 'postponed'
          ? style.yellow('postponed')
          : style.dim(outcome.action);
    io.stdout.write(`${word}  ${registry.name}: ${outcome.reason}\n`);
  }
  return outcome.action === 'postponed' ? 1 : 0;
}
