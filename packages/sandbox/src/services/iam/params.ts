import { Members } from '../../server/members.ts';
import type { XmlObject, XmlValue } from '../../server/xml.ts';
import type { IamBackend, UserRecord } from './backend.ts';
import { iamErrors, iamMembers } from './errors.ts';

/** Query parameters as IAM validates them, its pagination, and the user shape its answers share. */

export const NAME = /^[\w+=,.@-]+$/;

/**
 * Query parameters read under IAM's rules (`iamMembers`). A repeated parameter counts once, at its first
 * value, as `URLSearchParams.get` reads it.
 */
export function query(params: URLSearchParams): Members {
  const input: Record<string, unknown> = {};
  for (const [k, v] of params) if (!(k in input)) input[k] = v;
  return new Members(input, iamMembers);
}

/** The members several IAM operations read, under IAM's constraints (the API reference's "Request Parameters"). */
export const member = {
  userName: (p: URLSearchParams) => query(p).str('UserName', { required: true, pattern: NAME, max: 64 }),
  groupName: (p: URLSearchParams) => query(p).str('GroupName', { required: true, pattern: NAME, max: 128 }),
  policyName: (p: URLSearchParams) => query(p).str('PolicyName', { required: true, pattern: NAME, max: 128 }),
  policyDocument: (p: URLSearchParams) =>
    validPolicyDocument(query(p).str('PolicyDocument', { required: true, pattern: /[\s\S]*/, max: 131072 })),
  policyArn: (p: URLSearchParams) =>
    query(p).str('PolicyArn', { required: true, pattern: /^arn:.+$/, max: 2048 }),
  /** Attach names a managed policy: its ARN has the `policy/` resource. */
  attachablePolicyArn: (p: URLSearchParams) =>
    query(p).str('PolicyArn', { required: true, pattern: /^arn:[\w-]+:iam::[\w-]+:policy\/.+$/, max: 2048 }),
  accessKeyId: (p: URLSearchParams) =>
    query(p).str('AccessKeyId', { required: true, pattern: /^[\w]+$/, max: 128 }),
};

export function validPolicyDocument(doc: string): string {
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

export function tagsParam(params: URLSearchParams): { Key: string; Value: string }[] {
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
export function page<T>(
  items: T[],
  params: URLSearchParams,
): { items: T[]; IsTruncated: boolean; Marker?: string } {
  const max = Math.min(Math.max(Number(params.get('MaxItems') ?? '100') || 100, 1), 1000);
  const start = Number(params.get('Marker') ?? '0') || 0;
  const slice = items.slice(start, start + max);
  const next = start + max;
  return next < items.length
    ? { items: slice, IsTruncated: true, Marker: String(next) }
    : { items: slice, IsTruncated: false };
}

/** One page of `items` as the list operations answer it: under `list`, with `IsTruncated` and `Marker`. */
export function paged<T>(
  list: string,
  items: T[],
  params: URLSearchParams,
  view: (item: T) => XmlValue = (item) => item as XmlValue,
): XmlObject {
  const r = page(items, params);
  return { [list]: r.items.map(view), IsTruncated: r.IsTruncated, ...(r.Marker ? { Marker: r.Marker } : {}) };
}

export function userXml(iam: IamBackend, u: UserRecord): XmlObject {
  return {
    Path: u.path,
    UserName: u.userName,
    UserId: u.userId,
    Arn: iam.userArn(u.userName, u.path),
    CreateDate: u.createDate,
    ...(u.permissionsBoundary
      ? {
          PermissionsBoundary: {
            PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
            PermissionsBoundaryArn: u.permissionsBoundary,
          },
        }
      : {}),
    ...(u.tags.length > 0 ? { Tags: u.tags.map((t) => ({ Key: t.Key, Value: t.Value })) } : {}),
  };
}
