import type { OperationContext, QueryOperation } from '../../server/aws.ts';
import type { IamBackend } from './backend.ts';
import { iamErrors } from './errors.ts';
import { groupAndPolicyHandlers } from './group-handlers.ts';
import { NAME, page, query, tagsParam, userXml, validPolicyDocument } from './params.ts';

/**
 * IAM's user, inline-policy and access-key operations (Query protocol; groups and managed policies in
 * `group-handlers.ts`, the simulation in `simulate.ts`): parse form parameters, authorise, call the backend,
 * shape the result the way IAM's XML does. Policy documents go out URL-encoded, as IAM returns them (RFC 3986).
 */

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
  return {
    ...groupAndPolicyHandlers(iam),
    async CreateUser(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
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
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:DeleteUser', userArn(name));
      iam.deleteUser(name);
      return {};
    },
    async PutUserPolicy(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      const policyName = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      const doc = validPolicyDocument(
        query(p).str('PolicyDocument', { required: true, pattern: /[\s\S]*/, max: 131072 }),
      );
      await ctx.authorize('iam:PutUserPolicy', userArn(name));
      iam.getUser(name).inline[policyName] = doc;
      return {};
    },
    async GetUserPolicy(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      const policyName = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:GetUserPolicy', userArn(name));
      const doc = iam.getUser(name).inline[policyName];
      if (doc === undefined) throw iamErrors.noSuchUserPolicy(name, policyName);
      return { UserName: name, PolicyName: policyName, PolicyDocument: encodeURIComponent(doc) };
    },
    async ListUserPolicies(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:ListUserPolicies', userArn(name));
      const r = page(Object.keys(iam.getUser(name).inline).sort(), p);
      return { PolicyNames: r.items, IsTruncated: r.IsTruncated, ...(r.Marker ? { Marker: r.Marker } : {}) };
    },
    async DeleteUserPolicy(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      const policyName = query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 });
      await ctx.authorize('iam:DeleteUserPolicy', userArn(name));
      const u = iam.getUser(name);
      if (u.inline[policyName] === undefined) throw iamErrors.noSuchUserPolicy(name, policyName);
      delete u.inline[policyName];
      return {};
    },
    async AttachUserPolicy(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      const arn = query(p).str('PolicyArn', {
        required: true,
        pattern: /^arn:[\w-]+:iam::[\w-]+:policy\/.+$/,
        max: 2048,
      });
      await ctx.authorize('iam:AttachUserPolicy', userArn(name));
      const u = iam.getUser(name);
      iam.getPolicy(arn);
      if (!u.attached.includes(arn)) u.attached.push(arn);
      return {};
    },
    async DetachUserPolicy(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      const arn = query(p).str('PolicyArn', { required: true, pattern: /^arn:.+$/, max: 2048 });
      await ctx.authorize('iam:DetachUserPolicy', userArn(name));
      const u = iam.getUser(name);
      if (!u.attached.includes(arn)) throw iamErrors.noSuchPolicy(arn);
      u.attached = u.attached.filter((a) => a !== arn);
      return {};
    },
    async ListAttachedUserPolicies(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
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
      const id = query(p).str('AccessKeyId', { required: true, pattern: /^[\w]+$/, max: 128 });
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
      const id = query(p).str('AccessKeyId', { required: true, pattern: /^[\w]+$/, max: 128 });
      await ctx.authorize('iam:DeleteAccessKey', userArn(user));
      iam.getUser(user);
      iam.getAccessKey(id, user);
      iam.deleteAccessKey(id);
      return {};
    },
    async GetAccessKeyLastUsed(ctx, p) {
      const id = query(p).str('AccessKeyId', { required: true, pattern: /^[\w]+$/, max: 128 });
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
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:TagUser', userArn(name));
      const u = iam.getUser(name);
      for (const t of tagsParam(p)) {
        u.tags = [...u.tags.filter((x) => x.Key !== t.Key), t];
      }
      return {};
    },
  };
}
