import { partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import { isActionAllowed } from '@nvcf-ecr/core/iam';
import {
  type ParsedAuthorization,
  parseAmzDate,
  parseAuthorization,
  verifySignature,
} from '../auth/sigv4.ts';
import { ServiceError } from '../errors.ts';
import type { FaultErrorSpec, FaultService } from '../faults.ts';
import * as ids from '../ids.ts';
import type { World } from '../world.ts';
import type { RequestHandler, SandboxRequest, SandboxResponse } from './http.ts';
import { escapeXml, type XmlObject, xmlDocument } from './xml.ts';

/**
 * The AWS front door: one listener for every AWS API the sandbox emulates, routed as the Smithy protocol specs
 * define the wire (`smithy-lang/smithy:docs/source-2.0/aws/protocols/aws-json.rst.template`,
 * `aws-query-protocol.rst`) — `X-Amz-Target` prefix for AWS JSON 1.1 services, the `Action`/`Version` form for the
 * Query services (IAM, STS), anything else is S3 path-style REST. Every request is authenticated (SigV4 against
 * keys the sandbox issued, with AWS's error for each failure), passed through fault injection, handled, and
 * serialised in the service's own protocol. Handlers authorise with `ctx.authorize`, which evaluates the caller's
 * IAM policies.
 */

export type Protocol = 'json' | 'query' | 'rest-xml';

export interface Principal {
  readonly kind: 'admin' | 'user';
  readonly arn: string;
  readonly userId: string;
  readonly userName: string | undefined;
  readonly accessKeyId: string;
}

export interface OperationContext {
  readonly world: World;
  readonly serviceId: FaultService;
  readonly operation: string;
  readonly region: string;
  readonly principal: Principal;
  readonly requestId: string;
  readonly request: SandboxRequest;
  /** Throws the service's access-denied error unless the caller's policies allow `action` on every resource. */
  authorize(action: string, resources: string | readonly string[]): Promise<void>;
}

export type JsonOperation = (ctx: OperationContext, input: Record<string, unknown>) => Promise<unknown>;
export type QueryOperation = (ctx: OperationContext, params: URLSearchParams) => Promise<XmlObject>;

export interface JsonServiceDef {
  readonly protocol: 'json';
  readonly id: FaultService;
  /** SigV4 signing name (the service's `signingName` in the SDK model): the credential scope must name it. */
  readonly signingName: string;
  readonly targetPrefix: string;
  /** ECR and EventBridge say `message`, Secrets Manager `Message` (the SDK clients' error schemas). */
  readonly messageKey: 'message' | 'Message';
  readonly operations: Readonly<Record<string, JsonOperation>>;
}

export interface QueryServiceDef {
  readonly protocol: 'query';
  readonly id: FaultService;
  /** SigV4 signing name: the credential scope must name it. */
  readonly signingName: string;
  /**
   * The one region a global service's endpoint signs for (IAM: us-east-1 in the commercial partition); a
   * request scoped to any other region is refused. Undefined for regional services.
   */
  readonly signingRegion?: string | undefined;
  readonly version: string;
  readonly namespace: string;
  readonly operations: Readonly<Record<string, QueryOperation>>;
}

/** S3: the service parses its own REST routes; authentication is optional for presigned GETs it verifies itself. */
export interface RestServiceDef {
  readonly protocol: 'rest-xml';
  readonly id: FaultService;
  /** SigV4 signing name: the credential scope must name it. */
  readonly signingName: string;
  /** Operation name of a request (for faults and authorisation), or undefined when the route is unknown. */
  operationOf(req: SandboxRequest): string | undefined;
  handle(ctx: OperationContext, req: SandboxRequest): Promise<SandboxResponse>;
}

export interface FrontDoorOptions {
  world: World;
  json: readonly JsonServiceDef[];
  query: readonly QueryServiceDef[];
  rest?: RestServiceDef | undefined;
  /** Keys that may do anything (the admin pair printed at start, and the sandbox's own service key). */
  adminKeys: ReadonlyMap<string, string>;
}

/** Largest clock skew AWS accepts on a signed request. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const INVALID_TOKEN = 'The security token included in the request is invalid.';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export function createAwsFrontDoor(options: FrontDoorOptions): RequestHandler {
  const { world } = options;
  const byPrefix = new Map(options.json.map((s) => [s.targetPrefix, s]));
  const byVersion = new Map(options.query.map((s) => [s.version, s]));

  return async (req) => {
    const requestId = ids.requestId();
    const target = req.headers['x-amz-target'];
    if (target !== undefined) {
      const dot = target.lastIndexOf('.');
      const service = byPrefix.get(target.slice(0, dot));
      if (!service) {
        return jsonError(
          new ServiceError('UnknownOperationException', `Unknown target ${target}`, 400),
          'message',
          requestId,
        );
      }
      return handleJson(service, target.slice(dot + 1), req, requestId);
    }
    const contentType = req.headers['content-type'] ?? '';
    if (
      req.method === 'POST' &&
      req.rawPath === '/' &&
      contentType.startsWith('application/x-www-form-urlencoded')
    ) {
      const params = new URLSearchParams(req.body.toString('utf8'));
      const service = byVersion.get(params.get('Version') ?? '');
      if (!service) {
        return queryError(
          new ServiceError(
            'InvalidAction',
            `Could not find operation ${params.get('Action') ?? '(none)'} for version ${params.get('Version') ?? '(none)'}`,
            400,
          ),
          'https://sts.amazonaws.com/doc/2011-06-15/',
          requestId,
        );
      }
      return handleQuery(service, params, req, requestId);
    }
    if (options.rest) return handleRest(options.rest, req, requestId);
    return { status: 404, body: 'Not Found' };
  };

  async function handleJson(
    service: JsonServiceDef,
    operation: string,
    req: SandboxRequest,
    requestId: string,
  ): Promise<SandboxResponse> {
    const fail = (err: ServiceError) => jsonError(err, service.messageKey, requestId);
    const auth = await authenticate(req, 'json', { name: service.signingName });
    if (auth instanceof ServiceError) return refused(service.id, operation, req, auth, fail);
    const op = service.operations[operation];
    if (!op)
      return fail(
        new ServiceError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by this sandbox's ${service.id}`,
          400,
        ),
      );
    let input: Record<string, unknown>;
    try {
      const text = req.body.toString('utf8').trim();
      const parsed: unknown = text === '' ? {} : JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return fail(
        new ServiceError(
          'SerializationException',
          'Start of structure or map found where not expected.',
          400,
        ),
      );
    }
    const ctx = context(service.id, operation, auth.region, auth.principal, requestId, req, 'json');
    return run(service.id, operation, auth.principal.accessKeyId, fail, async () => {
      const out = await op(ctx, input);
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
        body: JSON.stringify(out ?? {}, jsonReplacer),
      };
    });
  }

  async function handleQuery(
    service: QueryServiceDef,
    params: URLSearchParams,
    req: SandboxRequest,
    requestId: string,
  ): Promise<SandboxResponse> {
    const fail = (err: ServiceError) => queryError(err, service.namespace, requestId);
    const action = params.get('Action') ?? '';
    const auth = await authenticate(req, 'query', {
      name: service.signingName,
      region: service.signingRegion,
    });
    if (auth instanceof ServiceError) return refused(service.id, action, req, auth, fail);
    const op = service.operations[action];
    if (!op)
      return fail(
        new ServiceError(
          'InvalidAction',
          `Could not find operation ${action} for version ${service.version}`,
          400,
        ),
      );
    const ctx = context(service.id, action, auth.region, auth.principal, requestId, req, 'query');
    return run(service.id, action, auth.principal.accessKeyId, fail, async () => {
      const result = await op(ctx, params);
      const body = xmlDocument(`${action}Response`, service.namespace, {
        ...(Object.keys(result).length > 0 ? { [`${action}Result`]: result } : {}),
        ResponseMetadata: { RequestId: requestId },
      });
      return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
    });
  }

  async function handleRest(
    service: RestServiceDef,
    req: SandboxRequest,
    requestId: string,
  ): Promise<SandboxResponse> {
    const fail = (err: ServiceError) => restError(err, requestId);
    const operation = service.operationOf(req);
    if (!operation)
      return fail(
        new ServiceError(
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          405,
        ),
      );
    const auth = await authenticate(req, 'rest-xml', { name: service.signingName });
    if (auth instanceof ServiceError) return refused(service.id, operation, req, auth, fail);
    const ctx = context(service.id, operation, auth.region, auth.principal, requestId, req, 'rest-xml');
    return run(service.id, operation, auth.principal.accessKeyId, fail, () => service.handle(ctx, req));
  }

  /**
   * A call refused before it reached the service (no, malformed, unknown, inactive or not yet propagated key;
   * bad signature): answered, so recorded like every other call — the request log counts the polls of a key
   * that does not work yet, which are round trips like any other.
   */
  function refused(
    serviceId: FaultService,
    operation: string,
    req: SandboxRequest,
    err: ServiceError,
    fail: (err: ServiceError) => SandboxResponse,
  ): SandboxResponse {
    const parsed = parseAuthorization(req);
    world.recordCall({
      service: serviceId,
      operation,
      status: err.status,
      code: err.code,
      accessKeyId: parsed.kind === 'ok' ? parsed.auth.accessKeyId : undefined,
      fault: false,
    });
    return fail(err);
  }

  /**
   * Applies throttling and faults around the handler and turns thrown ServiceErrors into the protocol's error
   * response. A throttled call never reaches the service (nor a fault rule): AWS refuses it at the front.
   */
  async function run(
    serviceId: FaultService,
    operation: string,
    accessKeyId: string,
    fail: (err: ServiceError) => SandboxResponse,
    call: () => Promise<SandboxResponse>,
  ): Promise<SandboxResponse> {
    const record = (status: number, code: string | undefined, fault: boolean) =>
      world.recordCall({ service: serviceId, operation, status, code, accessKeyId, fault });
    const failWith = (err: ServiceError, fault: boolean) => {
      record(err.status, err.code, fault);
      return fail(err);
    };
    if (!world.throttle.take(serviceId, operation)) return failWith(throttledError(serviceId), false);
    const fault = world.faults.decide(serviceId, operation);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.error && !fault.afterEffect) return failWith(faultError(fault.error), true);
    let response: SandboxResponse;
    try {
      response = await call();
      world.changed();
    } catch (err) {
      if (err instanceof ServiceError) return failWith(err, false);
      world.log.error('sandbox handler failed', { service: serviceId, operation, error: err });
      return failWith(
        new ServiceError(
          serviceId === 'secretsmanager' ? 'InternalServiceError' : 'ServerException',
          'An internal error occurred in the sandbox.',
          500,
        ),
        false,
      );
    }
    if (fault?.error && fault.afterEffect) return failWith(faultError(fault.error), true);
    record(response.status, undefined, false);
    return response;
  }

  function context(
    serviceId: FaultService,
    operation: string,
    region: string,
    principal: Principal,
    requestId: string,
    req: SandboxRequest,
    protocol: Protocol,
  ): OperationContext {
    return {
      world,
      serviceId,
      operation,
      region,
      principal,
      requestId,
      request: req,
      authorize: async (action, resources) => {
        const list = typeof resources === 'string' ? [resources] : resources;
        for (const resource of list) {
          const decision = await evaluateAccess(world, principal, action, resource);
          if (decision !== 'Allowed')
            throw accessDenied(protocol, principal.arn, action, resource, decision === 'ExplicitlyDenied');
        }
      },
    };
  }

  /**
   * SigV4 authentication with AWS's error for each failure, per protocol (sources: {@link scopeRefusal}). The
   * request must be signed for this endpoint — the service's signing name, a region the sandbox serves (the one
   * region of a global service), `Host` among the signed headers, no session token — before its key and
   * signature are looked at: a signature that verifies for another scope is still refused, as AWS refuses it.
   */
  async function authenticate(
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
          ? new ServiceError(
              'IncompleteSignature',
              `Request is not signed correctly (${parsed.reason}).`,
              400,
            )
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

    let secret = options.adminKeys.get(auth.accessKeyId);
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
      if (age < world.keyPropagationSeconds * 1000) return unknownKey();
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
    if (
      auth.location === 'query' &&
      signedAt &&
      now > signedAt.getTime() + (auth.expiresSeconds ?? 0) * 1000
    ) {
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

export type AccessDecision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * Evaluates the principal's IAM policies (inline, attached, group) for `action` on `resource`; admin keys may
 * do anything. Exported for listeners outside the front door that authorise as AWS does (the OCI registry
 * authorises each pull and push of an ECR token's principal).
 */
export async function evaluateAccess(
  world: World,
  principal: Principal,
  action: string,
  resource: string,
): Promise<AccessDecision> {
  if (principal.kind === 'admin') return 'Allowed';
  const policies = world.iam
    .effectivePolicies(principal.userName ?? '')
    .map((p) => ({ name: p.name, document: p.document }));
  try {
    return (
      await isActionAllowed({
        principalArn: principal.arn,
        accountId: world.accountId,
        action,
        resource,
        policies,
      })
    ).decision;
  } catch (err) {
    // A policy the simulator cannot read grants nothing (AWS would have refused to store it).
    if (!(err instanceof PolicyEvaluationError)) throw err;
    return 'ImplicitlyDenied';
  }
}

function skewMessage(amzDate: string, now: number): string {
  const fmt = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  return `Signature expired: ${amzDate} is now earlier than ${fmt(now - MAX_SKEW_MS)} (${fmt(now)} - 15 min.)`;
}

/** AWS's access-denied message for identity-based policies, in the protocol's code and status. */
export function accessDenied(
  protocol: Protocol,
  principalArn: string,
  action: string,
  resource: string,
  explicit: boolean,
): ServiceError {
  const why = explicit
    ? 'with an explicit deny in an identity-based policy'
    : `because no identity-based policy allows the ${action} action`;
  const message = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
  return protocol === 'json'
    ? new ServiceError('AccessDeniedException', message, 400)
    : new ServiceError('AccessDenied', message, 403);
}

/**
 * What a throttled AWS API answers: `ThrottlingException` (400, "Rate exceeded") from the JSON 1.1 services —
 * the answer ECR clients report (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html;
 * both the SDK, `@smithy/core` `service-error-classification`, and our pacing classify it as throttling) —
 * `Throttling` from the Query services (IAM, STS), and S3's `SlowDown` (503).
 */
export function throttledError(serviceId: FaultService): ServiceError {
  if (serviceId === 's3') return new ServiceError('SlowDown', 'Please reduce your request rate.', 503);
  if (serviceId === 'iam' || serviceId === 'sts') return new ServiceError('Throttling', 'Rate exceeded', 400);
  return new ServiceError('ThrottlingException', 'Rate exceeded', 400);
}

function faultError(spec: FaultErrorSpec): ServiceError {
  return new ServiceError(
    spec.code ?? (spec.status >= 500 ? 'ServiceUnavailable' : 'ThrottlingException'),
    spec.message,
    spec.status,
  );
}

/**
 * JSON 1.1 timestamps are epoch seconds (`smithy-lang/smithy:docs/source-2.0/aws/protocols/aws-json.rst.template`).
 */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}

export function jsonError(
  err: ServiceError,
  messageKey: 'message' | 'Message',
  requestId: string,
): SandboxResponse {
  return {
    status: err.status,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': err.code,
    },
    body: JSON.stringify({ __type: err.code, [messageKey]: err.message, ...err.extra }),
  };
}

export function queryError(err: ServiceError, namespace: string, requestId: string): SandboxResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${namespace}"><Error><Type>${err.fault}</Type>` +
    `<Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: err.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

export function restError(err: ServiceError, requestId: string): SandboxResponse {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
    .join('');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`;
  return {
    status: err.status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body,
  };
}
