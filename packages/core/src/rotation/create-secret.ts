import {
  CreateAccessKeyCommand,
  type CreateAccessKeyCommandOutput,
  DeleteAccessKeyCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import {
  PutSecretValueCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { RotationError, RotationRefusedError } from '../errors.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import { ROTATION_METRICS } from './deps.ts';
import { type ClassifiedKey, graceEndsAt, planRoom, pullKeyOf } from './keys.ts';
import { knownNvcfHolding, type NvcfState, reconcileNvcf } from './nvcf-sync.ts';
import {
  assertValueMatchesRegistry,
  DEPLOYED_BOOTSTRAP_VALUE,
  type PullKeySecret,
  serializePullKey,
} from './secret-value.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  formatIntent,
  keyLastUsed,
  parseIntent,
  ROTATION_TAGS,
  readValue,
  type StoredValue,
} from './state.ts';
import { ACCESS_KEYS_PER_USER, budget, readPending, type StepContext } from './step-context.ts';
import { classifyUserKeys } from './user-keys.ts';

/**
 * Makes room under the two-key limit without deleting a key NVCF may hold, creates the new key and stores it
 * as AWSPENDING. Re-run with the same token: the stored value is reused (no second key).
 */
export async function createSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry, secretId, token, state } = ctx;
  const pending = await readPending(ctx, { required: false });
  if (pending) {
    log.info('pending key already stored for this token: reusing it', {
      accessKeyId: maskAccessKeyId(pending.accessKeyId),
    });
    await consumeForce(ctx);
    return;
  }
  const current = await readValue(deps.secrets, secretId, { stage: AWSCURRENT }, 'createSecret');
  if (!current) {
    throw new RotationError(
      'createSecret',
      secretId,
      `Secret ${state.name} has no AWSCURRENT value: the stacks create it with a bootstrap value (no key); put ` +
        `${DEPLOYED_BOOTSTRAP_VALUE} back (packages/core/src/rotation/README.md, "The rotated secret") and rotate again.`,
    );
  }
  assertValueMatchesRegistry(current.value, registry, {
    step: 'createSecret',
    secretId,
    version: AWSCURRENT,
  });
  const force = state.tags.get(ROTATION_TAGS.force) === token;
  if (force)
    log.warn(
      'forced rotation: the grace period is skipped for this token (never the in-use window or NVCF release)',
    );

  const keys = await settledUserKeys(ctx, current);
  const currentKey = pullKeyOf(current);
  const currentKeyActive =
    currentKey !== undefined &&
    keys.some((k) => k.accessKeyId === currentKey.accessKeyId && k.status === 'Active');
  let nvcf = knownNvcfHolding(ctx);
  const orphans = keys.filter((k) => k.role === 'orphan');
  if (orphans.length > 0) nvcf = await deleteOrphans(ctx, orphans, currentKey, currentKeyActive, nvcf);
  const remaining = keys.filter((k) => k.role !== 'orphan');
  for (const k of remaining.filter((x) => x.role === 'unmanaged')) {
    // Typical after adopting a hand-made NVCF credential: the old hand-made key stays until someone deletes
    // it, and a later rotation that needs its slot refuses, naming it.
    log.warn('the pull user has a key this rotation did not create: it never deletes it', {
      accessKeyId: maskAccessKeyId(k.accessKeyId),
      createdAt: k.createDate.toISOString(),
      status: k.status,
    });
  }
  if (remaining.length >= ACCESS_KEYS_PER_USER)
    await makeRoom(ctx, current, remaining, { force, currentKeyActive, nvcf });

  await createAndStoreKey(ctx);
  await consumeForce(ctx);
}

/**
 * Deletes the keys of attempts that died before storing them — after pointing NVCF at the current key, as
 * before any deletion: an orphan never reached NVCF, but NVCF never says which key it holds, and a key wrongly
 * taken for an orphan must not leave NVCF on a deleted key. Without a current key (the registry's first
 * rotation) there is nothing to point NVCF at, and the rotation never gave NVCF a key yet.
 */
async function deleteOrphans(
  ctx: StepContext,
  orphans: readonly ClassifiedKey[],
  currentKey: PullKeySecret | undefined,
  currentKeyActive: boolean,
  nvcf: NvcfState,
): Promise<NvcfState> {
  const { deps, log, registry, secretId } = ctx;
  let next = nvcf;
  if (currentKey) {
    if (!currentKeyActive) {
      throw new RotationRefusedError(
        'createSecret',
        secretId,
        `Key ${orphans.map((k) => maskAccessKeyId(k.accessKeyId)).join(' and ')} of IAM user ${registry.userName} ` +
          'was left by an attempt that died before storing it, but the AWSCURRENT key is missing or Inactive, so ' +
          'NVCF cannot first be pointed at it. Nothing was deleted. Reactivate the AWSCURRENT key (see README.md, ' +
          '"Recovering"), then rotate again.',
      );
    }
    if (!next.reconciled) next = await reconcileNvcf(ctx, currentKey, 'before deleting an orphan key');
  }
  for (const orphan of orphans) {
    await deleteKey(ctx, orphan.accessKeyId);
    log.warn('deleted an orphan key left by an interrupted attempt (created before its secret was stored)', {
      accessKeyId: maskAccessKeyId(orphan.accessKeyId),
      createdAt: orphan.createDate.toISOString(),
    });
    deps.metric({
      name: ROTATION_METRICS.orphanKeysDeleted,
      value: 1,
      dimensions: { Registry: registry.name },
    });
  }
  return next;
}

async function makeRoom(
  ctx: StepContext,
  current: StoredValue,
  keys: readonly ClassifiedKey[],
  options: { force: boolean; currentKeyActive: boolean; nvcf: NvcfState },
): Promise<void> {
  const { deps, log, registry, secretId, state } = ctx;
  const { force, currentKeyActive } = options;
  const currentKey = pullKeyOf(current);
  let nvcf = options.nvcf;
  // NVCF may hold another key than the current one — a cancelled rotation's, which NVCF would go on handing out
  // and which would go on looking "in use" — so it is pointed at the current key before anything is decided,
  // refusals included (safe: the current key is Active). Its caches then age the other key out.
  if (nvcf.holding.kind === 'unknown' && currentKey && currentKeyActive)
    nvcf = await reconcileNvcf(ctx, currentKey, 'NVCF may hold another key than the current one');
  const lastUsed = new Map<string, Date | undefined>();
  const gone = new Set<string>();
  // Read forced or not: forcing skips the grace period, never the in-use window (invariant 2).
  for (const k of keys) {
    if (k.status !== 'Active' || (k.role !== 'previous' && k.role !== 'superseded')) continue;
    const used = await lastUsedUnlessGone(ctx, k.accessKeyId);
    if (used === 'gone') gone.add(k.accessKeyId);
    else lastUsed.set(k.accessKeyId, used);
  }
  const present = keys.filter((k) => !gone.has(k.accessKeyId));
  if (present.length < ACCESS_KEYS_PER_USER) return;
  const plan = planRoom({
    keys: present,
    force,
    now: deps.now(),
    graceEndsAt: graceEndsAt(state.lastRotatedDate, current, registry.rotation.graceHours),
    graceHours: registry.rotation.graceHours,
    lastUsed,
    currentKeyActive,
    nvcf: nvcf.holding,
    registryName: registry.name,
    userName: registry.userName,
    keyLimit: ACCESS_KEYS_PER_USER,
  });
  if (plan.kind === 'room') return;
  if (plan.kind === 'refuse') throw new RotationRefusedError('createSecret', secretId, plan.reason);
  // planRoom only deletes with a working current key: point NVCF at it right before deleting (a PATCH with the
  // key it holds already when the record says so; NVCF never says which key it holds).
  if (currentKey && !nvcf.reconciled) await reconcileNvcf(ctx, currentKey, 'before deleting a key');
  await deleteKey(ctx, plan.key.accessKeyId);
  log.info('deleted a key to make room for the new one', {
    accessKeyId: maskAccessKeyId(plan.key.accessKeyId),
    role: plan.key.role,
    status: plan.key.status,
    reason: plan.reason,
  });
  deps.metric({ name: ROTATION_METRICS.keyDeleted, value: 1, dimensions: { Registry: registry.name } });
}

/**
 * The key's last use, or `gone` when IAM no longer knows it: `ListAccessKeys` shows a deleted key for a while
 * (IAM is eventually consistent, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency),
 * typically when an earlier attempt of this rotation deleted it and died. Such a key takes no slot any more.
 */
async function lastUsedUnlessGone(ctx: StepContext, accessKeyId: string): Promise<Date | undefined | 'gone'> {
  try {
    return (await keyLastUsed(ctx.deps.iam, accessKeyId)).at;
  } catch (err) {
    if (!(err instanceof NoSuchEntityException)) throw err;
    ctx.log.info('IAM still lists a key it no longer has (its list is late): it takes no slot', {
      accessKeyId: maskAccessKeyId(accessKeyId),
    });
    return 'gone';
  }
}

async function deleteKey(ctx: StepContext, accessKeyId: string): Promise<void> {
  try {
    await ctx.deps.iam.send(
      new DeleteAccessKeyCommand({ UserName: ctx.registry.userName, AccessKeyId: accessKeyId }),
    );
  } catch (err) {
    // Already gone (an earlier attempt deleted it and died before seeing the answer): the goal is reached.
    if (err instanceof NoSuchEntityException) return;
    throw err;
  }
}

/** Removes the force tag once the token it was set for has its key (the flag is spent). */
async function consumeForce(ctx: StepContext): Promise<void> {
  if (ctx.state.tags.get(ROTATION_TAGS.force) !== ctx.token) return;
  await ctx.deps.secrets.send(
    new UntagResourceCommand({ SecretId: ctx.secretId, TagKeys: [ROTATION_TAGS.force] }),
  );
}

/**
 * The user's keys with their roles, once IAM's list can be trusted to show this token's earlier attempt. When
 * the token's intent marker is there but it stored nothing, that attempt may have created a key (an orphan to
 * delete) that `ListAccessKeys` does not show yet: IAM is eventually consistent
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
 * Absence is never concluded from a list read earlier than {@link RotationTiming.iamListLagMs} after the marker:
 * the step waits until then and reads again. Concluding it too early would leave that key unmanaged for ever
 * and make the retry create another one.
 */
async function settledUserKeys(ctx: StepContext, current: StoredValue): Promise<ClassifiedKey[]> {
  const { deps, log, state, token } = ctx;
  const keys = await classifyUserKeys(ctx, current, undefined);
  const intent = parseIntent(state.tags.get(ROTATION_TAGS.intent));
  if (intent?.token !== token || keys.some((k) => k.role === 'orphan')) return keys;
  const waitMs = intent.at.getTime() + deps.timing.iamListLagMs - deps.now().getTime();
  if (waitMs <= 0) return keys;
  if (waitMs > budget(ctx, waitMs))
    throw new RotationError(
      'createSecret',
      ctx.secretId,
      `An earlier attempt of this token may have created a key IAM's list does not show yet; this invocation has ` +
        'too little time left to wait for it. Secrets Manager retries the rotation.',
    );
  log.info("an earlier attempt of this token may have created a key IAM's list does not show yet: waiting", {
    waitMs,
  });
  await deps.sleep(waitMs);
  return classifyUserKeys(ctx, current, undefined);
}

/**
 * Writes the intent marker, creates the key and stores it as AWSPENDING. A CreateAccessKey that IAM refused
 * outright (a 4xx it documents for the call: denied, limit, throttled, no such user) created nothing: its marker
 * is taken back at once, so that a key someone makes soon after is never taken for this attempt's orphan. Any
 * other failure (a timeout, a 5xx, an answer lost) may have created a key: the marker stays for the retry.
 */
async function createAndStoreKey(ctx: StepContext): Promise<void> {
  const { deps, log, registry, secretId, token } = ctx;
  // The intent marker goes first: if this invocation dies after CreateAccessKey and before PutSecretValue,
  // the retry recognises the key as this attempt's orphan (`keys.ts`).
  const intentAt = deps.now();
  await deps.secrets.send(
    new TagResourceCommand({
      SecretId: secretId,
      Tags: [{ Key: ROTATION_TAGS.intent, Value: formatIntent(token, intentAt) }],
    }),
  );
  let created: CreateAccessKeyCommandOutput;
  try {
    created = await deps.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
  } catch (err) {
    if (createdNothing(err)) await takeBackIntent(ctx);
    throw err;
  }
  const accessKeyId = created.AccessKey?.AccessKeyId;
  const secretAccessKey = created.AccessKey?.SecretAccessKey;
  if (!accessKeyId || !secretAccessKey) {
    throw new RotationError('createSecret', secretId, 'IAM CreateAccessKey answered without a key pair');
  }
  const value: PullKeySecret = {
    accessKeyId,
    secretAccessKey,
    userName: registry.userName,
    registryHostname: registry.hostname,
    credentialName: registry.credentialName,
    // Taken after CreateAccessKey: testSecret requires NVCF's lastUpdatedAt at or after it, which only a
    // PATCH made after the key existed can satisfy (see testSecret).
    createdAt: deps.now().toISOString(),
  };
  await deps.secrets.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      SecretString: serializePullKey(value),
      // Without VersionStages, PutSecretValue would move AWSCURRENT
      // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
      VersionStages: [AWSPENDING],
      RotationToken: ctx.event.RotationToken,
    }),
  );
  log.info('created the new key and stored it as AWSPENDING', {
    accessKeyId: maskAccessKeyId(accessKeyId),
    userName: registry.userName,
  });
}

/** IAM's documented refusals of CreateAccessKey: answered before anything was created. */
const CREATE_REFUSALS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'LimitExceeded',
  'LimitExceededException',
  'NoSuchEntity',
  'NoSuchEntityException',
  'Throttling',
  'ThrottlingException',
]);

function createdNothing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return CREATE_REFUSALS.has(e.name ?? '') && status !== undefined && status >= 400 && status < 500;
}

async function takeBackIntent(ctx: StepContext): Promise<void> {
  try {
    await ctx.deps.secrets.send(
      new UntagResourceCommand({ SecretId: ctx.secretId, TagKeys: [ROTATION_TAGS.intent] }),
    );
    ctx.log.info('removed the intent marker of an attempt IAM refused a key');
  } catch (err) {
    ctx.log.warn('could not remove the intent marker', { error: describeError(err) });
  }
}
