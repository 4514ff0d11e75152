import type { Finding } from '../model.ts';
import { mapLimit } from '../pace.ts';
import { functionFindings } from './function-images.ts';
import type { ImageCheckInput } from './image-catalog.ts';
import { repositoryFindings } from './repository-images.ts';

/**
 * Image checks: every tagged image of the configured repositories meets its platform policy and has all its
 * index children (lifecycle rules may delete them, https://github.com/aws/containers-roadmap/issues/1466;
 * push events are "emitted on a best effort basis",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html, so this is the backstop of
 * push validation); every image an NVCF function version uses exists, and a deployed function's image has the
 * CPU architecture of its deployment (GB200 "requires ARM64":
 * https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/third-party-registries.html).
 *
 * This file runs them: it scans the configured repositories once and hands the scans to the repository
 * checks (`repository-images.ts`) and the function checks (`function-images.ts`, `function-architecture.ts`);
 * the definitions live in `image-catalog.ts`.
 */

export { IMAGE_CHECKS, type ImageCheckInput, imageRef, repositoryRef } from './image-catalog.ts';

export async function imageChecks(input: ImageCheckInput): Promise<Finding[]> {
  const { registries, scanner, logger } = input;
  const targets = registries.flatMap((registry) =>
    registry.repositories.map((repository) => ({ registry, repository })),
  );
  const scans = await mapLimit(targets, input.repositoryConcurrency, async ({ registry, repository }) => {
    const scan = await scanner.scanRepository(registry, repository);
    input.onRepository?.(registry.name, repository);
    return scan;
  });
  const findings: Finding[] = [];
  for (const scan of scans) findings.push(...repositoryFindings(scan));
  findings.push(...(await functionFindings(input, scans)));
  logger.debug('image checks done', { repositories: scans.length, findings: findings.length });
  return findings;
}
