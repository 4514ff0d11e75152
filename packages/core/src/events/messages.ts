import { FUNCTIONS, withStage } from './names.ts';
import type { NotificationKey } from './patterns.ts';

/**
 * What each notification says, whatever carries it (the SNS e-mail, a Slack or Teams message, a JSON
 * webhook): a headline, what to do, the facts that identify the subject, and a link to where to look. Facts
 * and links are input-transformer text (`<variable>` placeholders over {@link NotificationMessage.paths}):
 *
 * - a fact written as a lone `<variable>` is inserted by EventBridge as a JSON value (quoted and escaped), so
 *   free text (a failure's reason) is only ever used that way;
 * - a fact or link with text around its variables is a JSON string in which EventBridge inserts the values
 *   unescaped (`events/transform.ts`), so only values of a constrained alphabet go there: registry names,
 *   repository names and tags, digests, masked key ids, enums, numbers, account ids and regions.
 *
 * Every path names a field that every event of its type carries (the detail schemas require them), because
 * a variable that selects nothing vanishes from the output and could leave a message that is not JSON.
 */

export interface NotificationMessage {
  readonly headline: string;
  readonly action: string;
  /** Variables → JSONPath into the event. */
  readonly paths: Readonly<Record<string, string>>;
  /** Label → value template. */
  readonly facts: readonly (readonly [string, string])[];
  readonly link: { readonly title: string; readonly url: string };
}

/** Where the links point: the AWS console of the deployment's partition, and the stage's function names. */
export interface MessageContext {
  /** e.g. `https://console.aws.amazon.com` (see {@link consoleUrl}). */
  readonly consoleUrl: string;
  /** SST stage the stacks prefix names with; absent in the sandbox, which uses the names as they are. */
  readonly stage?: string | undefined;
}

/** The AWS console of a partition (https://docs.aws.amazon.com/general/latest/gr/rande.html). */
export function consoleUrl(partition: string): string {
  if (partition === 'aws-us-gov') return 'https://console.amazonaws-us-gov.com';
  if (partition === 'aws-cn') return 'https://console.amazonaws.cn';
  return 'https://console.aws.amazon.com';
}

const ENVELOPE = { account: '$.account', region: '$.region', time: '$.time' } as const;

/** The message of each notification. */
export function notificationMessages(
  ctx: MessageContext,
): Readonly<Record<NotificationKey, NotificationMessage>> {
  const fn = (name: string) => (ctx.stage ? withStage(ctx.stage, name) : name);
  const console = `${ctx.consoleUrl}`;
  return {
    'image-not-compliant': {
      headline: 'An image pushed to ECR cannot run on the NVCF targets it is meant for.',
      action: 'Rebuild it for the missing platforms (docker buildx build --platform ...) and push it again.',
      paths: {
        ...ENVELOPE,
        registry: '$.detail.registry',
        repository: '$.detail.repository',
        tag: '$.detail.tag',
        digest: '$.detail.digest',
        verdict: '$.detail.verdict',
      },
      facts: [
        ['Registry', '<registry>'],
        ['Image', '<repository>:<tag>'],
        ['Verdict', '<verdict>'],
        ['Digest', '<digest>'],
      ],
      link: {
        title: 'Open the image in ECR',
        url: `${console}/ecr/repositories/private/<account>/<repository>/_/image/<digest>/details?region=<region>`,
      },
    },
    'rotation-failed': {
      headline: 'Rotating the NVCF pull key failed. The current key and NVCF\u2019s credential still work.',
      action:
        'Read the rotation function\u2019s log, fix the cause, then rotate again: aws secretsmanager rotate-secret --secret-id with the secret named in the detail.',
      paths: {
        ...ENVELOPE,
        registry: '$.detail.registry',
        secret: '$.detail.secretId',
        step: '$.detail.step',
        reason: '$.detail.reason',
        currentKey: '$.detail.currentAccessKeyId',
        works: '$.detail.currentKeyWorks',
      },
      facts: [
        // `registry` is null when the secret is not a configured one: inside a string it reads "null".
        ['Registry', '<registry> (secret <secret>)'],
        ['Failed step', '<step>'],
        ['Reason', '<reason>'],
        ['Current key', '<currentKey> (works: <works>)'],
      ],
      link: {
        title: 'Open the rotation function',
        url: `${console}/lambda/home?region=<region>#/functions/${fn(FUNCTIONS.rotateCredential.name)}?tab=monitoring`,
      },
    },
    'retirement-postponed': {
      headline:
        'The previous NVCF pull key is still in use after its grace period, so it was not deactivated.',
      action:
        'Find who still pulls with it (the detail names the key by its masked id) before it is deactivated anyway.',
      paths: {
        ...ENVELOPE,
        registry: '$.detail.registry',
        key: '$.detail.accessKeyId',
        cause: '$.detail.cause',
        user: '$.detail.userName',
        reason: '$.detail.reason',
      },
      facts: [
        ['Registry', '<registry>'],
        ['Previous key', '<key>'],
        ['Cause', '<cause>'],
        ['Reason', '<reason>'],
      ],
      link: {
        title: 'Open the pull user in IAM',
        url: `${console}/iam/home#/users/details/<user>?section=security_credentials`,
      },
    },
    'audit-failed': {
      headline: 'The NVCF pull chain compliance audit found failures, or checks it could not evaluate.',
      action:
        'Open the report named in the detail (S3 report bucket) and follow each finding\u2019s remediation.',
      paths: {
        ...ENVELOPE,
        failed: '$.detail.summary.failed',
        errors: '$.detail.summary.errors',
        worst: '$.detail.summary.worstSeverity',
        bucket: '$.detail.report.bucket',
        html: '$.detail.report.html',
      },
      facts: [
        ['Result', '<failed> failed, <errors> not evaluated'],
        // null when only checks that could not be evaluated notify: inside a string it reads "null".
        ['Worst severity', 'worst severity: <worst>'],
      ],
      link: {
        title: 'Open the report',
        url: `${console}/s3/object/<bucket>?region=<region>&prefix=<html>`,
      },
    },
  };
}
