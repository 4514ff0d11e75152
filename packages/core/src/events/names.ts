/**
 * Names shared by the stacks, the handlers and the sandbox runtime: the events this project emits, the
 * events it consumes, and the default names of the resources it deploys. The stacks prefix every resource
 * name with the SST stage (`withStage('prod', FUNCTIONS.audit.name)` → `prod-nvcf-ecr-audit`) so that
 * several stages can live in one account; the sandbox runtime emulates one stage and uses the names as they
 * are here.
 */

/** `source` of every event this project puts on its bus. */
export const EVENT_SOURCE = 'nvcf-ecr-autopilot';

/** `detail-type` of every event this project emits. */
export const DETAIL_TYPES = {
  /** A pushed image was checked against the platforms NVCF needs (push validation). */
  imageValidation: 'NVCF Image Validation',
  /** A rotation finished: the NVCF credential holds the new key, AWSCURRENT moved. */
  credentialRotated: 'NVCF Registry Credential Rotated',
  /** A rotation step failed (the old key and NVCF's credential still work; invariant 4). */
  rotationFailed: 'NVCF Registry Credential Rotation Failed',
  /** The previous key was deactivated after its grace period. */
  previousKeyRetired: 'NVCF Previous Key Retired',
  /** The previous key is still in use, so its retirement was postponed. */
  retirementPostponed: 'NVCF Previous Key Retirement Postponed',
  /** A compliance audit ran; the detail carries its summary. */
  complianceAudit: 'NVCF Compliance Audit',
} as const;

export type ProjectDetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/**
 * What ECR emits for every stored manifest
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
 */
export const ECR_EVENT_SOURCE = 'aws.ecr';
export const ECR_IMAGE_ACTION = 'ECR Image Action';

/** What EventBridge sends to the targets of a scheduled rule. */
export const SCHEDULED_EVENT_SOURCE = 'aws.events';
export const SCHEDULED_EVENT_DETAIL_TYPE = 'Scheduled Event';

/** The project's own event bus (custom bus: verdicts, rotation outcomes, audits). */
export const PROJECT_EVENT_BUS_NAME = 'nvcf-ecr-autopilot';

/** The Lambda functions the stacks deploy (and the sandbox runtime registers), keyed as in the handlers map. */
export type FunctionKey = 'rotateCredential' | 'retireKeys' | 'validatePush' | 'audit';

export interface FunctionSpec {
  /** Function name before the stage prefix (at most 64 characters with it). */
  readonly name: string;
  /** Handler module under `functions/` (its `handler` export). */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly description: string;
}

/**
 * Sizes are the stacks' and the sandbox's alike, so a handler that times out locally would time out
 * deployed. Rotation waits for IAM to propagate the new key and for NVCF to accept it (bounded backoff),
 * hence 5 minutes; the audit reads every configured repository and renders three report formats.
 */
export const FUNCTIONS: Readonly<Record<FunctionKey, FunctionSpec>> = {
  rotateCredential: {
    name: 'nvcf-ecr-rotate-credential',
    entry: 'functions/rotate-credential.ts',
    timeoutSeconds: 300,
    memoryMb: 256,
    description:
      'Secrets Manager rotation of the NVCF pull key; updates the NVCF registry credential in place',
  },
  retireKeys: {
    name: 'nvcf-ecr-retire-keys',
    entry: 'functions/retire-keys.ts',
    timeoutSeconds: 60,
    memoryMb: 256,
    description: 'Deactivates the previous pull key once its grace period is over',
  },
  validatePush: {
    name: 'nvcf-ecr-validate-push',
    entry: 'functions/validate-push.ts',
    timeoutSeconds: 120,
    memoryMb: 512,
    description: "Checks each pushed image's platforms against what NVCF needs",
  },
  audit: {
    name: 'nvcf-ecr-audit',
    entry: 'functions/audit.ts',
    // Lambda's maximum. The audit budgets its own time from the invocation's clock (it stops starting
    // repositories 30 s plus its slowest repository before the end, then reports), so the timeout is a
    // ceiling, not a cost. Memory buys CPU: a cold audit of 100,000 tags needs about 85 s of CPU (SigV4 and
    // JSON for 74,000 calls) and peaked at 452 MiB; 1,769 MB is one whole vCPU
    // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). Figures: test/bench/README.md.
    timeoutSeconds: 900,
    memoryMb: 1769,
    description: 'Scheduled compliance audit of the whole NVCF pull chain',
  },
};

/** Rules the stacks deploy. Rule names are unique per bus; 64 characters at most with the stage prefix. */
export const RULE_NAMES = {
  /** On the default bus: ECR pushes to the configured repositories → validatePush. */
  ecrPush: 'nvcf-ecr-push',
  /** On the default bus: the audit schedule (`config.audit.schedule`) → audit. */
  auditSchedule: 'nvcf-ecr-audit-schedule',
  /** On the default bus: hourly retirement of previous keys → retireKeys. */
  retireSchedule: 'nvcf-ecr-retire-schedule',
} as const;

/** Notification rules on the project bus, one per {@link notificationPatterns} entry, named by its key. */
export const NOTIFICATION_RULE_PREFIX = 'nvcf-ecr-notify-';

/** The SNS topic the notification rules publish to. */
export const NOTIFICATION_TOPIC_NAME = 'nvcf-ecr-notifications';

/** Name of the pull user's inline policy (its document is `minimalPullPolicy(registry)`). */
export const PULL_POLICY_NAME = 'nvcf-ecr-pull';

/**
 * The report bucket: S3 names are global, so the account and region make it unique; lower case, at most 63
 * characters (`nvcf-ecr-reports-` + 12 digits + `-` + the longest region name fits with room for a stage).
 */
export function reportBucketName(accountId: string, region: string, stage?: string): string {
  const base = `nvcf-ecr-reports-${accountId}-${region}`;
  return (stage ? `${stage}-${base}` : base).toLowerCase();
}

/** A resource name with the stage prefix the stacks use. */
export function withStage(stage: string, name: string): string {
  return `${stage}-${name}`;
}

/** ARN of a Lambda function (what rule targets and `RotationLambdaARN` name). */
export function functionArn(partition: string, region: string, accountId: string, name: string): string {
  return `arn:${partition}:lambda:${region}:${accountId}:function:${name}`;
}
