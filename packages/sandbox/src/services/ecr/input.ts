import { Members } from '../../server/members.ts';
import { ecrErrors, ecrMembers, REPOSITORY_NAME_PATTERN_TEXT } from './errors.ts';
import type { ExclusionFilter, ImageId } from './records.ts';

/**
 * Reading ECR (and ECR Public) request members with the sandbox's one reader (`server/members.ts`) under
 * ECR's rules: every malformed member becomes ECR's `InvalidParameterException` naming the member and the
 * constraint, never a crash. The structures ECR's model shares between operations are read here.
 */

type Input = Record<string, unknown>;

/** ECR's repository-name rule, 2–256 characters (the live wording quotes this pattern). */
const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const REGISTRY_ID = /^[0-9]{12}$/;

/** Request members read under ECR's rules (`ecrMembers`). */
export function ecr(input: Input): Members {
  return new Members(input, ecrMembers);
}

export function repositoryName(input: Input, member = 'repositoryName'): string {
  const name = ecr(input).str(member, { required: true, max: 256 });
  if (name.length < 2)
    throw ecrErrors.invalidMember(member, 'Member must have length greater than or equal to 2');
  if (!REPOSITORY_NAME.test(name))
    throw ecrErrors.invalidMember(
      member,
      `must satisfy regular expression '${REPOSITORY_NAME_PATTERN_TEXT}'`,
    );
  return name;
}

/** Whether `name` is a repository name ECR accepts (the registry listener's NAME_INVALID check). */
export function isRepositoryName(name: string): boolean {
  return name.length >= 2 && name.length <= 256 && REPOSITORY_NAME.test(name);
}

export function registryId(input: Input): string | undefined {
  const id = ecr(input).str('registryId');
  if (id !== undefined && !REGISTRY_ID.test(id))
    throw ecrErrors.invalidMember('registryId', "must satisfy regular expression '[0-9]{12}'");
  return id;
}

/** `imageIds`: 1–`max` ImageIdentifier structures (`{imageDigest?, imageTag?}`). */
export function imageIds(input: Input, max: number, required: boolean): ImageId[] | undefined {
  const v = ecr(input).list('imageIds', { min: 1, max, required });
  if (v === undefined) return undefined;
  return v.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw ecrErrors.invalidMember(`imageIds.${i + 1}`, 'Member must be a structure');
    const r = raw as Input;
    const id = ecr(r);
    return { imageDigest: id.str('imageDigest'), imageTag: id.str('imageTag') };
  });
}

export function tagList(input: Input, member = 'tags'): { Key: string; Value: string }[] | undefined {
  const v = ecr(input).list(member);
  if (v === undefined) return undefined;
  if (v.length > 50) throw ecrErrors.tooManyTags();
  return v.map((raw) => {
    const t = (raw ?? {}) as Input;
    if (typeof t['Key'] !== 'string' || t['Key'].length < 1 || t['Key'].length > 128) {
      throw ecrErrors.invalidTagParameter(
        'Tag keys can have a maximum character length of 128 characters, and tag values can have a maximum length of 256 characters.',
      );
    }
    const value = t['Value'] ?? '';
    if (typeof value !== 'string' || value.length > 256) {
      throw ecrErrors.invalidTagParameter(
        'Tag keys can have a maximum character length of 128 characters, and tag values can have a maximum length of 256 characters.',
      );
    }
    return { Key: t['Key'], Value: value };
  });
}

/**
 * `nextToken`/`maxResults` pagination. Tokens are opaque to clients (base64 of the next offset); a token
 * that does not decode is refused as ECR refuses a foreign one.
 */
export function paginate<T>(
  items: readonly T[],
  input: Input,
  defaultMax: number,
  maxMax: number,
): { page: T[]; nextToken: string | undefined } {
  const members = ecr(input);
  const max = members.int('maxResults', { min: 1, max: maxMax }) ?? defaultMax;
  const token = members.str('nextToken', { max: 4096 });
  let start = 0;
  if (token !== undefined) {
    const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
    if (!/^o:\d{1,9}$/.test(text)) throw ecrErrors.invalidMember('nextToken', 'Invalid NextToken provided');
    start = Number(text.slice(2));
  }
  const page = items.slice(start, start + max);
  const next = start + max;
  return {
    page,
    nextToken: next < items.length ? Buffer.from(`o:${next}`).toString('base64url') : undefined,
  };
}

/** `imageTagMutabilityExclusionFilters`: 1–5 `{filterType: 'WILDCARD', filter}` with ECR's filter alphabet. */
export function exclusionFilters(input: Input): ExclusionFilter[] | undefined {
  const member = 'imageTagMutabilityExclusionFilters';
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length < 1 || v.length > 5)
    throw ecrErrors.invalidMember(member, 'Member must be a list of 1 to 5 filters');
  return v.map((raw, i) => {
    const f = (raw ?? {}) as Input;
    if (f['filterType'] !== 'WILDCARD')
      throw ecrErrors.invalidMember(
        `${member}.${i + 1}.filterType`,
        'Member must satisfy enum value set: [WILDCARD]',
      );
    const filter = f['filter'];
    if (typeof filter !== 'string' || !/^[0-9a-zA-Z._*-]{1,128}$/.test(filter)) {
      throw ecrErrors.invalidMember(
        `${member}.${i + 1}.filter`,
        'Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}$',
      );
    }
    return { filterType: 'WILDCARD', filter };
  });
}
