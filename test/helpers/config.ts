import { assertConfig, type Config } from '@nvcf-ecr/core/config';

/**
 * The configuration most tests start from: one registry, `prod`, on ECR in us-east-1 of {@link ACCOUNT},
 * with NVCF credential `ecr-prod`. Tests override the members they are about.
 */

export const ACCOUNT = '123456789012';
export const HOST = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;

/** The example's repositories and platforms: `inference` needs amd64, `inference-gb200` amd64 and arm64. */
export const EXAMPLE_PLATFORMS = {
  repositories: ['inference', 'inference-gb200'],
  platforms: {
    require: ['linux/amd64'],
    repositories: { 'inference-gb200': ['linux/amd64', 'linux/arm64'] },
  },
};

/** The input (as a user writes it) of one registry `prod`; `registry` overrides its members, `rest` adds sections. */
export function prodInput(
  registry: Record<string, unknown> = {},
  rest: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      { name: 'prod', hostname: HOST, repositories: ['inference'], credentialName: 'ecr-prod', ...registry },
    ],
    ...rest,
  };
}

/** {@link prodInput}, parsed as the handlers get it. */
export function prodConfig(
  registry: Record<string, unknown> = {},
  rest: Record<string, unknown> = {},
): Config {
  return assertConfig(prodInput(registry, rest));
}
