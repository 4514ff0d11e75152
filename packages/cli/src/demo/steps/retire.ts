import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import type { PreviousKeyRetiredDetail } from '@nvcf-ecr/core/rotation';
import { expectThat } from '../context.ts';
import type { DemoStep } from '../step.ts';

/**
 * Step 5. The sandbox's virtual clock moves past the grace period (`POST /_sandbox/clock`); the hourly
 * retirement schedule fires as it would in EventBridge and the retirement function deactivates the previous
 * key — not deletes: an operator can reactivate it if something still needed it, and the next rotation
 * deletes it. NVCF keeps pulling with the current key.
 */
export const retire: DemoStep = {
  name: 'retire',
  title: 'The clock moves past the grace period; the hourly schedule retires the old key',
  why: 'A key nobody uses any more is a key nobody watches: it is deactivated as soon as no workload can need it.',
  async run(ctx) {
    const { narrator: n, registry } = ctx;
    const { previousKey, currentKey } = ctx.state;
    expectThat(previousKey && currentKey, 'the rotation step should have left a previous and a current key');
    const hours = registry.rotation.graceHours + 1;
    const clock = await ctx.control<{ now: string }>('POST', 'clock', { advanceSeconds: hours * 3600 });
    n.say(
      `virtual clock advanced ${hours} h (grace ${registry.rotation.graceHours} h + 1 h) to ${clock.now}`,
    );
    await ctx.sb.settle(60_000);
    const status = await ctx.status();
    const old = status.keys.find((k) => k.accessKeyId === previousKey);
    const current = status.keys.find((k) => k.accessKeyId === currentKey);
    expectThat(
      old?.status === 'Inactive',
      `${previousKey} should be Inactive after its grace period; it is ${old?.status ?? 'gone'}`,
    );
    expectThat(
      current?.status === 'Active',
      `the current key ${currentKey} should stay Active; it is ${current?.status ?? 'gone'}`,
    );
    n.ok(`${previousKey} Inactive (deactivated, not deleted); ${currentKey} Active`);
    const retired = (await ctx.projectEvents<PreviousKeyRetiredDetail>(DETAIL_TYPES.previousKeyRetired)).find(
      (e) => e.detail.accessKeyId === previousKey,
    );
    expectThat(
      retired,
      `the '${DETAIL_TYPES.previousKeyRetired}' event for ${previousKey} should be on the project bus`,
    );
    n.ok(`'${DETAIL_TYPES.previousKeyRetired}' event: ${retired.detail.reason}`);
    const image = ctx.state.pullImages[0];
    expectThat(image, 'a compliant image should have been pushed to pull after the retirement');
    const pulled = await ctx.nvcfPull(image);
    expectThat(
      pulled.ok,
      `NVCF should still pull ${image} with the current key; it failed: ${pulled.ok ? '' : pulled.error}`,
    );
    n.ok(`NVCF still pulls ${image.slice(image.indexOf('/') + 1)} with the current key`);
    return {
      evidence: `${previousKey} Inactive after ${hours} h; '${DETAIL_TYPES.previousKeyRetired}' event; pull ok with ${currentKey}`,
    };
  },
};
