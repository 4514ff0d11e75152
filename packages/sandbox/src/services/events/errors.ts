import { ServiceError } from '../../errors.ts';
import type { MemberRules } from '../../server/members.ts';

/**
 * EventBridge's errors (AWS JSON 1.1, message member `message`). Codes are the SDK's error
 * shapes (`@aws-sdk/client-eventbridge` `errors.d.ts`) plus the `ValidationException` EventBridge answers
 * for request validation. Messages are the strings EventBridge answers as asserted by moto's EventBridge
 * tests (several marked "verified against AWS") and quoted in public error reports:
 * "Rule X does not exist on EventBus Y.", "Event bus X does not exist.", "Event bus X already exists.",
 * "Rule can't be deleted since it has targets.", "ScheduleExpression is supported only on the default event
 * bus.", "Parameter X is not valid. Reason: Provided Arn is not in correct format.", "Event pattern is not
 * valid. Reason: …" (CloudFormation failures quote it), "Cannot delete event bus default.". Where no
 * source gives the text, the message follows EventBridge's "Parameter X is not valid. Reason: …" form and
 * a comment at the call says so.
 */
export const eventsErrors = {
  ruleNotFound: (rule: string, bus: string) =>
    new ServiceError('ResourceNotFoundException', `Rule ${rule} does not exist on EventBus ${bus}.`, 400),
  busNotFound: (bus: string) =>
    new ServiceError('ResourceNotFoundException', `Event bus ${bus} does not exist.`, 400),
  busExists: (bus: string) =>
    new ServiceError('ResourceAlreadyExistsException', `Event bus ${bus} already exists.`, 400),
  busNameSlash: () => new ServiceError('ValidationException', "Event bus name must not contain '/'.", 400),
  cannotDeleteDefault: () => new ServiceError('ValidationException', 'Cannot delete event bus default.', 400),
  /**
   * The API reference says a bus's rules "need to be deleted" before the bus; the exact answer was not
   * found, so the sandbox refuses with a ValidationException in EventBridge's wording style.
   */
  busHasRules: (bus: string) =>
    new ServiceError('ValidationException', `Event bus ${bus} can't be deleted since it has rules.`, 400),
  ruleHasTargets: () =>
    new ServiceError('ValidationException', "Rule can't be deleted since it has targets.", 400),
  scheduleOnCustomBus: () =>
    new ServiceError(
      'ValidationException',
      'ScheduleExpression is supported only on the default event bus.',
      400,
    ),
  patternOrSchedule: () =>
    new ServiceError(
      'ValidationException',
      'Parameter(s) EventPattern or ScheduleExpression must be specified.',
      400,
    ),
  invalidSchedule: () =>
    new ServiceError('ValidationException', 'Parameter ScheduleExpression is not valid.', 400),
  invalidPattern: (reason: string) =>
    new ServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`, 400),
  invalidArn: (arn: string) =>
    new ServiceError(
      'ValidationException',
      `Parameter ${arn} is not valid. Reason: Provided Arn is not in correct format.`,
      400,
    ),
  invalidParameter: (name: string, reason: string) =>
    new ServiceError('ValidationException', `Parameter ${name} is not valid. Reason: ${reason}`, 400),
  /** A rule has at most 5 targets (EventBridge quotas); `LimitExceededException` is the SDK's shape for it. */
  targetLimit: () =>
    new ServiceError(
      'LimitExceededException',
      'The requested resource exceeds the maximum number allowed.',
      400,
    ),
  /** The 256 KB limit applies to the sum of the entries' sizes (user guide, "Calculating PutEvents entry size"). */
  entriesTooLarge: () =>
    new ServiceError(
      'ValidationException',
      'Total size of the entries in the request is over the limit.',
      400,
    ),
  invalidNextToken: () => new ServiceError('ValidationException', 'The nextToken provided is invalid.', 400),
  /** Smithy-style validation failure (the form every AWS JSON service uses for member constraints). */
  validation: (member: string, value: unknown, constraint: string) =>
    new ServiceError(
      'ValidationException',
      `1 validation error detected: Value ${value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`} at '${member}' failed to satisfy constraint: ${constraint}`,
      400,
    ),
  /** A member of the wrong JSON type: the JSON 1.1 deserializer's error. */
  serialization: (member: string, expected: string) =>
    new ServiceError(
      'SerializationException',
      `Unexpected value type for member '${member}': expected ${expected}.`,
      400,
    ),
};

/** Error codes of `PutEvents` entries (SDK doc of `PutEventsResultEntry`). */
export const entryErrors = {
  required: (member: 'Source' | 'DetailType' | 'Detail') => ({
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.`,
  }),
  /** EventBridge caps DetailType at 128 characters (the SDK model); the reason text is the sandbox's. */
  detailTypeTooLong: () => ({
    ErrorCode: 'InvalidArgument',
    ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is longer than 128 characters.',
  }),
  malformedDetail: () => ({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }),
  busNotFound: (bus: string) => ({
    ErrorCode: 'ResourceNotFoundException',
    ErrorMessage: `Event bus ${bus} does not exist.`,
  }),
  /** Sources starting with `aws.` are reserved for AWS services. */
  reservedSource: () => ({
    ErrorCode: 'NotAuthorizedForSourceException',
    ErrorMessage: 'Not authorized for the source.',
  }),
  accessDenied: (message: string) => ({ ErrorCode: 'AccessDeniedException', ErrorMessage: message }),
};

/** EventBridge names a member by its camelCase path (`targets.1.member.id`). */
function camel(member: string): string {
  return member.replace(/(^|\.)([A-Z])/g, (_m, dot: string, c: string) => `${dot}${c.toLowerCase()}`);
}

/** How EventBridge words a broken request member (the shared reader in `server/members.ts`). */
export const eventsMembers: MemberRules = {
  wrongType: eventsErrors.serialization,
  invalid: (path, value, constraint) => eventsErrors.validation(camel(path), value, constraint),
  patternText: (pattern) => pattern.source.replace(/^\^|\$$/g, ''),
};
