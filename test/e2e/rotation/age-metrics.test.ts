import type { MetricRecord } from '@nvcf-ecr/core/metrics';
import { ROTATION_METRICS } from '@nvcf-ecr/core/rotation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import { type Harness, prodConfig, retireFunctionArn, rotate, startHarness } from './harness.ts';

// The key-age metrics the dashboard plots and the key-age alarm watches: the hourly retirement emits, per
// registry, the days since the AWSCURRENT version was stored and since the last completed rotation.

const { config, registry } = prodConfig();

let h: Harness;
beforeAll(async () => {
  h = await startHarness(config);
});
afterAll(async () => h?.close());

/** The metrics the handlers emitted since `from` (the sandbox composition logs them at debug). */
function metrics(from: number): MetricRecord[] {
  return h.logs
    .slice(from)
    .filter((r) => r.message === 'metric')
    .map((r) => r.fields['metric'] as MetricRecord);
}

async function retireNow(): Promise<MetricRecord[]> {
  const from = h.logs.length;
  await h.sb.lambda.invoke(retireFunctionArn(h.sb), { source: 'aws.events' });
  return metrics(from);
}

describe('Rotation: key age metrics', () => {
  it('reports the age of the current key and the days since the last rotation, per registry', async () => {
    await control(h.sb, 'POST', 'clock', { advanceSeconds: 3 * 86_400 });
    await h.sb.settle();
    const out = await retireNow();
    const age = out.find((m) => m.name === ROTATION_METRICS.currentKeyAge);
    const since = out.find((m) => m.name === ROTATION_METRICS.daysSinceRotation);
    expect(age).toMatchObject({ dimensions: { Registry: registry.name }, unit: 'None' });
    expect(age?.value).toBeGreaterThanOrEqual(3);
    expect(age?.value).toBeLessThan(3.1);
    expect(since?.value).toBeGreaterThanOrEqual(3);
    expect(since?.value).toBeLessThan(3.1);
  });

  it('starts again from zero after a rotation', async () => {
    await rotate(h, registry);
    const out = await retireNow();
    expect(out.find((m) => m.name === ROTATION_METRICS.currentKeyAge)?.value).toBeLessThan(0.01);
    expect(out.find((m) => m.name === ROTATION_METRICS.daysSinceRotation)?.value).toBeLessThan(0.01);
  });
});
