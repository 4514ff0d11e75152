import type { RegistryConfig } from '@nvcf-ecr/core/config';
import { WORKLOAD_REFRESH_MS } from '@nvcf-ecr/core/rotation';
import { control } from '../../helpers/sandbox.ts';
import {
  credentialsOf,
  type Harness,
  invariantViolations,
  keyInStage,
  nvcfPull,
  workloadKeysOf,
} from './harness.ts';

/**
 * Running NVCF workloads for the rotation tests on the `aws` profile (packages/sandbox/README.md, "Profiles"):
 * each pulls with the key of its last hourly refresh, so a key the rotation deletes or deactivates too early
 * fails a pull.
 */

/** How often each running workload pulls (virtual time). */
export const WORKLOAD_PULL_EVERY_SECONDS = 600;

interface WorkloadsView {
  workloads: { pulls: number; failures: { at: string; error: string }[] }[];
}

/**
 * Starts `count` running workloads (none before NVCF has a credential for the host: nothing to pull with). Each
 * pulls at once, then every {@link WORKLOAD_PULL_EVERY_SECONDS}.
 */
export async function startWorkloads(
  h: Harness,
  registry: RegistryConfig,
  image: string,
  count = 1,
): Promise<void> {
  if (credentialsOf(h.sb, registry).length === 0) return;
  for (let i = 0; i < count; i++)
    await control(h.sb, 'POST', 'nvcf/workloads', { image, pullEverySeconds: WORKLOAD_PULL_EVERY_SECONDS });
}

/** How many pulls the running workloads made so far. */
export async function workloadPulls(h: Harness): Promise<number> {
  const { workloads } = await control<WorkloadsView>(h.sb, 'GET', 'nvcf/workloads');
  return workloads.reduce((n, w) => n + w.pulls, 0);
}

/**
 * After a rotation: a new instance pulls (NVCF's secret cache may still serve the key before); then, past the
 * workloads' hourly refresh, the workloads and another new instance pull, the workloads now with the AWSCURRENT
 * key, and the invariants hold. Returns what failed.
 */
export async function pullsAfterRotation(
  h: Harness,
  registry: RegistryConfig,
  image: string,
): Promise<string[]> {
  const problems: string[] = [];
  const now = await nvcfPull(h.sb, image);
  if (!now.ok) problems.push(`a new instance cannot pull: ${now.error}`);
  await control(h.sb, 'POST', 'clock', {
    advanceSeconds: WORKLOAD_REFRESH_MS / 1000 + WORKLOAD_PULL_EVERY_SECONDS,
  });
  await h.sb.settle();
  const later = await nvcfPull(h.sb, image);
  if (!later.ok) problems.push(`a new instance cannot pull after the workloads' refresh: ${later.error}`);
  const { workloads } = await control<WorkloadsView>(h.sb, 'GET', 'nvcf/workloads');
  for (const f of workloads.flatMap((w) => w.failures))
    problems.push(`a workload's pull failed at ${f.at}: ${f.error}`);
  const held = workloadKeysOf(h.sb).flatMap((w) => w.heldAccessKeyIds);
  const current = keyInStage(h.sb, registry, 'AWSCURRENT');
  if (held.some((id) => id !== current)) problems.push('a workload did not take the new key at its refresh');
  problems.push(...invariantViolations(h.sb, registry).map((v) => `after the workloads' refresh: ${v}`));
  return problems;
}
