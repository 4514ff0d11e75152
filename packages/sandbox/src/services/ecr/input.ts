import { ecrErrors, REPOSITORY_NAME_PATTERN_TEXT } from './errors.ts';
import type { ExclusionFilter, ImageId } from './records.ts';

/**
 * Reading ECR (and ECR Public) request members. Every malformed member becomes ECR's
 * `InvalidParameterException` naming the member and the constraint, never a crash: handlers only see values
 * of the types the API model declares.
 */

type Input = Record<string, unknown>;

/** ECR's repository-name rule, 2–256 characters (the live wording quotes this pattern). */
const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const REGISTRY_ID = /^[0-9]{12}$/;

export function optionalString(input: Input, member: string, max = 1024): string | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw ecrErrors.invalidMember(member, 'Member must be a string');
  if (v.length > max)
    throw ecrErrors.invalidMember(member, `Member must have length less than or equal to ${max}`);
  return v;
}

export function requiredString(input: Input, member: string, max = 1024): string {
  const v = optionalString(input, member, max);
  if (v === undefined || v === '') throw ecrErrors.invalidMember(member, 'Member must not be null');
  return v;
}

export function repositoryName(input: Input, member = 'repositoryName'): string {
  const name = requiredString(input, member, 256);
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
  const id = optionalString(input, 'registryId');
  if (id !== undefined && !REGISTRY_ID.test(id))
    throw ecrErrors.invalidMember('registryId', "must satisfy regular expression '[0-9]{12}'");
  return id;
}

export function optionalBoolean(input: Input, member: string): boolean | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw ecrErrors.invalidMember(member, 'Member must be a boolean');
  return v;
}

export function optionalInteger(input: Input, member: string, min: number, max: number): number | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw ecrErrors.invalidMember(member, 'Member must be an integer');
  if (v < min)
    throw ecrErrors.invalidMember(member, `Member must have value greater than or equal to ${min}`);
  if (v > max) throw ecrErrors.invalidMember(member, `Member must have value less than or equal to ${max}`);
  return v;
}

export function requiredInteger(input: Input, member: string, min: number, max: number): number {
  const v = optionalInteger(input, member, min, max);
  if (v === undefined) throw ecrErrors.invalidMember(member, 'Member must not be null');
  return v;
}

export function stringList(
  input: Input,
  member: string,
  min: number,
  max: number,
  required: boolean,
): string[] | undefined {
  const v = input[member];
  if (v === undefined || v === null) {
    if (required) throw ecrErrors.invalidMember(member, 'Member must not be null');
    return undefined;
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw ecrErrors.invalidMember(member, 'Member must be a list of strings');
  if (v.length < min)
    throw ecrErrors.invalidMember(member, `Member must have length greater than or equal to ${min}`);
  if (v.length > max)
    throw ecrErrors.invalidMember(member, `Member must have length less than or equal to ${max}`);
  return v as string[];
}

export function enumMember<T extends string>(
  input: Input,
  member: string,
  values: readonly T[],
): T | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw ecrErrors.invalidMember(member, `Member must satisfy enum value set: [${values.join(', ')}]`);
  }
  return v as T;
}

export function object(input: Input, member: string): Input | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw ecrErrors.invalidMember(member, 'Member must be a structure');
  return v as Input;
}

/** `imageIds`: 1–`max` ImageIdentifier structures (`{imageDigest?, imageTag?}`). */
export function imageIds(input: Input, max: number, required: boolean): ImageId[] | undefined {
  const v = input['imageIds'];
  if (v === undefined || v === null) {
    if (required) throw ecrErrors.invalidMember('imageIds', 'Member must not be null');
    return undefined;
  }
  if (!Array.isArray(v)) throw ecrErrors.invalidMember('imageIds', 'Member must be a list');
  if (v.length < 1)
    throw ecrErrors.invalidMember('imageIds', 'Member must have length greater than or equal to 1');
  if (v.length > max)
    throw ecrErrors.invalidMember('imageIds', `Member must have length less than or equal to ${max}`);
  return v.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw ecrErrors.invalidMember(`imageIds.${i + 1}`, 'Member must be a structure');
    const r = raw as Input;
    return { imageDigest: optionalString(r, 'imageDigest'), imageTag: optionalString(r, 'imageTag') };
  });
}

export function tagList(input: Input, member = 'tags'): { Key: string; Value: string }[] | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw ecrErrors.invalidMember(member, 'Member must be a list');
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
  const max = optionalInteger(input, 'maxResults', 1, maxMax) ?? defaultMax;
  const token = optionalString(input, 'nextToken', 4096);
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
