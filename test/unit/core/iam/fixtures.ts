import type { RegistryConfig } from '@nvcf-ecr/core/config';
import { ACCOUNT, prodConfig } from '../../../helpers/config.ts';

/** Shared inputs of the IAM tests: registries built through the real configuration parser. */

export { ACCOUNT };
export const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/nvcf-ecr-prod`;

// NVCF's minimal pull policy (https://docs.nvidia.com/nvcf/third-party-registries): GetAuthorizationToken on * and
// four pull actions on exactly the repositories; ECR Public: its token action, sts:GetServiceBearerToken,
// DescribeImages. Expected documents are written out here from those rules and the inputs, not read from the code.
export const PULL = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:DescribeImages',
];

/** The minimal policy of a private registry whose repositories have these ARNs. */
export function privatePolicy(repositoryArns: string[]) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'NvcfEcrGetAuthorizationToken',
        Effect: 'Allow',
        Action: ['ecr:GetAuthorizationToken'],
        Resource: ['*'],
      },
      { Sid: 'NvcfEcrPullConfiguredRepositories', Effect: 'Allow', Action: PULL, Resource: repositoryArns },
    ],
  };
}

/** The minimal policy of an ECR Public registry whose repositories have these ARNs. */
export function publicPolicy(repositoryArns: string[]) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'NvcfEcrPublicGetAuthorizationToken',
        Effect: 'Allow',
        Action: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'],
        Resource: ['*'],
      },
      {
        Sid: 'NvcfEcrPublicDescribeConfiguredRepositories',
        Effect: 'Allow',
        Action: ['ecr-public:DescribeImages'],
        Resource: repositoryArns,
      },
    ],
  };
}

export function registry(overrides: Record<string, unknown> = {}): RegistryConfig {
  const [r] = prodConfig({ repositories: ['tools', 'inference'], ...overrides }).registries;
  if (!r) throw new Error('the test configuration has no registry');
  return r;
}

/** AWS managed policy AdministratorAccess, its real document. */
export const ADMINISTRATOR_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
