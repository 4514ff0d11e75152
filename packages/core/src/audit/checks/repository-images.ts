/**
 * image.platforms and image.index-children-present for the tagged images of one configured repository: every
 * image meets its repository's platform policy and has all its index children. Apart from the checks of the
 * images NVCF functions use (`function-images.ts`), which read the same scans.
 */
import type { RegistryConfig } from '../../config/index.ts';
import { listText, plural } from '../check.ts';
import type { RepositoryScan, ScannedImage } from '../images.ts';
import type { Finding, FindingDraft } from '../model.ts';
import { imageFinding as f, IMAGE_CHECKS, imageRef, repositoryRef } from './image-catalog.ts';

function imageEvidence(registry: RegistryConfig, image: ScannedImage): Record<string, unknown> {
  const o = image.outcome;
  return {
    repository: repositoryRef(registry, image.repository),
    digest: image.digest,
    tags: image.tags,
    mediaType: image.mediaType ?? null,
    pushedAt: image.pushedAt ?? null,
    ...(o.kind === 'resolved'
      ? {
          kind: o.imageKind,
          platforms: o.platforms,
          required: o.evaluation.required,
          missing: o.evaluation.missing,
          reasons: o.evaluation.reasons,
        }
      : {}),
  };
}

/** image.platforms and image.index-children-present for one repository. */
export function repositoryFindings(scan: RepositoryScan): Finding[] {
  const { registry, repository } = scan;
  const repo = repositoryRef(registry, repository);
  const P = IMAGE_CHECKS.platforms;
  const C = IMAGE_CHECKS.indexChildrenPresent;
  // Not started before the deadline: audit.incomplete names it; a finding here would claim what was not read.
  if (scan.state === 'unreached') return [];
  if (scan.state === 'missing') {
    const draft: FindingDraft = {
      status: 'fail',
      severity: 'low',
      resource: repo,
      message: `Repository ${repository} is configured for registry ${registry.name} but does not exist in ${registry.hostname}.`,
      evidence: { repository: repo },
      remediation: `Create the repository, or remove '${repository}' from registries[].repositories (and redeploy: the pull policy follows the configuration).`,
    };
    return [f(P, registry, draft)];
  }
  if (scan.state === 'error') {
    const message = `Repository ${repository} could not be listed: ${scan.error ?? 'unknown failure'}`;
    const remediation =
      'Check that the audit may call ecr:DescribeImages, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository.';
    return [
      f(P, registry, { status: 'error', resource: repo, message, remediation }),
      f(C, registry, { status: 'error', resource: repo, message, remediation }),
    ];
  }
  if (scan.state === 'public') {
    const evidence = {
      repository: repo,
      taggedImages: scan.images.length,
      images: scan.images
        .slice(0, 50)
        .map((i) => ({ digest: i.digest, tags: i.tags, mediaType: i.mediaType ?? null })),
    };
    const why =
      'ECR Public has no manifest API (no BatchGetImage or GetDownloadUrlForLayer), so the audit cannot read its manifests';
    return [
      f(P, registry, {
        status: 'fail',
        severity: 'info',
        resource: repo,
        message: `Not verified: ${plural(scan.images.length, 'tagged image')} in ${repo}; ${why}.`,
        evidence,
        remediation: 'Check images before pushing them (nvcf-ecr check <image> --require <platforms>).',
      }),
      f(C, registry, {
        status: 'fail',
        severity: 'info',
        resource: repo,
        message: `Not verified: the children of indexes in ${repo}; ${why}.`,
        evidence,
        remediation: 'Check images before pushing them (nvcf-ecr check <image>).',
      }),
    ];
  }

  const out: Finding[] = [];
  let compliant = 0;
  let artifacts = 0;
  let gone = 0;
  let unresolved = 0;
  let indexes = 0;
  let platformProblems = 0;
  let childProblems = 0;
  let required: readonly string[] = [];
  for (const image of scan.images) {
    const o = image.outcome;
    const ref = imageRef(registry, image);
    if (o.kind === 'gone') {
      gone++;
      continue;
    }
    if (o.kind !== 'resolved') {
      unresolved++;
      platformProblems++;
      out.push(
        f(P, registry, {
          status: 'error',
          resource: ref,
          message: `${ref} could not be resolved: ${o.kind === 'error' ? o.message : 'not readable'}`,
          evidence: imageEvidence(registry, image),
          remediation:
            'Fix what the message names (a malformed manifest must be pushed again), then run the audit again.',
        }),
      );
      continue;
    }
    required = o.evaluation.required;
    if (o.imageKind === 'index') indexes++;
    if (o.missingChildren.length > 0) {
      childProblems++;
      out.push(
        f(C, registry, {
          status: 'fail',
          resource: ref,
          message: `${ref} (${image.digest}) refers to ${plural(o.missingChildren.length, 'child', 'children')} that ${o.missingChildren.length === 1 ? 'does' : 'do'} not exist in ${repository}: ${listText(
            o.missingChildren.map((c) => `${c.digest}${c.platform ? ` (${c.platform})` : ''}`),
            4,
          )} (deleted, or archived: an archived image cannot be pulled). NVCF cannot pull ${o.missingChildren.length === 1 ? 'that platform' : 'those platforms'}.`,
          evidence: { ...imageEvidence(registry, image), missingChildren: o.missingChildren },
        }),
      );
    }
    if (o.imageKind === 'artifact') {
      artifacts++;
      continue;
    }
    if (o.evaluation.verdict === 'compliant') {
      compliant++;
      continue;
    }
    platformProblems++;
    out.push(
      f(P, registry, {
        status: 'fail',
        severity: o.evaluation.verdict === 'not-runnable' ? 'medium' : undefined,
        resource: ref,
        message: `${ref} (${image.tags.length > 1 ? `tags ${image.tags.join(', ')}; ` : ''}${image.digest}): ${o.evaluation.reasons.join('; ')}.`,
        evidence: imageEvidence(registry, image),
      }),
    );
  }
  const skipped = [
    ...(artifacts > 0 ? [`${plural(artifacts, 'artifact')} skipped`] : []),
    ...(gone > 0 ? [`${plural(gone, 'image')} deleted during the audit`] : []),
  ];
  const counts = {
    taggedImages: scan.images.length,
    compliant,
    artifacts,
    indexes,
    deletedDuringAudit: gone,
    unresolved,
  };
  if (platformProblems === 0) {
    out.push(
      f(P, registry, {
        status: 'pass',
        resource: repo,
        message:
          scan.images.length === 0
            ? `${repo} has no tagged image.`
            : `All ${plural(compliant, 'tagged image')} of ${repo} provide ${required.join(', ')}${skipped.length > 0 ? ` (${skipped.join(', ')})` : ''}.`,
        evidence: { repository: repo, ...counts },
      }),
    );
  }
  if (unresolved > 0) {
    out.push(
      f(C, registry, {
        status: 'error',
        resource: repo,
        message: `${plural(unresolved, 'tagged image')} of ${repo} could not be resolved, so their children were not checked (see image.platforms).`,
        evidence: { repository: repo, ...counts },
      }),
    );
  } else if (childProblems === 0) {
    out.push(
      f(C, registry, {
        status: 'pass',
        resource: repo,
        message: `All ${plural(indexes, 'tagged index', 'tagged indexes')} of ${repo} have every child manifest and config.`,
        evidence: { repository: repo, ...counts },
      }),
    );
  }
  return out;
}
