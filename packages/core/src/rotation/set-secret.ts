import { maskAccessKeyId } from '../redact.ts';
import { ROTATION_METRICS } from './deps.ts';
import { putKeyInNvcf } from './nvcf-sync.ts';
import { proveKey } from './prove-key.ts';
import { readPending, type StepContext } from './step-context.ts';

/**
 * Waits until the new key works (STS says it is the pull user; ECR hands it a token), then stores it in
 * NVCF: PATCH in place (keeping the credential's name), or — on a registry's first rotation — POST when NVCF
 * has no credential for (hostname, name), adopting an existing one otherwise.
 */
export async function setSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry } = ctx;
  const pending = await readPending(ctx, { required: true });
  const clients = deps.clientsForKey(pending, registry.region);
  try {
    const started = deps.monotonic();
    await proveKey(ctx, pending, clients, deps.timing.keyPropagationBudgetMs);
    const waited = Math.round(deps.monotonic() - started);
    deps.metric({
      name: ROTATION_METRICS.keyPropagationMs,
      value: waited,
      unit: 'Milliseconds',
      dimensions: { Registry: registry.name },
    });
    log.info('the new key works', { accessKeyId: maskAccessKeyId(pending.accessKeyId), waitedMs: waited });
  } finally {
    clients.destroy();
  }
  const { credential, action } = await putKeyInNvcf(ctx, pending, 'set', ctx.token);
  log.info(`NVCF credential ${action}`, {
    nvcfCredentialId: credential?.registryCredentialId,
    lastUpdatedAt: credential?.lastUpdatedAt,
    accessKeyId: maskAccessKeyId(pending.accessKeyId),
  });
}
