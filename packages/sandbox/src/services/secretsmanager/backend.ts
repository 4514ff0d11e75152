import type { VirtualClock } from '../../clock.ts';
import * as ids from '../../ids.ts';
import { smErrors } from './errors.ts';
import { parseRotationRules, type RotationRules, type RotationWindow } from './schedule.ts';

/**
 * Secrets Manager state of one account (secrets per region, moto's layout) and the rules AWS applies to it:
 * versions named by `ClientRequestToken`, staging labels unique per secret, `AWSPREVIOUS` following
 * `AWSCURRENT`, deprecation of unlabelled versions, scheduled deletion, and the rotation schedule's dates.
 * Label semantics are the part emulators got wrong for years (floci-io/floci#1518,
 * getmoto/moto#8504), so every rule below cites what it follows. Dates are epoch milliseconds on the virtual
 * clock; records are plain JSON so that `--state` round-trips them.
 */

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** Staging labels one version may carry (Secrets Manager quotas). */
export const MAX_STAGES_PER_VERSION = 20;
/** Tags one secret may carry (Secrets Manager quotas). */
export const MAX_TAGS = 50;
/**
 * "Secrets Manager keeps 100 of the most recent versions, but it keeps all secret versions created in the
 * last 24 hours" (PutSecretValue doc); labelled versions are never removed.
 */
export const KEPT_VERSIONS = 100;
const KEEP_RECENT_MS = 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

export interface Tag {
  Key: string;
  Value: string;
}

export interface VersionRecord {
  versionId: string;
  secretString?: string | undefined;
  /** Base64, as JSON 1.1 carries blobs. */
  secretBinary?: string | undefined;
  /** Sorted, as AWS lists them. */
  stages: string[];
  createdDate: number;
  /** Midnight UTC of the day of the last GetSecretValue ("resolution … at the date level"). */
  lastAccessedDate?: number | undefined;
}

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationStepRecord {
  step: RotationStep;
  ok: boolean;
  at: string;
  /** The function's error, scrubbed of secret values. */
  error?: { name: string; message: string } | undefined;
}

export interface RotationAttemptRecord {
  attempt: number;
  startedAt: string;
  steps: RotationStepRecord[];
}

/**
 * One rotation as the sandbox ran it: what tests and the CLI show. `incomplete` means every step returned
 * but the new version did not become `AWSCURRENT`; `interrupted` that the sandbox stopped during it.
 */
export interface RotationRecord {
  token: string;
  mode: 'rotate' | 'test';
  trigger: 'RotateSecret' | 'schedule';
  lambdaArn: string;
  status: 'running' | 'succeeded' | 'failed' | 'incomplete' | 'cancelled' | 'interrupted';
  startedAt: string;
  finishedAt?: string | undefined;
  attempts: RotationAttemptRecord[];
}

export interface SecretRecord {
  arn: string;
  name: string;
  region: string;
  description?: string | undefined;
  /** Stored, not emulated: values are never encrypted. */
  kmsKeyId?: string | undefined;
  /** Undefined until the secret is first tagged (DescribeSecret then shows `Tags`, even empty). */
  tags?: Tag[] | undefined;
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number | undefined;
  deletedDate?: number | undefined;
  /** When a secret scheduled for deletion is purged. */
  deletionDate?: number | undefined;
  /** Undefined until rotation is first configured (DescribeSecret then omits `RotationEnabled`). */
  rotationEnabled?: boolean | undefined;
  rotationLambdaArn?: string | undefined;
  rotationRules?: RotationRules | undefined;
  lastRotatedDate?: number | undefined;
  /** What DescribeSecret reports: the end of the next window ("on or before this date"). */
  nextRotationDate?: number | undefined;
  /** When the scheduler next starts a rotation: the start of the next window. */
  nextAttemptAt?: number | undefined;
  versions: VersionRecord[];
  rotations: RotationRecord[];
}

export interface SecretsManagerSnapshot {
  secrets: SecretRecord[];
}

/** A secret value as a request carries it. */
export interface SecretValue {
  secretString?: string | undefined;
  secretBinary?: string | undefined;
}

export interface ListFilter {
  Key: string;
  Values: string[];
}

const hasValue = (v: VersionRecord): boolean => v.secretString !== undefined || v.secretBinary !== undefined;
const sameValue = (v: VersionRecord, value: SecretValue): boolean =>
  v.secretString === value.secretString && v.secretBinary === value.secretBinary;
const startOfDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

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
      for (const stage of this.#ordered(wanted)) this.#attach(secret, stage, existing);
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
    for (const stage of this.#ordered(
      first && !stages.includes(AWSCURRENT) ? [...stages, AWSCURRENT] : stages,
    )) {
      this.#attach(secret, stage, version);
    }
    this.#touch(secret, stages);
    this.#prune(secret);
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
    this.#attach(secret, AWSPENDING, version);
    secret.lastChangedDate = this.now();
    this.#prune(secret);
    return version;
  }

  /** AWSCURRENT first, so that the labels it drags along (AWSPREVIOUS) settle before the others move. */
  #ordered(stages: readonly string[]): string[] {
    return [...new Set(stages)].sort((a, b) => (a === AWSCURRENT ? -1 : b === AWSCURRENT ? 1 : 0));
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

  /**
   * Attaches `label` to `target`, taking it off the version that held it: a label names one version of a
   * secret (PutSecretValue doc, LS snapshot `test_non_versioning_version_stages_*`). Moving AWSCURRENT:
   * - the version it left gets AWSPREVIOUS, which leaves the version that had it (PutSecretValue and
   *   UpdateSecretVersionStage docs; LS snapshot `test_update_secret_version_stages_current_previous`);
   * - the version it left also loses AWSPENDING: a completed rotation may leave AWSPENDING on the current
   *   version (`awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`), and AWS drops it with AWSCURRENT
   *   (LS snapshot `test_update_secret_version_stages_current_pending`: [AWSCURRENT, AWSPENDING] → [AWSPREVIOUS]);
   * - moving AWSCURRENT onto the AWSPREVIOUS version (a roll-back) takes AWSPREVIOUS off it (moto).
   */
  #attach(secret: SecretRecord, label: string, target: VersionRecord): void {
    const holder = secret.versions.find((v) => v.stages.includes(label));
    if (holder === target) return;
    if (target.stages.length >= MAX_STAGES_PER_VERSION) throw smErrors.tooManyStages(target.versionId);
    if (holder) holder.stages = holder.stages.filter((s) => s !== label);
    target.stages = [...target.stages, label].sort();
    if (label !== AWSCURRENT) return;
    for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== AWSPREVIOUS);
    if (holder) holder.stages = [...holder.stages.filter((s) => s !== AWSPENDING), AWSPREVIOUS].sort();
  }

  /**
   * UpdateSecretVersionStage (SDK doc): "If the staging label you are trying to attach to one version is
   * already attached to a different version, then you must include [RemoveFromVersionId] and specify the
   * version that the label is to be removed from. If the label is attached and you either do not specify
   * this parameter, or the version ID does not match, then the operation fails."
   */
  moveStage(
    secret: SecretRecord,
    label: string,
    moveTo: string | undefined,
    removeFrom: string | undefined,
  ): void {
    const version = (id: string) => {
      const v = secret.versions.find((x) => x.versionId === id);
      if (!v) throw smErrors.notAValidVersion(id);
      return v;
    };
    const holder = secret.versions.find((v) => v.stages.includes(label));
    const from = removeFrom === undefined ? undefined : version(removeFrom);
    if (moveTo !== undefined) {
      const target = version(moveTo);
      if (holder && holder !== target) {
        if (!from) throw smErrors.removeFromRequired(label, holder.versionId);
        if (from !== holder) throw smErrors.removeFromMismatch(label, holder.versionId);
      }
      this.#attach(secret, label, target);
    } else {
      if (!from) throw smErrors.moveOrRemoveRequired();
      if (from !== holder) throw smErrors.removeFromMismatch(label, holder?.versionId);
      if (label === AWSCURRENT) throw smErrors.cannotRemoveCurrent(from.versionId);
      from.stages = from.stages.filter((s) => s !== label);
    }
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

  /** Removes the oldest unlabelled versions beyond {@link KEPT_VERSIONS}, keeping any created in the last day. */
  #prune(secret: SecretRecord): void {
    let excess = secret.versions.length - KEPT_VERSIONS;
    if (excess <= 0) return;
    const cutoff = this.now() - KEEP_RECENT_MS;
    secret.versions = secret.versions.filter((v) => {
      if (excess > 0 && v.stages.length === 0 && v.createdDate < cutoff) {
        excess--;
        return false;
      }
      return true;
    });
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

function matchesFilter(secret: SecretRecord, filter: ListFilter): boolean {
  const tags = secret.tags ?? [];
  const candidates: Record<string, { values: string[]; caseSensitive: boolean; words: boolean }> = {
    name: { values: [secret.name], caseSensitive: true, words: false },
    'tag-key': { values: tags.map((t) => t.Key), caseSensitive: true, words: false },
    'tag-value': { values: tags.map((t) => t.Value), caseSensitive: true, words: false },
    description: {
      values: secret.description ? [secret.description] : [],
      caseSensitive: false,
      words: false,
    },
    'primary-region': { values: [secret.region], caseSensitive: true, words: false },
    'owning-service': { values: [], caseSensitive: true, words: false },
    all: {
      values: [secret.name, secret.description ?? '', ...tags.flatMap((t) => [t.Key, t.Value])].flatMap((v) =>
        v.split(/[\s/_+=.@-]+/),
      ),
      caseSensitive: false,
      words: true,
    },
  };
  const c = candidates[filter.Key];
  if (!c) return false;
  const norm = (v: string) => (c.caseSensitive ? v : v.toLowerCase());
  const positives = filter.Values.filter((v) => !v.startsWith('!'));
  const negatives = filter.Values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  const hit = (pattern: string) => c.values.some((v) => norm(v).startsWith(norm(pattern)));
  if (negatives.some(hit)) return false;
  return positives.length === 0 || positives.some(hit);
}
