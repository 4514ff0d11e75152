import { ServiceError } from '../../errors.ts';
import type { MemberRules } from '../../server/members.ts';

/**
 * Secrets Manager's errors (AWS JSON 1.1, message key `Message`: the SDK's error schemas). Every error is HTTP 400
 * except `InternalServiceError`: the SDK's error schemas carry no `httpError` trait, and LocalStack's
 * snapshots recorded against real AWS (`localstack/localstack:tests/aws/services/secretsmanager/
 * test_secretsmanager.snapshot.json@8b9a79f`, below "LS snapshot") show 400 for `ResourceNotFoundException`,
 * `InvalidRequestException`, `ValidationException`, `ResourceExistsException` and even
 * `AccessDeniedException`. Each message says where its wording comes from; "not found" marks wording we
 * could not find an AWS answer for, chosen to name the member at fault and how to fix it.
 */

const STATUS = 400;

export const smErrors = {
  /** LS snapshot `test_secret_not_found`. */
  secretNotFound: () =>
    new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.", STATUS),

  /** LS snapshot `test_secret_version_not_found` (`AWSCURRENT` on a value-less secret, `AWSPENDING`). */
  valueNotFoundForStage: (stage: string) =>
    new ServiceError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      STATUS,
    ),

  /** LS snapshot `test_secret_version_not_found`. */
  valueNotFoundForVersion: (versionId: string) =>
    new ServiceError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      STATUS,
    ),

  /** LS snapshot `test_get_secret_value_errors`. */
  stageVersionMismatch: () =>
    new ServiceError(
      'InvalidRequestException',
      'You provided a VersionStage that is not associated to the provided VersionId.',
      STATUS,
    ),

  /** LS snapshot `test_secret_exists_snapshots`. */
  secretExists: (name: string) =>
    new ServiceError(
      'ResourceExistsException',
      `The operation failed because the secret ${name} already exists.`,
      STATUS,
    ),

  /**
   * A `ClientRequestToken` naming an existing version with a different value. The wording is the SDK's own
   * description of this failure (`PutSecretValueCommand` doc: "You can't modify an existing version, you can
   * only create a new version."); AWS's exact message was not found.
   */
  versionExists: () =>
    new ServiceError(
      'ResourceExistsException',
      "You can't modify an existing version, you can only create a new version.",
      STATUS,
    ),

  /** LS snapshot `test_tag_untag_resource_on_deleted_secret`. */
  markedForDeletion: () =>
    new ServiceError(
      'InvalidRequestException',
      "You can't perform this operation on the secret because it was marked for deletion.",
      STATUS,
    ),

  /** LS snapshot `test_exp_raised_on_creation_of_secret_scheduled_for_deletion`. */
  createWhileScheduledForDeletion: () =>
    new ServiceError(
      'InvalidRequestException',
      "You can't create this secret because a secret with this name is already scheduled for deletion.",
      STATUS,
    ),

  /** LS snapshot `test_invalid_secret_name` (every operation that takes a name or SecretId). */
  invalidName: () =>
    new ServiceError(
      'ValidationException',
      'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      STATUS,
    ),

  /**
   * A raw request without `ClientRequestToken` (the SDKs always fill it in). LS snapshot
   * `test_no_client_request_token`: `InvalidParameterException` for RotateSecret, `InvalidRequestException`
   * for CreateSecret, UpdateSecret and PutSecretValue.
   */
  missingToken: (operation: string) =>
    new ServiceError(
      operation === 'RotateSecret' ? 'InvalidParameterException' : 'InvalidRequestException',
      'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
      STATUS,
    ),

  /** PutSecretValue without a value. Wording from LocalStack's provider (not found in an AWS recording). */
  missingValue: () =>
    new ServiceError(
      'InvalidRequestException',
      'You must provide either SecretString or SecretBinary.',
      STATUS,
    ),

  /** Both SecretString and SecretBinary. Not found; the SDK doc says "You must include SecretBinary or SecretString, but not both". */
  bothValues: () =>
    new ServiceError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
      STATUS,
    ),

  /** LS snapshot `test_first_rotate_secret_with_missing_lambda_arn`. */
  noRotationLambda: () =>
    new ServiceError(
      'InvalidRequestException',
      'No Lambda rotation function ARN is associated with this secret.',
      STATUS,
    ),

  /**
   * RotateSecret naming a function Secrets Manager cannot invoke (unknown, or no resource policy for
   * `secretsmanager.amazonaws.com`). LS snapshot `test_rotate_secret_invalid_lambda_arn`: AccessDeniedException,
   * HTTP 400, and the secret's rotation configuration is left unchanged.
   */
  cannotInvokeLambda: () =>
    new ServiceError(
      'AccessDeniedException',
      'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.',
      STATUS,
    ),

  /**
   * AWSPENDING on a version other than AWSCURRENT
   * (`awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`). Wording as AWS answers it, quoted in
   * hashicorp/terraform-provider-aws#35023 and in the AWS PCS user guide ("Recover from a stranded pending
   * version").
   */
  rotationInProgress: () =>
    new ServiceError(
      'InvalidRequestException',
      "A previous rotation isn't complete. That rotation will be reattempted.",
      STATUS,
    ),

  /** As AWS answers it, quoted in hashicorp/terraform-provider-aws#33329. */
  bothRotationRules: () =>
    new ServiceError(
      'InvalidParameterException',
      'You cannot specify both rotation frequency and schedule expression together.',
      STATUS,
    ),

  /** Range from the SDK doc (1–1000 days); wording from moto (not found in an AWS recording). */
  rotationDaysRange: () =>
    new ServiceError(
      'InvalidParameterException',
      'RotationRules.AutomaticallyAfterDays must be within 1-1000.',
      STATUS,
    ),

  /**
   * An unusable ScheduleExpression or Duration (rules:
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html). AWS's wording was
   * not found; this message is the sandbox's and names the problem.
   */
  invalidSchedule: (detail: string) => new ServiceError('InvalidParameterException', detail, STATUS),

  /** As AWS answers it, quoted in the hashicorp/terraform-provider-aws 5.33.0 changelog (#19943). */
  removeFromRequired: (stage: string, holder: string) =>
    new ServiceError(
      'InvalidParameterException',
      `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
      STATUS,
    ),

  /** RemoveFromVersionId names a version that does not hold the label. Wording not found. */
  removeFromMismatch: (stage: string, holder: string | undefined) =>
    new ServiceError(
      'InvalidParameterException',
      holder === undefined
        ? `Staging label ${stage} is not attached to any version, so RemoveFromVersionId can't remove it.`
        : `When you move staging label ${stage}, RemoveFromVersionId must be the version that currently has it: ${holder}.`,
      STATUS,
    ),

  /** UpdateSecretVersionStage with neither MoveToVersionId nor RemoveFromVersionId. Wording not found. */
  moveOrRemoveRequired: () =>
    new ServiceError(
      'InvalidParameterException',
      'Give MoveToVersionId, RemoveFromVersionId, or both.',
      STATUS,
    ),

  /**
   * Removing AWSCURRENT without moving it would leave the secret without a value to serve; the docs only
   * ever move it. Our choice; wording not found.
   */
  cannotRemoveCurrent: (versionId: string) =>
    new ServiceError(
      'InvalidParameterException',
      `You can't remove the staging label AWSCURRENT from version ${versionId} without moving it: give MoveToVersionId.`,
      STATUS,
    ),

  /** MoveToVersionId / RemoveFromVersionId naming no version of the secret. Wording from moto (not found in an AWS recording). */
  notAValidVersion: (versionId: string) =>
    new ServiceError('InvalidParameterException', `Not a valid version: ${versionId}`, STATUS),

  /** Range from the SDK doc (DeleteSecret: 7 to 30 days); wording from moto (not found in an AWS recording). */
  recoveryWindowRange: () =>
    new ServiceError(
      'InvalidParameterException',
      'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
      STATUS,
    ),

  /** The SDK doc: "You can't use both this parameter and RecoveryWindowInDays"; wording from moto. */
  recoveryWindowWithForce: () =>
    new ServiceError(
      'InvalidParameterException',
      "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      STATUS,
    ),

  /** A version carries at most 20 staging labels (Secrets Manager quotas). Wording not found. */
  tooManyStages: (versionId: string) =>
    new ServiceError(
      'LimitExceededException',
      `Version ${versionId} already has 20 staging labels, the most a version can have: remove one with UpdateSecretVersionStage first.`,
      STATUS,
    ),

  /** A secret carries at most 50 tags (Secrets Manager quotas). Wording not found. */
  tooManyTags: () =>
    new ServiceError(
      'LimitExceededException',
      'A secret can have at most 50 tags: remove some with UntagResource first.',
      STATUS,
    ),

  /** A NextToken this sandbox did not issue. Wording not found. */
  invalidNextToken: () =>
    new ServiceError(
      'InvalidNextTokenException',
      'The NextToken value is not valid: pass the NextToken of the previous page unchanged.',
      STATUS,
    ),

  /** An invalid `Filters` entry. Wording not found. */
  invalidFilter: (detail: string) => new ServiceError('InvalidParameterException', detail, STATUS),

  /**
   * A member that breaks the API model's constraints (required, length, range, enum): the Coral/Smithy
   * validation message AWS JSON services answer with, naming the member in camelCase. Sensitive members
   * (secret values) are never echoed: the message then says `Value at '…'`, as Coral does for them.
   */
  validation: (member: string, value: unknown, constraint: string, sensitive = false) => {
    const shown = sensitive ? '' : value === undefined || value === null ? ' null' : ` '${String(value)}'`;
    const camel = `${member.charAt(0).toLowerCase()}${member.slice(1)}`;
    return new ServiceError(
      'ValidationException',
      `1 validation error detected: Value${shown} at '${camel}' failed to satisfy constraint: ${constraint}`,
      STATUS,
    );
  },

  /** A member of the wrong JSON type: AWS JSON services answer SerializationException. Wording not found. */
  serialization: (member: string, expected: string) =>
    new ServiceError('SerializationException', `Member ${member} must be ${expected}.`, STATUS),
};

/** How Secrets Manager words a broken request member (the shared reader in `server/members.ts`). */
export const smMembers: MemberRules = {
  wrongType: smErrors.serialization,
  invalid: smErrors.validation,
};
