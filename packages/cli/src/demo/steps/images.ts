import { requiredPlatforms } from '@nvcf-ecr/core/config';
import { DETAIL_TYPES, NOTIFICATION_RULE_PREFIX } from '@nvcf-ecr/core/events';
import { openOciLayout, type Verdict } from '@nvcf-ecr/core/image';
import type { ImageValidationDetail } from '@nvcf-ecr/core/validation';
import type { pushImage } from '@nvcf-ecr/sandbox';
import { loadSandbox } from '../../sandbox-module.ts';
import { type DemoContext, expectThat } from '../context.ts';
import type { DemoStep } from '../step.ts';

/**
 * Step 2. Real images pushed through the ECR API (layer uploads and PutImage, as docker or skopeo push),
 * each push judged by the push-validation function from ECR's event, and the verdict read back from the
 * project bus. The story: a compliant multi-platform index; an amd64-only image in the GB200 repository
 * (non-compliant: Grace CPUs are Arm); the fix, the same tag rebuilt by buildx for both platforms with
 * provenance attestations (compliant, attestations ignored); an SBOM artifact (verdict `artifact`: judged,
 * never notified).
 */

interface DemoImage {
  /** Which layout: the project's built images or regclient's buildx test repository. */
  layout: 'images' | 'regclient';
  ref: string;
  repository: string;
  tag: string;
  /** What the image is, for the narration. */
  what: string;
  verdict: Verdict;
  /** Platforms the verdict must name as missing. */
  missing?: string[];
  /** The verdict must list ignored entries (attestations, the artifact itself). */
  ignores?: boolean;
}

/** The images the demo pushes, in the order of the story. */
export function demoImages(): DemoImage[] {
  return [
    {
      layout: 'regclient',
      ref: 'b1',
      repository: 'inference',
      tag: 'v1',
      what: 'a docker buildx index for linux/amd64, linux/arm64, linux/arm/v7 and linux/arm/v6',
      verdict: 'compliant',
    },
    {
      layout: 'images',
      ref: 'amd64-oci',
      repository: 'inference-gb200',
      tag: 'v1',
      what: 'an amd64-only image, pushed to the repository of the GB200 functions',
      verdict: 'non-compliant',
      missing: ['linux/arm64'],
    },
    {
      layout: 'images',
      ref: 'attested',
      repository: 'inference-gb200',
      tag: 'v1',
      what: 'the fix: the same tag rebuilt with buildx --platform linux/amd64,linux/arm64 --provenance=true',
      verdict: 'compliant',
      ignores: true,
    },
    {
      layout: 'regclient',
      ref: 'a1',
      repository: 'tools',
      tag: 'sbom',
      what: 'an artifact (an SBOM that refers to an image): recorded, never an alert',
      verdict: 'artifact',
      ignores: true,
    },
  ];
}

export const images: DemoStep = {
  name: 'push images',
  title: 'Real images pushed to ECR, each judged by push validation',
  why: 'A function fails to scale hours later when its image lacks the CPU architecture it is deployed on; the push is the moment to say so.',
  async run(ctx) {
    const evidence: string[] = [];
    const pulls: string[] = [];
    for (const image of demoImages()) {
      const detail = await pushAndJudge(ctx, image);
      const name = `${image.repository}:${image.tag}`;
      evidence.push(
        `${name} ${detail.verdict}${detail.missing.length ? ` (missing ${detail.missing.join(', ')})` : ''}`,
      );
      if (detail.verdict === 'compliant') pulls.push(`${ctx.registry.hostname}/${name}`);
    }
    ctx.state.pullImages = [...new Set(pulls)];
    return { evidence: evidence.join('; ') };
  },
};

async function pushAndJudge(ctx: DemoContext, image: DemoImage): Promise<ImageValidationDetail> {
  const { narrator: n, registry } = ctx;
  const name = `${image.repository}:${image.tag}`;
  const required = requiredPlatforms(registry, image.repository);
  n.say(`${n.style.bold(name)} ← ${image.what}`);
  n.say(`  ${image.repository} requires ${required.join(', ')}`);
  const dir = image.layout === 'regclient' ? ctx.project.regclient : ctx.project.images;
  const source = await openOciLayout(dir);
  const { pushImage: push } = await loadSandbox();
  let pushed: Awaited<ReturnType<typeof pushImage>>;
  try {
    pushed = await push(ctx.aws.ecr, source, image.ref, {
      repositoryName: image.repository,
      tag: image.tag,
    });
  } finally {
    await source.close();
  }
  n.say(
    `  pushed ${pushed.digest.slice(0, 19)}… (${pushed.manifests} manifest${pushed.manifests === 1 ? '' : 's'}, ` +
      `${pushed.blobsUploaded} blob${pushed.blobsUploaded === 1 ? '' : 's'} uploaded)`,
  );
  await ctx.sb.settle(60_000);
  const verdicts = (await ctx.projectEvents<ImageValidationDetail>(DETAIL_TYPES.imageValidation)).filter(
    (e) =>
      e.detail.repository === image.repository &&
      e.detail.tag === image.tag &&
      e.detail.digest === pushed.digest,
  );
  expectThat(
    verdicts.length === 1,
    `one verdict for ${name} (${pushed.digest}) should be on the project bus; there are ${verdicts.length}`,
  );
  const { detail, matchedRules } = verdicts[0] as (typeof verdicts)[number];
  const platforms = detail.platforms.length ? detail.platforms.join(', ') : 'none';
  expectThat(
    detail.verdict === image.verdict,
    `${name} should be ${image.verdict}; push validation said ${detail.verdict}: ${shortDigests(detail.reasons.join(' '))}`,
  );
  for (const platform of image.missing ?? []) {
    expectThat(
      detail.missing.includes(platform),
      `${name} should be missing ${platform}; the verdict names ${detail.missing.join(', ') || 'nothing'}`,
    );
  }
  const word =
    detail.verdict === 'compliant' ? n.style.green(detail.verdict) : n.style.yellow(detail.verdict);
  n.say(
    `  verdict ${word}: platforms ${platforms}${detail.missing.length ? `; missing ${detail.missing.join(', ')}` : ''}`,
  );
  if (image.ignores) {
    expectThat(
      detail.ignored.length > 0,
      `${name}: the verdict should list the entries it ignored (attestations, artifacts)`,
    );
    for (const entry of detail.ignored) n.say(`  ignored ${shortDigests(entry.reason)}`);
  }
  const notify = matchedRules.filter((arn) => arn.includes(`/${NOTIFICATION_RULE_PREFIX}`));
  if (detail.verdict !== 'compliant' && notify.length > 0) {
    n.say(
      `  routed to ${notify.map((arn) => arn.slice(arn.lastIndexOf('/') + 1)).join(', ')} (an e-mail, once deployed)`,
    );
  }
  n.ok(`${image.verdict}, as expected for ${name}`);
  return detail;
}

/** `sha256:0123456789ab…` instead of 71 characters, for narration. */
function shortDigests(text: string): string {
  return text.replace(/(sha256:[0-9a-f]{12})[0-9a-f]{52}/g, '$1…');
}
