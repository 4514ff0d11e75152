import type { VirtualClock } from '../../clock.ts';
import * as ids from '../../ids.ts';
import { smErrors } from './errors.ts';
import { matchesFilter } from './list-filter.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  DAY_MS,
  hasValue,
  type ListFilter,
  MAX_TAGS,
  type SecretRecord,
  type SecretsManagerSnapshot,
  type SecretValue,
  sameValue,
  startOfDay,
  type Tag,
  type VersionRecord,
} from './records.ts';
import { parseRotationRules, type RotationRules, type RotationWindow } from './schedule.ts';
import { attachStage, moveStageLabel, orderedStages, pruneVersions } from './stages.ts';

// The records live in `records.ts`; this module stays the entry the handlers import from.
export {
  AWSCURRENT,
  type ListFilter,
  type SecretRecord,
  type SecretValue,
  type Tag,
  type VersionRecord,
} from './records.ts';

/**
 * Secrets Manager state of one account (secrets per region, moto's layout) and the rules AWS applies to it:
 * versions named by `ClientRequestToken`, staging labels unique per secret, `AWSPREVIOUS` following
 * `AWSCURRENT`, deprecation of unlabelled versions, scheduled deletion, and the rotation schedule's dates.
 * Label semantics are the part emulators got wrong for years (floci-io/floci#1518,
 * getmoto/moto#8504), so every rule below cites what it follows. Dates are epoch milliseconds on the virtual
 * clock; records are plain JSON so that `--state` round-trips them.
 */

export class SecretsManagerBackend {
  readonly accountId: string;
  readonly partition: string;
  readonly #clock: VirtualClock;
  /** region → name → secret. */
  #secrets = new Map<string, Map<string, SecretRecord>>();

  public constructor(accountId: string, partition: string, clock: VirtualClock) {
    this.accountId = accountId;
    this.partition = partition;
    this.#clock = clock;
  }

  now(): number {
    return this.#clock.nowMs();
  }

  all(): SecretRecord[] {
    return [...this.#secrets.values()].flatMap((m) => [...m.values()]);
  }

  #region(region: string): Map<string, SecretRecord> {
    let m = this.#secrets.get(region);
    if (!m) {
      m = new Map();
      this.#secrets.set(region, m);
    }
    return m;
  }

  #arnPrefix(region: string): string {
    return `arn:${this.partition}:secretsmanager:${region}:${this.accountId}:secret:`;
  }

  /**
   * The secret a `SecretId` names: its name, its full ARN, or the partial ARN without the six-character
   * suffix (SDK doc: "For an ARN, we recommend that you specify a complete ARN rather than a partial ARN").
   */
  find(region: string, secretId: string): SecretRecord | undefined {
    if (!secretId.startsWith('arn:')) return this.#secrets.get(region)?.get(secretId);
    const m = /^arn:[\w-]+:secretsmanager:([\w-]+):(\d{12}):secret:(.+)$/.exec(secretId);
    if (!m || m[2] !== this.accountId) return undefined;
    const inRegion = this.#secrets.get(m[1] ?? '');
    if (!inRegion) return undefined;
    for (const s of inRegion.values()) if (s.arn === secretId) return s;
    return inRegion.get(m[3] ?? '');
  }

  /** The ARN to authorise a call on: the secret's, or what the caller named when it does not exist. */
  resourceArn(region: string, secretId: string): string {
    return (
      this.find(region, secretId)?.arn ??
      (secretId.startsWith('arn:') ? secretId : `${this.#arnPrefix(region)}${secretId}`)
    );
  }

  /** The secret, or Secrets Manager's ResourceNotFoundException. */
  get(region: string, secretId: string): SecretRecord {
    const s = this.find(region, secretId);
    if (!s) throw smErrors.secretNotFound();
    return s;
  }

  /** The secret, refusing one scheduled for deletion (LS snapshot `test_tag_untag_resource_on_deleted_secret`). */
  live(region: string, secretId: string): SecretRecord {
    const s = this.get(region, secretId);
    if (s.deletedDate !== undefined) throw smErrors.markedForDeletion();
    return s;
  }

  newArn(region: string, name: string): string {
    return `${this.#arnPrefix(region)}${name}-${ids.secretSuffix()}`;
  }

  /** CreateSecret. Without a value the secret has no version (LS snapshot `test_create_secret_version_from_empty_secret`). */
  create(
    region: string,
    input: {
      arn: string;
      name: string;
      token: string;
      value: SecretValue | undefined;
      description?: string | undefined;
      kmsKeyId?: string | undefined;
      tags?: Tag[] | undefined;
    },
  ): { secret: SecretRecord; version: VersionRecord | undefined } {
    const existing = this.#region(region).get(input.name);
    if (existing) {
      if (existing.deletedDate !== undefined) throw smErrors.createWhileScheduledForDeletion();
      // A retried CreateSecret (same token, same value) is ignored (CreateSecret doc, ClientRequestToken).
      const same =
        input.value &&
        existing.versions.find((v) => v.versionId === input.token && sameValue(v, input.value ?? {}));
      if (same) return { secret: existing, version: same };
      throw smErrors.secretExists(input.name);
    }
    const now = this.now();
    const secret: SecretRecord = {
      arn: input.arn,
      name: input.name,
      region,
      description: input.description,
      kmsKeyId: input.kmsKeyId,
      tags: input.tags,
      createdDate: now,
      lastChangedDate: now,
      versions: [],
      rotations: [],
    };
    this.#region(region).set(input.name, secret);
    const version = input.value
      ? this.#addVersion(secret, input.token, input.value, [AWSCURRENT])
      : undefined;
    return { secret, version };
  }

  /**
   * PutSecretValue / UpdateSecret with a value. Idempotent on the token (SDK doc): same token and value → the
   * existing version, unchanged; same token, other value → ResourceExistsException. The value-less AWSPENDING
   * version RotateSecret creates is the one exception: the rotation function's createSecret fills it with
   * the same token (the project's inference from `awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`,
   * "AWSPENDING … might be attached to an empty secret version", and the rotation template's guard). Without
   * `stages`, AWSCURRENT moves to the new version.
   */
  putValue(
    secret: SecretRecord,
    token: string,
    value: SecretValue,
    stages: readonly string[] | undefined,
  ): VersionRecord {
    const existing = secret.versions.find((v) => v.versionId === token);
    const wanted = stages ?? [AWSCURRENT];
    if (existing) {
      if (hasValue(existing)) {
        if (!sameValue(existing, value)) throw smErrors.versionExists();
        return existing;
      }
      if (!existing.stages.includes(AWSPENDING)) throw smErrors.versionExists();
      existing.secretString = value.secretString;
      existing.secretBinary = value.secretBinary;
      for (const stage of orderedStages(wanted)) attachStage(secret, stage, existing);
      this.#touch(secret, wanted);
      return existing;
    }
    return this.#addVersion(secret, token, value, wanted);
  }

  #addVersion(
    secret: SecretRecord,
    token: string,
    value: SecretValue,
    stages: readonly string[],
  ): VersionRecord {
    const version: VersionRecord = {
      versionId: token,
      secretString: value.secretString,
      secretBinary: value.secretBinary,
      stages: [],
      createdDate: this.now(),
    };
    // "If this operation creates the first version for the secret, then Secrets Manager automatically
    // attaches the staging label AWSCURRENT to it" (PutSecretValue doc).
    const first = !secret.versions.some((v) => v.stages.includes(AWSCURRENT));
    secret.versions.push(version);
    for (const stage of orderedStages(
      first && !stages.includes(AWSCURRENT) ? [...stages, AWSCURRENT] : stages,
    )) {
      attachStage(secret, stage, version);
    }
    this.#touch(secret, stages);
    pruneVersions(secret, this.now());
    return version;
  }

  /**
   * The empty version RotateSecret creates before createSecret (the project's inference from
   * `awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`, "AWSPENDING … might be attached to an empty
   * secret version", and the rotation template's guard; getmoto/moto#8504), optionally holding a copy of a value.
   */
  addPendingVersion(secret: SecretRecord, token: string, copyOf?: VersionRecord): VersionRecord {
    const version: VersionRecord = {
      versionId: token,
      secretString: copyOf?.secretString,
      secretBinary: copyOf?.secretBinary,
      stages: [],
      createdDate: this.now(),
    };
    secret.versions.push(version);
    attachStage(secret, AWSPENDING, version);
    secret.lastChangedDate = this.now();
    pruneVersions(secret, this.now());
    return version;
  }

  /** After a value change: LastChangedDate, and a manual AWSCURRENT change counts as a rotation for the schedule. */
  #touch(secret: SecretRecord, stages: readonly string[]): void {
    const now = this.now();
    secret.lastChangedDate = now;
    // "Manually updating the secret value by calling PutSecretValue or UpdateSecret is considered a valid
    // rotation" when the next rotation date is calculated
    // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html).
    if (stages.includes(AWSCURRENT) && secret.rotationEnabled) this.scheduleFrom(secret, now);
  }

  /** UpdateSecretVersionStage: the rules are `moveStageLabel`'s; the secret changed now. */
  moveStage(
    secret: SecretRecord,
    label: string,
    moveTo: string | undefined,
    removeFrom: string | undefined,
  ): void {
    moveStageLabel(secret, label, moveTo, removeFrom);
    secret.lastChangedDate = this.now();
  }

  /** Removes `label` from whatever version holds it (rotation clean-up). */
  dropStage(secret: SecretRecord, label: string, versionId: string): void {
    const v = secret.versions.find((x) => x.versionId === versionId);
    if (v?.stages.includes(label)) {
      v.stages = v.stages.filter((s) => s !== label);
      secret.lastChangedDate = this.now();
    }
  }

  /**
   * GetSecretValue: by VersionId and/or VersionStage (default AWSCURRENT). A version without a value — the
   * empty AWSPENDING version rotation creates — is "not found" (getmoto/moto#8504).
   */
  getValue(secret: SecretRecord, versionId: string | undefined, stage: string | undefined): VersionRecord {
    let version: VersionRecord | undefined;
    if (versionId !== undefined) {
      version = secret.versions.find((v) => v.versionId === versionId);
      if (!version) throw smErrors.valueNotFoundForVersion(versionId);
      if (stage !== undefined && !version.stages.includes(stage)) throw smErrors.stageVersionMismatch();
      if (!hasValue(version)) throw smErrors.valueNotFoundForVersion(versionId);
    } else {
      const label = stage ?? AWSCURRENT;
      version = secret.versions.find((v) => v.stages.includes(label));
      if (!version || !hasValue(version)) throw smErrors.valueNotFoundForStage(label);
    }
    const today = startOfDay(this.now());
    secret.lastAccessedDate = today;
    version.lastAccessedDate = today;
    return version;
  }

  version(secret: SecretRecord, stage: string): VersionRecord | undefined {
    return secret.versions.find((v) => v.stages.includes(stage));
  }

  /**
   * The version of an unfinished rotation: AWSPENDING on a version other than AWSCURRENT ("any later
   * invocation of rotation assumes that a previous rotation request is still in progress",
   * `awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`).
   */
  pendingRotation(secret: SecretRecord): VersionRecord | undefined {
    const pending = this.version(secret, AWSPENDING);
    return pending && !pending.stages.includes(AWSCURRENT) ? pending : undefined;
  }

  /**
   * Recomputes the schedule's dates from `baseMs` (the last rotation, or the moment rotation was turned on):
   * NextRotationDate is the end of the next window ("on or before this date"), the scheduler starts at its
   * opening. Without rules there is no schedule.
   */
  scheduleFrom(secret: SecretRecord, baseMs: number): void {
    const w = this.nextWindow(secret, baseMs);
    secret.nextAttemptAt = w?.start;
    secret.nextRotationDate = w ? w.end - 1000 : undefined;
  }

  nextWindow(secret: SecretRecord, baseMs: number): RotationWindow | undefined {
    if (!secret.rotationRules) return undefined;
    return parseRotationRules(secret.rotationRules, this.now()).nextWindow(baseMs);
  }

  /**
   * "In DescribeSecret and ListSecrets, [AutomaticallyAfterDays] is calculated from the rotation schedule
   * after every successful rotation" (RotationRulesType doc): the days between the next two windows.
   */
  reportedRules(secret: SecretRecord): RotationRules | undefined {
    const rules = secret.rotationRules;
    if (!rules?.ScheduleExpression || secret.lastRotatedDate === undefined) return rules;
    try {
      const a = this.nextWindow(secret, secret.lastRotatedDate);
      const b = a && this.nextWindow(secret, a.start);
      const days = a && b ? Math.round((b.start - a.start) / DAY_MS) : 0;
      return days >= 1 ? { AutomaticallyAfterDays: days, ...rules } : rules;
    } catch {
      return rules;
    }
  }

  /** DeleteSecret with a recovery window: the secret stays, refusing most calls, until `deletionDate`. */
  scheduleDeletion(secret: SecretRecord, days: number): number {
    const now = this.now();
    secret.deletedDate = now;
    secret.deletionDate = now + days * DAY_MS;
    secret.lastChangedDate = now;
    return secret.deletionDate;
  }

  restoreDeleted(secret: SecretRecord): void {
    secret.deletedDate = undefined;
    secret.deletionDate = undefined;
    secret.lastChangedDate = this.now();
  }

  remove(secret: SecretRecord): void {
    this.#secrets.get(secret.region)?.delete(secret.name);
  }

  /** Purges secrets whose recovery window has passed; returns them. */
  purgeExpired(): SecretRecord[] {
    const now = this.now();
    const gone = this.all().filter((s) => s.deletionDate !== undefined && s.deletionDate <= now);
    for (const s of gone) this.remove(s);
    return gone;
  }

  tag(secret: SecretRecord, tags: readonly Tag[]): void {
    const merged = new Map((secret.tags ?? []).map((t) => [t.Key, t]));
    for (const t of tags) merged.set(t.Key, { Key: t.Key, Value: t.Value });
    if (merged.size > MAX_TAGS) throw smErrors.tooManyTags();
    secret.tags = [...merged.values()];
    secret.lastChangedDate = this.now();
  }

  untag(secret: SecretRecord, keys: readonly string[]): void {
    secret.tags = (secret.tags ?? []).filter((t) => !keys.includes(t.Key));
    secret.lastChangedDate = this.now();
  }

  /**
   * ListSecrets' filters (Filter doc): `name`, `tag-key`, `tag-value` are case-sensitive prefix matches,
   * `description` a case-insensitive prefix match, `all` matches words of any of them case-insensitively; a
   * value starting with `!` negates. Values of one filter are alternatives; filters all apply.
   */
  list(region: string, filters: readonly ListFilter[], includePlannedDeletion: boolean): SecretRecord[] {
    const secrets = [...(this.#secrets.get(region)?.values() ?? [])];
    return secrets.filter(
      (s) =>
        (includePlannedDeletion || s.deletedDate === undefined) && filters.every((f) => matchesFilter(s, f)),
    );
  }

  snapshot(): SecretsManagerSnapshot {
    return { secrets: structuredClone(this.all()) };
  }

  restore(snapshot: SecretsManagerSnapshot): void {
    this.#secrets = new Map();
    for (const s of structuredClone(snapshot.secrets)) this.#region(s.region).set(s.name, s);
  }
}
