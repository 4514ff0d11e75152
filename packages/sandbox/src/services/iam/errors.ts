import { ServiceError } from '../../errors.ts';
import type { MemberRules } from '../../server/members.ts';

/**
 * IAM's errors (Query protocol). Codes and statuses follow the SDK's error schemas (`@aws-sdk/client-iam`:
 * NoSuchEntity 404, LimitExceeded 409, InvalidInput 400, ServiceFailure 500); messages follow what AWS
 * answers (the two-key message is asserted by moto's tests and quoted in many user reports).
 */
export const iamErrors = {
  noSuchUser: (name: string) =>
    new ServiceError('NoSuchEntity', `The user with name ${name} cannot be found.`, 404),
  noSuchGroup: (name: string) =>
    new ServiceError('NoSuchEntity', `The group with name ${name} cannot be found.`, 404),
  noSuchAccessKey: (id: string) =>
    new ServiceError('NoSuchEntity', `The Access Key with id ${id} cannot be found.`, 404),
  noSuchUserPolicy: (user: string, policy: string) =>
    new ServiceError(
      'NoSuchEntity',
      `The user policy with name ${policy} cannot be found for user ${user}.`,
      404,
    ),
  noSuchGroupPolicy: (group: string, policy: string) =>
    new ServiceError(
      'NoSuchEntity',
      `The group policy with name ${policy} cannot be found for group ${group}.`,
      404,
    ),
  noSuchPolicy: (arn: string) =>
    new ServiceError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404),
  noSuchPolicyVersion: (arn: string, v: string) =>
    new ServiceError('NoSuchEntity', `Policy ${arn} version ${v} does not exist or is not attachable.`, 404),
  userExists: (name: string) =>
    new ServiceError('EntityAlreadyExists', `User with name ${name} already exists.`, 409),
  groupExists: (name: string) =>
    new ServiceError('EntityAlreadyExists', `Group with name ${name} already exists.`, 409),
  policyExists: (name: string) =>
    new ServiceError(
      'EntityAlreadyExists',
      `A policy called ${name} already exists. Duplicate names are not allowed.`,
      409,
    ),
  keyLimit: () => new ServiceError('LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2', 409),
  deleteConflict: (what: string) =>
    new ServiceError('DeleteConflict', `Cannot delete entity, must ${what} first.`, 409),
  malformedPolicy: (detail: string) => new ServiceError('MalformedPolicyDocument', detail, 400),
  invalidInput: (message: string) => new ServiceError('InvalidInput', message, 400),
  /** Smithy-style validation failure for a missing or out-of-range member. */
  validation: (member: string, value: string | undefined, constraint: string) =>
    new ServiceError(
      'ValidationError',
      `1 validation error detected: Value ${value === undefined ? 'null' : `'${value}'`} at '${member}' failed to satisfy constraint: ${constraint}`,
      400,
    ),
};

/**
 * How IAM words a broken Query parameter (the shared reader in `server/members.ts`): `ValidationError`
 * naming the member in camelCase; an empty parameter counts as missing.
 */
export const iamMembers: MemberRules = {
  wrongType: (member, expected) =>
    iamErrors.validation(lowerFirst(member), undefined, `Member must be ${expected}`),
  invalid: (path, value, constraint) =>
    iamErrors.validation(lowerFirst(path), value === undefined ? undefined : String(value), constraint),
  blankIsMissing: true,
};

function lowerFirst(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}
