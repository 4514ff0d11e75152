import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '@nvcf-ecr/core/config';
import { NvcfClient, type NvcfClientOptions } from '@nvcf-ecr/nvcf';

/** Where the NVCF client points and what it logs to; a handler's `FunctionEnvironment` is one. */
export interface NvcfClientSettings {
  readonly config: Pick<Config, 'ngc'>;
  /** The configuration's `ngc.baseUrl`, the sandbox's NVCF endpoint, or the CLI's `--nvcf-endpoint`. */
  readonly nvcfBaseUrl: string;
  readonly logger?: NvcfClientOptions['logger'];
}

/**
 * The NVCF client the handlers and the CLI use: org/team paths from the configuration, and the NGC API key
 * read from the Secrets Manager secret the configuration names — read on first use and again once after a
 * 401 (the client's rule), never put in the environment.
 */
export function nvcfClientFor(
  settings: NvcfClientSettings,
  secrets: SecretsManagerClient,
  retry?: { maxAttempts?: number; maxTotalMs?: number },
  timeoutMs?: number,
): NvcfClient {
  const { ngc } = settings.config;
  const secretName = ngc.apiKeySecretName;
  return new NvcfClient({
    baseUrl: settings.nvcfBaseUrl,
    org: ngc.org,
    team: ngc.team,
    logger: settings.logger,
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
