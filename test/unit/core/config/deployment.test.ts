import { assertConfig, deploymentRegion } from '@nvcf-ecr/core/config';
import { describe, expect, it } from 'vitest';

// Where the stacks put every secret, the NGC key secret and the bus (stacks/README.md): the region of the first
// private registry, whose push events must be received there; ECR Public authenticates in us-east-1 only
// (https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).

const registry = (name: string, hostname: string) => ({
  name,
  hostname,
  accountId: '123456789012',
  repositories: ['inference'],
  credentialName: `ecr-${name}`,
});

describe('Function: deploymentRegion', () => {
  it('is the region of the first private registry, whatever the regions of the others', () => {
    const config = assertConfig({
      ngc: { apiKeySecretName: 'ngc' },
      registries: [
        registry('public', 'public.ecr.aws'),
        registry('eu', '123456789012.dkr.ecr.eu-west-1.amazonaws.com'),
        registry('us', '123456789012.dkr.ecr.us-east-1.amazonaws.com'),
      ],
    });
    expect(deploymentRegion(config)).toBe('eu-west-1');
  });

  it('is us-east-1 for a configuration of ECR Public registries only', () => {
    const config = assertConfig({
      ngc: { apiKeySecretName: 'ngc' },
      registries: [registry('public', 'public.ecr.aws')],
    });
    expect(deploymentRegion(config)).toBe('us-east-1');
  });
});
