import * as z from 'zod/mini';
import type { RegistryConfig } from '../config/index.ts';
import { accessKeyIdProblem } from '../credential/codec.ts';
import { RotationError, type RotationStepName } from '../errors.ts';

/**
 * The value of a registry's rotated secret (packages/core/src/rotation/README.md, "The rotated secret"). Two
 * shapes:
 *
 * - the **bootstrap** value the stacks and the sandbox runtime create — who and where, no key yet:
 *   `{"userName", "registryHostname", "credentialName"}`; the first rotation turns it into the first key;
 * - a **pull key**: `{"accessKeyId", "secretAccessKey", "userName", "registryHostname", "credentialName",
 *   "createdAt"}`, where `createdAt` (ISO-8601, the rotation's clock) is when the key was created — testSecret
 *   compares NVCF's `lastUpdatedAt` with it (see `test-secret.ts`).
 *
 * Unknown members are kept out of the way, not refused, so that a value written by a newer version still
 * reads. Parse errors never quote the value: zod is asked not to report inputs, and messages name members.
 */

const ACCESS_KEY_ID = /^AKIA[A-Z0-9]{16}$/;
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+]{40}$/;

const identity = {
  userName: z.string().check(z.minLength(1)),
  registryHostname: z.string().check(z.minLength(1)),
  credentialName: z.string().check(z.minLength(1)),
};

// Identity is optional before the first key: the stacks create the secret with a constant value (see
// DEPLOYED_BOOTSTRAP_VALUE), the sandbox with the registry's identity.
export const bootstrapSecretSchema = z.looseObject({
  userName: z.optional(identity.userName),
  registryHostname: z.optional(identity.registryHostname),
  credentialName: z.optional(identity.credentialName),
});

export const pullKeySecretSchema = z.looseObject({
  ...identity,
  accessKeyId: z.string().check(z.regex(ACCESS_KEY_ID, 'must be a permanent IAM access key id (AKIA…)')),
  secretAccessKey: z.string().check(z.regex(SECRET_ACCESS_KEY, 'must be 40 characters of A-Z a-z 0-9 / +')),
  createdAt: z
    .string()
    .check(z.refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' })),
});

/** A pull key as the secret stores it. */
export interface PullKeySecret {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly userName: string;
  readonly registryHostname: string;
  readonly credentialName: string;
  readonly createdAt: string;
}

/** The bootstrap value: no key yet; who and where, when it says. */
export interface BootstrapSecret {
  readonly userName?: string | undefined;
  readonly registryHostname?: string | undefined;
  readonly credentialName?: string | undefined;
}

export type RotatedSecretValue =
  | ({ readonly kind: 'key' } & PullKeySecret)
  | ({ readonly kind: 'bootstrap' } & BootstrapSecret);

/** Where a value was read, for error messages. */
export interface ValueSource {
  readonly step: RotationStepName;
  readonly secretId: string;
  /** `AWSCURRENT`, or `version <id>`. */
  readonly version: string;
}

/**
 * Parses a stored value. A value with an `accessKeyId` member is a pull key and must be complete; one without
 * is a bootstrap value. Throws {@link RotationError} naming the secret, the version and the members at fault.
 */
export function parseRotatedSecret(text: string | undefined, source: ValueSource): RotatedSecretValue {
  const fail = (problem: string): never => {
    throw new RotationError(
      source.step,
      source.secretId,
      `The value of ${source.version} of secret ${source.secretId} ${problem}: rotated secrets hold ` +
        '{"accessKeyId","secretAccessKey","userName","registryHostname","credentialName","createdAt"} ' +
        '(or, before the first rotation, {"userName","registryHostname","credentialName"}). Do not edit them by hand.',
    );
  };
  if (text === undefined) return fail('is binary or empty');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('is not a JSON object');
  const hasKey = 'accessKeyId' in raw;
  const schema = hasKey ? pullKeySecretSchema : bootstrapSecretSchema;
  const parsed = schema.safeParse(raw, { reportInput: false });
  if (!parsed.success) {
    const members = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    return fail(`is malformed (${members.join('; ')})`);
  }
  const v = parsed.data as Record<string, string | undefined>;
  if (!hasKey) {
    return {
      kind: 'bootstrap',
      ...(v['userName'] !== undefined ? { userName: v['userName'] } : {}),
      ...(v['registryHostname'] !== undefined ? { registryHostname: v['registryHostname'] } : {}),
      ...(v['credentialName'] !== undefined ? { credentialName: v['credentialName'] } : {}),
    };
  }
  return {
    kind: 'key',
    userName: v['userName'] as string,
    registryHostname: v['registryHostname'] as string,
    credentialName: v['credentialName'] as string,
    accessKeyId: v['accessKeyId'] as string,
    secretAccessKey: v['secretAccessKey'] as string,
    createdAt: v['createdAt'] as string,
  };
}

/** The JSON text stored for a pull key (members in the documented order). */
export function serializePullKey(value: PullKeySecret): string {
  const problem = accessKeyIdProblem(value.accessKeyId);
  if (problem) throw new RangeError(problem.message);
  return JSON.stringify({
    accessKeyId: value.accessKeyId,
    secretAccessKey: value.secretAccessKey,
    userName: value.userName,
    registryHostname: value.registryHostname,
    credentialName: value.credentialName,
    createdAt: value.createdAt,
  });
}

/**
 * The value the stacks create every registry's secret with: the same for every registry and every
 * configuration, so that CloudFormation never rewrites a live secret. A `SecretString` that changed with the
 * configuration (a new hostname, credential name or user) would make CloudFormation put it as a new
 * AWSCURRENT on the next deploy — a value without the key NVCF and the rotation depend on. Identity is only
 * written with the first key; a configuration change under a secret that has one is refused by the rotation
 * ({@link assertValueMatchesRegistry}) and reported by the audit (`iam.key-matches-secret`).
 */
export const DEPLOYED_BOOTSTRAP_VALUE = JSON.stringify({
  bootstrap: 'no key yet: the first rotation (nvcf-ecr rotate) writes it',
});

/** The bootstrap value of a registry's secret, as the sandbox runtime creates it (who and where, no key). */
export function bootstrapSecretValue(registry: RegistryConfig): string {
  return JSON.stringify({
    userName: registry.userName,
    registryHostname: registry.hostname,
    credentialName: registry.credentialName,
  });
}

/**
 * Checks that a value belongs to `registry`: the same pull user, hostname and NVCF credential name. A
 * mismatch means the configuration changed under a live secret (or the secret was edited): rotating would
 * touch the wrong user or the wrong NVCF credential, so the rotation stops and says which member differs.
 */
export function assertValueMatchesRegistry(
  value: RotatedSecretValue,
  registry: RegistryConfig,
  source: ValueSource,
): void {
  // A bootstrap value without identity (the stacks' constant) belongs to whichever registry owns the secret.
  if (value.kind === 'bootstrap' && value.userName === undefined) return;
  const differences: string[] = [];
  if (value.userName !== registry.userName)
    differences.push(`userName '${value.userName}' ≠ configured '${registry.userName}'`);
  if (value.registryHostname !== registry.hostname)
    differences.push(`registryHostname '${value.registryHostname}' ≠ configured '${registry.hostname}'`);
  if (value.credentialName !== registry.credentialName)
    differences.push(`credentialName '${value.credentialName}' ≠ configured '${registry.credentialName}'`);
  if (differences.length === 0) return;
  throw new RotationError(
    source.step,
    source.secretId,
    `The value of ${source.version} of secret ${source.secretId} does not belong to registry '${registry.name}': ` +
      `${differences.join('; ')}. Redeploy the stacks with the configuration that created this secret, or ` +
      'rename the registry so that it gets a new secret.',
  );
}
