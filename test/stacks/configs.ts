import type { ConfigInput } from '@nvcf-ecr/core/config';
import example from '../../nvcf-ecr.config.ts';

/**
 * Configurations the stack tests synthesise. `example` is the repository's `nvcf-ecr.config.ts`, what
 * `npx sst deploy` deploys. `multi` has four registries: the deployment's own (us-east-1), another region of
 * the same account, another account, and ECR Public. `govcloud` deploys to AWS GovCloud (US), where every ARN
 * must use the `aws-us-gov` partition. `publicOnly` has ECR Public registries only. `mixedPartitions` cannot be deployed from one account.
 */

export const ACCOUNT = '123456789012';
export const PARTNER_ACCOUNT = '210987654321';
export const GOV_ACCOUNT = '111122223333';

/** An ECR Public registry of ACCOUNT, alias `acme`. */
const PUBLIC_REGISTRY = {
  name: 'public',
  hostname: 'public.ecr.aws',
  accountId: ACCOUNT,
  publicAlias: 'acme',
  repositories: ['tools'],
  credentialName: 'ecr-public',
};

export const configs = {
  example,
  multi: {
    ngc: { apiKeySecretName: 'platform/ngc-api-key', org: 'acme' },
    registries: [
      {
        name: 'prod',
        hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        repositories: ['inference', 'inference-gb200'],
        credentialName: 'ecr-prod',
        rotation: { schedule: 'rate(30 days)', graceHours: 24, window: '2h' },
        platforms: {
          require: ['linux/amd64'],
          repositories: { 'inference-gb200': ['linux/amd64', 'linux/arm64'] },
        },
      },
      {
        name: 'eu',
        hostname: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
        repositories: ['inference-eu'],
        credentialName: 'ecr-eu',
        rotation: { schedule: 'cron(0 4 ? * MON *)', graceHours: 12, window: '4h' },
      },
      {
        name: 'partner',
        hostname: `${PARTNER_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        repositories: ['models/llm'],
        credentialName: 'ecr-partner',
        userName: 'nvcf-partner-puller',
        secretName: 'platform/partner/pull-key',
      },
      PUBLIC_REGISTRY,
    ],
    audit: { schedule: 'cron(0 6 * * ? *)', maxKeyAgeDays: 60, reportRetentionDays: 30 },
    notifications: {
      email: ['platform-team@example.com', 'oncall@example.com'],
      webhooks: [
        {
          name: 'platform-slack',
          url: 'https://hooks.slack.com/services/{secret}',
          secretName: 'platform/slack-webhook',
          format: 'slack',
        },
        {
          name: 'oncall-teams',
          url: 'https://prod-00.westus.logic.azure.com:443/workflows/{secret}',
          secretName: 'platform/teams-workflow',
          events: ['rotation-failed', 'audit-failed'],
          format: 'teams',
        },
        {
          name: 'incidents',
          url: 'https://incidents.example.com/hooks/nvcf-ecr',
          secretName: 'platform/incidents-token',
          format: 'json',
          rateLimitPerSecond: 5,
        },
      ],
    },
  },
  govcloud: {
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'gov-west',
        hostname: `${GOV_ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`,
        repositories: ['inference'],
        credentialName: 'ecr-gov-west',
      },
      {
        name: 'gov-east',
        hostname: `${GOV_ACCOUNT}.dkr.ecr.us-gov-east-1.amazonaws.com`,
        repositories: ['inference'],
        credentialName: 'ecr-gov-east',
      },
    ],
  },
  // The example after ordinary changes: its registry renamed, names given, a second registry added.
  exampleChanged: {
    ngc: { apiKeySecretName: 'platform/ngc-api-key' },
    registries: [
      {
        ...example.registries[0],
        name: 'production',
        userName: 'nvcf-production-puller',
        secretName: 'platform/production/pull-key',
      } as ConfigInput['registries'][number],
      {
        name: 'staging',
        hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        repositories: ['inference-staging'],
        credentialName: 'ecr-staging',
      },
    ],
  },
  // ECR Public only: no private repository, so no push events to validate.
  publicOnly: {
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [PUBLIC_REGISTRY],
  },
  mixedPartitions: {
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'prod',
        hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        repositories: ['inference'],
        credentialName: 'ecr-prod',
      },
      {
        name: 'gov',
        hostname: `${GOV_ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`,
        repositories: ['inference'],
        credentialName: 'ecr-gov',
      },
    ],
  },
} satisfies Record<string, ConfigInput>;

export type ConfigName = keyof typeof configs;
