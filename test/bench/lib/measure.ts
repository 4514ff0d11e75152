import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { control } from '../../helpers/sandbox.ts';
import type { SeedEntry } from './images.ts';

/** What the benchmarks share: counting calls on the wire, seeding, medians, and the machine they ran on. */

/** One call the sandbox answered, as the request log records it. */
export interface Call {
  readonly service: string;
  readonly operation: string;
  readonly status: number;
  readonly code?: string | undefined;
}

/**
 * Records every call the sandbox answers while `run` is in flight (the request log, observed in-process:
 * `GET /_sandbox/calls` keeps only the last 10,000 and an audit makes more).
 */
export async function recordCalls<T>(
  sb: RunningSandbox,
  run: () => Promise<T>,
): Promise<{ value: T; calls: Call[]; ms: number }> {
  const calls: Call[] = [];
  const off = sb.onCall((c) =>
    calls.push({ service: c.service, operation: c.operation, status: c.status, code: c.code }),
  );
  const started = performance.now();
  try {
    const value = await run();
    return { value, calls, ms: performance.now() - started };
  } finally {
    off();
  }
}

/** `{ "ecr.BatchGetImage": 3, ... }`, sorted by key. */
export function countByOperation(calls: readonly Call[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[`${c.service}.${c.operation}`] = (out[`${c.service}.${c.operation}`] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Calls refused as throttled (the answers of `SandboxOptions.throttle`). */
export function throttledCalls(calls: readonly Call[]): number {
  return calls.filter((c) =>
    ['ThrottlingException', 'Throttling', 'SlowDown', 'TOOMANYREQUESTS'].includes(c.code ?? ''),
  ).length;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const round = (n: number, digits = 0): number => Number(n.toFixed(digits));

/**
 * Seeds images through the control plane in chunks (one JSON body per chunk), dropping manifests already
 * seeded in the repository (shared attestation manifests): ECR would refuse an untagged re-push of the same
 * manifest as `ImageAlreadyExistsException`.
 */
export async function seed(sb: RunningSandbox, entries: readonly SeedEntry[], chunk = 2000): Promise<void> {
  const seen = new Set<string>();
  const unique = entries.filter((e) => {
    if (e.tags.length > 0) return true;
    const key = `${e.repository}\n${e.manifest}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  for (let i = 0; i < unique.length; i += chunk) {
    await control(sb, 'POST', 'seed', { ecr: { images: unique.slice(i, i + chunk) } });
  }
}

/** The machine a run was taken on (reported with every figure). */
export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  platform: string;
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() already named the model.
  }
  return {
    nproc: cpus().length,
    cpuModel,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}
