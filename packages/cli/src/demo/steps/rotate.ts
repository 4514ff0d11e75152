import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import {
  AWSCURRENT,
  type CredentialRotatedDetail,
  describeSecret,
  pullKeyOf,
  type RotationFailedDetail,
  readValue,
  startRotation,
} from '@nvcf-ecr/core/rotation';
import { type DemoContext, expectThat } from '../context.ts';
import type { DemoStep } from '../step.ts';

/**
 * Step 4. A rotation started as Secrets Manager starts one (`RotateSecret`: the schedule does the same), while
 * NVCF keeps pulling in a loop. The rotation function creates a second key, waits until it works, updates
 * NVCF's credential in place (PATCH, same id), proves both, and moves AWSCURRENT; the previous key stays Active
 * for the grace period because NVCF caches credentials and running workloads keep the key they started with.
 * Every pull must succeed throughout.
 */

/** How long the demo follows the rotation (the rotation function's own budget is 5 minutes). */
const ROTATION_DEADLINE_MS = 120_000;
/** Pause between two pulls: a steady trickle, not a load test, on a machine others share. */
const PULL_PAUSE_MS = 100;

export const rotate: DemoStep = {
  name: 'rotate',
  title: 'A rotation, while NVCF keeps pulling',
  why: 'Keys must change regularly (90 days is the usual audit limit) without a single failed pull.',
  async run(ctx) {
    const { narrator: n, registry } = ctx;
    const before = await ctx.status();
    const oldKey = before.stages.find((s) => s.stages.includes(AWSCURRENT))?.accessKeyId;
    const nvcfBefore = before.nvcf && 'credentialId' in before.nvcf ? before.nvcf : undefined;
    expectThat(
      oldKey && nvcfBefore,
      'the bootstrap key and NVCF credential should exist before the rotation',
    );
    const images = ctx.state.pullImages;
    expectThat(images.length > 0, 'a compliant image should have been pushed to pull during the rotation');

    const started = await startRotation(
      registry,
      { secrets: ctx.aws.secrets, iam: ctx.aws.iam, now: () => ctx.sb.world.clock.now() },
      { preflight: false },
    );
    expectThat(started.kind === 'started', 'the rotation should start');
    const { token } = started;
    n.say(`RotateSecret ${registry.secretName} (token ${token}); current key ${oldKey}`);
    const pulls = await pullWhileRotating(ctx, token, images, nvcfBefore.lastUpdatedAt);
    await ctx.sb.settle(60_000);

    expectThat(
      pulls.failed.length === 0,
      `every pull should succeed during the rotation; ${pulls.failed.length} failed: ${pulls.failed[0] ?? ''}`,
    );
    expectThat(
      pulls.total >= 2,
      `NVCF should have pulled while the rotation ran; it pulled ${pulls.total} times`,
    );
    n.ok(
      `${pulls.total} pulls while the rotation ran, all ok (${pulls.afterSwitch} after NVCF switched to the new key)`,
    );
    const after = await ctx.status();
    const newKey = after.stages.find((s) => s.stages.includes(AWSCURRENT))?.accessKeyId;
    expectThat(newKey && newKey !== oldKey, `AWSCURRENT should hold a new key; it holds ${newKey ?? 'none'}`);
    const nvcf = after.nvcf && 'credentialId' in after.nvcf ? after.nvcf : undefined;
    expectThat(
      nvcf?.credentialId === nvcfBefore.credentialId &&
        Date.parse(nvcf.lastUpdatedAt) > Date.parse(nvcfBefore.lastUpdatedAt),
      `NVCF credential ${nvcfBefore.credentialId} should be updated in place; NVCF shows ${JSON.stringify(after.nvcf)}`,
    );
    n.ok(
      `NVCF credential ${nvcf.credentialId} updated in place: lastUpdatedAt ${nvcfBefore.lastUpdatedAt} → ${nvcf.lastUpdatedAt}`,
    );
    const previous = after.previousKey;
    expectThat(
      previous?.accessKeyId === oldKey && previous.status === 'Active' && previous.inGrace,
      `the previous key ${oldKey} should stay Active in its grace period; status shows ${JSON.stringify(previous)}`,
    );
    n.ok(
      `key ${oldKey} → ${newKey}; ${oldKey} stays Active until ${previous.graceEndsAt} (grace ${registry.rotation.graceHours} h)`,
    );
    const events = await ctx.projectEvents<CredentialRotatedDetail>(DETAIL_TYPES.credentialRotated);
    expectThat(
      events.some((e) => e.detail.token === token && e.detail.previousAccessKeyId === oldKey),
      `the '${DETAIL_TYPES.credentialRotated}' event of token ${token} should be on the project bus`,
    );
    n.ok(`'${DETAIL_TYPES.credentialRotated}' event on the project bus`);
    ctx.state.previousKey = oldKey;
    ctx.state.currentKey = newKey;
    return {
      evidence:
        `${oldKey} → ${newKey}; ${pulls.total}/${pulls.total} pulls ok during the rotation; ` +
        `NVCF ${nvcf.credentialId} updated in place ${nvcf.lastUpdatedAt}`,
    };
  },
};

interface PullTally {
  total: number;
  afterSwitch: number;
  failed: string[];
}

/** Pulls in a loop until AWSCURRENT moves to `token`, narrating each rotation step as its result appears. */
async function pullWhileRotating(
  ctx: DemoContext,
  token: string,
  images: readonly string[],
  nvcfUpdatedBefore: string,
): Promise<PullTally> {
  const { narrator: n, registry, aws } = ctx;
  const tally: PullTally = { total: 0, afterSwitch: 0, failed: [] };
  const reported = new Set<string>();
  let created = false;
  let switched = false;
  const deadline = Date.now() + ROTATION_DEADLINE_MS;
  for (;;) {
    const image = images[tally.total % images.length] as string;
    const result = await ctx.nvcfPull(image);
    tally.total++;
    if (switched) tally.afterSwitch++;
    if (!result.ok) tally.failed.push(`${image}: ${result.error}`);

    if (!created) {
      const pending = pullKeyOf(
        await readValue(aws.secrets, registry.secretName, { versionId: token }, 'createSecret'),
      );
      if (pending) {
        created = true;
        n.ok(`createSecret  new key ${maskAccessKeyId(pending.accessKeyId)} stored as AWSPENDING`);
      }
    }
    if (created && !switched) {
      const credential = await ctx.nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
      if (credential && credential.lastUpdatedAt !== nvcfUpdatedBefore) {
        switched = true;
        n.ok(
          `setSecret     the new key works; NVCF credential ${credential.registryCredentialId} now holds it`,
        );
      }
    }
    for (const failure of await ctx.projectEvents<RotationFailedDetail>(DETAIL_TYPES.rotationFailed)) {
      const { detail } = failure;
      if (detail.token !== token || reported.has(failure.event.id)) continue;
      reported.add(failure.event.id);
      n.fail(
        `${detail.step} failed (${detail.reason}); the current key still works; Secrets Manager retries`,
      );
    }
    const state = await describeSecret(aws.secrets, registry.secretName);
    if (state.versions[token]?.includes(AWSCURRENT)) {
      n.ok('testSecret    STS, ECR and NVCF all confirm the new key');
      n.ok(`finishSecret  AWSCURRENT moved to the new version`);
      return tally;
    }
    expectThat(Date.now() < deadline, `the rotation should finish within ${ROTATION_DEADLINE_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, PULL_PAUSE_MS));
  }
}
