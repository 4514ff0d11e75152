/**
 * Secrets Manager's records as the sandbox stores them (secrets, versions, rotation attempts, tags), the
 * staging-label names and the quotas: the shapes the backend, the handlers and the rotation engine share.
 */
import type { RotationRules } from './schedule.ts';

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
export const KEEP_RECENT_MS = 24 * 3_600_000;
export const DAY_MS = 24 * 3_600_000;

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

export const hasValue = (v: VersionRecord): boolean =>
  v.secretString !== undefined || v.secretBinary !== undefined;
export const sameValue = (v: VersionRecord, value: SecretValue): boolean =>
  v.secretString === value.secretString && v.secretBinary === value.secretBinary;
export const startOfDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
