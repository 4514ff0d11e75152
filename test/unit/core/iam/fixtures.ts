import { assertConfig, type RegistryConfig } from '@nvcf-ecr/core/config';

/** Shared inputs of the IAM tests: registries built through the real configuration parser. */

export const ACCOUNT = '123456789012';
export const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/nvcf-ecr-prod`;

// https://docs.nvidia.com/nvcf/third-party-registries: private needs ecr:GetAuthorizationToken on * and these four
// on the repository ARNs.
export const PULL = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:DescribeImages',
];

export function registry(overrides: Record<string, unknown> = {}): RegistryConfig {
  const config = assertConfig({
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'prod',
        hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        repositories: ['tools', 'inference'],
        credentialName: 'ecr-prod',
        ...overrides,
      },
    ],
  });
  const [r] = config.registries;
  if (!r) throw new Error('the test configuration has no registry');
  return r;
}

/** AWS managed policy AdministratorAccess, its real document. */
export const ADMINISTRATOR_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
