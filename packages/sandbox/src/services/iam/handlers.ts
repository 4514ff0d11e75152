import type { OperationContext, QueryOperation } from '../../server/aws.ts';
import type { XmlObject } from '../../server/xml.ts';
import type { IamBackend, ManagedPolicyRecord, UserRecord } from './backend.ts';
import { iamErrors } from './errors.ts';

/**
 * IAM operations (Query protocol): parse form parameters, authorise, call the backend, shape the result the
 * way IAM's XML does. Policy documents go out URL-encoded, as IAM returns them (RFC 3986).
 */

const NAME = /^[\w+=,.@-]+$/;

function required(params: URLSearchParams, member: string, pattern = NAME, max = 128): string {
  const v = params.get(member);
  const camel = member.charAt(0).toLowerCase() + member.slice(1);
  if (v === null || v === '') throw iamErrors.validation(camel, undefined, 'Member must not be null');
  if (v.length > max)
    throw iamErrors.validation(camel, v, `Member must have length less than or equal to ${max}`);
  if (!pattern.test(v))
    throw iamErrors.validation(camel, v, `Member must satisfy regular expression pattern: ${pattern.source}`);
  return v;
}

function validPolicyDocument(doc: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw iamErrors.malformedPolicy('Syntax errors in policy.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw iamErrors.malformedPolicy('Syntax errors in policy.');
  if (!('Statement' in parsed)) throw iamErrors.malformedPolicy('Missing required field Statement');
  return doc;
}

function tagsParam(params: URLSearchParams): { Key: string; Value: string }[] {
  const out: { Key: string; Value: string }[] = [];
  for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
    out.push({
      Key: params.get(`Tags.member.${i}.Key`) ?? '',
      Value: params.get(`Tags.member.${i}.Value`) ?? '',
    });
  }
  return out;
}

/** Marker/MaxItems pagination as IAM does it (default 100 items). */
function page<T>(items: T[], params: URLSearchParams): { items: T[]; IsTruncated: boolean; Marker?: string } {
  const max = Math.min(Math.max(Number(params.get('MaxItems') ?? '100') || 100, 1), 1000);
  const start = Number(params.get('Marker') ?? '0') || 0;
  const slice = items.slice(start, start + max);
  const next = start + max;
  return next < items.length
    ? { items: slice, IsTruncated: true, Marker: String(next) }
    : { items: slice, IsTruncated: false };
}

function userXml(iam: IamBackend, u: UserRecord): XmlObject {
  return {
    Path: u.path,
    UserName: u.userName,
    UserId: u.userId,
    Arn: iam.userArn(u.userName, u.path),
    CreateDate: u.createDate,
    ...(u.tags.length > 0 ? { Tags: u.tags.map((t) => ({ Key: t.Key, Value: t.Value })) } : {}),
  };
}

function policyXml(iam: IamBackend, p: ManagedPolicyRecord): XmlObject {
  return {
    PolicyName: p.policyName,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.versions.find((v) => v.isDefault)?.versionId ?? 'v1',
    AttachmentCount: iam.attachmentCount(p.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    ...(p.description ? { Description: p.description } : {}),
    CreateDate: p.createDate,
    UpdateDate: p.updateDate,
  };
}

/** User an access-key call is about: the named one, else the caller (IAM's implicit user). */
function keyUser(ctx: OperationContext, params: URLSearchParams): string {
  const named = params.get('UserName');
  if (named) return named;
  if (ctx.principal.kind === 'user' && ctx.principal.userName) return ctx.principal.userName;
  throw iamErrors.validation(
    'userName',
    undefined,
    'Must specify userName when calling with non-User credentials',
  );
}

export function iamHandlers(iam: IamBackend): Record<string, QueryOperation> {
  const userArn = (name: string) => iam.userArn(name, iam.users.get(name)?.path ?? '/');
  const groupArn = (name: string) => iam.groupArn(name, iam.groups.get(name)?.path ?? '/');
  return {
    async CreateUser(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      const path = p.get('Path') ?? '/';
      await ctx.authorize('iam:CreateUser', iam.userArn(name, path));
      return { User: userXml(iam, iam.createUser(name, path, tagsParam(p))) };
    },
    async GetUser(ctx, p) {
      const name = p.get('UserName') ?? ctx.principal.userName;
      if (!name)
        throw iamErrors.validation(
          'userName',
          undefined,
          'Must specify userName when calling with non-User credentials',
        );
      await ctx.authorize('iam:GetUser', userArn(name));
      return { User: userXml(iam, iam.getUser(name)) };
    },
    async ListUsers(ctx, p) {
      await ctx.authorize('iam:ListUsers', '*');
      const r = page([...iam.users.values()], p);
      return {
        Users: r.items.map((u) => userXml(iam, u)),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async DeleteUser(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      await ctx.authorize('iam:DeleteUser', userArn(name));
      iam.deleteUser(name);
      return {};
    },
    async PutUserPolicy(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      const policyName = required(p, 'PolicyName');
      const doc = validPolicyDocument(required(p, 'PolicyDocument', /[\s\S]*/, 131072));
      await ctx.authorize('iam:PutUserPolicy', userArn(name));
      iam.getUser(name).inline[policyName] = doc;
      return {};
    },
    async GetUserPolicy(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      const policyName = required(p, 'PolicyName');
      await ctx.authorize('iam:GetUserPolicy', userArn(name));
      const doc = iam.getUser(name).inline[policyName];
      if (doc === undefined) throw iamErrors.noSuchUserPolicy(name, policyName);
      return { UserName: name, PolicyName: policyName, PolicyDocument: encodeURIComponent(doc) };
    },
    async ListUserPolicies(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      await ctx.authorize('iam:ListUserPolicies', userArn(name));
      const r = page(Object.keys(iam.getUser(name).inline).sort(), p);
      return { PolicyNames: r.items, IsTruncated: r.IsTruncated, ...(r.Marker ? { Marker: r.Marker } : {}) };
    },
    async DeleteUserPolicy(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      const policyName = required(p, 'PolicyName');
      await ctx.authorize('iam:DeleteUserPolicy', userArn(name));
      const u = iam.getUser(name);
      if (u.inline[policyName] === undefined) throw iamErrors.noSuchUserPolicy(name, policyName);
      delete u.inline[policyName];
      return {};
    },
    async AttachUserPolicy(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      const arn = required(p, 'PolicyArn', /^arn:[\w-]+:iam::[\w-]+:policy\/.+$/, 2048);
      await ctx.authorize('iam:AttachUserPolicy', userArn(name));
      const u = iam.getUser(name);
      iam.getPolicy(arn);
      if (!u.attached.includes(arn)) u.attached.push(arn);
      return {};
    },
    async DetachUserPolicy(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      const arn = required(p, 'PolicyArn', /^arn:.+$/, 2048);
      await ctx.authorize('iam:DetachUserPolicy', userArn(name));
      const u = iam.getUser(name);
      if (!u.attached.includes(arn)) throw iamErrors.noSuchPolicy(arn);
      u.attached = u.attached.filter((a) => a !== arn);
      return {};
    },
    async ListAttachedUserPolicies(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      await ctx.authorize('iam:ListAttachedUserPolicies', userArn(name));
      const r = page(iam.getUser(name).attached, p);
      return {
        AttachedPolicies: r.items.map((arn) => ({
          PolicyName: iam.policies.get(arn)?.policyName ?? arn.split('/').pop() ?? arn,
          PolicyArn: arn,
        })),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async CreateGroup(ctx, p) {
      const name = required(p, 'GroupName', NAME);
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
      const name = required(p, 'GroupName', NAME);
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
      const name = required(p, 'GroupName', NAME);
      await ctx.authorize('iam:DeleteGroup', groupArn(name));
      const g = iam.getGroup(name);
      if (g.members.length > 0) throw iamErrors.deleteConflict('remove users from group');
      if (Object.keys(g.inline).length > 0 || g.attached.length > 0)
        throw iamErrors.deleteConflict('delete policies');
      iam.groups.delete(name);
      return {};
    },
    async AddUserToGroup(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      const user = required(p, 'UserName', NAME, 64);
      await ctx.authorize('iam:AddUserToGroup', groupArn(group));
      const g = iam.getGroup(group);
      iam.getUser(user);
      if (!g.members.includes(user)) g.members.push(user);
      return {};
    },
    async RemoveUserFromGroup(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      const user = required(p, 'UserName', NAME, 64);
      await ctx.authorize('iam:RemoveUserFromGroup', groupArn(group));
      const g = iam.getGroup(group);
      if (!g.members.includes(user)) throw iamErrors.noSuchUser(user);
      g.members = g.members.filter((m) => m !== user);
      return {};
    },
    async ListGroupsForUser(ctx, p) {
      const user = required(p, 'UserName', NAME, 64);
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
      const group = required(p, 'GroupName', NAME);
      const policyName = required(p, 'PolicyName');
      const doc = validPolicyDocument(required(p, 'PolicyDocument', /[\s\S]*/, 131072));
      await ctx.authorize('iam:PutGroupPolicy', groupArn(group));
      iam.getGroup(group).inline[policyName] = doc;
      return {};
    },
    async GetGroupPolicy(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      const policyName = required(p, 'PolicyName');
      await ctx.authorize('iam:GetGroupPolicy', groupArn(group));
      const doc = iam.getGroup(group).inline[policyName];
      if (doc === undefined) throw iamErrors.noSuchGroupPolicy(group, policyName);
      return { GroupName: group, PolicyName: policyName, PolicyDocument: encodeURIComponent(doc) };
    },
    async ListGroupPolicies(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      await ctx.authorize('iam:ListGroupPolicies', groupArn(group));
      const r = page(Object.keys(iam.getGroup(group).inline).sort(), p);
      return { PolicyNames: r.items, IsTruncated: r.IsTruncated, ...(r.Marker ? { Marker: r.Marker } : {}) };
    },
    async DeleteGroupPolicy(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      const policyName = required(p, 'PolicyName');
      await ctx.authorize('iam:DeleteGroupPolicy', groupArn(group));
      const g = iam.getGroup(group);
      if (g.inline[policyName] === undefined) throw iamErrors.noSuchGroupPolicy(group, policyName);
      delete g.inline[policyName];
      return {};
    },
    async AttachGroupPolicy(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      const arn = required(p, 'PolicyArn', /^arn:[\w-]+:iam::[\w-]+:policy\/.+$/, 2048);
      await ctx.authorize('iam:AttachGroupPolicy', groupArn(group));
      const g = iam.getGroup(group);
      iam.getPolicy(arn);
      if (!g.attached.includes(arn)) g.attached.push(arn);
      return {};
    },
    async DetachGroupPolicy(ctx, p) {
      const group = required(p, 'GroupName', NAME);
      const arn = required(p, 'PolicyArn', /^arn:.+$/, 2048);
      await ctx.authorize('iam:DetachGroupPolicy', groupArn(group));
      const g = iam.getGroup(group);
      if (!g.attached.includes(arn)) throw iamErrors.noSuchPolicy(arn);
      g.attached = g.attached.filter((a) => a !== arn);
      return {};
    },
    async ListAttachedGroupPolicies(ctx, p) {
      const group = required(p, 'GroupName', NAME);
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
      const name = required(p, 'PolicyName');
      const doc = validPolicyDocument(required(p, 'PolicyDocument', /[\s\S]*/, 131072));
      const path = p.get('Path') ?? '/';
      await ctx.authorize(
        'iam:CreatePolicy',
        `arn:${iam.partition}:iam::${iam.accountId}:policy${path}${name}`,
      );
      return { Policy: policyXml(iam, iam.createPolicy(name, doc, path, p.get('Description') ?? undefined)) };
    },
    async GetPolicy(ctx, p) {
      const arn = required(p, 'PolicyArn', /^arn:.+$/, 2048);
      await ctx.authorize('iam:GetPolicy', arn);
      return { Policy: policyXml(iam, iam.getPolicy(arn)) };
    },
    async GetPolicyVersion(ctx, p) {
      const arn = required(p, 'PolicyArn', /^arn:.+$/, 2048);
      const versionId = required(p, 'VersionId', /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/);
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
      const arn = required(p, 'PolicyArn', /^arn:.+$/, 2048);
      await ctx.authorize('iam:DeletePolicy', arn);
      const pol = iam.getPolicy(arn);
      if (pol.awsManaged) throw iamErrors.invalidInput('AWS managed policies cannot be deleted.');
      if (iam.attachmentCount(arn) > 0) throw iamErrors.deleteConflict('detach all policies');
      iam.policies.delete(arn);
      return {};
    },
    async CreateAccessKey(ctx, p) {
      const user = keyUser(ctx, p);
      await ctx.authorize('iam:CreateAccessKey', userArn(user));
      const k = iam.createAccessKey(user);
      return {
        AccessKey: {
          UserName: k.userName,
          AccessKeyId: k.accessKeyId,
          Status: k.status,
          SecretAccessKey: k.secretAccessKey,
          CreateDate: k.createDate,
        },
      };
    },
    async ListAccessKeys(ctx, p) {
      const user = keyUser(ctx, p);
      await ctx.authorize('iam:ListAccessKeys', userArn(user));
      iam.getUser(user);
      const r = page(iam.listedKeysOf(user), p);
      return {
        AccessKeyMetadata: r.items.map((k) => ({
          UserName: k.userName,
          AccessKeyId: k.accessKeyId,
          Status: k.status,
          CreateDate: k.createDate,
        })),
        IsTruncated: r.IsTruncated,
        ...(r.Marker ? { Marker: r.Marker } : {}),
      };
    },
    async UpdateAccessKey(ctx, p) {
      const user = keyUser(ctx, p);
      const id = required(p, 'AccessKeyId', /^[\w]+$/);
      const status = p.get('Status');
      if (status !== 'Active' && status !== 'Inactive') {
        throw iamErrors.validation(
          'status',
          status ?? undefined,
          'Member must satisfy enum value set: [Active, Inactive]',
        );
      }
      await ctx.authorize('iam:UpdateAccessKey', userArn(user));
      iam.getUser(user);
      iam.getAccessKey(id, user).status = status;
      return {};
    },
    async DeleteAccessKey(ctx, p) {
      const user = keyUser(ctx, p);
      const id = required(p, 'AccessKeyId', /^[\w]+$/);
      await ctx.authorize('iam:DeleteAccessKey', userArn(user));
      iam.getUser(user);
      iam.getAccessKey(id, user);
      iam.deleteAccessKey(id);
      return {};
    },
    async GetAccessKeyLastUsed(ctx, p) {
      const id = required(p, 'AccessKeyId', /^[\w]+$/);
      const key = iam.getAccessKey(id);
      await ctx.authorize('iam:GetAccessKeyLastUsed', userArn(key.userName));
      const used = iam.reportedUse(key);
      // A key never used reports ServiceName and Region "N/A" and no date
      // (https://docs.aws.amazon.com/IAM/latest/APIReference/API_AccessKeyLastUsed.html).
      return {
        UserName: key.userName,
        AccessKeyLastUsed: used
          ? { LastUsedDate: used.date, ServiceName: used.serviceName, Region: used.region }
          : { ServiceName: 'N/A', Region: 'N/A' },
      };
    },
    async TagUser(ctx, p) {
      const name = required(p, 'UserName', NAME, 64);
      await ctx.authorize('iam:TagUser', userArn(name));
      const u = iam.getUser(name);
      for (const t of tagsParam(p)) {
        u.tags = [...u.tags.filter((x) => x.Key !== t.Key), t];
      }
      return {};
    },
  };
}
