import { ECRClient } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '@nvcf-ecr/sandbox';

/**
 * Test helpers for the sandbox: start one per test file, build real SDK v3 clients pointed at it, and call the
 * control plane. Clients default to one attempt so that error tests see the sandbox's answer, not the SDK's
 * retries; pass `maxAttempts` to exercise retries.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ClientOptions {
  credentials?: Credentials;
  region?: string;
  maxAttempts?: number;
}

export function clients(sb: RunningSandbox, options: ClientOptions = {}) {
  const config = {
    region: options.region ?? sb.region,
    endpoint: sb.awsEndpoint,
    credentials: options.credentials ?? { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
    maxAttempts: options.maxAttempts ?? 1,
  };
  return {
    iam: new IAMClient({ ...config, region: 'us-east-1' }),
    sts: new STSClient(config),
    ecr: new ECRClient(config),
    ecrPublic: new ECRPUBLICClient({ ...config, region: 'us-east-1' }),
    secrets: new SecretsManagerClient(config),
    events: new EventBridgeClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
}

export async function withSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox(options);
}

/** Calls the control plane; throws with the sandbox's error text on a non-2xx answer. */
export async function control<T = unknown>(
  sb: RunningSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${sb.controlEndpoint}/_sandbox/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method} ${path} -> ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** An SDK error as tests inspect it. */
export type CapturedError = Error & { $metadata?: { httpStatusCode?: number }; [member: string]: unknown };

/** Captures the error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<CapturedError> {
  try {
    await p;
  } catch (err) {
    return err as CapturedError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** An access key of a pull user, with `value`, the registry secret NVCF takes (base64 of `id:secret`). */
export interface PullKey {
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
  value: string;
}

/** Creates `userName` with NVCF's minimal pull policy on `repositories` of the sandbox's account (inline `nvcf-pull`). */
export async function createPullUser(
  sb: RunningSandbox,
  iam: IAMClient,
  userName: string,
  repositories: string[] = ['inference'],
): Promise<void> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const policy = minimalPullPolicy({
    kind: 'private',
    partition: 'aws',
    region: sb.region,
    accountId: sb.accountId,
    repositories,
  });
  await iam.send(
    new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: 'nvcf-pull',
      PolicyDocument: JSON.stringify(policy),
    }),
  );
}

/** A new access key of `userName`; with `propagateSeconds`, the virtual clock then moves past IAM's propagation. */
export async function createPullKey(
  sb: RunningSandbox,
  iam: IAMClient,
  userName: string,
  propagateSeconds?: number,
): Promise<PullKey> {
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const accessKeyId = out.AccessKey?.AccessKeyId ?? '';
  const secretAccessKey = out.AccessKey?.SecretAccessKey ?? '';
  if (propagateSeconds !== undefined)
    await control(sb, 'POST', 'clock', { advanceSeconds: propagateSeconds });
  const value = Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString('base64');
  return { userName, accessKeyId, secretAccessKey, value };
}

/**
 * Creates `userName` with one inline policy allowing `statements`, and a key: the credentials, and clients
 * signing with them.
 */
export async function userClients(
  sb: RunningSandbox,
  userName: string,
  statements: object[],
): Promise<ReturnType<typeof clients> & { credentials: Credentials }> {
  const admin = clients(sb);
  await admin.iam.send(new CreateUserCommand({ UserName: userName }));
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  await admin.iam.send(
    new PutUserPolicyCommand({ UserName: userName, PolicyName: 'p', PolicyDocument: policy }),
  );
  const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const credentials = {
    accessKeyId: AccessKey?.AccessKeyId ?? '',
    secretAccessKey: AccessKey?.SecretAccessKey ?? '',
  };
  return { ...clients(sb, { credentials }), credentials };
}
