import { partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { ServiceError } from '../errors.ts';
import type { Principal, Protocol } from '../server/aws.ts';
import type { SandboxRequest } from '../server/http.ts';
import type { World } from '../world.ts';
import { type ParsedAuthorization, parseAmzDate, parseAuthorization, verifySignature } from './sigv4.ts';

/**
 * Who is calling: the front door's SigV4 authentication of every AWS request, with AWS's error for each
 * failure in the caller's protocol — no, malformed, unknown, inactive or not yet propagated key, a scope
 * AWS refuses whatever the signature, a skewed or expired signature, a wrong one.
 */

/** Largest clock skew AWS accepts on a signed request. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const INVALID_TOKEN = 'The security token included in the request is invalid.';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * SigV4 authentication with AWS's error for each failure, per protocol (sources: {@link scopeRefusal}). The
 * request must be signed for this endpoint — the service's signing name, a region the sandbox serves (the one
 * region of a global service), `Host` among the signed headers, no session token — before its key and
 * signature are looked at: a signature that verifies for another scope is still refused, as AWS refuses it.
 */
export async function authenticate(
  world: World,
  adminKeys: ReadonlyMap<string, string>,
  req: SandboxRequest,
  protocol: Protocol,
  signing: SigningSpec,
): Promise<{ principal: Principal; region: string } | ServiceError> {
  const parsed = parseAuthorization(req);
  if (parsed.kind === 'none') {
    return protocol === 'json'
      ? new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400)
      : protocol === 'query'
        ? new ServiceError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
        : new ServiceError('AccessDenied', 'Access Denied', 403);
  }
  if (parsed.kind === 'malformed') {
    return protocol === 'json'
      ? new ServiceError(
          'IncompleteSignatureException',
          `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (${parsed.reason}).`,
          400,
        )
      : protocol === 'query'
        ? new ServiceError('IncompleteSignature', `Request is not signed correctly (${parsed.reason}).`, 400)
        : new ServiceError(
            'AuthorizationHeaderMalformed',
            `The authorization header is malformed (${parsed.reason}).`,
            400,
          );
  }
  const { auth, amzDate } = parsed;
  const refusal = scopeRefusal(world, protocol, signing, auth);
  if (refusal) return refusal;
  const unknownKey = () =>
    protocol === 'json'
      ? new ServiceError('UnrecognizedClientException', INVALID_TOKEN, 400)
      : protocol === 'query'
        ? new ServiceError('InvalidClientTokenId', INVALID_TOKEN, 403)
        : new ServiceError(
            'InvalidAccessKeyId',
            'The AWS Access Key Id you provided does not exist in our records.',
            403,
          );

  let secret = adminKeys.get(auth.accessKeyId);
  let principal: Principal | undefined;
  if (secret !== undefined) {
    principal = {
      kind: 'admin',
      arn: `arn:${world.partition}:iam::${world.accountId}:root`,
      userId: world.accountId,
      userName: undefined,
      accessKeyId: auth.accessKeyId,
    };
  } else {
    const key = world.iam.keys.get(auth.accessKeyId);
    // Inactive keys and keys that have not propagated yet are rejected exactly like unknown ones.
    if (key?.status !== 'Active') return unknownKey();
    const age = world.clock.nowMs() - Date.parse(key.createDate);
    if (age < world.profile.ms('iamPropagationSeconds')) return unknownKey();
    const user = world.iam.users.get(key.userName);
    if (!user) return unknownKey();
    secret = key.secretAccessKey;
    principal = {
      kind: 'user',
      arn: world.iam.userArn(user.userName, user.path),
      userId: user.userId,
      userName: user.userName,
      accessKeyId: key.accessKeyId,
    };
  }
  const signedAt = parseAmzDate(amzDate);
  const now = Date.now();
  if (auth.location === 'header' && signedAt && Math.abs(now - signedAt.getTime()) > MAX_SKEW_MS) {
    const message = skewMessage(amzDate, now);
    return protocol === 'json'
      ? new ServiceError('InvalidSignatureException', message, 400)
      : protocol === 'query'
        ? new ServiceError('SignatureDoesNotMatch', message, 403)
        : new ServiceError(
            'RequestTimeTooSkewed',
            'The difference between the request time and the current time is too large.',
            403,
          );
  }
  if (auth.location === 'query' && signedAt && now > signedAt.getTime() + (auth.expiresSeconds ?? 0) * 1000) {
    return new ServiceError('AccessDenied', 'Request has expired', 403);
  }
  if (!(await verifySignature(req, auth, amzDate, secret))) {
    return protocol === 'json'
      ? new ServiceError('InvalidSignatureException', SIGNATURE_MISMATCH, 400)
      : protocol === 'query'
        ? new ServiceError('SignatureDoesNotMatch', SIGNATURE_MISMATCH, 403)
        : new ServiceError(
            'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
            403,
          );
  }
  // Only an accepted request counts as a use; its scope was checked above, so it names this service.
  if (principal.kind === 'user') world.iam.recordUse(auth.accessKeyId, signing.name, auth.region);
  return { principal, region: auth.region };
}

/** What an endpoint requires of a request's credential scope. */
export interface SigningSpec {
  /** The signing name the scope must carry. */
  readonly name: string;
  /** The one region a global service signs for; undefined for regional services. */
  readonly region?: string | undefined;
}

/**
 * Whether the sandbox serves `region`: every region of its partition — the AWS APIs, ECR storage and the
 * registry listener all keep state per region — and none of another partition, whose endpoints (and keys)
 * are separate. The NVCF pull applies the same rule to an image's registry host.
 */
export function servesRegion(world: World, region: string): boolean {
  return partitionOfRegion(region)?.partition === world.partition;
}

/**
 * Refuses a credential scope or signed-header list that AWS refuses whatever the signature. The checks and
 * messages, per protocol, and where each comes from:
 * - Session token: the sandbox issues no temporary credentials, so any `X-Amz-Security-Token` is one it never
 *   issued, answered as AWS answers an invalid token (JSON `UnrecognizedClientException` 400, Query
 *   `InvalidClientTokenId` 403: the codes of the SDK clients' error schemas and what aws-cli prints; S3
 *   `InvalidToken` 400 "The provided token is malformed or otherwise invalid.", S3's documented error-code list).
 * - Service: "Credential should be scoped to correct service: '<name>'. " is AWS's observed answer (e.g.
 *   AWS Batch, cllunsford/aws-signing-proxy#25), as `InvalidSignatureException` 400 from the JSON services; the
 *   Query services answer signature problems with `SignatureDoesNotMatch` 403 (not verified for this case).
 *   S3's `AuthorizationHeaderMalformed` "incorrect service" wording is recalled, not verified.
 * - Region: "Credential should be scoped to a valid region, not '<region>'. " is observed for IAM signed for
 *   us-west-2 (aws/aws-sdk-go#156) and for other services (aws/aws-sdk-ruby#508). S3 answers
 *   `AuthorizationHeaderMalformed` "...the region '<r>' is wrong; expecting '<home>'" with `<Region>`
 *   (aws/aws-cli#2954), and `AuthorizationQueryParametersError` "Error parsing the X-Amz-Credential
 *   parameter; ..." for presigned URLs (mlflow/mlflow#11828); it expects the sandbox's home region, as
 *   `s3.amazonaws.com` expects us-east-1.
 * - Host: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization." was answered by
 *   DynamoDB as `InvalidSignatureException` 400 (aws/aws-sdk-php#2469); the Query code is not verified. S3
 *   answers an unsigned Host as any unsigned header: `AccessDenied` 403 "There were headers present in the
 *   request which were not signed" with `<HeadersNotSigned>` (coda/packs-sdk#3093).
 */
function scopeRefusal(
  world: World,
  protocol: Protocol,
  signing: SigningSpec,
  auth: ParsedAuthorization,
): ServiceError | undefined {
  const presigned = auth.location === 'query';
  if (auth.securityToken !== undefined) {
    return protocol === 'json'
      ? new ServiceError('UnrecognizedClientException', INVALID_TOKEN, 400)
      : protocol === 'query'
        ? new ServiceError('InvalidClientTokenId', INVALID_TOKEN, 403)
        : new ServiceError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
  }
  if (auth.service !== signing.name) {
    if (protocol === 'rest-xml') {
      const why = `incorrect service "${auth.service}". This endpoint belongs to "${signing.name}".`;
      return presigned
        ? new ServiceError(
            'AuthorizationQueryParametersError',
            `Error parsing the X-Amz-Credential parameter; ${why}`,
          )
        : new ServiceError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
    }
    const message = `Credential should be scoped to correct service: '${signing.name}'. `;
    return protocol === 'json'
      ? new ServiceError('InvalidSignatureException', message, 400)
      : new ServiceError('SignatureDoesNotMatch', message, 403);
  }
  const regionOk =
    signing.region === undefined ? servesRegion(world, auth.region) : auth.region === signing.region;
  if (!regionOk) {
    if (protocol === 'rest-xml') {
      const expected = signing.region ?? world.regions[0] ?? 'us-east-1';
      const why = `the region '${auth.region}' is wrong; expecting '${expected}'`;
      const extra = { Region: expected };
      return presigned
        ? new ServiceError(
            'AuthorizationQueryParametersError',
            `Error parsing the X-Amz-Credential parameter; ${why}`,
            400,
            extra,
          )
        : new ServiceError(
            'AuthorizationHeaderMalformed',
            `The authorization header is malformed; ${why}`,
            400,
            extra,
          );
    }
    const message = `Credential should be scoped to a valid region, not '${auth.region}'. `;
    return protocol === 'json'
      ? new ServiceError('InvalidSignatureException', message, 400)
      : new ServiceError('SignatureDoesNotMatch', message, 403);
  }
  if (!auth.signedHeaders.includes('host')) {
    if (protocol === 'rest-xml') {
      const message = 'There were headers present in the request which were not signed';
      return new ServiceError('AccessDenied', message, 403, { HeadersNotSigned: 'host' });
    }
    const message = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
    return protocol === 'json'
      ? new ServiceError('InvalidSignatureException', message, 400)
      : new ServiceError('SignatureDoesNotMatch', message, 403);
  }
  return undefined;
}

function skewMessage(amzDate: string, now: number): string {
  const fmt = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  return `Signature expired: ${amzDate} is now earlier than ${fmt(now - MAX_SKEW_MS)} (${fmt(now)} - 15 min.)`;
}
