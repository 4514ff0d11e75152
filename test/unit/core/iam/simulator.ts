import { SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import type { EffectivePolicies, IamSimulator } from '@nvcf-ecr/core/iam';
import { VirtualClock } from '@nvcf-ecr/sandbox';
import type { OperationContext } from '../../../../packages/sandbox/src/server/aws.ts';
import { IamBackend } from '../../../../packages/sandbox/src/services/iam/backend.ts';
import { simulateHandlers } from '../../../../packages/sandbox/src/services/iam/simulate.ts';

/**
 * An IAM client whose `SimulatePrincipalPolicy` is the sandbox's emulation of it, over an IAM account that holds
 * exactly `effective` (and `boundary`, a permissions boundary document): the audit's evaluation runs against
 * the same answers it gets from the sandbox end to end, without HTTP. `calls` counts the simulations.
 */
export function simulatorFor(
  effective: EffectivePolicies,
  boundary?: unknown,
): IamSimulator & { calls: number } {
  const iam = new IamBackend(
    effective.accountId,
    new VirtualClock(),
    effective.userArn.split(':')[1] || 'aws',
  );
  iam.createUser(effective.userName);
  const user = iam.getUser(effective.userName);
  const text = (d: unknown) => (typeof d === 'string' ? decodeURIComponent(d) : JSON.stringify(d));
  const managed = (arn: string, name: string, document: unknown): string => {
    iam.policies.set(arn, {
      policyName: name,
      policyId: `ANPA${name}`,
      arn,
      path: '/',
      description: undefined,
      createDate: '2015-02-06T18:39:46Z',
      updateDate: '2015-02-06T18:39:46Z',
      versions: [
        { versionId: 'v1', document: text(document), isDefault: true, createDate: '2015-02-06T18:39:46Z' },
      ],
      awsManaged: arn.includes(':iam::aws:policy/'),
    });
    return arn;
  };
  for (const p of effective.policies) {
    const arn = p.arn ?? `arn:${iam.partition}:iam::${effective.accountId}:policy/${p.name}`;
    if (p.kind === 'inline') user.inline[p.name] = text(p.document);
    else if (p.kind === 'attached') user.attached.push(managed(arn, p.name, p.document));
    else {
      const name = p.group ?? 'group';
      const g = iam.groups.get(name) ?? iam.createGroup(name);
      if (!g.members.includes(effective.userName)) g.members.push(effective.userName);
      if (p.kind === 'group-inline') g.inline[p.name] = text(p.document);
      else g.attached.push(managed(arn, p.name, p.document));
    }
  }
  if (boundary !== undefined)
    user.permissionsBoundary = managed(
      `arn:${iam.partition}:iam::${effective.accountId}:policy/boundary`,
      'boundary',
      boundary,
    );
  const operation = simulateHandlers(iam)['SimulatePrincipalPolicy'];
  const ctx = { authorize: async () => {} } as unknown as OperationContext;
  const client = {
    calls: 0,
    async send(command: unknown) {
      if (!(command instanceof SimulatePrincipalPolicyCommand) || !operation)
        throw new Error(`unexpected command ${(command as object).constructor.name}`);
      client.calls++;
      const input = command.input;
      const params = new URLSearchParams({ PolicySourceArn: input.PolicySourceArn ?? '' });
      for (const [i, a] of (input.ActionNames ?? []).entries()) params.set(`ActionNames.member.${i + 1}`, a);
      for (const [i, r] of (input.ResourceArns ?? []).entries())
        params.set(`ResourceArns.member.${i + 1}`, r);
      for (const [i, c] of (input.ContextEntries ?? []).entries()) {
        const prefix = `ContextEntries.member.${i + 1}`;
        params.set(`${prefix}.ContextKeyName`, c.ContextKeyName ?? '');
        params.set(`${prefix}.ContextKeyType`, c.ContextKeyType ?? 'string');
        for (const [j, v] of (c.ContextKeyValues ?? []).entries())
          params.set(`${prefix}.ContextKeyValues.member.${j + 1}`, v);
      }
      if (input.MaxItems !== undefined) params.set('MaxItems', String(input.MaxItems));
      if (input.Marker !== undefined) params.set('Marker', input.Marker);
      return operation(ctx, params);
    },
  };
  return client as unknown as IamSimulator & { calls: number };
}
