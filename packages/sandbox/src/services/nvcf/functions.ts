/**
 * NVCF's function versions and deployments as an account sees them (`GET /v2/nvcf/functions`, versions,
 * deployments): visibility, ownership and the details hidden from other accounts. Pure reads over the
 * backend's lists, apart from the credential rules.
 */
import { nvcfErrors } from './errors.ts';
import { type DeploymentRecord, type FunctionRecord, functionView, type Visibility } from './records.ts';

/**
 * Function versions visible to `ncaId` under `visibility` (`GET /v2/nvcf/functions`, one entry per version):
 * `private` = the account's own, `authorized`/`public` = seeded as shared or public. Versions owned by
 * another account come with `ownedByDifferentAccount: true` and their artifact details blanked
 * (`hideDetailsForPublicAndSharedFunctions`).
 */
export function listFunctions(
  functions: readonly FunctionRecord[],
  ncaId: string,
  visibility: readonly Visibility[],
): Record<string, unknown>[] {
  return functions
    .filter((f) => visibility.includes(f.visibility) && (f.visibility !== 'private' || f.dto.ncaId === ncaId))
    .map((f) => functionView(f, ncaId));
}

export function functionVersions(
  functions: readonly FunctionRecord[],
  ncaId: string,
  fid: string,
): Record<string, unknown>[] {
  const versions = functions.filter(
    (f) => f.dto.id === fid && (f.visibility !== 'private' || f.dto.ncaId === ncaId),
  );
  if (versions.length === 0) throw nvcfErrors.functionNotFound(fid, ncaId);
  return versions.map((f) => functionView(f, ncaId));
}

export function functionVersion(
  functions: readonly FunctionRecord[],
  ncaId: string,
  fid: string,
  vid: string,
): Record<string, unknown> {
  const f = functions.find(
    (x) =>
      x.dto.id === fid && x.dto.versionId === vid && (x.visibility !== 'private' || x.dto.ncaId === ncaId),
  );
  if (!f) throw nvcfErrors.versionNotFound(fid, vid, ncaId);
  return functionView(f, ncaId);
}

/** `GET /v2/nvcf/deployments/functions/{fid}/versions/{vid}`: only the account's own versions deploy. */
export function deploymentOf(
  functions: readonly FunctionRecord[],
  deployments: readonly DeploymentRecord[],
  ncaId: string,
  fid: string,
  vid: string,
): DeploymentRecord {
  if (!functions.some((f) => f.dto.id === fid && f.dto.versionId === vid && f.dto.ncaId === ncaId)) {
    throw nvcfErrors.versionNotFound(fid, vid, ncaId);
  }
  const d = deployments.find((x) => x.functionId === fid && x.functionVersionId === vid && x.ncaId === ncaId);
  if (!d) throw nvcfErrors.deploymentNotFound(vid);
  return d;
}

export function deploymentById(
  deployments: readonly DeploymentRecord[],
  ncaId: string,
  deploymentId: string,
): DeploymentRecord {
  const d = deployments.find((x) => x.deploymentId === deploymentId && x.ncaId === ncaId);
  if (!d) throw nvcfErrors.deploymentIdNotFound(deploymentId);
  return d;
}
