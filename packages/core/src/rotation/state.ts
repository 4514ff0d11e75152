import {
  GetAccessKeyLastUsedCommand,
  type IAMClient,
  ListAccessKeysCommand,
  type StatusType,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Config, RegistryConfig } from '../config/index.ts';
import { RotationError, type RotationStepName } from '../errors.ts';
import { parseRotatedSecret, type RotatedSecretValue, type ValueSource } from './secret-value.ts';

/**
 * Reading what the rotation decides from: the secret's stages and tags, its stored values, and the pull
 * user's keys. Shared by the steps, the retirement and `status`, so that all three see the same thing.
 */

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/**
 * Tags the rotation keeps on the secret. Secrets Manager cannot attach metadata to a version once it is
 * written, and a Lambda that dies keeps nothing, so what must survive a crash or cross from the CLI to the
 * function lives here. Values use only the characters Secrets Manager allows in tags (letters, digits,
 * spaces and `_ . : / = + - @`).
 */
export const ROTATION_TAGS = {
  /**
   * `nvcf-ecr rotate --force` sets it to the ClientRequestToken it then passes to RotateSecret: createSecret
   * honours it only for that token (a forgotten tag never forces a later rotation) and removes it.
   */
  force: 'nvcf-ecr:force-rotation',
  /**
   * `<token>@<ISO time>`, written by createSecret right before CreateAccessKey. A key no version references,
   * created within a minute of that time while that token has no stored value, can only be the key of an
   * attempt that died before PutSecretValue: an orphan, safe to delete (see `keys.ts`). The failure path
   * removes it when the attempt created no key, so that it cannot outlive the call it announces.
   */
  intent: 'nvcf-ecr:key-intent',
  /**
   * `<versionId>@<ISO time>` or `<versionId>@sending`: the version whose key the rotation last gave NVCF, and
   * since when NVCF has held it (the rotation's clock, read once NVCF answered), or `sending` while a PATCH
   * or POST with it may or may not have landed. Written before every PATCH/POST with another version's key,
   * so it always names the last key the rotation sent. NVCF never says which key it holds (no answer carries
   * a secret): this is how createSecret knows whether NVCF may still hold a cancelled rotation's key, and
   * since when NVCF's caches can no longer hand out the key it replaced (`keys.ts`).
   */
  nvcfKey: 'nvcf-ecr:nvcf-key',
  /**
   * `<token> <step> <failed|refused> <ISO time> <current-key-works|current-key-broken|no-current-key>`: the last
   * failed step and what the check of the AWSCURRENT key found right after it, for `nvcf-ecr rotate` and
   * `status`.
   */
  lastFailure: 'nvcf-ecr:last-failure',
  /** The last failure's reason, scrubbed and shortened to the tag limit of 256 characters. */
  lastFailureReason: 'nvcf-ecr:last-failure-reason',
} as const;

export interface SecretState {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  readonly rotationLambdaArn: string | undefined;
  readonly lastRotatedDate: Date | undefined;
  readonly nextRotationDate: Date | undefined;
  /** Version id → staging labels (labelled versions only, as DescribeSecret lists them). */
  readonly versions: Readonly<Record<string, readonly string[]>>;
  readonly tags: ReadonlyMap<string, string>;
  readonly currentVersionId: string | undefined;
  readonly previousVersionId: string | undefined;
  readonly pendingVersionId: string | undefined;
}

export async function describeSecret(secrets: SecretsManagerClient, secretId: string): Promise<SecretState> {
  const d = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
  const versions = d.VersionIdsToStages ?? {};
  const holder = (stage: string) => Object.entries(versions).find(([, s]) => s.includes(stage))?.[0];
  return {
    arn: d.ARN ?? secretId,
    name: d.Name ?? secretId,
    rotationEnabled: d.RotationEnabled === true,
    rotationLambdaArn: d.RotationLambdaARN,
    lastRotatedDate: d.LastRotatedDate,
    nextRotationDate: d.NextRotationDate,
    versions,
    tags: new Map((d.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    currentVersionId: holder(AWSCURRENT),
    previousVersionId: holder(AWSPREVIOUS),
    pendingVersionId: holder(AWSPENDING),
  };
}

/**
 * When each version was stored (ListSecretVersionIds' `CreatedDate`): metadata, no value, so no `kms:Decrypt`
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html).
 */
export async function versionDates(
  secrets: SecretsManagerClient,
  secretId: string,
): Promise<Map<string, Date>> {
  const dates = new Map<string, Date>();
  let token: string | undefined;
  do {
    const out = await secrets.send(new ListSecretVersionIdsCommand({ SecretId: secretId, NextToken: token }));
    for (const v of out.Versions ?? [])
      if (v.VersionId && v.CreatedDate) dates.set(v.VersionId, v.CreatedDate);
    token = out.NextToken;
  } while (token);
  return dates;
}

/** A value read from the secret, with its version. */
export interface StoredValue {
  readonly versionId: string;
  readonly createdDate: Date | undefined;
  readonly value: RotatedSecretValue;
}

/**
 * Reads one version (by id and/or stage). `undefined` when Secrets Manager has no value there — the empty
 * AWSPENDING version RotateSecret creates answers ResourceNotFoundException (inferred from the guard of
 * aws-samples/aws-secrets-manager-rotation-lambdas:SecretsManagerRotationTemplate/lambda_function.py).
 */
export async function readValue(
  secrets: SecretsManagerClient,
  secretId: string,
  select: { versionId?: string | undefined; stage?: string | undefined },
  step: RotationStepName,
): Promise<StoredValue | undefined> {
  const out = await secrets
    .send(
      new GetSecretValueCommand({
        SecretId: secretId,
        VersionId: select.versionId,
        VersionStage: select.stage,
      }),
    )
    .catch((err: unknown) => {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    });
  if (!out) return undefined;
  const versionId = out.VersionId ?? select.versionId ?? '';
  const source: ValueSource = {
    step,
    secretId,
    version: select.stage && !select.versionId ? select.stage : `version ${versionId}`,
  };
  return { versionId, createdDate: out.CreatedDate, value: parseRotatedSecret(out.SecretString, source) };
}

/** The configured registry a secret belongs to, by name (DescribeSecret's `Name`). */
export function registryForSecret(
  config: Config,
  state: Pick<SecretState, 'name' | 'arn'>,
): RegistryConfig | undefined {
  return config.registries.find((r) => r.secretName === state.name);
}

/** {@link registryForSecret}, or a RotationError saying which secrets are configured. */
export function requireRegistry(config: Config, state: SecretState, step: RotationStepName): RegistryConfig {
  const registry = registryForSecret(config, state);
  if (registry) return registry;
  throw new RotationError(
    step,
    state.arn,
    `Secret ${state.name} belongs to no configured registry (configured: ${config.registries
      .map((r) => `${r.name} → ${r.secretName}`)
      .join(
        ', ',
      )}): this function rotates only the secrets of its configuration. Point the secret's rotation ` +
      'at the function deployed with its configuration.',
  );
}

/** One access key of the pull user, as ListAccessKeys reports it. */
export interface AccessKeyInfo {
  readonly accessKeyId: string;
  readonly status: StatusType | string;
  readonly createDate: Date;
}

export async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyInfo[]> {
  const keys: AccessKeyInfo[] = [];
  let marker: string | undefined;
  do {
    const out = await iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker }));
    for (const k of out.AccessKeyMetadata ?? []) {
      if (!k.AccessKeyId) continue;
      keys.push({
        accessKeyId: k.AccessKeyId,
        status: k.Status ?? 'Active',
        createDate: k.CreateDate ?? new Date(0),
      });
    }
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return keys;
}

export interface KeyLastUsed {
  readonly at: Date | undefined;
  readonly service: string | undefined;
  readonly region: string | undefined;
}

export async function keyLastUsed(iam: IAMClient, accessKeyId: string): Promise<KeyLastUsed> {
  const out = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
  const used = out.AccessKeyLastUsed;
  // IAM reports `N/A` for a key never used.
  const service = used?.ServiceName && used.ServiceName !== 'N/A' ? used.ServiceName : undefined;
  const region = used?.Region && used.Region !== 'N/A' ? used.Region : undefined;
  return { at: used?.LastUsedDate, service, region };
}

/** `<token>@<ISO time>` of {@link ROTATION_TAGS.intent}. */
export interface KeyIntent {
  readonly token: string;
  readonly at: Date;
}

export function formatIntent(token: string, at: Date): string {
  return `${token}@${at.toISOString()}`;
}

export function parseIntent(value: string | undefined): KeyIntent | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf('@');
  if (at <= 0) return undefined;
  const time = new Date(value.slice(at + 1));
  if (Number.isNaN(time.getTime())) return undefined;
  return { token: value.slice(0, at), at: time };
}

/** {@link ROTATION_TAGS.nvcfKey}: the version whose key NVCF was last given, and since when it holds it. */
export interface NvcfKeyRecord {
  readonly versionId: string;
  /** Since when NVCF holds it (at the latest); undefined while it is being sent. */
  readonly since: Date | undefined;
}

const SENDING = 'sending';

export function formatNvcfKey(record: NvcfKeyRecord): string {
  return `${record.versionId}@${record.since ? record.since.toISOString() : SENDING}`;
}

export function parseNvcfKey(value: string | undefined): NvcfKeyRecord | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf('@');
  if (at <= 0) return undefined;
  const versionId = value.slice(0, at);
  const rest = value.slice(at + 1);
  if (rest === SENDING) return { versionId, since: undefined };
  const since = new Date(rest);
  return Number.isNaN(since.getTime()) ? undefined : { versionId, since };
}

/**
 * Since when NVCF has held the key of version `currentVersionId` (the AWSCURRENT version), by the rotation's
 * record; undefined when it is not known to hold it — a cancelled rotation's key may be there, or a send of
 * the current key whose outcome was never confirmed.
 */
export function nvcfHoldsVersionSince(
  tags: ReadonlyMap<string, string>,
  currentVersionId: string | undefined,
): Date | undefined {
  const record = parseNvcfKey(tags.get(ROTATION_TAGS.nvcfKey));
  return record && currentVersionId !== undefined && record.versionId === currentVersionId
    ? record.since
    : undefined;
}

/**
 * What the failure path's check of the AWSCURRENT key found: it authenticated, it did not, or there is none yet
 * (the registry's first rotation).
 */
export type CurrentKeyCheck = 'works' | 'broken' | 'none';

const CHECK_WORDS: Readonly<Record<CurrentKeyCheck, string>> = {
  works: 'current-key-works',
  broken: 'current-key-broken',
  none: 'no-current-key',
};

/** The last failure tag: who failed where, whether on purpose, and what the current key's check found. */
export interface LastFailure {
  readonly token: string;
  readonly step: string;
  readonly refused: boolean;
  readonly at: Date;
  readonly reason: string | undefined;
  /** Undefined for a tag written before the check was recorded. */
  readonly currentKey?: CurrentKeyCheck | undefined;
}

export function formatLastFailure(
  token: string,
  step: string,
  refused: boolean,
  at: Date,
  currentKey?: CurrentKeyCheck,
): string {
  const base = `${token} ${step} ${refused ? 'refused' : 'failed'} ${at.toISOString()}`;
  return currentKey ? `${base} ${CHECK_WORDS[currentKey]}` : base;
}

export function parseLastFailure(tags: ReadonlyMap<string, string>): LastFailure | undefined {
  const parts = tags.get(ROTATION_TAGS.lastFailure)?.split(' ');
  if (parts?.length !== 4 && parts?.length !== 5) return undefined;
  const [token = '', step = '', outcome = '', time = '', check] = parts;
  const at = new Date(time);
  if (Number.isNaN(at.getTime())) return undefined;
  const currentKey = (Object.keys(CHECK_WORDS) as CurrentKeyCheck[]).find((k) => CHECK_WORDS[k] === check);
  return {
    token,
    step,
    refused: outcome === 'refused',
    at,
    reason: tags.get(ROTATION_TAGS.lastFailureReason),
    ...(currentKey ? { currentKey } : {}),
  };
}

/** A reason as a tag value: the allowed characters only, at most 256 of them. */
export function tagSafe(text: string): string {
  const safe = text
    .replace(/[^\p{L}\p{N}\s_.:/=+\-@]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return safe.length > 256 ? `${safe.slice(0, 253)}...` : safe;
}
