import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import { type CredentialRotatedDetail, LAST_USED_LAG_MS, WORKLOAD_REFRESH_MS } from '@nvcf-ecr/core/rotation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import {
  expectNoSecretsLeaked,
  type Harness,
  invariantViolations,
  keyInStage,
  keysOf,
  nvcfPull,
  prodConfig,
  projectEvents,
  pushTestImage,
  startHarness,
} from './harness.ts';
import { startWorkloads, WORKLOAD_PULL_EVERY_SECONDS } from './workloads.ts';

// Ninety days of the default schedule on the `aws` profile (IAM's lags, NVCF's caches, running workloads that
// refresh their credential hourly): Secrets Manager rotates every 30 days, the retirement runs every hour.
// Two workloads pull every 10 minutes of virtual time and a new instance starts at every step of the clock;
// not one pull may fail, and every previous key must be deactivated within grace + workload refresh + last-used
// lag + 2 h of the rotation that replaced it. The clock moves an hour at a time after each rotation, twelve
// otherwise (the rotation's own waits move it too), so the 90 days take seconds.

const GRACE = 24;
const DAYS = 90;
const HOUR_MS = 3_600_000;
const DEADLINE_MS = GRACE * HOUR_MS + WORKLOAD_REFRESH_MS + LAST_USED_LAG_MS + 2 * HOUR_MS;

const { config, registry } = prodConfig({ schedule: 'rate(30 days)', graceHours: GRACE });

/** The stretches after a rotation at `at` that the clock walks hour by hour. */
function windowsAfter(at: number): [number, number][] {
  return [
    [at, at + 2 * HOUR_MS],
    [at + (GRACE - 1) * HOUR_MS, at + DEADLINE_MS + HOUR_MS],
  ];
}

interface Workloads {
  workloads: { id: string; pulls: number; failures: { at: string; error: string }[] }[];
}

describe('Ninety days of rotations and retirements on the aws profile', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(config, {
      profile: 'aws',
      rotation: {
        timing: { backoff: { initialDelayMs: 1_000, factor: 2, maxDelayMs: 8_000 } },
        virtualWaits: true,
      },
    });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('loses no pull and deactivates every previous key in time', async () => {
    const image = await pushTestImage(h.sb, registry, 'inference', 'v1');
    await startWorkloads(h, registry, image, 2);
    const start = h.sb.world.clock.nowMs();
    const inactiveSince = new Map<string, number>();
    const instanceFailures: string[] = [];
    const violations: string[] = [];
    let instancePulls = 0;
    // Hour by hour right after each rotation (NVCF and the workloads switch keys) and from the end of its grace
    // period until its deadline has passed (the retirement's runs are measured there); twelve hours at a time
    // otherwise — the world does not change in between, and the workloads count every pull due in a jump.
    let current = keyInStage(h.sb, registry, 'AWSCURRENT');
    let hourly = windowsAfter(start);
    const end = start + DAYS * 24 * HOUR_MS;
    while (h.sb.world.clock.nowMs() < end) {
      const now = h.sb.world.clock.nowMs();
      const next = hourly.find(([, to]) => to > now);
      const stepHours =
        next && next[0] <= now
          ? 1
          : Math.max(1, Math.min(12, Math.floor(((next?.[0] ?? end) - now) / HOUR_MS)));
      await control(h.sb, 'POST', 'clock', { advanceSeconds: stepHours * 3600 });
      await h.sb.settle();
      const pull = await nvcfPull(h.sb, image);
      instancePulls++;
      if (!pull.ok) instanceFailures.push(`${h.sb.world.clock.now().toISOString()}: ${pull.error}`);
      for (const k of keysOf(h.sb, registry))
        if (k.status !== 'Active' && !inactiveSince.has(maskAccessKeyId(k.accessKeyId)))
          inactiveSince.set(maskAccessKeyId(k.accessKeyId), h.sb.world.clock.nowMs());
      violations.push(...invariantViolations(h.sb, registry));
      const key = keyInStage(h.sb, registry, 'AWSCURRENT');
      if (key !== current) {
        current = key;
        hourly = windowsAfter(h.sb.world.clock.nowMs());
      }
    }

    const { workloads } = await control<Workloads>(h.sb, 'GET', 'nvcf/workloads');
    expect(workloads.flatMap((w) => w.failures)).toEqual([]);
    // 90 days of a pull every 10 minutes, per workload.
    for (const w of workloads)
      expect(w.pulls).toBeGreaterThanOrEqual((DAYS * 24 * 3600) / WORKLOAD_PULL_EVERY_SECONDS - 6);
    expect(instanceFailures).toEqual([]);
    expect(instancePulls).toBeGreaterThan(DAYS * 2);
    expect(violations).toEqual([]);

    const rotations = (
      await projectEvents<CredentialRotatedDetail>(h.sb, DETAIL_TYPES.credentialRotated)
    ).filter((r) => Date.parse(r.rotatedAt) >= start && r.previousAccessKeyId !== null);
    // Rotations at about day 30, 60 and 90 (the schedule's window decides the hour).
    expect(rotations.length).toBeGreaterThanOrEqual(2);
    const late = rotations
      .filter((r) => Date.parse(r.rotatedAt) + DEADLINE_MS <= h.sb.world.clock.nowMs())
      .map((r) => {
        const at = inactiveSince.get(r.previousAccessKeyId as string);
        return at !== undefined && at - Date.parse(r.rotatedAt) <= DEADLINE_MS
          ? undefined
          : `${r.previousAccessKeyId} replaced at ${r.rotatedAt}: ${at ? `deactivated ${new Date(at).toISOString()}` : 'never deactivated'}`;
      })
      .filter((x) => x !== undefined);
    expect(late).toEqual([]);
  }, 600_000);
});
