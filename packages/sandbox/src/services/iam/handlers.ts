import type { OperationContext, QueryOperation } from '../../server/aws.ts';
import type { XmlObject } from '../../server/xml.ts';
import type { AccessKeyRecord, IamBackend } from './backend.ts';
import { iamErrors } from './errors.ts';
import { groupAndPolicyHandlers } from './group-handlers.ts';
import { member, paged, tagsParam, userXml } from './params.ts';
import { policyHandlers } from './principal-policies.ts';

/**
 * IAM's user and access-key operations (Query protocol; a user's policies in `principal-policies.ts`, groups and
 * managed policies in `group-handlers.ts`, the simulation in `simulate.ts`): parse form parameters, authorise, call the backend,
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

/** A key as IAM answers it; the secret only in `CreateAccessKey`'s answer, in IAM's member order. */
function accessKeyXml(k: AccessKeyRecord, secretAccessKey?: string): XmlObject {
  return {
    UserName: k.userName,
    AccessKeyId: k.accessKeyId,
    Status: k.status,
    ...(secretAccessKey === undefined ? {} : { SecretAccessKey: secretAccessKey }),
    CreateDate: k.createDate,
  };
}

export function iamHandlers(iam: IamBackend): Record<string, QueryOperation> {
  const userArn = (name: string) => iam.userArn(name, iam.users.get(name)?.path ?? '/');
  return {
    ...groupAndPolicyHandlers(iam),
    ...policyHandlers(iam, 'User'),
    async CreateUser(ctx, p) {
      const name = member.userName(p);
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
      return paged('Users', [...iam.users.values()], p, (u) => userXml(iam, u));
    },
    async DeleteUser(ctx, p) {
      const name = member.userName(p);
      await ctx.authorize('iam:DeleteUser', userArn(name));
      iam.deleteUser(name);
      return {};
    },
    async CreateAccessKey(ctx, p) {
      const user = keyUser(ctx, p);
      await ctx.authorize('iam:CreateAccessKey', userArn(user));
      const k = iam.createAccessKey(user);
      return { AccessKey: accessKeyXml(k, k.secretAccessKey) };
    },
    async ListAccessKeys(ctx, p) {
      const user = keyUser(ctx, p);
      await ctx.authorize('iam:ListAccessKeys', userArn(user));
      iam.getUser(user);
      return paged('AccessKeyMetadata', iam.listedKeysOf(user), p, (k) => accessKeyXml(k));
    },
    async UpdateAccessKey(ctx, p) {
      const user = keyUser(ctx, p);
      const id = member.accessKeyId(p);
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
      const id = member.accessKeyId(p);
      await ctx.authorize('iam:DeleteAccessKey', userArn(user));
      iam.getUser(user);
      iam.getAccessKey(id, user);
      iam.deleteAccessKey(id);
      return {};
    },
    async GetAccessKeyLastUsed(ctx, p) {
      const id = member.accessKeyId(p);
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
      const name = member.userName(p);
      await ctx.authorize('iam:TagUser', userArn(name));
      const u = iam.getUser(name);
      for (const t of tagsParam(p)) {
        u.tags = [...u.tags.filter((x) => x.Key !== t.Key), t];
      }
      return {};
    },
  };
}
