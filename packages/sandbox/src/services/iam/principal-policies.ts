import type { ServiceError } from '../../errors.ts';
import type { QueryOperation } from '../../server/aws.ts';
import type { IamBackend } from './backend.ts';
import { iamErrors } from './errors.ts';
import { member, paged } from './params.ts';

/**
 * The inline and attached policies of a user or a group: IAM answers `Put/Get/List/Delete<Kind>Policy`,
 * `Attach/Detach<Kind>Policy` and `ListAttached<Kind>Policies` alike for both kinds, but for the name member
 * (`UserName` up to 64 characters, `GroupName` up to 128), the ARN the call is authorised on and the text of
 * `NoSuchEntity` (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html,
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetGroupPolicy.html).
 */
interface PolicyHolder {
  /** Reads the holder's name member from the request. */
  name(params: URLSearchParams): string;
  arn(name: string): string;
  get(name: string): { inline: Record<string, string>; attached: string[] };
  noSuchInlinePolicy(name: string, policyName: string): ServiceError;
}

function holder(iam: IamBackend, kind: 'User' | 'Group'): PolicyHolder {
  if (kind === 'User')
    return {
      name: member.userName,
      arn: (name) => iam.userArn(name, iam.users.get(name)?.path ?? '/'),
      get: (name) => iam.getUser(name),
      noSuchInlinePolicy: iamErrors.noSuchUserPolicy,
    };
  return {
    name: member.groupName,
    arn: (name) => iam.groupArn(name, iam.groups.get(name)?.path ?? '/'),
    get: (name) => iam.getGroup(name),
    noSuchInlinePolicy: iamErrors.noSuchGroupPolicy,
  };
}

export function policyHandlers(iam: IamBackend, k: 'User' | 'Group'): Record<string, QueryOperation> {
  const h = holder(iam, k);
  return {
    async [`Put${k}Policy`](ctx, p) {
      const name = h.name(p);
      const policyName = member.policyName(p);
      const doc = member.policyDocument(p);
      await ctx.authorize(`iam:Put${k}Policy`, h.arn(name));
      h.get(name).inline[policyName] = doc;
      return {};
    },
    async [`Get${k}Policy`](ctx, p) {
      const name = h.name(p);
      const policyName = member.policyName(p);
      await ctx.authorize(`iam:Get${k}Policy`, h.arn(name));
      const doc = h.get(name).inline[policyName];
      if (doc === undefined) throw h.noSuchInlinePolicy(name, policyName);
      return { [`${k}Name`]: name, PolicyName: policyName, PolicyDocument: encodeURIComponent(doc) };
    },
    async [`List${k}Policies`](ctx, p) {
      const name = h.name(p);
      await ctx.authorize(`iam:List${k}Policies`, h.arn(name));
      return paged('PolicyNames', Object.keys(h.get(name).inline).sort(), p);
    },
    async [`Delete${k}Policy`](ctx, p) {
      const name = h.name(p);
      const policyName = member.policyName(p);
      await ctx.authorize(`iam:Delete${k}Policy`, h.arn(name));
      const holder = h.get(name);
      if (holder.inline[policyName] === undefined) throw h.noSuchInlinePolicy(name, policyName);
      delete holder.inline[policyName];
      return {};
    },
    async [`Attach${k}Policy`](ctx, p) {
      const name = h.name(p);
      const arn = member.attachablePolicyArn(p);
      await ctx.authorize(`iam:Attach${k}Policy`, h.arn(name));
      const holder = h.get(name);
      iam.getPolicy(arn);
      if (!holder.attached.includes(arn)) holder.attached.push(arn);
      return {};
    },
    async [`Detach${k}Policy`](ctx, p) {
      const name = h.name(p);
      const arn = member.policyArn(p);
      await ctx.authorize(`iam:Detach${k}Policy`, h.arn(name));
      const holder = h.get(name);
      if (!holder.attached.includes(arn)) throw iamErrors.noSuchPolicy(arn);
      holder.attached = holder.attached.filter((a) => a !== arn);
      return {};
    },
    async [`ListAttached${k}Policies`](ctx, p) {
      const name = h.name(p);
      await ctx.authorize(`iam:ListAttached${k}Policies`, h.arn(name));
      return paged('AttachedPolicies', h.get(name).attached, p, (arn) => ({
        PolicyName: iam.policies.get(arn)?.policyName ?? arn.split('/').pop() ?? arn,
        PolicyArn: arn,
      }));
    },
  };
}
