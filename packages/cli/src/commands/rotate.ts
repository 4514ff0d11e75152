import type { RegistryConfig } from '@nvcf-ecr/core/config';
import type { NvcfRegistryCredentialView } from '@nvcf-ecr/core/ports';
import { maskAccessKeyId, redactString } from '@nvcf-ecr/core/redact';
import {
  AWSCURRENT,
  AWSPENDING,
  describeSecret,
  type LastFailure,
  type PullKeySecret,
  parseLastFailure,
  pullKeyOf,
  ROTATION_TAGS,
  readValue,
  type SecretState,
  startRotation,
} from '@nvcf-ecr/core/rotation';
import type { Command, CommandContext } from '../cli.ts';
import {
  AWS_OPTIONS,
  COMMON_OPTIONS_HELP,
  NOW_HELP,
  reportingServiceErrors,
  rotationCommandSetup,
} from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { type Style, styleFor } from '../output.ts';

/**
 * `nvcf-ecr rotate <registry> [--force]`: starts a rotation through Secrets Manager (RotateSecret, so the
 * deployed rotation function does the work, exactly as on schedule) and follows it step by step on stderr,
 * from what the steps leave behind: the pending version's value (createSecret), NVCF's `lastUpdatedAt`
 * (setSecret), AWSCURRENT moving (testSecret and finishSecret), and the failure tag the function writes.
 */

const DEFAULT_TIMEOUT_SECONDS = 300;

/**
 * Pauses between looks at the rotation: 1 s, growing by a quarter, at most 2 s. Each look costs a
 * DescribeSecret, and until the steps it waits for are seen a GetSecretValue and NVCF's whole credential list;
 * a rotation takes seconds to minutes, so a step shows up within two seconds of it.
 */
export const FOLLOW_POLL = { initialMs: 1_000, factor: 1.25, maxMs: 2_000 } as const;

const HELP = `Rotates the registry's pull key now: Secrets Manager runs the deployed rotation function (createSecret,
setSecret, testSecret, finishSecret) and this command shows each step as it completes, then the new key
(masked) and until when the previous key stays Active.

A rotation that is pending (a stuck one) blocks every RotateSecret, whatever its token ("A previous
rotation isn't complete"): this command abandons it explicitly and says so -- it removes AWSPENDING from
the stuck version (UpdateSecretVersionStage), whose key, if it stored one, becomes a superseded key the next
rotations point NVCF away from and delete once unused -- then starts a new rotation
(packages/core/src/rotation/README.md, "Recovering").
Without --force, a rotation that the function would refuse is not started: the previous key still inside
its grace period, a key in use or still cached by NVCF, or a key the rotation did not create (see
'nvcf-ecr status') -- unless NVCF may hold another key than the current one: the rotation points NVCF at
the current key before it decides anything, so it is started then.

Options:
  --force                 rotate even while the previous key is in its grace period: that key is deleted to
                          make room, though never while it was used within 6 h or within 70 minutes of
                          NVCF holding it (NVCF's caches, then a workload's hourly refresh) (the flag
                          reaches the function as the secret tag ${ROTATION_TAGS.force}=<token>, honoured for
                          this rotation only)
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
  options: { ...AWS_OPTIONS, force: { type: 'boolean' }, timeout: { type: 'string' } },
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

async function rotateRegistry(context: CommandContext): Promise<number> {
  const { values, io } = context;
  const timeout = timeoutSeconds(values['timeout']);
  const force = values['force'] === true;
  const { registries, secrets, iam, nvcf, now } = await rotationCommandSetup(context, 'rotate');
  const registry = registries[0] as RegistryConfig;
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
  const failureBefore = state.tags.get(ROTATION_TAGS.lastFailure);
  let started: Awaited<ReturnType<typeof startRotation>>;
  try {
    started = await startRotation(registry, { secrets, iam, nvcf, now }, { force, unstick: true });
  } catch (err) {
    const e = err as Error;
    const hint =
      e.name === 'InvalidRequestException' ? " (a rotation may be running: 'nvcf-ecr status' shows it)" : '';
    throw new CliError(
      `could not start the rotation of ${registry.name}: ${e.name}: ${e.message}${hint}`,
      2,
      { cause: err },
    );
  }
  if (started.kind === 'refused') {
    for (const b of started.blockers) say(style.yellow(`refused (${b.code}): ${b.reason}`));
    say('Nothing was started.');
    return 1;
  }
  if (started.despite.length > 0) {
    say(
      style.yellow(
        `NVCF may hold another key than the current one: started anyway, so that the rotation points NVCF at the ` +
          `current key first; it may then refuse (${started.despite.join(', ')}).`,
      ),
    );
  }
  if (started.abandoned) {
    say(
      `the rotation ${started.abandoned} is not complete, and Secrets Manager starts no other while it is pending: abandoning it ` +
        `(UpdateSecretVersionStage removes ${AWSPENDING} from it; its key, if it stored one, is now superseded: ` +
        'the next rotation points NVCF at the current key and deletes it once unused, see packages/core/src/rotation/README.md, "Recovering")',
    );
  }
  const { token } = started;
  say(
    `rotating ${style.bold(registry.name)} ` +
      `(secret ${registry.secretName}, token ${token}${force ? ', forced' : ''})`,
  );

  const outcome = await followRotation(
    {
      describe: () => describeSecret(secrets, state.arn),
      pendingKey: async () =>
        pullKeyOf(await readValue(secrets, state.arn, { versionId: token }, 'createSecret')),
      nvcfCredential: () => nvcf.findRegistryCredential(registry.hostname, registry.credentialName),
    },
    {
      token,
      registryName: registry.name,
      deadlineMs: Date.now() + timeout * 1000,
      lastFailureBefore: failureBefore,
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      say,
      style,
    },
  );
  if (outcome.kind !== 'rotated') {
    if (outcome.kind === 'timeout') {
      say(
        `${style.yellow('…')} not finished after ${timeout} s; the rotation goes on in Secrets Manager: follow it with ` +
          `'nvcf-ecr status ${registry.name}'`,
      );
    }
    return 1;
  }
  io.stdout.write(
    `rotated ${registry.name}: key ${outcome.accessKeyId ? maskAccessKeyId(outcome.accessKeyId) : '(new key)'} is current; ` +
      `the previous key stays Active for the grace period (${registry.rotation.graceHours} h), then 'nvcf-ecr retire' deactivates it\n`,
  );
  return 0;
}

/** What {@link followRotation} reads on each look. */
export interface RotationSource {
  /** DescribeSecret: the labels of the rotation's version and the failure tag. */
  describe(): Promise<SecretState>;
  /** The key the rotation's version stores, once createSecret stored it. */
  pendingKey(): Promise<PullKeySecret | undefined>;
  /** NVCF's credential of the registry. */
  nvcfCredential(): Promise<NvcfRegistryCredentialView | undefined>;
}

export interface FollowOptions {
  readonly token: string;
  readonly registryName: string;
  /** When to stop following, on `now`'s clock. */
  readonly deadlineMs: number;
  /** The failure tag before the rotation started (a new value is this rotation's). */
  readonly lastFailureBefore: string | undefined;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly say: (line: string) => void;
  readonly style: Style;
}

export type FollowOutcome =
  | { readonly kind: 'rotated'; readonly accessKeyId: string | undefined }
  | { readonly kind: 'refused' }
  | { readonly kind: 'timeout' };

/**
 * Follows a rotation until AWSCURRENT moves to its version, the function records a refusal, or the deadline,
 * saying each step once as it sees it. It reads only what it has not seen yet: the stored key until
 * createSecret stored it, NVCF's list between then and AWSCURRENT moving (testSecret proved NVCF's update by
 * then); one last look runs at the deadline.
 */
export async function followRotation(source: RotationSource, o: FollowOptions): Promise<FollowOutcome> {
  const { style, say } = o;
  let created: { accessKeyId: string; createdAt: string } | undefined;
  let set = false;
  let lastFailure = o.lastFailureBefore;
  let delay: number = FOLLOW_POLL.initialMs;
  for (;;) {
    const state = await source.describe();
    const finished = (state.versions[o.token] ?? []).includes(AWSCURRENT);
    if (!created) {
      const pending = await source.pendingKey();
      if (pending) {
        created = { accessKeyId: pending.accessKeyId, createdAt: pending.createdAt };
        say(
          `${style.green('✓')} createSecret  new key ${maskAccessKeyId(pending.accessKeyId)} stored as ${AWSPENDING}`,
        );
      }
    }
    if (created && !set && !finished) {
      const credential = await source.nvcfCredential().catch(() => undefined);
      if (credential && Date.parse(credential.lastUpdatedAt) >= Date.parse(created.createdAt)) {
        set = true;
        say(
          `${style.green('✓')} setSecret     NVCF credential ${credential.registryCredentialId} updated at ${credential.lastUpdatedAt}`,
        );
      }
    }
    if (finished) {
      if (!set) say(`${style.green('✓')} setSecret     NVCF credential updated`);
      say(`${style.green('✓')} testSecret    the new key works and NVCF holds it`);
      say(`${style.green('✓')} finishSecret  ${AWSCURRENT} moved to ${o.token}`);
      return { kind: 'rotated', accessKeyId: created?.accessKeyId };
    }
    const failureTag = state.tags.get(ROTATION_TAGS.lastFailure);
    if (failureTag !== lastFailure) {
      lastFailure = failureTag;
      const failure = parseLastFailure(state.tags);
      if (failure && failure.token === o.token) {
        for (const line of failureLines(failure, style, o.registryName)) say(line);
        if (failure.refused) return { kind: 'refused' };
      }
    }
    const left = o.deadlineMs - o.now();
    if (left <= 0) return { kind: 'timeout' };
    await o.sleep(Math.min(delay, left));
    delay = Math.min(FOLLOW_POLL.maxMs, delay * FOLLOW_POLL.factor);
  }
}

/**
 * What to say about a failed or refused step, claiming only what the failure path recorded: what the check of
 * the current key found (nothing, for a tag written before that was recorded), and — after setSecret — that
 * NVCF may hold the pending key.
 */
export function failureLines(failure: LastFailure, style: Style, registryName: string): string[] {
  const reason = redactString(failure.reason ?? '');
  if (failure.refused) {
    return [
      `${style.red('✗')} ${failure.step} refused: ${reason}`,
      `The rotation stays pending (${AWSPENDING}); Secrets Manager reattempts it at the next window. ` +
        `Rotate anyway with 'nvcf-ecr rotate ${registryName} --force', or see packages/core/src/rotation/README.md, "Recovering".`,
    ];
  }
  const lines = [`${style.red('✗')} ${failure.step} failed: ${reason}`];
  if (failure.step === 'testSecret' || failure.step === 'finishSecret')
    lines.push(
      '  NVCF may hold the pending key: setSecret gave it to NVCF before this step failed (the key is Active; the ' +
        "retry or the next rotation goes on from there, see 'nvcf-ecr status')",
    );
  if (failure.currentKey === 'works')
    lines.push('  the current key worked when checked right after the failure');
  else if (failure.currentKey === 'broken')
    lines.push(
      "  the current key did NOT work when checked right after the failure: see the Failed event, 'nvcf-ecr status' " +
        'and packages/core/src/rotation/README.md, "Recovering"',
    );
  else if (failure.currentKey === 'none')
    lines.push('  no current key yet: the first rotation of this registry');
  lines.push('  Secrets Manager retries the rotation…');
  return lines;
}
