import { BatchGetImageCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import {
  DescribeImagesCommand,
  GetAuthorizationTokenCommand as GetPublicTokenCommand,
} from '@aws-sdk/client-ecr-public';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import {
  PutSecretValueCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { RegistryConfig } from '../config/index.ts';
import { encodeRegistrySecret } from '../credential/codec.ts';
import { RotationError, RotationRefusedError, type RotationStepName } from '../errors.ts';
import { DETAIL_TYPES } from '../events/names.ts';
import { ACCEPTED_MANIFEST_MEDIA_TYPES } from '../image/media-types.ts';
import type { Logger } from '../log.ts';
import { classifyNvcfFailure, type NvcfRegistryCredentialView, nvcfRetryAfterMs } from '../ports/nvcf.ts';
import { maskAccessKeyId } from '../redact.ts';
import { awsErrorKind, describeError, userNameOfArn } from './aws-errors.ts';
import { eventTarget, type KeyClients, type ResolvedDeps, ROTATION_METRICS } from './deps.ts';
import { publishRotationEvent } from './details.ts';
import type { RotationInvocation } from './invocation.ts';
import {
  type ClassifiedKey,
  classifyKeys,
  findSupersededKeys,
  graceEndsAt,
  type NvcfHolding,
  planRoom,
  pullKeyOf,
} from './keys.ts';
import { assertValueMatchesRegistry, type PullKeySecret, serializePullKey } from './secret-value.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  describeSecret,
  formatIntent,
  formatNvcfKey,
  keyLastUsed,
  listAccessKeys,
  type NvcfKeyRecord,
  parseIntent,
  parseNvcfKey,
  ROTATION_TAGS,
  readValue,
  requireRegistry,
  type SecretState,
  type StoredValue,
} from './state.ts';
import { done, notYet, waitUntil } from './wait.ts';

/**
 * The guard and the four steps of the rotation protocol (packages/core/src/rotation/README.md, "The
 * protocol"; https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html). Every
 * step is idempotent on the ClientRequestToken: Secrets Manager retries the whole rotation after any failure
 * (awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md), so each step may run again after a crash
 * at any call and must converge.
 */

/**
 * IAM's access-key quota per user
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 */
export const ACCESS_KEYS_PER_USER = 2;

/**
 * Tags NVCF shows on credentials this project created (NVCF's tag alphabet,
 * `AddRegistryCredentialRequest.java`).
 */
export const NVCF_CREDENTIAL_TAGS = ['managed-by=nvcf-ecr-autopilot'];

export interface StepContext {
  readonly event: RotationInvocation;
  readonly step: RotationStepName;
  readonly deps: ResolvedDeps;
  readonly log: Logger;
  readonly state: SecretState;
  readonly registry: RegistryConfig;
  /** The secret's ARN (Secrets Manager passes the ARN; DescribeSecret confirms it). */
  readonly secretId: string;
  readonly token: string;
  /**
   * The rotation's record of the key NVCF was last given ({@link ROTATION_TAGS.nvcfKey}), as read at the start
   * of the step and kept up to date as the step writes it.
   */
  readonly nvcfKey: { value: NvcfKeyRecord | undefined };
}

/**
 * The guard every step starts with (the AWS template's,
 * aws-samples/aws-secrets-manager-rotation-lambdas:SecretsManagerRotationTemplate/lambda_function.py):
 * rotation enabled; the token names a version; a version already AWSCURRENT means this step (and the
 * rotation) is done — return; a version without AWSPENDING is an error. Returns undefined when there is
 * nothing to do.
 */
export async function guard(
  event: RotationInvocation,
  deps: ResolvedDeps,
  log: Logger,
): Promise<StepContext | undefined> {
  const step = event.Step;
  const token = event.ClientRequestToken;
  const state = await describeSecret(deps.secrets, event.SecretId);
  if (!state.rotationEnabled) {
    throw new RotationError(
      step,
      state.arn,
      `Rotation is not enabled for secret ${state.name}: the stacks turn it on (CfnRotationSchedule); for a manual ` +
        `run use 'nvcf-ecr rotate <registry>'.`,
    );
  }
  const stages = state.versions[token];
  if (!stages) {
    throw new RotationError(
      step,
      state.arn,
      `Secret ${state.name} has no version ${token}: Secrets Manager creates it, labelled AWSPENDING, before ` +
        'invoking the rotation. Start rotations with RotateSecret (or nvcf-ecr rotate), not by invoking the function.',
    );
  }
  if (stages.includes(AWSCURRENT)) {
    log.info('version is already AWSCURRENT: nothing to do');
    return undefined;
  }
  if (!stages.includes(AWSPENDING)) {
    throw new RotationError(
      step,
      state.arn,
      `Version ${token} of secret ${state.name} is neither AWSCURRENT nor AWSPENDING (labels: ${
        stages.join(', ') || 'none'
      }): it is not the version being rotated. See packages/core/src/rotation/README.md, "Recovering".`,
    );
  }
  const registry = requireRegistry(deps.config, state, step);
  const nvcfKey = { value: parseNvcfKey(state.tags.get(ROTATION_TAGS.nvcfKey)) };
  return { event, step, deps, log, state, registry, secretId: state.arn, token, nvcfKey };
}

// ---- createSecret ---------------------------------------------------------------------------------------

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
      `Secret ${state.name} has no AWSCURRENT value: the stacks create it with the bootstrap value ` +
        `{"userName","registryHostname","credentialName"}; put that value back (packages/core/src/rotation/README.md, "The rotated secret") and rotate again.`,
    );
  }
  assertValueMatchesRegistry(current.value, registry, {
    step: 'createSecret',
    secretId,
    version: AWSCURRENT,
  });
  const force = state.tags.get(ROTATION_TAGS.force) === token;
  if (force) log.warn('forced rotation: grace period and in-use checks are skipped for this token');

  const keys = await classifyUserKeys(ctx, current, undefined);
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

  // The intent marker goes first: if this invocation dies after CreateAccessKey and before PutSecretValue,
  // the retry recognises the key as this attempt's orphan (`keys.ts`).
  const intentAt = deps.now();
  await deps.secrets.send(
    new TagResourceCommand({
      SecretId: secretId,
      Tags: [{ Key: ROTATION_TAGS.intent, Value: formatIntent(token, intentAt) }],
    }),
  );
  const created = await deps.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
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
  await consumeForce(ctx);
}

/**
 * The user's keys with their roles. Reads the AWSPREVIOUS value, and older versions only when a key is
 * still unexplained, and whether the intent marker's token stored a value.
 */
export async function classifyUserKeys(
  ctx: {
    readonly deps: Pick<ResolvedDeps, 'iam' | 'secrets'>;
    readonly registry: RegistryConfig;
    readonly secretId: string;
    readonly state: SecretState;
    readonly step: RotationStepName;
  },
  current: StoredValue | undefined,
  pending: StoredValue | undefined,
): Promise<ClassifiedKey[]> {
  const { deps, registry, secretId, state, step } = ctx;
  const keys = await listAccessKeys(deps.iam, registry.userName);
  const known = new Set([pullKeyOf(current)?.accessKeyId, pullKeyOf(pending)?.accessKeyId]);
  const previous =
    state.previousVersionId && keys.some((k) => !known.has(k.accessKeyId))
      ? await readValue(deps.secrets, secretId, { versionId: state.previousVersionId }, step)
      : undefined;
  known.add(pullKeyOf(previous)?.accessKeyId);
  const unknown = keys.filter((k) => !known.has(k.accessKeyId)).map((k) => k.accessKeyId);
  const intent = parseIntent(state.tags.get(ROTATION_TAGS.intent));
  const read = new Set(
    [current?.versionId, pending?.versionId, previous?.versionId].filter((v): v is string => v !== undefined),
  );
  const superseded = await findSupersededKeys(deps.secrets, secretId, unknown, read, step);
  let intentValue: StoredValue | undefined;
  if (intent && unknown.some((id) => !superseded.has(id))) {
    // What did the marker's token store? Values already read answer it; otherwise one read (the empty
    // pending version of a token still in createSecret reads as nothing).
    intentValue =
      [current, pending, previous].find((v) => v?.versionId === intent.token) ??
      (await readValue(deps.secrets, secretId, { versionId: intent.token }, step));
  }
  return classifyKeys(keys, { current, pending, previous, superseded, intent, intentValue });
}

/** What createSecret knows of NVCF's credential, and whether this step already pointed it at the current key. */
interface NvcfState {
  readonly holding: NvcfHolding;
  readonly reconciled: boolean;
}

/** NVCF's holding as the rotation's record says, before this step touched NVCF. */
function knownNvcfHolding(ctx: StepContext): NvcfState {
  const record = ctx.nvcfKey.value;
  const since = record?.versionId === ctx.state.currentVersionId ? record?.since : undefined;
  return { holding: since ? { kind: 'current', since } : { kind: 'unknown' }, reconciled: false };
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
  if (!force) {
    for (const k of keys) {
      if (k.status === 'Active' && (k.role === 'previous' || k.role === 'superseded'))
        lastUsed.set(k.accessKeyId, (await keyLastUsed(deps.iam, k.accessKeyId)).at);
    }
  }
  const plan = planRoom({
    keys,
    force,
    now: deps.now(),
    graceEndsAt: graceEndsAt(state.lastRotatedDate, current, registry.rotation.graceHours),
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

/** Points NVCF's credential at the AWSCURRENT key (the same key again when it already holds it). */
async function reconcileNvcf(ctx: StepContext, currentKey: PullKeySecret, why: string): Promise<NvcfState> {
  const versionId = ctx.state.currentVersionId ?? '';
  const { credential, since } = await putKeyInNvcf(ctx, currentKey, 'reconcile', versionId);
  if (!credential || !since) return { holding: { kind: 'absent' }, reconciled: true };
  ctx.log.info('NVCF credential pointed at the AWSCURRENT key', {
    why,
    nvcfCredentialId: credential.registryCredentialId,
    accessKeyId: maskAccessKeyId(currentKey.accessKeyId),
    holdsItSince: since.toISOString(),
  });
  return { holding: { kind: 'current', since }, reconciled: true };
}

/**
 * Records on the secret which version's key NVCF was given (`ROTATION_TAGS.nvcfKey`). Before a PATCH/POST with
 * another version's key the write must succeed (the record must never name a key NVCF is not about to get);
 * the confirmation after NVCF answered is best effort — a lost one only makes the next deletion wait for
 * NVCF's caches again.
 */
async function recordNvcfKey(
  ctx: StepContext,
  record: NvcfKeyRecord,
  options: { bestEffort: boolean },
): Promise<void> {
  ctx.nvcfKey.value = record;
  try {
    await ctx.deps.secrets.send(
      new TagResourceCommand({
        SecretId: ctx.secretId,
        Tags: [{ Key: ROTATION_TAGS.nvcfKey, Value: formatNvcfKey(record) }],
      }),
    );
  } catch (err) {
    if (!options.bestEffort) throw err;
    ctx.log.warn('could not record which key NVCF holds', { error: describeError(err) });
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

// ---- setSecret ------------------------------------------------------------------------------------------

/**
 * Waits until the new key works (STS says it is the pull user; ECR hands it a token), then stores it in
 * NVCF: PATCH in place (keeping the credential's name), or — on a registry's first rotation — POST when NVCF
 * has no credential for (hostname, name), adopting an existing one otherwise.
 */
export async function setSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry } = ctx;
  const pending = await readPending(ctx, { required: true });
  const clients = deps.clientsForKey(pending, registry.region);
  try {
    const started = deps.monotonic();
    await proveKey(ctx, pending, clients, deps.timing.keyPropagationBudgetMs);
    const waited = Math.round(deps.monotonic() - started);
    deps.metric({
      name: ROTATION_METRICS.keyPropagationMs,
      value: waited,
      unit: 'Milliseconds',
      dimensions: { Registry: registry.name },
    });
    log.info('the new key works', { accessKeyId: maskAccessKeyId(pending.accessKeyId), waitedMs: waited });
  } finally {
    clients.destroy();
  }
  const { credential, action } = await putKeyInNvcf(ctx, pending, 'set', ctx.token);
  log.info(`NVCF credential ${action}`, {
    nvcfCredentialId: credential?.registryCredentialId,
    lastUpdatedAt: credential?.lastUpdatedAt,
    accessKeyId: maskAccessKeyId(pending.accessKeyId),
  });
}

/**
 * Stores `key` — the key of version `versionId` — in NVCF's credential for the registry, retrying what
 * waiting can fix: NVCF's 400 relaying `UnrecognizedClientException` (it checks the key against ECR,
 * `RegistryCredentialValidationService` in NVIDIA/nvcf, and IAM may not have propagated it to NVCF's region
 * yet), 429/5xx and lost answers (the client retries those too, within its own budget; a `Retry-After` longer
 * than the client's own pauses is honoured here), 409 and 404 (someone created or deleted the credential
 * meanwhile). Every attempt looks the credential up again, so a POST whose answer was lost is found and
 * PATCHed instead of created twice. The rotation's record of the key NVCF holds is written before the first
 * PATCH/POST with another version's key and confirmed after; it returns since when NVCF holds this key
 * (undefined when reconciling a credential that does not exist).
 */
async function putKeyInNvcf(
  ctx: StepContext,
  key: PullKeySecret,
  purpose: 'set' | 'reconcile',
  versionId: string,
): Promise<{
  credential: NvcfRegistryCredentialView | undefined;
  action: 'created' | 'updated' | 'absent';
  since: Date | undefined;
}> {
  const { deps, registry, secretId, step } = ctx;
  const value = encodeRegistrySecret(key);
  const which = purpose === 'set' ? 'new' : 'current';
  const failed = (err: unknown) => {
    const kind = classifyNvcfFailure(err);
    if (kind === 'fatal') {
      throw new RotationError(
        step,
        secretId,
        `NVCF refused the ${which} key for credential '${registry.credentialName}' (${registry.hostname}): ` +
          `${describeError(err)}. The key was not stored in NVCF; fix the cause (401: the NGC API key secret; 403 ` +
          'without an AWS code: the key lacks the registry-credentials scope).',
        { cause: err },
      );
    }
    return nvcfNotYet(`NVCF answered ${kind}: ${describeError(err)}`, err);
  };
  let announced = ctx.nvcfKey.value?.versionId === versionId;
  type Put = { credential: NvcfRegistryCredentialView | undefined; action: 'created' | 'updated' | 'absent' };
  const put = await waitUntil<Put>(
    async () => {
      let existing: NvcfRegistryCredentialView | undefined;
      try {
        existing = await deps.nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
      } catch (err) {
        return failed(err);
      }
      // Reconciling a credential that does not exist: NVCF holds no key of ours, nothing to point anywhere.
      if (!existing && purpose === 'reconcile') return done({ credential: undefined, action: 'absent' });
      if (!announced) {
        await recordNvcfKey(ctx, { versionId, since: undefined }, { bestEffort: false });
        announced = true;
      }
      try {
        if (!existing) {
          const credential = await deps.nvcf.createRegistryCredential({
            registryHostname: registry.hostname,
            secret: { name: registry.credentialName, value },
            artifactTypes: ['CONTAINER'],
            tags: NVCF_CREDENTIAL_TAGS,
            description: `ECR pull key of registry ${registry.name}, rotated by nvcf-ecr-autopilot`,
          });
          return done({ credential, action: 'created' });
        }
        const credential = await deps.nvcf.patchRegistryCredential(existing.registryCredentialId, {
          // The existing name: a PATCH's secret.name renames the credential (`updateRegistryCredential`,
          // NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialService.java).
          secret: { name: existing.registryCredentialName, value },
          // A credential adopted without CONTAINER would not be handed to container pulls.
          ...(existing.artifactTypes.includes('CONTAINER')
            ? {}
            : { artifactTypeEnums: ['CONTAINER' as const] }),
        });
        return done({ credential, action: 'updated' });
      } catch (err) {
        return failed(err);
      }
    },
    {
      budgetMs: deps.timing.nvcfBudgetMs,
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onRetry: (reason, attempt, delayMs) =>
        ctx.log.debug('NVCF not updated yet', { reason, attempt, delayMs }),
      onTimeout: (reason, attempts, elapsed) =>
        new RotationError(
          step,
          secretId,
          `NVCF did not accept the ${which} key within ${Math.round(elapsed / 1000)} s (${attempts} attempts; ` +
            `last: ${reason}). NVCF keeps the key it had; Secrets Manager retries the rotation.`,
        ),
    },
  );
  if (!put.credential) return { ...put, since: undefined };
  // NVCF held this version's key already (the record said so, and a repeat PATCH sends the same key): it has
  // held it since then. Otherwise since now — read after NVCF answered, so never earlier than the change.
  const held = ctx.nvcfKey.value;
  let since = held?.versionId === versionId ? held.since : undefined;
  if (!since) {
    since = deps.now();
    await recordNvcfKey(ctx, { versionId, since }, { bestEffort: true });
  }
  return { ...put, since };
}

/** "Not yet" for an NVCF failure worth waiting out, with the pause NVCF asked for (`Retry-After`), if any. */
function nvcfNotYet(reason: string, err: unknown) {
  const retryAfterMs = nvcfRetryAfterMs(err);
  return retryAfterMs === undefined
    ? notYet(reason)
    : notYet(`${reason}; NVCF asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After)`, {
        retryAfterMs,
      });
}

/**
 * Polls until `key` authenticates as the pull user (STS `GetCallerIdentity`) and gets a registry token
 * (ECR `GetAuthorizationToken` in the registry's region, or ECR Public's in us-east-1,
 * https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).
 */
async function proveKey(
  ctx: StepContext,
  key: PullKeySecret,
  clients: KeyClients,
  budgetMs: number,
): Promise<void> {
  const { deps, registry, secretId, step } = ctx;
  await waitUntil(
    async () => {
      let arn: string | undefined;
      try {
        arn = (await clients.sts.send(new GetCallerIdentityCommand({}))).Arn;
      } catch (err) {
        return retryOrThrow(ctx, err, 'STS GetCallerIdentity');
      }
      if (userNameOfArn(arn) !== registry.userName) {
        throw new RotationError(
          step,
          secretId,
          `Key ${maskAccessKeyId(key.accessKeyId)} authenticates as ${arn ?? 'nobody'}, not as the pull user ` +
            `${registry.userName}: the secret holds another user's key. See packages/core/src/rotation/README.md, "Recovering".`,
        );
      }
      try {
        if (registry.kind === 'public') await clients.ecrPublic.send(new GetPublicTokenCommand({}));
        else await clients.ecr.send(new GetAuthorizationTokenCommand({}));
      } catch (err) {
        return retryOrThrow(
          ctx,
          err,
          registry.kind === 'public' ? 'ECR Public GetAuthorizationToken' : 'ECR GetAuthorizationToken',
        );
      }
      return done(undefined);
    },
    {
      budgetMs,
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onRetry: (reason, attempt, delayMs) =>
        ctx.log.debug('key not usable yet', { reason, attempt, delayMs }),
      onTimeout: (reason, attempts, elapsed) =>
        new RotationError(
          step,
          secretId,
          `Key ${maskAccessKeyId(key.accessKeyId)} did not work within ${Math.round(elapsed / 1000)} s (${attempts} ` +
            `attempts; last: ${reason}). IAM usually propagates a new key within seconds; Secrets Manager retries the rotation.`,
        ),
    },
  );
}

/** A failed call with the new key: wait when waiting can help, otherwise stop with what to fix. */
function retryOrThrow(ctx: StepContext, err: unknown, call: string) {
  const kind = awsErrorKind(err);
  if (kind === 'not-propagated')
    return notYet(`${call}: the key is not recognised yet (${describeError(err)})`);
  if (kind === 'transient') return notYet(`${call}: ${describeError(err)}`);
  const hint =
    kind === 'denied'
      ? ` The pull user ${ctx.registry.userName} must have NVCF's minimal pull policy (nvcf-ecr-pull); compare it with 'nvcf-ecr audit'.`
      : '';
  throw new RotationError(
    ctx.step,
    ctx.secretId,
    `${call} with the new key failed: ${describeError(err)}.${hint}`,
    {
      cause: err,
    },
  );
}

// ---- testSecret -----------------------------------------------------------------------------------------

/**
 * Proves the pending key with itself — STS identity, registry token, and a pull of the canary image when the
 * registry names one — and proves NVCF took it: its credential's `lastUpdatedAt` is at or after the key's
 * `createdAt`. A version's value cannot be changed once written, so the key's creation time is the reference:
 * only a PATCH made after the key existed (this rotation's setSecret) can be that late. The two clocks differ
 * (NVCF's and the rotation's); a skew larger than the seconds between createSecret and setSecret makes this
 * check wait and, at worst, fail — and the retried rotation PATCHes again later, which then passes.
 */
export async function testSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry } = ctx;
  const pending = await readPending(ctx, { required: true });
  const clients = deps.clientsForKey(pending, registry.region);
  try {
    await proveKey(ctx, pending, clients, deps.timing.testBudgetMs);
    if (registry.rotation.canaryImage) await proveCanary(ctx, registry.rotation.canaryImage, clients);
  } finally {
    clients.destroy();
  }
  const credential = await proveNvcfUpdated(ctx, pending);
  log.info('the new key is proven', {
    accessKeyId: maskAccessKeyId(pending.accessKeyId),
    canaryImage: registry.rotation.canaryImage,
    nvcfCredentialId: credential.registryCredentialId,
    lastUpdatedAt: credential.lastUpdatedAt,
  });
}

/** Pulls the canary's manifest (private: `BatchGetImage`) or looks it up (public: `DescribeImages`). */
async function proveCanary(ctx: StepContext, canary: string, clients: KeyClients): Promise<void> {
  const { deps, registry, secretId, step } = ctx;
  const [repositoryName = '', imageTag = ''] = canary.split(':');
  await waitUntil(
    async () => {
      try {
        if (registry.kind === 'public') {
          await clients.ecrPublic.send(
            new DescribeImagesCommand({
              registryId: registry.accountId,
              repositoryName,
              imageIds: [{ imageTag }],
            }),
          );
          return done(undefined);
        }
        const out = await clients.ecr.send(
          new BatchGetImageCommand({
            repositoryName,
            imageIds: [{ imageTag }],
            acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
          }),
        );
        if ((out.images ?? []).length > 0) return done(undefined);
        const failure = out.failures?.[0];
        throw new RotationError(
          step,
          secretId,
          `The canary image ${registry.hostname}/${canary} could not be pulled with the new key: ` +
            `${failure?.failureCode ?? 'no image'}${failure?.failureReason ? ` (${failure.failureReason})` : ''}. ` +
            'Push it, or change rotation.canaryImage to an image that exists.',
        );
      } catch (err) {
        if (err instanceof RotationError) throw err;
        if (/ImageNotFound|RepositoryNotFound/.test((err as Error).name ?? '')) {
          throw new RotationError(
            step,
            secretId,
            `The canary image ${registry.hostname}/${canary} does not exist: ${describeError(err)}. Push it, or ` +
              'change rotation.canaryImage to an image that exists.',
            { cause: err },
          );
        }
        return retryOrThrow(ctx, err, `pulling the canary image ${canary}`);
      }
    },
    {
      budgetMs: deps.timing.testBudgetMs,
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onTimeout: (reason, attempts) =>
        new RotationError(
          step,
          secretId,
          `The canary image ${canary} could not be pulled after ${attempts} attempts: ${reason}`,
        ),
    },
  );
}

async function proveNvcfUpdated(
  ctx: StepContext,
  pending: PullKeySecret,
): Promise<NvcfRegistryCredentialView> {
  const { deps, registry, secretId, step } = ctx;
  const createdAt = Date.parse(pending.createdAt);
  return waitUntil(
    async () => {
      let credential: NvcfRegistryCredentialView | undefined;
      try {
        credential = await deps.nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
      } catch (err) {
        if (classifyNvcfFailure(err) === 'fatal')
          throw new RotationError(step, secretId, `NVCF could not be read: ${describeError(err)}`, {
            cause: err,
          });
        return nvcfNotYet(`NVCF: ${describeError(err)}`, err);
      }
      if (!credential)
        return notYet(`NVCF lists no credential '${registry.credentialName}' for ${registry.hostname}`);
      const updatedAt = Date.parse(credential.lastUpdatedAt);
      // An unreadable time proves nothing: "not yet", never a pass (a NaN comparison is false either way).
      if (Number.isNaN(updatedAt))
        return notYet(
          `NVCF credential ${credential.registryCredentialId} reports lastUpdatedAt '${credential.lastUpdatedAt}', ` +
            'which is not a time: it cannot show that NVCF took the new key',
        );
      if (updatedAt < createdAt)
        return notYet(
          `NVCF credential ${credential.registryCredentialId} was last updated at ${credential.lastUpdatedAt}, ` +
            `before the new key was created (${pending.createdAt})`,
        );
      return done(credential);
    },
    {
      budgetMs: deps.timing.testBudgetMs,
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onTimeout: (reason) =>
        new RotationError(
          step,
          secretId,
          `NVCF does not show this rotation's update: ${reason}. setSecret's update did not land; Secrets Manager ` +
            'retries the rotation, whose setSecret updates NVCF again.',
        ),
    },
  );
}

// ---- finishSecret ---------------------------------------------------------------------------------------

/**
 * Moves AWSCURRENT to the new version (Secrets Manager puts AWSPREVIOUS on the old one) and announces the
 * rotation. The old key stays Active: its grace period starts now (packages/core/src/rotation/README.md,
 * "Grace period and retirement").
 */
export async function finishSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry, secretId, state, token } = ctx;
  const pending = await readPending(ctx, { required: true });
  const current = await readValue(deps.secrets, secretId, { stage: AWSCURRENT }, 'finishSecret');
  try {
    await deps.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: token,
        RemoveFromVersionId: state.currentVersionId,
      }),
    );
  } catch (err) {
    // The answer may be lost after the label moved (a timeout, a dropped connection): look before failing.
    const after = await describeSecret(deps.secrets, secretId);
    if (after.currentVersionId !== token) throw err;
    log.warn('AWSCURRENT moved although UpdateSecretVersionStage failed', { error: describeError(err) });
  }
  const rotatedAt = deps.now();
  const previousKey = pullKeyOf(current);
  log.info('rotation finished: AWSCURRENT moved to the new key', {
    accessKeyId: maskAccessKeyId(pending.accessKeyId),
    previousAccessKeyId: previousKey ? maskAccessKeyId(previousKey.accessKeyId) : null,
  });
  deps.metric({ name: ROTATION_METRICS.rotated, value: 1, dimensions: { Registry: registry.name } });
  // Best effort, after the fact: a lookup failure only leaves the id out of the event.
  const credential = await deps.nvcf
    .findRegistryCredential(registry.hostname, registry.credentialName)
    .catch(() => undefined);
  await publishRotationEvent(
    eventTarget(deps),
    DETAIL_TYPES.credentialRotated,
    {
      schemaVersion: 1,
      registry: registry.name,
      secretId,
      token,
      userName: registry.userName,
      registryHostname: registry.hostname,
      credentialName: registry.credentialName,
      nvcfCredentialId: credential?.registryCredentialId ?? null,
      accessKeyId: maskAccessKeyId(pending.accessKeyId),
      previousAccessKeyId: previousKey ? maskAccessKeyId(previousKey.accessKeyId) : null,
      bootstrap: previousKey === undefined,
      keyCreatedAt: new Date(pending.createdAt).toISOString(),
      graceEndsAt: previousKey
        ? new Date(rotatedAt.getTime() + registry.rotation.graceHours * 3_600_000).toISOString()
        : null,
      rotatedAt: rotatedAt.toISOString(),
    },
    log,
    [secretId],
  );
}

// ---- shared ---------------------------------------------------------------------------------------------

/** The AWSPENDING value of this token, checked to be a pull key of this registry. */
async function readPending(ctx: StepContext, options: { required: true }): Promise<PullKeySecret>;
async function readPending(
  ctx: StepContext,
  options: { required: false },
): Promise<PullKeySecret | undefined>;
async function readPending(
  ctx: StepContext,
  options: { required: boolean },
): Promise<PullKeySecret | undefined> {
  const { deps, registry, secretId, step, token } = ctx;
  const stored = await readValue(deps.secrets, secretId, { versionId: token, stage: AWSPENDING }, step);
  if (!stored) {
    if (!options.required) return undefined;
    throw new RotationError(
      step,
      secretId,
      `Version ${token} has no value: createSecret did not complete. Secrets Manager retries the rotation from createSecret.`,
    );
  }
  const source = { step, secretId, version: `version ${token}` };
  assertValueMatchesRegistry(stored.value, registry, source);
  if (stored.value.kind !== 'key') {
    throw new RotationError(
      step,
      secretId,
      `The pending version ${token} holds no key: it was not written by createSecret.`,
    );
  }
  return stored.value;
}
