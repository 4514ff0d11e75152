import { join } from 'node:path';
import { FUNCTIONS } from '@nvcf-ecr/core/events';
import { describe, expect, it } from 'vitest';
import { bundleInputs, ROOT } from '../licences/closure.ts';

// The audit's Lambda bundle reaches S3, EventBridge and ECR Public through signed requests
// (functions/lib/aws/), not SDK clients: the three clients would put it over its size budget
// (test/bench/README.md, "Cold start"). Importing one of their command classes anywhere on the audit's path —
// core's audit code included — pulls the whole client back in; esbuild's inputs show it.

const SWAPPED = ['@aws-sdk/client-s3', '@aws-sdk/client-eventbridge', '@aws-sdk/client-ecr-public'];

const clientsIn = (inputs: readonly string[]) =>
  SWAPPED.filter((pkg) => inputs.some((path) => path.includes(`node_modules/${pkg}/`)));

describe('Bundling: the audit without the S3, EventBridge and ECR Public clients', () => {
  it('bundles none of the three clients, and still the signer and the clients it keeps', async () => {
    const inputs = await bundleInputs({ path: join(ROOT, FUNCTIONS.audit.entry) });
    expect(clientsIn(inputs)).toEqual([]);
    for (const kept of ['@smithy/signature-v4', '@aws-sdk/client-ecr', '@aws-sdk/client-iam'])
      expect(
        inputs.some((path) => path.includes(`node_modules/${kept}/`)),
        kept,
      ).toBe(true);
  }, 60_000);

  it('would see an SDK adapter imported on the audit’s path', async () => {
    const inputs = await bundleInputs({
      contents: [
        `export * from './${FUNCTIONS.audit.entry}';`,
        `export { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';`,
      ].join('\n'),
      resolveDir: ROOT,
    });
    // The SDK adapters of the ports (what the other functions use) import all three.
    expect(clientsIn(inputs)).toEqual(SWAPPED);
  }, 60_000);
});
