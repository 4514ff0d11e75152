import { daysBetween, iso, masked, plural, type RegistryCheckContext } from '../check.ts';
import { type AccessKeyFact, type SecretFact, unrecordedStages } from '../facts.ts';
import type { FindingDraft, Severity } from '../model.ts';

/**
 * The IAM checks on the pull user's keys (`iam.access-key-count`, `iam.access-key-age`,
 * `iam.key-matches-secret`, defined with the other IAM checks in `iam.ts`): how many keys are Active, how old,
 * and whether they are the ones the secret's versions record (by the key ids the rotation records per version,
 * never the secret's value).
 */

/** Tolerance after the grace period: the retirement runs hourly (`RETIRE_SCHEDULE`), so it may act up to an hour late. */
const RETIREMENT_SLACK_MS = 3_600_000;

/** Keys the secret knows, by stage. */
function knownKeys(secret: SecretFact | undefined): {
  current?: string;
  previous?: string;
  pending?: string;
} {
  return {
    ...(secret?.current?.accessKeyId ? { current: secret.current.accessKeyId } : {}),
    ...(secret?.previous?.accessKeyId ? { previous: secret.previous.accessKeyId } : {}),
    ...(secret?.pending?.accessKeyId ? { pending: secret.pending.accessKeyId } : {}),
  };
}

function keyEvidence(keys: readonly AccessKeyFact[], secret: SecretFact | undefined, now: Date) {
  const known = knownKeys(secret);
  return keys.map((k) => ({
    accessKeyId: masked(k.id),
    status: k.status,
    created: iso(k.created),
    ageDays: k.created ? daysBetween(k.created, now) : null,
    lastUsed: iso(k.lastUsed),
    lastUsedService: k.lastUsedService ?? null,
    secretStage:
      k.id === known.current
        ? 'AWSCURRENT'
        : k.id === known.previous
          ? 'AWSPREVIOUS'
          : k.id === known.pending
            ? 'AWSPENDING'
            : null,
  }));
}

/**
 * When the previous key's grace period ends: the current version's creation (stored right after its key was
 * created; else the key's, else the secret's last rotation) plus `rotation.graceHours`, plus the retirement's
 * hourly slack.
 */
function graceEnd(
  ctx: RegistryCheckContext,
  secret: SecretFact | undefined,
  keys: readonly AccessKeyFact[],
): Date | undefined {
  const current = secret?.current?.accessKeyId;
  const start =
    secret?.current?.created ?? keys.find((k) => k.id === current)?.created ?? secret?.lastRotated;
  if (!start) return undefined;
  return new Date(start.getTime() + ctx.registry.rotation.graceHours * 3_600_000 + RETIREMENT_SLACK_MS);
}

export function keyCount(
  ctx: RegistryCheckContext,
  arn: string,
  keys: readonly AccessKeyFact[],
  secret: SecretFact | undefined,
): FindingDraft {
  const { now, registry } = ctx;
  const active = keys.filter((k) => k.status === 'Active');
  const evidence = { keys: keyEvidence(keys, secret, now), activeKeys: active.length };
  if (active.length > 2) {
    return {
      status: 'fail',
      severity: 'critical',
      resource: arn,
      message: `${registry.userName} has ${active.length} Active keys; IAM allows two and the rotation needs one free slot.`,
      evidence,
    };
  }
  if (active.length <= 1) {
    return {
      status: 'pass',
      resource: arn,
      message: `${registry.userName} has ${plural(active.length, 'Active key')} (${plural(keys.length, 'key')} in all).`,
      evidence,
    };
  }
  // Without every stage's key id, "unknown to the secret" may be the current key: never advise deactivating.
  const unrecorded = unrecordedStages(secret);
  if (unrecorded.length > 0) {
    return {
      status: 'fail',
      resource: arn,
      message: `${registry.userName} has 2 Active keys, and no key id is recorded for ${unrecorded.join(', ')} of ${registry.secretName}: which one the secret names cannot be told.`,
      evidence,
      remediation: `Deactivate nothing yet. Rotate once to record key ids: nvcf-ecr rotate ${registry.name} (the retirement then deactivates the previous key after its grace period).`,
    };
  }
  const known = knownKeys(secret);
  const end = graceEnd(ctx, secret, keys);
  const extra = active.filter((k) => k.id !== known.current);
  const problems: string[] = [];
  const notes: string[] = [];
  for (const k of extra) {
    if (k.id === known.pending) notes.push(`${masked(k.id)} is the pending key of a rotation in progress`);
    else if (k.id === known.previous && end && now.getTime() < end.getTime())
      notes.push(`${masked(k.id)} is the previous key, inside its grace period until ${end.toISOString()}`);
    else if (k.id === known.previous)
      problems.push(
        `the previous key ${masked(k.id)} is still Active after its grace period (ended ${end ? end.toISOString() : 'at an unknown time'})`,
      );
    else
      problems.push(
        `${masked(k.id)} is Active but unknown to the secret ${registry.secretName} (created ${iso(k.created) ?? 'at an unknown time'}, outside the rotation)`,
      );
  }
  if (problems.length === 0) {
    return {
      status: 'pass',
      resource: arn,
      message: `${registry.userName} has 2 Active keys during a rotation: ${notes.join('; ')}.`,
      evidence: { ...evidence, graceEnds: iso(end) },
    };
  }
  return {
    status: 'fail',
    resource: arn,
    message: `${registry.userName} has 2 Active keys outside a rotation: ${problems.join('; ')}.`,
    evidence: { ...evidence, graceEnds: iso(end) },
    remediation: `Deactivate the extra key once nothing uses it (its last use is in the evidence; and not while nvcf.credential-current says NVCF may hold it: rotate first): aws iam update-access-key --user-name ${registry.userName} --access-key-id <the key named above> --status Inactive. A second key makes the next rotation refuse to run until one slot is free.`,
  };
}

export function keyAge(ctx: RegistryCheckContext, arn: string, keys: readonly AccessKeyFact[]): FindingDraft {
  const { now, registry, config } = ctx;
  const max = config.audit.maxKeyAgeDays;
  const active = keys.filter((k) => k.status === 'Active');
  const ages = active.map((k) => ({
    accessKeyId: masked(k.id),
    created: iso(k.created),
    ageDays: k.created ? daysBetween(k.created, now) : null,
  }));
  const evidence = { maxKeyAgeDays: max, activeKeys: ages, inactiveKeys: keys.length - active.length };
  const old = active.filter((k) => !k.created || daysBetween(k.created, now) >= max);
  if (active.length === 0) {
    return {
      status: 'pass',
      resource: arn,
      message: `${registry.userName} has no Active key to age (Inactive keys do not count; see iam.key-matches-secret).`,
      evidence,
    };
  }
  if (old.length === 0) {
    const oldest = Math.max(...ages.map((a) => a.ageDays ?? 0));
    return {
      status: 'pass',
      resource: arn,
      message: `The Active key of ${registry.userName} is ${plural(oldest, 'day')} old, under the ${max}-day limit.`,
      evidence,
    };
  }
  return {
    status: 'fail',
    resource: arn,
    message: `${old
      .map(
        (k) =>
          `Active key ${masked(k.id)} is ${k.created ? plural(daysBetween(k.created, now), 'day') : 'of unknown age,'} old`,
      )
      .join('; ')}: the limit is ${max} days.`,
    evidence,
    remediation: `Rotate now: aws secretsmanager rotate-secret --secret-id ${registry.secretName}. Then find out why the schedule (${registry.rotation.schedule}) did not: see secret.rotation-enabled and secret.rotation-recent.`,
  };
}

export function keyMatchesSecret(
  ctx: RegistryCheckContext,
  arn: string,
  userExists: boolean,
  keys: readonly AccessKeyFact[],
  secret: SecretFact | undefined,
): FindingDraft {
  const { registry, now } = ctx;
  const rotate = `aws secretsmanager rotate-secret --secret-id ${registry.secretName}`;
  const evidence = {
    secret: secret?.arn ?? registry.secretName,
    secretKey: secret?.current?.accessKeyId ? masked(secret.current.accessKeyId) : null,
    keys: keyEvidence(keys, secret, now),
  };
  const fail = (severity: Severity, message: string, remediation: string): FindingDraft => ({
    status: 'fail',
    severity,
    resource: arn,
    message,
    evidence,
    remediation,
  });
  if (!userExists)
    return fail(
      'critical',
      `The pull user ${registry.userName} does not exist.`,
      'Deploy the Credentials stack, then rotate the secret.',
    );
  if (!secret)
    return fail(
      'critical',
      `The secret ${registry.secretName} does not exist, so nothing names the key NVCF should hold.`,
      'Deploy the Credentials stack: it creates the secret and rotates it once.',
    );
  const current = secret.current;
  if (!current)
    return fail(
      'critical',
      `The secret ${registry.secretName} has no AWSCURRENT version.`,
      `Rotate the secret so that it holds a key: ${rotate}.`,
    );
  // Never rotated: AWSCURRENT is the bootstrap value (no AWSPREVIOUS yet), recorded as keyless or not at all.
  if (!current.accessKeyId && (!current.unrecorded || !secret.previous))
    return fail(
      'critical',
      `The secret ${registry.secretName} holds no key yet: the rotation has never completed, so NVCF has no credential from this project.`,
      `Run the first rotation: ${rotate} (check the rotation function's logs if it fails).`,
    );
  if (!current.accessKeyId)
    return fail(
      'high',
      `No key id is recorded for the AWSCURRENT version ${current.versionId} of ${registry.secretName} (written before the rotation recorded key ids, or by hand): the audit reads no secret value, so it cannot tell which key is current, and the retirement deactivates nothing until it can.`,
      `Rotate once to record key ids: nvcf-ecr rotate ${registry.name} (or ${rotate}).`,
    );
  const problems: string[] = [];
  let severity: Severity = 'high';
  const key = keys.find((k) => k.id === current.accessKeyId);
  if (!key) {
    severity = 'critical';
    problems.push(
      `the AWSCURRENT key ${masked(current.accessKeyId)} does not exist on ${registry.userName} (deleted outside the rotation?)`,
    );
  } else if (key.status !== 'Active') {
    severity = 'critical';
    problems.push(
      `the AWSCURRENT key ${masked(current.accessKeyId)} is ${key.status}, so NVCF cannot pull with it`,
    );
  }
  const known = new Set(Object.values(knownKeys(secret)));
  const unknown = keys.filter((k) => !known.has(k.id));
  const unrecorded = unrecordedStages(secret);
  if (unknown.length > 0 && unrecorded.length > 0)
    problems.push(
      `no key id is recorded for ${unrecorded.join(', ')}, so a key listed as unknown may be that version's: deactivate nothing before a rotation records them (nvcf-ecr rotate ${registry.name})`,
    );
  // A key created after the current one may be the key a failed rotation gave NVCF (nvcf.credential-current
  // judges that against NVCF's last update): it must not be deactivated before NVCF is brought back.
  const currentCreated = key?.created;
  const newer = (k: AccessKeyFact) =>
    currentCreated !== undefined && k.created !== undefined && k.created.getTime() > currentCreated.getTime();
  if (unknown.length > 0) {
    problems.push(
      `${plural(unknown.length, 'key')} unknown to the secret: ${unknown.map((k) => `${masked(k.id)} (${k.status}, created ${iso(k.created) ?? 'at an unknown time'}${newer(k) ? ', after the current key: NVCF may hold it, see nvcf.credential-current' : ''})`).join(', ')}`,
    );
  }
  if (problems.length === 0) {
    return {
      status: 'pass',
      resource: arn,
      message: `The AWSCURRENT key ${masked(current.accessKeyId)} is ${registry.userName}'s Active key, and the user has no key the secret does not know.`,
      evidence,
    };
  }
  return fail(
    severity,
    `${registry.userName}: ${problems.join('; ')}.`,
    unrecorded.length > 0
      ? `Deactivate nothing yet: rotate once to record key ids (nvcf-ecr rotate ${registry.name}, or ${rotate}), then audit again.`
      : key && key.status === 'Active'
        ? `Do not deactivate a key NVCF may hold: first check nvcf.credential-current, and if it names the key (a rotation gave it to NVCF and then failed), rotate first (${rotate}), which points NVCF back at the current key. Then deactivate keys the secret does not know once nothing uses them: aws iam update-access-key --user-name ${registry.userName} --access-key-id <the key named above> --status Inactive.`
        : `Rotate the secret so that AWSCURRENT names a working key and NVCF is updated: ${rotate}.`,
  );
}
