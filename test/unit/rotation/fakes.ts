import { join } from 'node:path';
import { type Config, loadConfig, type RegistryConfig } from '@nvcf-ecr/core/config';
import { createLogger, type LogRecord, memorySink } from '@nvcf-ecr/core/log';

/**
 * Fakes for unit tests of the rotation verbs: AWS SDK clients answering by command name, a virtual clock
 * that sleeping advances, and the example configuration. Commands without an answer fail the test loudly.
 */

export const config: Config = await loadConfig(join(import.meta.dirname, '../../../nvcf-ecr.config.ts'));
export const registry = config.registries[0] as RegistryConfig;

/** A version id of the shape Secrets Manager uses (a UUID). */
export const TOKEN = '6f0c1e2a-0b7d-4c55-9a1e-2f3b4c5d6e7f';
export const CURRENT_VERSION = '1a2b3c4d-0000-4000-8000-000000000001';
export const PREVIOUS_VERSION = '1a2b3c4d-0000-4000-8000-000000000002';
export const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${registry.secretName}-AbCdEf`;

// Key ids of the IAM shape; none is a real key.
export const K_CURRENT = 'AKIACURRENT000000001';
export const K_PREVIOUS = 'AKIAPREVIOUS00000002';
export const K_PENDING = 'AKIAPENDING000000003';

export { fakeClient } from '../../helpers/fake-client.ts';

/** The JSON the secret stores for a key of the example registry. */
export function pullKeyValue(accessKeyId: string, createdAt: string): string {
  return JSON.stringify({
    accessKeyId,
    secretAccessKey: 'x'.repeat(40),
    userName: registry.userName,
    registryHostname: registry.hostname,
    credentialName: registry.credentialName,
    createdAt,
  });
}

/** A virtual clock: `sleep` advances it and records the pause. */
export function virtualTime(startMs = Date.parse('2026-03-01T12:00:00.000Z')) {
  let now = startMs;
  const pauses: number[] = [];
  return {
    pauses,
    nowMs: () => now,
    now: () => new Date(now),
    sleep: async (ms: number) => {
      pauses.push(ms);
      now += ms;
    },
  };
}

export function capturingLogger(): { logger: ReturnType<typeof createLogger>; records: LogRecord[] } {
  const sink = memorySink();
  return { logger: createLogger({ sink, level: 'debug' }), records: sink.records };
}
