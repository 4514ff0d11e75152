import * as z from 'zod/mini';

/**
 * The event Secrets Manager invokes the rotation function with, once per step, synchronously
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html):
 * `{Step, SecretId, ClientRequestToken, RotationToken?}`. `Step` is camelCase (the AWS template and
 * `@types/aws-lambda` agree; the older docs' snake_case is wrong). `RotationToken` is newer and missing from
 * `@types/aws-lambda`; it is handed back to `PutSecretValue`. Unknown members are allowed: AWS may add some.
 */

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export const rotationInvocationSchema = z.looseObject({
  Step: z.enum(ROTATION_STEPS, 'must be one of createSecret, setSecret, testSecret, finishSecret'),
  SecretId: z.string().check(z.minLength(1, 'must name the secret (its ARN)')),
  ClientRequestToken: z
    .string()
    .check(
      z.minLength(32, 'must be the version id of the new version (32 to 64 characters)'),
      z.maxLength(64, 'must be the version id of the new version (32 to 64 characters)'),
    ),
  RotationToken: z.optional(z.string()),
});

/** A rotation invocation after {@link rotationInvocationSchema}. */
export interface RotationInvocation {
  readonly Step: RotationStep;
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly RotationToken?: string | undefined;
}
