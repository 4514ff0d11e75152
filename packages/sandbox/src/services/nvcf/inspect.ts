/**
 * The control plane's test-only view of NVCF (`GET /_sandbox/inspect`): credentials with the decoded username
 * (never the password) and API keys masked, so a secret never leaves the sandbox through inspection.
 */
import { decodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { credentialDto, DEFAULT_NCA_ID, type NvcfSnapshot } from './records.ts';

/** `state` is the backend's live state (not a copy): the view builds new objects from it. */
export function inspectNvcf(state: NvcfSnapshot): unknown {
  return {
    defaultNcaId: DEFAULT_NCA_ID,
    staleCacheSeconds: state.staleCacheSeconds,
    accounts: state.accounts,
    apiKeys: state.apiKeys.map((k) => ({
      key: maskKey(k.key),
      scopes: k.scopes,
      account: k.account,
      revoked: k.revoked,
    })),
    credentials: state.credentials.map((c) => ({
      ...credentialDto(c),
      username: usernameOf(c.secret, c.registryHostname),
      ...(c.previousSecret
        ? {
            previous: {
              username: usernameOf(c.previousSecret.value, c.registryHostname),
              servedUntil: c.previousSecret.until,
            },
          }
        : {}),
    })),
    functions: state.functions.map((f) => ({ ...f.dto, visibility: f.visibility })),
    deployments: [...state.deployments],
  };
}

function maskKey(key: string): string {
  return key.length <= 12 ? '****' : `${key.slice(0, 6)}…${key.slice(-4)}`;
}

function usernameOf(secret: string, hostname: string): string | undefined {
  try {
    return decodeRegistrySecret(secret, hostname).username;
  } catch {
    return undefined;
  }
}
