import { Members } from '../../server/members.ts';
import type { XmlObject } from '../../server/xml.ts';
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
