import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NvcfClient } from '@nvcf-ecr/nvcf';
import type { FunctionEnvironment } from './environment.ts';

/**
 * The NVCF client a handler uses: base URL from the environment (the configuration's `ngc.baseUrl`, or the
 * sandbox's NVCF endpoint), org/team paths from the configuration, and the NGC API key read from the
 * Secrets Manager secret the configuration names — read on first use and again once after a 401 (the
 * client's rule), never put in the environment.
 */
export function nvcfClientFor(
  env: FunctionEnvironment,
  secrets: SecretsManagerClient,
  retry?: { maxAttempts?: number; maxTotalMs?: number },
  timeoutMs?: number,
): NvcfClient {
  const secretName = env.config.ngc.apiKeySecretName;
  return new NvcfClient({
    baseUrl: env.nvcfBaseUrl,
    org: env.config.ngc.org,
    team: env.config.ngc.team,
    logger: env.logger,
    retry,
    timeoutMs,
    apiKey: async () => {
      const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretName }));
      const key = out.SecretString?.trim();
      if (!key) {
        throw new Error(
          `the NGC API key secret ${secretName} is empty: store the key with 'aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string <key>'`,
        );
      }
      return key;
    },
  });
}
