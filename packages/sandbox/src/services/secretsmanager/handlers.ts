import * as ids from '../../ids.ts';
import type { JsonOperation, OperationContext } from '../../server/aws.ts';
import { Members } from '../../server/members.ts';
import type { World } from '../../world.ts';
import {
  AWSCURRENT,
  type ListFilter,
  type SecretRecord,
  type SecretsManagerBackend,
  type SecretValue,
  type Tag,
  type VersionRecord,
} from './backend.ts';
import { smErrors, smMembers } from './errors.ts';
import type { RotationEngine } from './rotation.ts';
import { parseRotationRules, type RotationRules } from './schedule.ts';

/**
 * Secrets Manager operations (AWS JSON 1.1, `@aws-sdk/client-secrets-manager`'s model): read the members, authorise
 * `secretsmanager:<Operation>` on the secret's ARN (`ListSecrets` on `*`), call the backend, shape the answer
 * as the SDK's output shapes. Timestamps are `Date`s (epoch seconds on the wire).
 */

const NAME = /^[A-Za-z0-9/_+=.@-]+$/;
const MAX_VALUE = 65_536;
const TOKEN = { min: 32, max: 64 } as const;
const FILTER_KEYS = [
  'description',
  'name',
  'tag-key',
  'tag-value',
  'primary-region',
  'owning-service',
  'all',
];
const SORT_BY = ['created-date', 'last-accessed-date', 'last-changed-date', 'name'];

const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));

/** A secret name (CreateSecret) or a SecretId that is not an ARN must use the name alphabet (LS snapshot `test_invalid_secret_name`). */
function secretId(m: Members, member = 'SecretId'): string {
  const id = m.str(member, { required: true, min: 1, max: member === 'Name' ? 512 : 2048 });
  if (!id.startsWith('arn:') && !NAME.test(id)) throw smErrors.invalidName();
  return id;
}

/** SecretString / SecretBinary: at most one, each at most 64 KiB; binary travels as base64. */
function secretValue(m: Members): SecretValue | undefined {
  const secretString = m.str('SecretString', { max: MAX_VALUE, sensitive: true });
  const secretBinary = m.str('SecretBinary', { sensitive: true });
  if (secretString !== undefined && secretBinary !== undefined) throw smErrors.bothValues();
  if (secretBinary !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(secretBinary))
      throw smErrors.serialization('SecretBinary', 'base64-encoded binary data');
    if (Buffer.from(secretBinary, 'base64').length > MAX_VALUE) {
      throw smErrors.validation(
        'SecretBinary',
        undefined,
        `Member must have length less than or equal to ${MAX_VALUE}`,
        true,
      );
    }
  }
  return secretString === undefined && secretBinary === undefined
    ? undefined
    : { secretString, secretBinary };
}

function tags(m: Members, member: string): Tag[] | undefined {
  const list = m.objects(member);
  if (!list) return undefined;
  return list.map((raw) => {
    const t = new Members(raw, smMembers);
    return {
      Key: t.str('Key', { required: true, min: 1, max: 128 }),
      Value: t.str('Value', { max: 256 }) ?? '',
    };
  });
}

function rotationRules(m: Members): RotationRules | undefined {
  const r = m.object('RotationRules');
  if (!r) return undefined;
  const rules: RotationRules = {
    AutomaticallyAfterDays: r.int('AutomaticallyAfterDays'),
    ScheduleExpression: r.str('ScheduleExpression', { min: 1, max: 256 }),
    Duration: r.str('Duration', { min: 2, max: 3 }),
  };
  return Object.fromEntries(Object.entries(rules).filter(([, v]) => v !== undefined)) as RotationRules;
}

/** NextToken: an opaque offset into the listing (base64url JSON). */
function pageStart(m: Members): number {
  const token = m.str('NextToken', { min: 1, max: 4096 });
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // falls through to the error
  }
  throw smErrors.invalidNextToken();
}

function page<T>(items: T[], start: number, max: number): { items: T[]; NextToken?: string } {
  const slice = items.slice(start, start + max);
  const next = start + max;
  return next < items.length
    ? { items: slice, NextToken: Buffer.from(JSON.stringify({ o: next })).toString('base64url') }
    : { items: slice };
}

function versionIdsToStages(secret: SecretRecord): Record<string, string[]> | undefined {
  const labelled = secret.versions.filter((v) => v.stages.length > 0);
  return labelled.length > 0
    ? Object.fromEntries(labelled.map((v) => [v.versionId, [...v.stages]]))
    : undefined;
}

/** The secret's metadata as DescribeSecret (and, with SecretVersionsToStages, ListSecrets) shows it. */
function metadata(backend: SecretsManagerBackend, s: SecretRecord): Record<string, unknown> {
  // LastRotatedDate and NextRotationDate: "If the secret isn't configured for rotation or rotation has been
  // disabled, Secrets Manager returns null" (DescribeSecret doc); RotationRules and the function stay.
  const enabled = s.rotationEnabled === true;
  return {
    ARN: s.arn,
    Name: s.name,
    Description: s.description,
    // "If the secret is encrypted with the Amazon Web Services managed key aws/secretsmanager, this field is omitted."
    KmsKeyId: s.kmsKeyId,
    RotationEnabled: s.rotationEnabled,
    RotationLambdaARN: s.rotationLambdaArn,
    RotationRules: backend.reportedRules(s),
    LastRotatedDate: enabled ? date(s.lastRotatedDate) : undefined,
    LastChangedDate: date(s.lastChangedDate),
    LastAccessedDate: date(s.lastAccessedDate),
    DeletedDate: date(s.deletedDate),
    NextRotationDate: enabled ? date(s.nextRotationDate) : undefined,
    Tags: s.tags?.map((t) => ({ ...t })),
    CreatedDate: date(s.createdDate),
    // PrimaryRegion is omitted: AWS shows it for replicated secrets only (LS snapshot `test_force_delete_deleted_secret`).
  };
}

function versionEntry(s: SecretRecord, v: VersionRecord): Record<string, unknown> {
  return {
    VersionId: v.versionId,
    VersionStages: v.stages.length > 0 ? [...v.stages] : undefined,
    LastAccessedDate: date(v.lastAccessedDate),
    CreatedDate: date(v.createdDate),
    // What AWS lists for the AWS managed key (LS snapshot `test_deprecated_secret_version_stage`).
    KmsKeyIds: [s.kmsKeyId ?? 'DefaultEncryptionKey'],
  };
}

export function secretsManagerHandlers(
  world: World,
  backend: SecretsManagerBackend,
  engine: RotationEngine,
): Record<string, JsonOperation> {
  /** Authorises `secretsmanager:<op>` on the ARN the id names (existing or not: AWS answers AccessDenied before NotFound). */
  const authorize = (ctx: OperationContext, id: string) =>
    ctx.authorize(`secretsmanager:${ctx.operation}`, backend.resourceArn(ctx.region, id));

  return {
    async CreateSecret(ctx, input) {
      const m = new Members(input, smMembers);
      const name = secretId(m, 'Name');
      const value = secretValue(m);
      const token = m.str('ClientRequestToken', TOKEN);
      if (value && token === undefined) throw smErrors.missingToken('CreateSecret');
      const description = m.str('Description', { max: 2048 });
      const kmsKeyId = m.str('KmsKeyId', { max: 2048 });
      const tagList = tags(m, 'Tags');
      const existing = backend.find(ctx.region, name);
      const arn = existing?.arn ?? backend.newArn(ctx.region, name);
      await ctx.authorize('secretsmanager:CreateSecret', arn);
      // Tagging on create also needs secretsmanager:TagResource (CreateSecret doc, "Required permissions").
      if (tagList && tagList.length > 0) await ctx.authorize('secretsmanager:TagResource', arn);
      const { secret, version } = backend.create(ctx.region, {
        arn,
        name,
        token: token ?? ids.uuid(),
        value,
        description,
        kmsKeyId,
        tags: tagList,
      });
      return { ARN: secret.arn, Name: secret.name, VersionId: version?.versionId };
    },

    async DescribeSecret(ctx, input) {
      const id = secretId(new Members(input, smMembers));
      await authorize(ctx, id);
      const s = backend.get(ctx.region, id);
      return { ...metadata(backend, s), VersionIdsToStages: versionIdsToStages(s) };
    },

    async GetSecretValue(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const versionId = m.str('VersionId', TOKEN);
      const stage = m.str('VersionStage', { min: 1, max: 256 });
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      const v = backend.getValue(s, versionId, stage);
      return {
        ARN: s.arn,
        Name: s.name,
        VersionId: v.versionId,
        SecretString: v.secretString,
        SecretBinary: v.secretBinary,
        VersionStages: [...v.stages],
        CreatedDate: date(v.createdDate),
      };
    },

    async PutSecretValue(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const token = m.str('ClientRequestToken', TOKEN);
      if (token === undefined) throw smErrors.missingToken('PutSecretValue');
      const value = secretValue(m);
      if (!value) throw smErrors.missingValue();
      const stages = m.strList('VersionStages', { min: 1, max: 20, itemMax: 256 });
      // Accepted and not checked: it authenticates cross-account rotation, which the sandbox's one account never needs.
      m.str('RotationToken', { sensitive: true });
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      const v = backend.putValue(s, token, value, stages);
      return { ARN: s.arn, Name: s.name, VersionId: v.versionId, VersionStages: [...v.stages] };
    },

    async UpdateSecret(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const value = secretValue(m);
      const token = m.str('ClientRequestToken', TOKEN);
      if (value && token === undefined) throw smErrors.missingToken('UpdateSecret');
      const description = m.str('Description', { max: 2048 });
      const kmsKeyId = m.str('KmsKeyId', { max: 2048 });
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      const v = value ? backend.putValue(s, token ?? ids.uuid(), value, undefined) : undefined;
      if (description !== undefined) s.description = description;
      // "If you set this to an empty string, Secrets Manager uses the Amazon Web Services managed key" (UpdateSecret doc).
      if (kmsKeyId !== undefined) s.kmsKeyId = kmsKeyId === '' ? undefined : kmsKeyId;
      s.lastChangedDate = backend.now();
      return { ARN: s.arn, Name: s.name, VersionId: v?.versionId };
    },

    async UpdateSecretVersionStage(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const stage = m.str('VersionStage', { required: true, min: 1, max: 256 });
      const moveTo = m.str('MoveToVersionId', TOKEN);
      const removeFrom = m.str('RemoveFromVersionId', TOKEN);
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      backend.moveStage(s, stage, moveTo, removeFrom);
      return { ARN: s.arn, Name: s.name };
    },

    async ListSecretVersionIds(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const max = m.int('MaxResults', { min: 1, max: 100 }) ?? 100;
      const start = pageStart(m);
      // "Versions without staging labels are considered deprecated … By default, versions without staging
      // labels aren't included" (ListSecretVersionIds doc; LS snapshot `test_deprecated_secret_version_stage`).
      const includeDeprecated = m.bool('IncludeDeprecated') ?? false;
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      const versions = s.versions.filter((v) => includeDeprecated || v.stages.length > 0);
      const r = page(versions, start, max);
      return {
        ARN: s.arn,
        Name: s.name,
        Versions: r.items.map((v) => versionEntry(s, v)),
        NextToken: r.NextToken,
      };
    },

    async ListSecrets(ctx, input) {
      const m = new Members(input, smMembers);
      const max = m.int('MaxResults', { min: 1, max: 100 }) ?? 100;
      const start = pageStart(m);
      const includePlannedDeletion = m.bool('IncludePlannedDeletion') ?? false;
      const sortOrder = m.str('SortOrder') ?? 'asc';
      const sortBy = m.str('SortBy') ?? 'created-date';
      if (sortOrder !== 'asc' && sortOrder !== 'desc') {
        throw smErrors.validation('SortOrder', sortOrder, 'Member must satisfy enum value set: [asc, desc]');
      }
      if (!SORT_BY.includes(sortBy))
        throw smErrors.validation(
          'SortBy',
          sortBy,
          `Member must satisfy enum value set: [${SORT_BY.join(', ')}]`,
        );
      const filters: ListFilter[] = (m.objects('Filters') ?? []).map((raw) => {
        const f = new Members(raw, smMembers);
        const key = f.str('Key', { required: true });
        if (!FILTER_KEYS.includes(key))
          throw smErrors.validation(
            'Key',
            key,
            `Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`,
          );
        const values = f.strList('Values', { min: 1, max: 10, itemMax: 512 });
        if (!values)
          throw smErrors.invalidFilter(
            `Filter ${key} needs Values, e.g. {"Key": "${key}", "Values": ["prod/"]}.`,
          );
        return { Key: key, Values: values };
      });
      await ctx.authorize('secretsmanager:ListSecrets', '*');
      const key = (s: SecretRecord): string | number =>
        sortBy === 'name'
          ? s.name
          : sortBy === 'last-accessed-date'
            ? (s.lastAccessedDate ?? 0)
            : sortBy === 'last-changed-date'
              ? s.lastChangedDate
              : s.createdDate;
      // SortOrder's default is not documented; ascending keeps pages stable while secrets are added. Ties
      // keep creation order (the sort is stable).
      const sign = sortOrder === 'asc' ? 1 : -1;
      const sorted = backend
        .list(ctx.region, filters, includePlannedDeletion)
        .sort((a, b) => (key(a) < key(b) ? -sign : key(a) > key(b) ? sign : 0));
      const r = page(sorted, start, max);
      return {
        SecretList: r.items.map((s) => ({
          ...metadata(backend, s),
          SecretVersionsToStages: versionIdsToStages(s),
        })),
        NextToken: r.NextToken,
      };
    },

    async DeleteSecret(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const days = m.int('RecoveryWindowInDays');
      const force = m.bool('ForceDeleteWithoutRecovery') ?? false;
      if (days !== undefined && force) throw smErrors.recoveryWindowWithForce();
      if (days !== undefined && (days < 7 || days > 30)) throw smErrors.recoveryWindowRange();
      await authorize(ctx, id);
      const s = backend.find(ctx.region, id);
      if (!s) {
        // "If you forcibly delete an already deleted or nonexistent secret, the operation does not return
        // ResourceNotFoundException" (DeleteSecret doc).
        if (force)
          return {
            ARN: backend.resourceArn(ctx.region, id),
            Name: id.startsWith('arn:') ? undefined : id,
            DeletionDate: new Date(backend.now()),
          };
        throw smErrors.secretNotFound();
      }
      engine.cancel(s);
      if (force) {
        backend.remove(s);
        return { ARN: s.arn, Name: s.name, DeletionDate: new Date(backend.now()) };
      }
      if (s.deletedDate !== undefined) throw smErrors.markedForDeletion();
      return { ARN: s.arn, Name: s.name, DeletionDate: new Date(backend.scheduleDeletion(s, days ?? 30)) };
    },

    async RestoreSecret(ctx, input) {
      const id = secretId(new Members(input, smMembers));
      await authorize(ctx, id);
      const s = backend.get(ctx.region, id);
      // Restoring a secret that is not scheduled for deletion changes nothing (moto; AWS's answer not found).
      if (s.deletedDate !== undefined) backend.restoreDeleted(s);
      return { ARN: s.arn, Name: s.name };
    },

    async TagResource(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const list = tags(m, 'Tags');
      if (!list) throw smErrors.validation('Tags', undefined, 'Member must not be null');
      await authorize(ctx, id);
      backend.tag(backend.live(ctx.region, id), list);
      return {};
    },

    async UntagResource(ctx, input) {
      const m = new Members(input, smMembers);
      const id = secretId(m);
      const keys = m.strList('TagKeys', { itemMax: 128 });
      if (!keys) throw smErrors.validation('TagKeys', undefined, 'Member must not be null');
      await authorize(ctx, id);
      backend.untag(backend.live(ctx.region, id), keys);
      return {};
    },

    async RotateSecret(ctx, input) {
      const m = new Members(input, smMembers);
      // The token is checked before anything else, even the secret's existence (LS snapshot `test_no_client_request_token`).
      const token = m.str('ClientRequestToken', TOKEN);
      if (token === undefined) throw smErrors.missingToken('RotateSecret');
      const id = secretId(m);
      const lambdaArn = m.str('RotationLambdaARN', { max: 2048 });
      const rules = rotationRules(m);
      const immediately = m.bool('RotateImmediately') ?? true;
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      const functionArn = lambdaArn ?? s.rotationLambdaArn;
      if (!functionArn) throw smErrors.noRotationLambda();
      if (rules) parseRotationRules(rules, backend.now());
      const answer = { ARN: s.arn, Name: s.name, VersionId: token };

      // AWSPENDING on a version without AWSCURRENT: "any later invocation of rotation assumes that a previous
      // rotation request is still in progress and returns an error" (How rotation works,
      // awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md) —
      // whatever the token, the stuck rotation's own included. Secrets Manager reattempts it itself in the next
      // rotation window (`rotation.ts`, tick); a caller removes the label to start another.
      if (backend.pendingRotation(s) || engine.isRunning(s)) throw smErrors.rotationInProgress();
      // A token that already names a version: the RotateSecret call it came from already ran.
      if (s.versions.some((v) => v.versionId === token)) return answer;

      // Secrets Manager invokes the function with its own service principal; the caller needs permission to
      // let it (secretsmanager:RotateSecret and lambda:InvokeFunction, the RotateSecret API reference).
      await ctx.authorize('lambda:InvokeFunction', functionArn);
      if (!world.lambda.has(functionArn)) throw smErrors.cannotInvokeLambda();

      const now = backend.now();
      s.rotationEnabled = true;
      s.rotationLambdaArn = functionArn;
      if (rules) s.rotationRules = rules;
      s.lastChangedDate = now;
      if (immediately) {
        backend.scheduleFrom(s, now);
        backend.addPendingVersion(s, token);
        engine.start(s, { token, mode: 'rotate', trigger: 'RotateSecret', lambdaArn: functionArn });
      } else {
        // "If using AutomaticallyAfterDays or a ScheduleExpression with rate(), the previously scheduled
        // rotation might still occur": the schedule runs on from the last rotation.
        backend.scheduleFrom(s, s.lastRotatedDate ?? now);
        // The validation run tests an AWSPENDING version holding the current value (moto, whose rotation
        // tests run against AWS); without a value, the template's testSecret could only fail.
        backend.addPendingVersion(s, token, backend.version(s, AWSCURRENT));
        engine.start(s, { token, mode: 'test', trigger: 'RotateSecret', lambdaArn: functionArn });
      }
      return answer;
    },

    async CancelRotateSecret(ctx, input) {
      const id = secretId(new Members(input, smMembers));
      await authorize(ctx, id);
      const s = backend.live(ctx.region, id);
      // Labels are left as they are: the answer names the unfinished version, whose AWSPENDING the caller
      // should remove — "Failing to clean up a cancelled rotation can block you from starting future
      // rotations" (CancelRotateSecret doc; also the AWS PCS user guide: "cancel-rotate-secret alone doesn't
      // remove the AWSPENDING staging label").
      const pending = backend.pendingRotation(s);
      engine.cancel(s);
      s.rotationEnabled = false;
      s.nextAttemptAt = undefined;
      s.nextRotationDate = undefined;
      s.lastChangedDate = backend.now();
      return { ARN: s.arn, Name: s.name, VersionId: pending?.versionId };
    },
  };
}
