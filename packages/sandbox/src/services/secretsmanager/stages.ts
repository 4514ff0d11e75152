/**
 * Staging labels, the part emulators got wrong for years (floci-io/floci#1518, getmoto/moto#8504): one label
 * names one version, AWSPREVIOUS follows AWSCURRENT, and unlabelled versions are pruned. Pure functions over a
 * secret record, apart from the backend that keeps the secrets and the clock.
 */
import { smErrors } from './errors.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  KEEP_RECENT_MS,
  KEPT_VERSIONS,
  MAX_STAGES_PER_VERSION,
  type SecretRecord,
  type VersionRecord,
} from './records.ts';

/** AWSCURRENT first, so that the labels it drags along (AWSPREVIOUS) settle before the others move. */
export function orderedStages(stages: readonly string[]): string[] {
  return [...new Set(stages)].sort((a, b) => (a === AWSCURRENT ? -1 : b === AWSCURRENT ? 1 : 0));
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
export function attachStage(secret: SecretRecord, label: string, target: VersionRecord): void {
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
export function moveStageLabel(
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
    attachStage(secret, label, target);
  } else {
    if (!from) throw smErrors.moveOrRemoveRequired();
    if (from !== holder) throw smErrors.removeFromMismatch(label, holder?.versionId);
    if (label === AWSCURRENT) throw smErrors.cannotRemoveCurrent(from.versionId);
    from.stages = from.stages.filter((s) => s !== label);
  }
}

/** Removes the oldest unlabelled versions beyond {@link KEPT_VERSIONS}, keeping any created in the last day. */
export function pruneVersions(secret: SecretRecord, nowMs: number): void {
  let excess = secret.versions.length - KEPT_VERSIONS;
  if (excess <= 0) return;
  const cutoff = nowMs - KEEP_RECENT_MS;
  secret.versions = secret.versions.filter((v) => {
    if (excess > 0 && v.stages.length === 0 && v.createdDate < cutoff) {
      excess--;
      return false;
    }
    return true;
  });
}
