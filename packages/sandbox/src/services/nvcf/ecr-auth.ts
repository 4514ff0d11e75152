import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import {
  ECRPUBLICClient,
  GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr-public';
import { decodeRegistrySecret } from '@nvcf-ecr/core/credential';
import type { ProblemError } from '../../errors.ts';
import type { World } from '../../world.ts';
import { HTTP_STATUS_NAMES, nvcfErrors } from './errors.ts';
import { type ArtifactType, ecrTarget } from './registries.ts';

/**
 * NVCF's remote credential check and the ECR half of its image pull (`NVIDIA/nvcf`,
 * `RegistryCredentialValidationService`; https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html,
 * https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html):
 * `GetAuthorizationToken` signed with exactly the key pair the credential carries, sent through the real
 * AWS SDK to the sandbox's AWS endpoint — `ecr` in the region of the hostname for private registries,
 * `ecr-public` in us-east-1 for `public.ecr.aws`. A key that has not propagated yet, is inactive or unknown
 * is refused by the sandbox exactly as by AWS, which is how rotation meets NVCF's 400
 * `UnrecognizedClientException`.
 */

export type EcrTokenResult =
  | { readonly ok: true; readonly authorizationToken: string; readonly proxyEndpoint: string | undefined }
  | {
      readonly ok: false;
      /** AWS's HTTP status, or undefined when no answer came back (connection failure). */
      readonly status: number | undefined;
      /** AWS's raw error body, exactly as received (NVCF relays it as the Problem Details `detail`). */
      readonly body: string;
      /** AWS's error code (`__type`), e.g. `UnrecognizedClientException`. */
      readonly code: string | undefined;
    };

/** Keeps the raw body of AWS error answers: NVCF relays the body itself, not the SDK's reading of it. */
interface BodySink {
  body: string | undefined;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function captureErrorBodies(
  stack: ECRClient['middlewareStack'] | ECRPUBLICClient['middlewareStack'],
  sink: BodySink,
): void {
  stack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { statusCode?: number; body?: unknown };
      const body = response.body as AsyncIterable<Uint8Array> | Uint8Array | undefined;
      if (
        (response.statusCode ?? 0) >= 300 &&
        body &&
        !(body instanceof Uint8Array) &&
        Symbol.asyncIterator in body
      ) {
        // Buffer the stream so that both we and the SDK's deserializer (which accepts bytes) can read it.
        const bytes = await readAll(body);
        response.body = bytes;
        sink.body = bytes.toString('utf8');
      }
      return out;
    },
    // Inside the deserializer (same step, lower priority): we see the raw HTTP response first.
    { step: 'deserialize', priority: 'low', name: 'nvcfCaptureAwsErrorBody' },
  );
}

/** Calls `GetAuthorizationToken` with `accessKeyId:secretAccessKey` for `hostname`'s registry. */
export async function getEcrToken(
  world: World,
  hostname: string,
  accessKeyId: string,
  secretAccessKey: string,
): Promise<EcrTokenResult> {
  const target = ecrTarget(hostname);
  if (!target)
    return {
      ok: false,
      status: undefined,
      body: `'${hostname}' is not an Amazon ECR registry hostname`,
      code: undefined,
    };
  const sink: BodySink = { body: undefined };
  const common = {
    endpoint: world.endpoints.aws,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  };
  try {
    if (target.kind === 'public') {
      const client = new ECRPUBLICClient({ ...common, region: 'us-east-1' });
      captureErrorBodies(client.middlewareStack, sink);
      try {
        const out = await client.send(new GetPublicAuthorizationTokenCommand({}));
        return {
          ok: true,
          authorizationToken: out.authorizationData?.authorizationToken ?? '',
          proxyEndpoint: undefined,
        };
      } finally {
        client.destroy();
      }
    }
    const client = new ECRClient({ ...common, region: target.region });
    captureErrorBodies(client.middlewareStack, sink);
    try {
      const out = await client.send(new GetAuthorizationTokenCommand({}));
      const data = out.authorizationData?.[0];
      return {
        ok: true,
        authorizationToken: data?.authorizationToken ?? '',
        proxyEndpoint: data?.proxyEndpoint,
      };
    } finally {
      client.destroy();
    }
  } catch (err) {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    if (status === undefined) {
      return {
        ok: false,
        status: undefined,
        body: `ECR request failed: ${e.message ?? String(err)}`,
        code: undefined,
      };
    }
    return { ok: false, status, body: sink.body ?? '', code: e.name };
  }
}

/** A failed token request as NVCF answers it (`EcrRegistryUtils.get4xxException`/`get5xxException`). */
export function ecrFailureProblem(result: Extract<EcrTokenResult, { ok: false }>): ProblemError {
  const { status, body } = result;
  // No answer at all: NVCF's WebClient error would surface as an upstream failure; we say so explicitly.
  if (status === undefined) return nvcfErrors.awsUpstream(502, 'BAD_GATEWAY', body);
  if (status >= 500) return nvcfErrors.awsUpstream(status, HTTP_STATUS_NAMES[status] ?? '', body);
  if (status === 403) return nvcfErrors.awsForbidden(body);
  return nvcfErrors.awsBadRequest(body);
}

/**
 * Checks a credential value against its registry the way NVCF does on create and PATCH: once per
 * CONTAINER/HELM type in `types` (MODEL and RESOURCE are skipped), throwing NVCF's Problem Details on the
 * first failure. Registries other than ECR cannot be reached offline; their credentials pass unchecked,
 * as NVCF's "custom" registries do (`NVIDIA/nvcf:docs/user/registry-allowlist.md`).
 */
export type CredentialValidator = (
  hostname: string,
  types: readonly ArtifactType[],
  secretValue: string,
) => Promise<void>;

export function ecrCredentialValidator(world: World): CredentialValidator {
  return async (hostname, types, secretValue) => {
    if (!ecrTarget(hostname)) return;
    for (const type of types) {
      if (type !== 'CONTAINER' && type !== 'HELM') continue;
      // The format check ran before; NVCF's `toAccessKeyCredentials` splits the decoded text the same way.
      const { username, password } = decodeRegistrySecret(secretValue, hostname);
      const result = await getEcrToken(world, hostname, username, password);
      if (!result.ok) throw ecrFailureProblem(result);
    }
  };
}
