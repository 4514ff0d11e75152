import type { QueryOperation } from '../../server/aws.ts';
import type { XmlObject } from '../../server/xml.ts';
import type { IamBackend, ManagedPolicyRecord } from './backend.ts';
import { iamErrors } from './errors.ts';
import { NAME, page, query, userXml, validPolicyDocument } from './params.ts';

/** IAM's group and managed-policy operations (Query protocol), beside the user operations of `handlers.ts`. */

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
  return {
    async CreateGroup(ctx, p) {
      const name = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const path = p.get('Path') ?? '/';
      await ctx.authorize('iam:CreateGroup', iam.groupArn(name, path));
      const g = iam.createGroup(name, path);
      return {
        Group: {
          Path: g.path,
          GroupName: g.groupName,
          GroupId: g.groupId,
          Arn: iam.groupArn(g.groupName, g.path),
          CreateDate: g.createDate,
        },
      };
    },
    async GetGroup(ctx, p) {
      const name = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:GetGroup', groupArn(name));
      const g = iam.getGroup(name);
      const r = page(g.members, p);
      return {
        Group: {
          Path: g.path,
          GroupName: g.groupName,
          GroupId: g.groupId,
          Arn: iam.groupArn(g.groupName, g.path),
          CreateDate: g.createDate,
        },
        Users: r.items.map((u) => userXml(iam, iam.getUser(u))),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async DeleteGroup(ctx, p) {
      const name = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:DeleteGroup', groupArn(name));
      const g = iam.getGroup(name);
      if (g.members.length > 0) throw iamErrors.deleteConflict('remove users from group');
      if (Object.keys(g.inline).length > 0 || g.attached.length > 0)
        throw iamErrors.deleteConflict('delete policies');
      iam.groups.delete(name);
      return {};
    },
    async AddUserToGroup(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const user = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:AddUserToGroup', groupArn(group));
      const g = iam.getGroup(group);
      iam.getUser(user);
      if (!g.members.includes(user)) g.members.push(user);
      return {};
    },
    async RemoveUserFromGroup(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const user = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:RemoveUserFromGroup', groupArn(group));
      const g = iam.getGroup(group);
      if (!g.members.includes(user)) throw iamErrors.noSuchUser(user);
      g.members = g.members.filter((m) => m !== user);
      return {};
    },
    async ListGroupsForUser(ctx, p) {
      const user = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:ListGroupsForUser', userArn(user));
      iam.getUser(user);
      const groups = [...iam.groups.values()].filter((g) => g.members.includes(user));
      const r = page(groups, p);
      return {
        Groups: r.items.map((g) => ({
          Path: g.path,
          GroupName: g.groupName,
          GroupId: g.groupId,
          Arn: iam.groupArn(g.groupName, g.path),
          CreateDate: g.createDate,
        })),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async PutGroupPolicy(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const policyName = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      const doc = validPolicyDocument(
        query(p).str('PolicyDocument', { required: true, pattern: /[\s\S]*/, max: 131072 }),
      );
      await ctx.authorize('iam:PutGroupPolicy', groupArn(group));
      iam.getGroup(group).inline[policyName] = doc;
      return {};
    },
    async GetGroupPolicy(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const policyName = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:GetGroupPolicy', groupArn(group));
      const doc = iam.getGroup(group).inline[policyName];
      if (doc === undefined) throw iamErrors.noSuchGroupPolicy(group, policyName);
      return { GroupName: group, PolicyName: policyName, PolicyDocument: encodeURIComponent(doc) };
    },
    async ListGroupPolicies(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:ListGroupPolicies', groupArn(group));
      const r = page(Object.keys(iam.getGroup(group).inline).sort(), p);
      return { PolicyNames: r.items, IsTruncated: r.IsTruncated, ...(r.Marker ? { Marker: r.Marker } : {}) };
    },
    async DeleteGroupPolicy(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const policyName = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:DeleteGroupPolicy', groupArn(group));
      const g = iam.getGroup(group);
      if (g.inline[policyName] === undefined) throw iamErrors.noSuchGroupPolicy(group, policyName);
      delete g.inline[policyName];
      return {};
    },
    async AttachGroupPolicy(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const arn = query(p).str('PolicyArn', {
        required: true,
        pattern: /^arn:[\w-]+:iam::[\w-]+:policy\/.+$/,
        max: 2048,
      });
      await ctx.authorize('iam:AttachGroupPolicy', groupArn(group));
      const g = iam.getGroup(group);
      iam.getPolicy(arn);
      if (!g.attached.includes(arn)) g.attached.push(arn);
      return {};
    },
    async DetachGroupPolicy(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      const arn = query(p).str('PolicyArn', { required: true, pattern: /^arn:.+$/, max: 2048 });
      await ctx.authorize('iam:DetachGroupPolicy', groupArn(group));
      const g = iam.getGroup(group);
      if (!g.attached.includes(arn)) throw iamErrors.noSuchPolicy(arn);
      g.attached = g.attached.filter((a) => a !== arn);
      return {};
    },
    async ListAttachedGroupPolicies(ctx, p) {
      const group = query(p).str('GroupName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:ListAttachedGroupPolicies', groupArn(group));
      const r = page(iam.getGroup(group).attached, p);
      return {
        AttachedPolicies: r.items.map((arn) => ({
          PolicyName: iam.policies.get(arn)?.policyName ?? arn,
          PolicyArn: arn,
        })),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async CreatePolicy(ctx, p) {
      const name = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      const doc = validPolicyDocument(
        query(p).str('PolicyDocument', { required: true, pattern: /[\s\S]*/, max: 131072 }),
      );
      const path = p.get('Path') ?? '/';
      await ctx.authorize(
        'iam:CreatePolicy',
        `arn:${iam.partition}:iam::${iam.accountId}:policy${path}${name}`,
      );
      return { Policy: policyXml(iam, iam.createPolicy(name, doc, path, p.get('Description') ?? undefined)) };
    },
    async GetPolicy(ctx, p) {
      const arn = query(p).str('PolicyArn', { required: true, pattern: /^arn:.+$/, max: 2048 });
      await ctx.authorize('iam:GetPolicy', arn);
      return { Policy: policyXml(iam, iam.getPolicy(arn)) };
    },
    async GetPolicyVersion(ctx, p) {
      const arn = query(p).str('PolicyArn', { required: true, pattern: /^arn:.+$/, max: 2048 });
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
      const r = page(all, p);
      return {
        Policies: r.items.map((x) => policyXml(iam, x)),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async DeletePolicy(ctx, p) {
      const arn = query(p).str('PolicyArn', { required: true, pattern: /^arn:.+$/, max: 2048 });
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
