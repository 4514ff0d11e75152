import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The regclient test repository (regclient/regclient:testdata/testrepo), an OCI layout committed under
 * `test/fixtures/regclient-testrepo` and read in place: its blobs by digest, and the digests tests name.
 */

export const REGCLIENT = 'test/fixtures/regclient-testrepo';

/** The 4-platform index tagged b1 (amd64, arm64, arm/v7, arm/v6). */
export const B1 = 'sha256:119b4a63feeda91d4874578e7883994fc45772dd912aa49ba380f87507f6ad07';

export const blob = (digest: string): Buffer =>
  readFileSync(`${REGCLIENT}/blobs/sha256/${digest.slice('sha256:'.length)}`);

export const text = (digest: string): string => blob(digest).toString('utf8');

export const sha256 = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** b1's platforms, in its index's order. */
export const B1_PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6'];

/**
 * What the engine finds judging b1 against linux/amd64 and linux/arm64: compliant. `policyOf` names the
 * repository whose policy was applied, as the reason says. A `check --json` report and a verdict event add
 * where the image is.
 */
export function b1Compliant(policyOf?: string) {
  const judged = policyOf === undefined ? '' : ` for repository ${policyOf}`;
  return {
    mediaType: 'application/vnd.oci.image.index.v1+json',
    kind: 'index',
    platforms: B1_PLATFORMS,
    ignored: [],
    mismatches: [],
    warnings: [],
    required: ['linux/amd64', 'linux/arm64'],
    missing: [],
    verdict: 'compliant',
    reasons: [
      `provides every required platform (linux/amd64, linux/arm64)${judged}: the image has ${B1_PLATFORMS.join(', ')}`,
    ],
  };
}
