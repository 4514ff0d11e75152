import { defineConfig } from '@nvcf-ecr/core/config';

/**
 * The example configuration: `npm start` (the demo) and the tests run the whole system on the sandbox with
 * it, and `npx sst deploy` deploys it. Copy it and change the hostnames, repositories and e-mail addresses
 * to yours. Every key is documented in README.md ("Configuration").
 */
export default defineConfig({
  // The NGC API key the rotation updates NVCF with lives in the secret `nvcf-ecr/<stage>/ngc-api-key`
  // (ngc.apiKeySecretName names another); the pull user and secret of each registry get their stage's and
  // region's default names too (userName, secretName).
  ngc: {},
  registries: [
    {
      name: 'prod',
      hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      repositories: ['inference', 'inference-gb200', 'tools'],
      credentialName: 'ecr-prod',
      rotation: { schedule: 'rate(30 days)', graceHours: 24 },
      platforms: {
        require: ['linux/amd64'],
        // GB200 runs on Grace (Arm) CPUs: images deployed there must have linux/arm64.
        repositories: { 'inference-gb200': ['linux/amd64', 'linux/arm64'] },
      },
    },
  ],
  audit: { schedule: 'rate(1 day)', maxKeyAgeDays: 90 },
  notifications: { email: ['platform-team@example.com'] },
});
