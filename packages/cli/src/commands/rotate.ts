import { randomUUID } from 'node:crypto';
import {
  RotateSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  AWSCURRENT,
  AWSPENDING,
  type Config,
  describeSecret,
  maskAccessKeyId,
  parseLastFailure,
  pullKeyOf,
  ROTATION_TAGS,
  readValue,
  redactString,
  rotationStatus,
} from '@nvcf-ecr/core';
import type { Command, CommandContext } from '../cli.ts';
import { AWS_OPTIONS, COMMON_OPTIONS_HELP, CONFIG_OPTIONS, loadCommandConfig } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { styleFor } from '../output.ts';
import { commandNow, NOW_HELP, registryByName, reportingServiceErrors, rotationClients } from './status.ts';

/**
 * `nvcf-ecr rotate <registry> [--force]`: starts a rotation through Secrets Manager (RotateSecret, so the
 * deployed rotation function does the work, exactly as on schedule) and follows it step by step on stderr,
 * from what the steps leave behind: the pending version's value (createSecret), NVCF's `lastUpdatedAt`
 * (setSecret), AWSCURRENT moving (testSecret and finishSecret), and the failure tag the function writes.
 */

const DEFAULT_TIMEOUT_SECONDS = 300;
const POLL_MS = 250;

const HELP = `Rotates the registry's pull key now: Secrets Manager runs the deployed rotation function (createSecret,
setSecret, testSecret, finishSecret) and this command shows each step as it completes, then the new key
(masked) and until when the previous key stays Active.

A rotation that is pending (a stuck one) is resumed with its own token instead of starting another.
Without --force, a rotation that the function would refuse is not started: the previous key still inside
its grace period, a key in use, or a key the rotation did not create (see 'nvcf-ecr status').

Options:
  --force                 rotate even while the previous key is in its grace period or in use: that key is
                          deleted to make room (the flag reaches the function as the secret tag
                          ${ROTATION_TAGS.force}=<token>, honoured for this rotation only)
  --timeout <seconds>     how long to follow the rotation (default ${DEFAULT_TIMEOUT_SECONDS}); it goes on in AWS anyway
${COMMON_OPTIONS_HELP}
  -h, --help              show this help

${NOW_HELP}

Examples:
  nvcf-ecr rotate prod
  nvcf-ecr rotate prod --force --endpoint http://127.0.0.1:4566

Exit codes:
  0  rotated
  1  refused, failed, or not finished within --timeout
  2  usage error, or the rotation could not be started`;

export const command: Command = {
  name: 'rotate',
  summary: 'rotate a registry pull key now and follow the rotation step by step',
  usage:
    'nvcf-ecr rotate <registry> [--force] [--timeout SECONDS] [--config FILE] [--endpoint URL] [--nvcf-endpoint URL]',
  help: HELP,
  options: { ...CONFIG_OPTIONS, ...AWS_OPTIONS, force: { type: 'boolean' }, timeout: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  run: rotate,
};

function timeoutSeconds(raw: unknown): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(n) || n <= 0 || n > 3600)
    throw new UsageError(
      `--timeout must be a number of seconds from 1 to 3600, got '${String(raw)}'`,
      'rotate',
    );
  return n;
}

async function rotate(context: CommandContext): Promise<number> {
  const name = context.positionals[0] as string;
  return reportingServiceErrors(`rotating ${name}`, () => rotateRegistry(context));
}

async function rotateRegistry({ positionals, values, io }: CommandContext): Promise<number> {
  const timeout = timeoutSeconds(values['timeout']);
  const force = values['force'] === true;
  const config = (await loadCommandConfig(values, { required: true })) as Config;
  const registry = registryByName(config, positionals[0] as string, 'rotate');
  const { secrets, iam, nvcf } = rotationClients(values, io, config, registry);
  const style = styleFor(io.stderr, io.env);
  const say = (line: string) => io.stderr.write(`${line}\n`);

  const state = await describeSecret(secrets, registry.secretName);
  if (!state.rotationLambdaArn) {
    throw new CliError(
      `rotation is not configured for secret ${registry.secretName}: deploy the stacks (they attach the rotation function), ` +
        'or start the sandbox with this configuration',
      2,
    );
  }
  const stuck = state.pendingVersionId !== state.currentVersionId ? state.pendingVersionId : undefined;
  const token = stuck ?? randomUUID();
  if (!force && !stuck) {
    const now = await rotationStatus(registry, { secrets, iam, nvcf, now: commandNow(io.env, 'rotate') });
    if (now.blockers.length > 0) {
      for (const b of now.blockers) say(style.yellow(`refused (${b.code}): ${b.reason}`));
      say('Nothing was started.');
      return 1;
    }
  }
  const failureBefore = state.tags.get(ROTATION_TAGS.lastFailure);
  if (force) {
    await secrets.send(
      new TagResourceCommand({ SecretId: state.arn, Tags: [{ Key: ROTATION_TAGS.force, Value: token }] }),
    );
  }
  try {
    await secrets.send(
      new RotateSecretCommand({ SecretId: state.arn, ClientRequestToken: token, RotateImmediately: true }),
    );
  } catch (err) {
    if (force) {
      await secrets
        .send(new UntagResourceCommand({ SecretId: state.arn, TagKeys: [ROTATION_TAGS.force] }))
        .catch(() => undefined);
    }
    const e = err as Error;
    const hint =
      e.name === 'InvalidRequestException' ? " (a rotation may be running: 'nvcf-ecr status' shows it)" : '';
    throw new CliError(
      `could not start the rotation of ${registry.name}: ${e.name}: ${e.message}${hint}`,
      2,
      { cause: err },
    );
  }
  say(
    `${stuck ? 'resuming the pending rotation' : 'rotating'} ${style.bold(registry.name)} ` +
      `(secret ${registry.secretName}, token ${token}${force ? ', forced' : ''})`,
  );

  const deadline = Date.now() + timeout * 1000;
  let created: { accessKeyId: string; createdAt: string } | undefined;
  let set = false;
  let lastFailure = failureBefore;
  for (;;) {
    const now = await describeSecret(secrets, state.arn);
    const labels = now.versions[token] ?? [];
    if (!created) {
      const pending = pullKeyOf(await readValue(secrets, state.arn, { versionId: token }, 'createSecret'));
      if (pending) {
        created = { accessKeyId: pending.accessKeyId, createdAt: pending.createdAt };
        say(
          `${style.green('✓')} createSecret  new key ${maskAccessKeyId(pending.accessKeyId)} stored as ${AWSPENDING}`,
        );
      }
    }
    if (created && !set) {
      const credential = await nvcf
        .findRegistryCredential(registry.hostname, registry.credentialName)
        .catch(() => undefined);
      if (credential && Date.parse(credential.lastUpdatedAt) >= Date.parse(created.createdAt)) {
        set = true;
        say(
          `${style.green('✓')} setSecret     NVCF credential ${credential.registryCredentialId} updated at ${credential.lastUpdatedAt}`,
        );
      }
    }
    if (labels.includes(AWSCURRENT)) {
      if (!set) say(`${style.green('✓')} setSecret     NVCF credential updated`);
      say(`${style.green('✓')} testSecret    the new key works and NVCF holds it`);
      say(`${style.green('✓')} finishSecret  ${AWSCURRENT} moved to ${token}`);
      const grace = registry.rotation.graceHours;
      io.stdout.write(
        `rotated ${registry.name}: key ${created ? maskAccessKeyId(created.accessKeyId) : '(new key)'} is current; ` +
          `the previous key stays Active for the grace period (${grace} h), then 'nvcf-ecr retire' deactivates it\n`,
      );
      return 0;
    }
    const failureTag = now.tags.get(ROTATION_TAGS.lastFailure);
    if (failureTag !== lastFailure) {
      lastFailure = failureTag;
      const failure = parseLastFailure(now.tags);
      if (failure && failure.token === token) {
        const reason = redactString(failure.reason ?? '');
        if (failure.refused) {
          say(`${style.red('✗')} ${failure.step} refused: ${reason}`);
          say(
            `The rotation stays pending (${AWSPENDING}); Secrets Manager reattempts it at the next window. ` +
              `Rotate anyway with 'nvcf-ecr rotate ${registry.name} --force', or see README.md, "Recovering".`,
          );
          return 1;
        }
        say(`${style.red('✗')} ${failure.step} failed: ${reason}`);
        say('  the current key still works; Secrets Manager retries the rotation…');
      }
    }
    if (Date.now() >= deadline) {
      say(
        `${style.yellow('…')} not finished after ${timeout} s; the rotation goes on in Secrets Manager: follow it with ` +
          `'nvcf-ecr status ${registry.name}'`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
