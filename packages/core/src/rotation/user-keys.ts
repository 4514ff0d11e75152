import type { RegistryConfig } from '../config/index.ts';
import type { RotationStepName } from '../errors.ts';
import type { ResolvedDeps } from './deps.ts';
import { type ClassifiedKey, classifyKeys, findSupersededKeys, pullKeyOf } from './keys.ts';
import {
  listAccessKeys,
  parseIntent,
  ROTATION_TAGS,
  readValue,
  type SecretState,
  type StoredValue,
} from './state.ts';

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
