import { NoSuchEntityException, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import type { RegistryConfig } from '../config/index.ts';
import { RotationError } from '../errors.ts';
import { DETAIL_TYPES } from '../events/names.ts';
import { noMetrics } from '../metrics.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import { ROTATION_METRICS, type RotationServices } from './deps.ts';
import { publishRotationEvent } from './details.ts';
import { recordedKey } from './key-ids.ts';
import { graceEndsAt } from './keys.ts';
import { emitAgeMetrics, nvcfRelease, retireKeys } from './retire-state.ts';
import { describeSecret, keyLastUsed, listAccessKeys, versionDates } from './state.ts';
import { hours, IN_USE_WINDOW_MS, usedWithinWindow } from './window.ts';

/**
 * Retirement of the previous key (scheduled hourly, and `nvcf-ecr retire`): once `rotation.graceHours` have
 * passed since the rotation that replaced it, the previous key is *deactivated* — never deleted (createSecret
 * deletes an Inactive key when the next rotation needs its slot, so a wrongly retired key can be reactivated
 * until then). A key used within the last hour is still in use: by default the retirement is postponed, with
 * a warning event, until `retire.maxPostponeHours` after the grace period; `retire.whenInUse: 'deactivate'`
 * deactivates it anyway. The AWSCURRENT key is never touched, and nothing is deactivated unless NVCF's
 * credential was updated after the current key was created (otherwise NVCF may still hold the previous key).
 * It reads no secret value: which key is which comes from the key ids the rotation records per version
 * (`key-ids.ts`), so its role holds no working ECR credential.
 */

export interface RetireDeps extends RotationServices {
  /**
   * Milliseconds left to the invoker (Lambda's `context.getRemainingTimeInMillis`); absent: no limit. A
   * registry is only started with {@link RetireDeps.timePerRegistryMs} left, so that the function reports
   * what it skipped instead of being cut off mid-way.
   */
  readonly timeLeftMs?: (() => number) | undefined;
  /** The most one registry may take: the NVCF client's budget plus the AWS calls (default 20 s). */
  readonly timePerRegistryMs?: number | undefined;
}

/** {@link RetireDeps.timePerRegistryMs} by default: an NVCF budget of 10–15 s plus a few AWS calls. */
export const DEFAULT_TIME_PER_REGISTRY_MS = 20_000;

/** `skipped`: not started, too little of the invocation's time was left (the next hourly run retires it). */
export type RetireAction = 'retired' | 'postponed' | 'in-grace' | 'nothing-to-retire' | 'skipped';

export interface RetireOutcome {
  readonly registry: string;
  readonly action: RetireAction;
  /** What happened, in a sentence. */
  readonly reason: string;
  /** The previous key, masked. */
  readonly accessKeyId?: string | undefined;
  readonly graceEndsAt?: string | undefined;
  readonly lastUsedAt?: string | null | undefined;
  /** When a postponed retirement deactivates the key anyway (null: never). */
  readonly deactivateAnywayAt?: string | null | undefined;
}

/**
 * Retires the previous key of every configured registry; one registry's failure does not stop the others. With
 * {@link RetireDeps.timeLeftMs}, a registry is not started once less than one registry's worth of time is left:
 * it is reported `skipped` (and logged) rather than lost to a timeout that reports nothing.
 */
export async function retirePreviousKeys(deps: RetireDeps): Promise<RetireOutcome[]> {
  const outcomes: RetireOutcome[] = [];
  const failures: string[] = [];
  const skipped: string[] = [];
  const perRegistry = deps.timePerRegistryMs ?? DEFAULT_TIME_PER_REGISTRY_MS;
  for (const registry of deps.config.registries) {
    const left = deps.timeLeftMs?.();
    if (left !== undefined && left < perRegistry) {
      const reason =
        `not started: ${Math.floor(left / 1000)} s were left of this invocation, less than the ` +
        `${Math.round(perRegistry / 1000)} s one registry may take; the next hourly run retires it`;
      outcomes.push({ registry: registry.name, action: 'skipped', reason });
      skipped.push(registry.name);
      continue;
    }
    try {
      outcomes.push(await retirePreviousKey(registry, deps));
    } catch (err) {
      deps.logger.error('retirement failed', { registry: registry.name, error: describeError(err) });
      failures.push(`${registry.name}: ${describeError(err)}`);
    }
  }
  if (skipped.length > 0)
    deps.logger.warn('retirement skipped: not enough time left in this invocation', { registries: skipped });
  if (failures.length > 0) {
    // Thrown after every registry had its turn, so that Lambda retries (the retry finds the done ones done).
    throw new RotationError(
      'retire',
      deps.config.registries.map((r) => r.secretName).join(', '),
      `Retirement failed for ${failures.length} registr${failures.length === 1 ? 'y' : 'ies'}: ${failures.join('; ')}` +
        (skipped.length > 0 ? `; skipped for lack of time: ${skipped.join(', ')}` : ''),
    );
  }
  return outcomes;
}

export async function retirePreviousKey(registry: RegistryConfig, deps: RetireDeps): Promise<RetireOutcome> {
  const log = deps.logger.child({ registry: registry.name });
  const metric = deps.metrics ?? noMetrics;
  const secretId = registry.secretName;
  const nothing = (reason: string): RetireOutcome => {
    log.debug('nothing to retire', { reason });
    return { registry: registry.name, action: 'nothing-to-retire', reason };
  };
  const state = await describeSecret(deps.secrets, secretId);
  const keys = retireKeys(state, registry.name);
  // The age metrics describe a key: not emitted before the first one (nor when the record says there is none).
  const holdsKey = keys.kind !== 'nothing' || recordedKey(state.tags, state.currentVersionId).kind === 'key';
  if (!holdsKey) return nothing(keys.reason);
  const currentCreated = state.currentVersionId
    ? (await versionDates(deps.secrets, secretId)).get(state.currentVersionId)
    : undefined;
  emitAgeMetrics(registry.name, deps.now(), currentCreated, state.lastRotatedDate, metric);
  if (keys.kind === 'nothing') return nothing(keys.reason);
  if (keys.kind === 'unrecorded') {
    // No event: its schema names both keys, which are exactly what is not known. The outcome, the warning and
    // the postponement metric say it; the audit's iam.key-matches-secret reports it too.
    log.warn('retirement not possible: key ids not recorded', { reason: keys.reason });
    metric({ name: ROTATION_METRICS.retirementPostponed, value: 1, dimensions: { Registry: registry.name } });
    return { registry: registry.name, action: 'postponed', reason: keys.reason };
  }
  const masked = maskAccessKeyId(keys.previousKeyId);
  const key = (await listAccessKeys(deps.iam, registry.userName)).find(
    (k) => k.accessKeyId === keys.previousKeyId,
  );
  if (!key) return nothing(`the previous key ${masked} no longer exists`);
  if (key.status !== 'Active') return nothing(`the previous key ${masked} is already ${key.status}`);

  const now = deps.now();
  const graceEnd = graceEndsAt(
    state.lastRotatedDate,
    { createdDate: currentCreated },
    registry.rotation.graceHours,
  );
  if (graceEnd && now < graceEnd) {
    log.debug('previous key in its grace period', {
      accessKeyId: masked,
      graceEndsAt: graceEnd.toISOString(),
    });
    return {
      registry: registry.name,
      action: 'in-grace',
      reason: `the previous key ${masked} is in its grace period until ${graceEnd.toISOString()}`,
      accessKeyId: masked,
      graceEndsAt: graceEnd.toISOString(),
    };
  }
  const graceEndedAt = (graceEnd ?? now).toISOString();
  const target =
    deps.events && deps.eventBusName ? { client: deps.events, busName: deps.eventBusName } : undefined;
  const base = {
    schemaVersion: 1 as const,
    registry: registry.name,
    secretId: state.arn,
    userName: registry.userName,
    accessKeyId: masked,
    currentAccessKeyId: maskAccessKeyId(keys.currentKeyId),
    graceEndedAt,
  };

  const postpone = async (
    cause: 'in-use' | 'nvcf-not-updated',
    reason: string,
    lastUsed: { at: Date | undefined; service: string | undefined },
    deactivateAnywayAt: Date | undefined,
  ): Promise<RetireOutcome> => {
    log.warn('retirement of the previous key postponed', { accessKeyId: masked, cause, reason });
    metric({ name: ROTATION_METRICS.retirementPostponed, value: 1, dimensions: { Registry: registry.name } });
    await publishRotationEvent(
      target,
      DETAIL_TYPES.retirementPostponed,
      {
        ...base,
        cause,
        lastUsedAt: lastUsed.at?.toISOString() ?? null,
        lastUsedService: lastUsed.service ?? null,
        deactivateAnywayAt: deactivateAnywayAt?.toISOString() ?? null,
        reason,
        postponedAt: now.toISOString(),
      },
      log,
      [state.arn],
    );
    return {
      registry: registry.name,
      action: 'postponed',
      reason,
      accessKeyId: masked,
      graceEndsAt: graceEndedAt,
      lastUsedAt: lastUsed.at?.toISOString() ?? null,
      deactivateAnywayAt: deactivateAnywayAt?.toISOString() ?? null,
    };
  };

  // Invariant 2: NVCF must hold the current key — by the rotation's own record of what it gave NVCF, the one
  // createSecret consults — for long enough that no cache or running workload still holds this one.
  const held = nvcfRelease(state, now);
  if (held.blocked) {
    return postpone(
      'nvcf-not-updated',
      `${held.blocked} ${masked} stays Active; the retirement tries again every hour.`,
      { at: undefined, service: undefined },
      undefined,
    );
  }
  const credential = await deps.nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
  const updatedAt = credential ? Date.parse(credential.lastUpdatedAt) : undefined;
  // An unreadable time says nothing about NVCF's update: postpone, never pass (NaN compares false).
  if (credential && Number.isNaN(updatedAt)) {
    return postpone(
      'nvcf-not-updated',
      `NVCF credential '${registry.credentialName}' reports lastUpdatedAt '${credential.lastUpdatedAt}', which is ` +
        `not a time: it is not known that NVCF was updated after the current key was created, so ${masked} stays ` +
        `Active. Check the credential in NVCF; rotating again ('nvcf-ecr rotate ${registry.name}') updates it.`,
      { at: undefined, service: undefined },
      undefined,
    );
  }
  // The AWSCURRENT version was stored right after its key was created (createSecret): NVCF updated before that
  // cannot hold the current key. Without the version's time nothing says NVCF was updated: postpone.
  if (credential && (currentCreated === undefined || (updatedAt ?? 0) < currentCreated.getTime())) {
    return postpone(
      'nvcf-not-updated',
      `NVCF credential '${registry.credentialName}' was last updated at ${credential.lastUpdatedAt}, before the ` +
        `current key was stored (${currentCreated?.toISOString() ?? 'at an unknown time'}): NVCF may still hold ${masked}, so it stays Active. ` +
        `Rotate again ('nvcf-ecr rotate ${registry.name}') to put the current key in NVCF.`,
      { at: undefined, service: undefined },
      undefined,
    );
  }

  const lastUsed = await keyLastUsed(deps.iam, keys.previousKeyId);
  const inUse = usedWithinWindow(lastUsed.at, now);
  let whileInUse = false;
  let reason = `grace period of ${registry.rotation.graceHours} h over and not used within the last ${hours(IN_USE_WINDOW_MS)}`;
  if (inUse) {
    const { whenInUse, maxPostponeHours } = registry.rotation.retire;
    const used = `used at ${lastUsed.at?.toISOString()}${lastUsed.service ? ` by ${lastUsed.service}` : ''}`;
    if (whenInUse === 'postpone') {
      // retire.maxPostponeHours never deactivates a key in use (invariant 2): past it, the event says so.
      const overdue =
        maxPostponeHours > 0 &&
        graceEnd &&
        now.getTime() >= graceEnd.getTime() + maxPostponeHours * 3_600_000;
      return postpone(
        'in-use',
        `the previous key ${masked} was ${used}, within the last ${hours(IN_USE_WINDOW_MS)} (workload refresh + ` +
          `IAM's last-used lag + margin): something may still pull with it, so it stays Active and retirement is ` +
          `tried again every hour.${
            overdue
              ? ` It has been postponed for more than retire.maxPostponeHours (${maxPostponeHours} h); a key in use ` +
                'is never deactivated: find what uses it (the last use names the service) and move it to the current key.'
              : ''
          }`,
        lastUsed,
        undefined,
      );
    }
    whileInUse = true;
    reason = `grace period over; ${used} but retire.whenInUse is 'deactivate'`;
  }

  try {
    await deps.iam.send(
      new UpdateAccessKeyCommand({
        UserName: registry.userName,
        AccessKeyId: keys.previousKeyId,
        Status: 'Inactive',
      }),
    );
  } catch (err) {
    if (err instanceof NoSuchEntityException) return nothing(`the previous key ${masked} no longer exists`);
    throw err;
  }
  if (whileInUse) log.warn('previous key deactivated while still in use', { accessKeyId: masked, reason });
  else log.info('previous key deactivated', { accessKeyId: masked, reason });
  metric({ name: ROTATION_METRICS.keyRetired, value: 1, dimensions: { Registry: registry.name } });
  await publishRotationEvent(
    target,
    DETAIL_TYPES.previousKeyRetired,
    {
      ...base,
      lastUsedAt: lastUsed.at?.toISOString() ?? null,
      deactivatedWhileInUse: whileInUse,
      reason,
      retiredAt: now.toISOString(),
    },
    log,
    [state.arn],
  );
  return {
    registry: registry.name,
    action: 'retired',
    reason,
    accessKeyId: masked,
    graceEndsAt: graceEndedAt,
    lastUsedAt: lastUsed.at?.toISOString() ?? null,
  };
}
