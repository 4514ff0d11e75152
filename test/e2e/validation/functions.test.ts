import { randomUUID } from 'node:crypto';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { CreateSecretCommand, DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { assertConfig } from '@nvcf-ecr/core/config';
import { imageValidationDetailSchema } from '@nvcf-ecr/core/validation';
import type { DeadLetter } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, control } from '../../helpers/sandbox.ts';
import {
  BUILT,
  Layout,
  pushWithApi,
  startValidationSandbox,
  type ValidationSandbox,
  verdictsFor,
} from './helpers.ts';

/**
 * Function-aware push validation and the not-found retry through Lambda, end to end: the sandbox's NVCF
 * emulation holds functions and deployments (seeded), the real handler lists them with the NGC key the sandbox
 * stored, and every repository's own policy asks for linux/amd64 only. The validation function's timeout is
 * cut to 13 s, so a not-found push has about 1.5 s of look-ups (10 s are kept to report) before it is left to
 * Lambda's retries.
 */

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const built = new Layout(BUILT);
const REPOSITORIES = ['fn-nokey', 'fn-down', 'fn-gb200', 'fn-free', 'late'];

describe('Function-aware validation on the sandbox', () => {
  let v: ValidationSandbox;
  let ecr: ECRClient;
  const fn = { id: randomUUID(), versionId: randomUUID(), name: 'llm-gb200' };

  beforeAll(async () => {
    const config = assertConfig({
      ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
      registries: [
        {
          name: 'prod',
          hostname: HOST,
          repositories: REPOSITORIES,
          credentialName: 'ecr-prod',
          platforms: { require: ['linux/amd64'] },
        },
      ],
    });
    v = await startValidationSandbox(config, { functionTimeoutSeconds: { validatePush: 13 } });
    ecr = clients(v.sb).ecr;
    const gb200 = { gpu: 'GB200', instanceType: 'AWS.GPU.GB200_4x.x2', minInstances: 1, maxInstances: 1 };
    await control(v.sb, 'POST', 'seed', {
      nvcf: {
        functions: [
          // Two tags of one function: the first runs on GB200 (Grace, Arm), the second is not the pushed tag.
          { ...fn, containerImage: `${HOST}/fn-gb200:v1`, status: 'ACTIVE' },
          { ...fn, versionId: randomUUID(), containerImage: `${HOST}/fn-free:v2`, status: 'ACTIVE' },
          { ...fn, versionId: randomUUID(), containerImage: `${HOST}/fn-down:v1`, status: 'ACTIVE' },
        ],
        deployments: [
          { functionId: fn.id, functionVersionId: fn.versionId, deploymentSpecifications: [gb200] },
        ],
      },
    });
  });
  afterAll(() => v.sb.close());

  async function pushAndJudge(repository: string) {
    await pushWithApi(ecr, built, 'amd64-oci', repository, 'v1');
    await v.sb.settle();
    const verdicts = await verdictsFor(v.sb, repository);
    expect(verdicts).toHaveLength(1);
    const verdict = verdicts[0] as NonNullable<(typeof verdicts)[0]>;
    expect(imageValidationDetailSchema.safeParse(verdict).success).toBe(true);
    return verdict;
  }

  // First, while the handler holds no NGC key and no function list: a failed read is never kept.
  it('gives the repository verdict, marked skipped, when the NGC API key secret is missing', async () => {
    const { secrets } = clients(v.sb);
    const SecretId = 'nvcf-ecr/ngc-api-key';
    await secrets.send(new DeleteSecretCommand({ SecretId, ForceDeleteWithoutRecovery: true }));
    const verdict = await pushAndJudge('fn-nokey');
    await secrets.send(new CreateSecretCommand({ Name: SecretId, SecretString: v.sb.ngcApiKey }));
    expect(verdict).toMatchObject({
      verdict: 'compliant',
      required: ['linux/amd64'],
      functionCheck: 'skipped',
    });
    expect(verdict.warnings).toHaveLength(1);
    expect(verdict.warnings[0]).toMatch(
      /^NVCF function check skipped: NVCF could not be read \(NvcfApiKeyError: /,
    );
    expect(JSON.stringify(verdict)).not.toContain(v.sb.ngcApiKey);
  });

  // First, while the handler's function list is still empty: a failed listing is never kept.
  it('gives the repository verdict, marked skipped, when NVCF answers errors', async () => {
    await control(v.sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'ListFunctions',
      error: { status: 500, message: 'injected outage' },
      times: 10,
    });
    const verdict = await pushAndJudge('fn-down');
    await control(v.sb, 'DELETE', 'faults');
    expect(verdict).toMatchObject({
      verdict: 'compliant',
      required: ['linux/amd64'],
      functionCheck: 'skipped',
      functions: [],
    });
    expect(verdict.warnings).toHaveLength(1);
    expect(verdict.warnings[0]).toMatch(/^NVCF function check skipped: NVCF could not be read \(.*500/);
  });

  it('judges an amd64-only push to a tag a GB200 function deploys non-compliant, naming the function', async () => {
    const verdict = await pushAndJudge('fn-gb200');
    expect(verdict).toMatchObject({
      verdict: 'non-compliant',
      platforms: ['linux/amd64'],
      required: ['linux/amd64', 'linux/arm64'],
      missing: ['linux/arm64'],
      functionCheck: 'checked',
      functions: [{ ...fn, status: 'ACTIVE', requires: ['linux/arm64'] }],
    });
    expect(verdict.reasons[0]).toBe(
      `missing linux/arm64 required by NVCF function llm-gb200 (${fn.id}, version ${fn.versionId}), whose deployment's GB200 (AWS.GPU.GB200_4x.x2) runs on Grace (Arm) CPUs (the image has linux/amd64)`,
    );
  });

  it('judges a push to a tag no function uses by the repository policy alone', async () => {
    const verdict = await pushAndJudge('fn-free');
    expect(verdict).toMatchObject({
      verdict: 'compliant',
      required: ['linux/amd64'],
      warnings: [],
      functionCheck: 'checked',
      functions: [],
    });
  });

  it('leaves a recent push not found to Lambda: three attempts, then the failure destination, no verdict', async () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '123456789012',
      // Just pushed, by the sandbox's clock: ECR may not serve it yet.
      time: v.sb.world.clock.now().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': 'late',
        'image-digest': digest,
        'action-type': 'PUSH',
        'image-tag': 'v1',
        'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
      },
    };
    v.sb.lambda.invokeAsync(v.arn, event, 'test');
    await v.sb.settle();
    expect(await verdictsFor(v.sb, 'late')).toEqual([]);
    const { runtime } = await control<{ runtime: { deadLetters: DeadLetter[] } }>(v.sb, 'GET', 'state');
    const letter = runtime.deadLetters.find((d) => (d.event as { id?: string }).id === event.id);
    expect(letter).toMatchObject({ functionArn: v.arn, attempts: 3, error: { name: 'ImageSourceError' } });
    expect(letter?.error.message).toContain(`manifest ${digest} was not found`);
    expect(letter?.error.message).toContain('ECR may not serve it yet, so the event is retried');
    // Each attempt waited 0.5 s, then 1 s at most: the 13 s timeout less the 10 s kept to report leaves no 2 s wait.
    const delays = v.logs
      .filter(
        (r) => r.message === 'image not found yet, looking again' && r.fields['ecrEventId'] === event.id,
      )
      .map((r) => r.fields['delayMs']);
    expect(delays.filter((d) => d === 500)).toHaveLength(3);
    expect(delays.every((d) => d === 500 || d === 1000)).toBe(true);
  });
});
