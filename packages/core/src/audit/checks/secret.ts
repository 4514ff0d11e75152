import { nextScheduleTime, parseScheduleExpression } from '../../events/schedule.ts';
import { daysBetween, guard, iso, masked, type RegistryCheckContext } from '../check.ts';
import type { SecretFact } from '../facts.ts';
import type { CheckDefinition, Finding, FindingDraft } from '../model.ts';

/**
 * Secrets Manager checks on the rotated secret: rotation is on with the configured schedule, it last
 * succeeded on time and really replaced the key, and no `AWSPENDING` label is left behind (which makes every
 * later rotation fail: awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md).
 */

export const SECRET_CHECKS = {
  rotationEnabled: {
    id: 'secret.rotation-enabled',
    title: 'Rotation is enabled with the configured schedule',
    severity: 'high',
    proves:
      "The rotated secret exists, rotation is enabled with a rotation function, and its schedule and window are the configuration's.",
    remediation:
      'Redeploy the Credentials stack, which configures rotation of each registry secret with the rotation function and the configured schedule.',
  },
  rotationRecent: {
    id: 'secret.rotation-recent',
    title: 'The last rotation is recent and replaced the key',
    severity: 'medium',
    proves:
      'The secret was rotated within its schedule (the next rotation is not overdue), and the AWSCURRENT key was created by that rotation (Secrets Manager counts a manual update as a rotation, so the date alone proves nothing).',
    remediation:
      'Rotate the secret now and read the rotation function\'s logs and "NVCF Registry Credential Rotation Failed" events to see why scheduled rotations did not complete.',
  },
  pendingStuck: {
    id: 'secret.pending-stuck',
    title: 'No AWSPENDING label is stuck',
    severity: 'high',
    proves:
      'No version carries AWSPENDING without AWSCURRENT for longer than a rotation takes. Secrets Manager refuses every later rotation while one does.',
    remediation:
      'Remove the stale label (aws secretsmanager update-secret-version-stage --secret-id <secret> --version-stage AWSPENDING --remove-from-version-id <version>), then rotate again.',
  },
} as const satisfies Record<string, CheckDefinition>;

/**
 * How long AWSPENDING may sit on a version before it counts as stuck. A rotation's four steps run within
 * minutes (the rotation function's timeout is 5 minutes per step, `FUNCTIONS.rotateCredential`); an hour
 * leaves room for Secrets Manager's retries without reporting a rotation that is merely in progress.
 */
export const PENDING_STUCK_AFTER_MS = 3_600_000;
/** Tolerance past a rotation's due date plus window before it counts as overdue (the audit runs on its own schedule). */
const OVERDUE_SLACK_MS = 3_600_000;
/** A current key created more than this before `LastRotatedDate` was not minted by that rotation. */
const ROTATION_KEY_SKEW_MS = 86_400_000;

export async function secretChecks(ctx: RegistryCheckContext): Promise<Finding[]> {
  const { registry, facts, logger } = ctx;
  const name = registry.name;
  const secret = facts.secret();
  const resource = await secret.then((s) => s?.arn ?? registry.secretName).catch(() => registry.secretName);
  const results = await Promise.all([
    guard(SECRET_CHECKS.rotationEnabled, resource, name, logger, async () => [
      rotationEnabled(ctx, resource, await secret),
    ]),
    guard(SECRET_CHECKS.rotationRecent, resource, name, logger, async () => [
      rotationRecent(ctx, resource, await secret, await facts.keys()),
    ]),
    guard(SECRET_CHECKS.pendingStuck, resource, name, logger, async () => [
      pendingStuck(ctx, resource, await secret),
    ]),
  ]);
  return results.flat();
}

function missingSecret(ctx: RegistryCheckContext, resource: string): FindingDraft {
  return {
    status: 'fail',
    resource,
    message: `The secret ${ctx.registry.secretName} does not exist.`,
    evidence: { secretName: ctx.registry.secretName },
    remediation: 'Deploy the Credentials stack: it creates the secret and configures its rotation.',
  };
}

/** The schedule Secrets Manager applies: its own rules, else the configuration's. */
function effectiveSchedule(ctx: RegistryCheckContext, secret: SecretFact): string {
  if (secret.scheduleExpression) return secret.scheduleExpression;
  if (secret.automaticallyAfterDays !== undefined) {
    const n = secret.automaticallyAfterDays;
    return `rate(${n} ${n === 1 ? 'day' : 'days'})`;
  }
  return ctx.registry.rotation.schedule;
}

function rotationEnabled(
  ctx: RegistryCheckContext,
  resource: string,
  secret: SecretFact | undefined,
): FindingDraft {
  const { registry } = ctx;
  if (!secret) return missingSecret(ctx, resource);
  const evidence = {
    rotationEnabled: secret.rotationEnabled,
    rotationLambdaArn: secret.rotationLambdaArn ?? null,
    scheduleExpression: secret.scheduleExpression ?? null,
    automaticallyAfterDays: secret.automaticallyAfterDays ?? null,
    window: secret.window ?? null,
    configured: { schedule: registry.rotation.schedule, window: registry.rotation.window },
  };
  if (!secret.rotationEnabled || !secret.rotationLambdaArn) {
    return {
      status: 'fail',
      resource,
      message: `Rotation of ${registry.secretName} is disabled${secret.rotationLambdaArn ? ' (cancelled)' : ''}: the key will not be replaced and will age past audit.maxKeyAgeDays.`,
      evidence,
      remediation: `Redeploy the Credentials stack, or re-enable rotation: aws secretsmanager rotate-secret --secret-id ${registry.secretName} --rotation-lambda-arn <the rotation function's ARN> --rotation-rules '{"ScheduleExpression":"${registry.rotation.schedule}","Duration":"${registry.rotation.window}"}'.`,
    };
  }
  const schedule = effectiveSchedule(ctx, secret);
  const drift: string[] = [];
  if (schedule !== registry.rotation.schedule)
    drift.push(`schedule ${schedule} (configured ${registry.rotation.schedule})`);
  if (secret.window !== undefined && secret.window !== registry.rotation.window)
    drift.push(`window ${secret.window} (configured ${registry.rotation.window})`);
  if (drift.length > 0) {
    return {
      status: 'fail',
      severity: 'medium',
      resource,
      message: `Rotation of ${registry.secretName} is enabled but drifted from the configuration: ${drift.join(', ')}.`,
      evidence,
      remediation:
        'Redeploy the Credentials stack so that the deployed rotation rules are the configured ones.',
    };
  }
  return {
    status: 'pass',
    resource,
    message: `Rotation of ${registry.secretName} is enabled on ${schedule} (window ${secret.window ?? registry.rotation.window}).`,
    evidence,
  };
}

function windowMs(window: string | undefined): number {
  const m = /^(\d+)h$/.exec(window ?? '');
  return m ? Number(m[1]) * 3_600_000 : 0;
}

function rotationRecent(
  ctx: RegistryCheckContext,
  resource: string,
  secret: SecretFact | undefined,
  keys: readonly { id: string; created: Date | undefined }[],
): FindingDraft {
  const { registry, now } = ctx;
  if (!secret) return missingSecret(ctx, resource);
  const rotate = `aws secretsmanager rotate-secret --secret-id ${registry.secretName}`;
  const expression = effectiveSchedule(ctx, secret);
  const currentId = secret.current?.accessKeyId;
  const key = keys.find((k) => k.id === currentId);
  const evidence: Record<string, unknown> = {
    lastRotated: iso(secret.lastRotated),
    nextRotation: iso(secret.nextRotation),
    schedule: expression,
    currentKey: currentId ? masked(currentId) : null,
    currentKeyCreated: iso(key?.created),
  };
  if (!secret.lastRotated && !secret.rotationEnabled) {
    return {
      status: 'fail',
      resource,
      message: `Rotation of ${registry.secretName} is disabled, so no rotation is due or will happen (see secret.rotation-enabled); Secrets Manager reports no last rotation date.`,
      evidence,
      remediation: SECRET_CHECKS.rotationEnabled.remediation,
    };
  }
  if (!secret.lastRotated) {
    return {
      status: 'fail',
      severity: 'high',
      resource,
      message: `${registry.secretName} has never been rotated.`,
      evidence,
      remediation: `Run the first rotation: ${rotate}.`,
    };
  }
  const parsed = parseScheduleExpression(expression);
  const due = parsed.ok
    ? nextScheduleTime(parsed.schedule, secret.lastRotated, secret.lastRotated)
    : undefined;
  const deadline = due
    ? new Date(due.getTime() + windowMs(secret.window ?? registry.rotation.window) + OVERDUE_SLACK_MS)
    : undefined;
  evidence['due'] = iso(due);
  evidence['overdueAfter'] = iso(deadline);
  if (deadline && now.getTime() > deadline.getTime()) {
    return {
      status: 'fail',
      resource,
      message: `${registry.secretName} was last rotated ${secret.lastRotated.toISOString()} (${daysBetween(secret.lastRotated, now)} days ago); the next rotation was due ${due?.toISOString()} on ${expression} and has not succeeded.`,
      evidence,
      remediation: `Rotate now (${rotate}) and read the rotation function's logs and the "NVCF Registry Credential Rotation Failed" events to see why the scheduled rotation did not complete.`,
    };
  }
  if (key?.created && key.created.getTime() < secret.lastRotated.getTime() - ROTATION_KEY_SKEW_MS) {
    return {
      status: 'fail',
      resource,
      message: `${registry.secretName} counts as rotated on ${secret.lastRotated.toISOString()}, but its AWSCURRENT key ${masked(currentId ?? '')} was created ${key.created.toISOString()}: the secret was updated without a new key (Secrets Manager counts a manual update as a rotation).`,
      evidence,
      remediation: `Rotate through the rotation function so that a new key is minted and NVCF is updated: ${rotate}.`,
    };
  }
  return {
    status: 'pass',
    resource,
    message: `${registry.secretName} was rotated ${secret.lastRotated.toISOString()}; the next rotation is due ${due ? due.toISOString() : 'on its cron schedule'}.`,
    evidence,
  };
}

function pendingStuck(
  ctx: RegistryCheckContext,
  resource: string,
  secret: SecretFact | undefined,
): FindingDraft {
  const { registry, now } = ctx;
  if (!secret) return missingSecret(ctx, resource);
  const pending = secret.versions.filter(
    (v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'),
  );
  const evidence = {
    versions: secret.versions.map((v) => ({
      versionId: v.versionId,
      stages: v.stages,
      created: iso(v.created),
    })),
    pendingKey: secret.pending?.accessKeyId ? masked(secret.pending.accessKeyId) : null,
  };
  if (pending.length === 0) {
    return {
      status: 'pass',
      resource,
      message: `No AWSPENDING label outside AWSCURRENT on ${registry.secretName}.`,
      evidence,
    };
  }
  const stuck = pending.filter(
    (v) => !v.created || now.getTime() - v.created.getTime() > PENDING_STUCK_AFTER_MS,
  );
  if (stuck.length === 0) {
    return {
      status: 'pass',
      resource,
      message: `A rotation of ${registry.secretName} is in progress (AWSPENDING on version ${pending.map((v) => v.versionId).join(', ')}, set less than an hour ago).`,
      evidence,
    };
  }
  const v = stuck[0] as (typeof stuck)[number];
  return {
    status: 'fail',
    resource,
    message: `AWSPENDING is stuck on version ${v.versionId} of ${registry.secretName} since ${v.created ? v.created.toISOString() : 'an unknown time'}: Secrets Manager refuses every rotation until it is removed${secret.pending?.accessKeyId ? ` (it names key ${masked(secret.pending.accessKeyId)}, which the next rotation cleans up)` : ''}.`,
    evidence,
    remediation: `aws secretsmanager update-secret-version-stage --secret-id ${registry.secretName} --version-stage AWSPENDING --remove-from-version-id ${v.versionId}; then rotate again: aws secretsmanager rotate-secret --secret-id ${registry.secretName}.`,
  };
}
