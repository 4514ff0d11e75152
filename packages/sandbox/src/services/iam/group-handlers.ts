import type { QueryOperation } from '../../server/aws.ts';
import type { XmlObject } from '../../server/xml.ts';
import type { GroupRecord, IamBackend, ManagedPolicyRecord } from './backend.ts';
import { iamErrors } from './errors.ts';
import { member, paged, query, userXml } from './params.ts';
import { policyHandlers } from './principal-policies.ts';

/**
 * IAM's group and managed-policy operations (Query protocol), beside the user operations of `handlers.ts`; a
 * group's policies in `principal-policies.ts`.
 */

function policyXml(iam: IamBackend, p: ManagedPolicyRecord): XmlObject {
  return {
    PolicyName: p.policyName,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.versions.find((v) => v.isDefault)?.versionId ?? 'v1',
    AttachmentCount: iam.attachmentCount(p.arn),
    PermissionsBoundaryUsageCount: iam.boundaryUsageCount(p.arn),
    IsAttachable: true,
    ...(p.description ? { Description: p.description } : {}),
    CreateDate: p.createDate,
    UpdateDate: p.updateDate,
  };
}

export function groupAndPolicyHandlers(iam: IamBackend): Record<string, QueryOperation> {
  const groupArn = (name: string) => iam.groupArn(name, iam.groups.get(name)?.path ?? '/');
  const userArn = (name: string) => iam.userArn(name, iam.users.get(name)?.path ?? '/');
  const groupXml = (g: GroupRecord): XmlObject => ({
    Path: g.path,
    GroupName: g.groupName,
    GroupId: g.groupId,
    Arn: iam.groupArn(g.groupName, g.path),
    CreateDate: g.createDate,
  });
  return {
    ...policyHandlers(iam, 'Group'),
    async CreateGroup(ctx, p) {
      const name = member.groupName(p);
      const path = p.get('Path') ?? '/';
      await ctx.authorize('iam:CreateGroup', iam.groupArn(name, path));
      const g = iam.createGroup(name, path);
      return { Group: groupXml(g) };
    },
    async GetGroup(ctx, p) {
      const name = member.groupName(p);
      await ctx.authorize('iam:GetGroup', groupArn(name));
      const g = iam.getGroup(name);
      return { Group: groupXml(g), ...paged('Users', g.members, p, (u) => userXml(iam, iam.getUser(u))) };
    },
    async DeleteGroup(ctx, p) {
      const name = member.groupName(p);
      await ctx.authorize('iam:DeleteGroup', groupArn(name));
      const g = iam.getGroup(name);
      if (g.members.length > 0) throw iamErrors.deleteConflict('remove users from group');
      if (Object.keys(g.inline).length > 0 || g.attached.length > 0)
        throw iamErrors.deleteConflict('delete policies');
      iam.groups.delete(name);
      return {};
    },
    async AddUserToGroup(ctx, p) {
      const group = member.groupName(p);
      const user = member.userName(p);
      await ctx.authorize('iam:AddUserToGroup', groupArn(group));
      const g = iam.getGroup(group);
      iam.getUser(user);
      if (!g.members.includes(user)) g.members.push(user);
      return {};
    },
    async RemoveUserFromGroup(ctx, p) {
      const group = member.groupName(p);
      const user = member.userName(p);
      await ctx.authorize('iam:RemoveUserFromGroup', groupArn(group));
      const g = iam.getGroup(group);
      if (!g.members.includes(user)) throw iamErrors.noSuchUser(user);
      g.members = g.members.filter((m) => m !== user);
      return {};
    },
    async ListGroupsForUser(ctx, p) {
      const user = member.userName(p);
      await ctx.authorize('iam:ListGroupsForUser', userArn(user));
      iam.getUser(user);
      const groups = [...iam.groups.values()].filter((g) => g.members.includes(user));
      return paged('Groups', groups, p, groupXml);
    },
    async CreatePolicy(ctx, p) {
      const name = member.policyName(p);
      const doc = member.policyDocument(p);
      const path = p.get('Path') ?? '/';
      await ctx.authorize(
        'iam:CreatePolicy',
        `arn:${iam.partition}:iam::${iam.accountId}:policy${path}${name}`,
      );
      return { Policy: policyXml(iam, iam.createPolicy(name, doc, path, p.get('Description') ?? undefined)) };
    },
    async GetPolicy(ctx, p) {
      const arn = member.policyArn(p);
      await ctx.authorize('iam:GetPolicy', arn);
      return { Policy: policyXml(iam, iam.getPolicy(arn)) };
    },
    async GetPolicyVersion(ctx, p) {
      const arn = member.policyArn(p);
      const versionId = query(p).str('VersionId', {
        required: true,
        pattern: /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/,
        max: 128,
      });
      await ctx.authorize('iam:GetPolicyVersion', arn);
      const v = iam.getPolicy(arn).versions.find((x) => x.versionId === versionId);
      if (!v) throw iamErrors.noSuchPolicyVersion(arn, versionId);
      return {
        PolicyVersion: {
          Document: encodeURIComponent(v.document),
          VersionId: v.versionId,
          IsDefaultVersion: v.isDefault,
          CreateDate: v.createDate,
        },
      };
    },
    async ListPolicies(ctx, p) {
      await ctx.authorize('iam:ListPolicies', '*');
      const scope = p.get('Scope') ?? 'All';
      const all = [...iam.policies.values()].filter((x) =>
        scope === 'Local' ? !x.awsManaged : scope === 'AWS' ? x.awsManaged : true,
      );
      return paged('Policies', all, p, (x) => policyXml(iam, x));
    },
    async DeletePolicy(ctx, p) {
      const arn = member.policyArn(p);
      await ctx.authorize('iam:DeletePolicy', arn);
      const pol = iam.getPolicy(arn);
      if (pol.awsManaged) throw iamErrors.invalidInput('AWS managed policies cannot be deleted.');
      if (iam.attachmentCount(arn) > 0 || iam.boundaryUsageCount(arn) > 0)
        throw iamErrors.deleteConflict('detach all policies');
      iam.policies.delete(arn);
      return {};
    },
  };
}
