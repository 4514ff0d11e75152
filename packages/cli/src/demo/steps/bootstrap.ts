import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import type { CredentialRotatedDetail } from '@nvcf-ecr/core/rotation';
import { expectThat } from '../context.ts';
import type { DemoStep } from '../step.ts';

/**
 * Step 1. The sandbox provisioned what the stacks deploy — the pull user with NVCF's minimal policy, the
 * rotated secret holding a bootstrap value without a key, the NGC key secret — and Secrets Manager ran the
 * first rotation at once, as it does after a deployment. That rotation is the bootstrap: it creates the
 * first access key and the NVCF registry credential.
 */
export const bootstrap: DemoStep = {
  name: 'bootstrap',
  title: 'Bootstrap: the first rotation creates the pull key and the NVCF credential',
  why: 'Nobody creates, encodes or pastes a key by hand: deploying is enough for NVCF to pull from ECR.',
  async run(ctx) {
    const { narrator: n, registry } = ctx;
    n.say(
      `pull user ${registry.userName}, secret ${registry.secretName}, NVCF credential '${registry.credentialName}'`,
    );
    await ctx.sb.settle(120_000);
    const status = await ctx.status();
    const current = status.stages.find((s) => s.stages.includes('AWSCURRENT'));
    expectThat(
      current?.accessKeyId,
      `AWSCURRENT should hold an access key after the bootstrap rotation; it holds none`,
    );
    n.ok(`rotation created key ${current.accessKeyId} and stored it as AWSCURRENT`);
    const active = status.keys.filter((k) => k.status === 'Active');
    expectThat(
      active.length === 1 && active[0]?.accessKeyId === current.accessKeyId,
      `the pull user should have exactly one Active key, ${current.accessKeyId}; it has ${status.keys.map((k) => `${k.accessKeyId} ${k.status}`).join(', ') || 'none'}`,
    );
    n.ok(
      `the pull user has one key, Active; it may do exactly what NVCF needs (${registry.repositories.join(', ')})`,
    );
    const nvcf = status.nvcf;
    expectThat(
      nvcf && 'credentialId' in nvcf && nvcf.updatedAfterCurrentKey === true,
      `NVCF should hold credential '${registry.credentialName}' for ${registry.hostname}, updated after the key was created; it shows ${JSON.stringify(nvcf)}`,
    );
    n.ok(`NVCF credential ${nvcf.credentialId} created for ${registry.hostname} at ${nvcf.lastUpdatedAt}`);
    const events = await ctx.projectEvents<CredentialRotatedDetail>(DETAIL_TYPES.credentialRotated);
    const event = events.find((e) => e.detail.bootstrap && e.detail.accessKeyId === current.accessKeyId);
    expectThat(
      event,
      `the '${DETAIL_TYPES.credentialRotated}' event of the bootstrap should be on the project bus`,
    );
    n.ok(`'${DETAIL_TYPES.credentialRotated}' event on the project bus (bootstrap: true)`);
    return {
      evidence: `key ${current.accessKeyId} AWSCURRENT, Active; NVCF credential ${nvcf.credentialId}`,
    };
  },
};
