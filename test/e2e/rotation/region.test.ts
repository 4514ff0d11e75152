import { assertConfig } from '@nvcf-ecr/core/config';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control, withSandbox } from '../../helpers/sandbox.ts';
import { rotationHandlers } from './harness.ts';

/**
 * A deployment outside us-east-1. IAM is global and signs for its partition's region; with the sandbox's endpoint
 * override the SDK signs for the client's region, so the handlers must configure their IAM client with the
 * partition's IAM region (the sandbox refuses IAM signed for eu-west-1, as AWS does).
 */
describe('Rotation: a registry in eu-west-1', () => {
  let sb: RunningSandbox;

  beforeAll(async () => {
    const config = assertConfig({
      ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
      registries: [
        {
          name: 'eu',
          hostname: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
          repositories: ['inference'],
          credentialName: 'ecr-eu',
        },
      ],
    });
    sb = await withSandbox({ config, handlers: rotationHandlers(['rotateCredential']) });
    await sb.settle();
  });
  afterAll(() => sb.close());

  it('bootstraps: the handler talks to IAM signed for us-east-1 and NVCF holds the new key', async () => {
    expect(sb.region).toBe('eu-west-1');
    const state = await control<{
      iam: { users: { userName: string; keys: { accessKeyId: string; status: string }[] }[] };
      nvcf: { credentials: { registryHostname: string; username: string }[] };
    }>(sb, 'GET', 'state');
    const keys = state.iam.users.find((u) => u.userName === 'nvcf-ecr-eu')?.keys ?? [];
    expect(keys.map((k) => k.status)).toEqual(['Active']);
    const credential = state.nvcf.credentials.find(
      (c) => c.registryHostname === '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
    expect(credential?.username).toBe(keys[0]?.accessKeyId);
  });
});
