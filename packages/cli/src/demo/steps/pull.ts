import { expectThat } from '../context.ts';
import type { DemoStep } from '../step.ts';

/**
 * Step 3. NVCF starting an instance: the sandbox's NVCF takes the registry credential it stores for the
 * image's host, decodes the key, gets an ECR token with it and fetches the manifest — what NVCF's compute
 * plane does (`POST /_sandbox/nvcf/pull`).
 */
export const pull: DemoStep = {
  name: 'NVCF pull',
  title: 'NVCF pulls the compliant images with the credential it stores',
  why: 'This is the whole point: NVCF can start instances from the images in ECR, with no human in the loop.',
  async run(ctx) {
    const images = ctx.state.pullImages;
    expectThat(images.length > 0, 'a compliant image should have been pushed in the previous step');
    const credentials = new Set<string>();
    for (const image of images) {
      const result = await ctx.nvcfPull(image);
      expectThat(result.ok, `NVCF should pull ${image}; it failed: ${result.ok ? '' : result.error}`);
      credentials.add(result.credentialId);
      ctx.narrator.ok(
        `pulled ${image.slice(image.indexOf('/') + 1)} (${result.digest.slice(0, 19)}…) with credential ${result.credentialId}`,
      );
    }
    return {
      evidence: `${images.length}/${images.length} pulls ok with credential ${[...credentials].join(', ')}`,
    };
  },
};
