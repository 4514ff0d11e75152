import type { XmlObject } from '../../server/xml.ts';
import type { IamBackend, UserRecord } from './backend.ts';
import { iamErrors } from './errors.ts';

/** Query parameters as IAM validates them, its pagination, and the user shape its answers share. */

export const NAME = /^[\w+=,.@-]+$/;

export function required(params: URLSearchParams, member: string, pattern = NAME, max = 128): string {
  const v = params.get(member);
  const camel = member.charAt(0).toLowerCase() + member.slice(1);
  if (v === null || v === '') throw iamErrors.validation(camel, undefined, 'Member must not be null');
  if (v.length > max)
    throw iamErrors.validation(camel, v, `Member must have length less than or equal to ${max}`);
  if (!pattern.test(v))
    throw iamErrors.validation(camel, v, `Member must satisfy regular expression pattern: ${pattern.source}`);
  return v;
}

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
