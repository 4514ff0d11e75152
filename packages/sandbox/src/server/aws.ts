import { authenticate } from '../auth/authenticate.ts';
import { evaluateAccess } from '../auth/authorize.ts';
import { parseAuthorization } from '../auth/sigv4.ts';
import { ServiceError } from '../errors.ts';
import type { FaultService } from '../faults.ts';
import * as ids from '../ids.ts';
import type { World } from '../world.ts';
import type { RequestHandler, SandboxRequest, SandboxResponse } from './http.ts';
import { accessDenied, faultError, jsonError, queryError, restError, throttledError } from './wire-errors.ts';
import { type XmlObject, xmlDocument } from './xml.ts';

/**
 * The AWS front door: one listener for every AWS API the sandbox emulates, routed as the Smithy protocol specs
 * define the wire (`smithy-lang/smithy:docs/source-2.0/aws/protocols/aws-json.rst.template`,
 * `aws-query-protocol.rst`) — `X-Amz-Target` prefix for AWS JSON 1.1 services, the `Action`/`Version` form for the
 * Query services (IAM, STS), anything else is S3 path-style REST. Every request is authenticated (SigV4 against
 * keys the sandbox issued, with AWS's error for each failure: `auth/authenticate.ts`), passed through fault
 * injection, handled, and serialised in the service's own protocol (errors: `wire-errors.ts`). Handlers authorise
 * with `ctx.authorize`, which evaluates the caller's IAM policies (`auth/authorize.ts`).
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
    const auth = await authenticate(world, options.adminKeys, req, 'json', { name: service.signingName });
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
    const auth = await authenticate(world, options.adminKeys, req, 'query', {
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
    const auth = await authenticate(world, options.adminKeys, req, 'rest-xml', { name: service.signingName });
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
      refused: true,
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
}

/**
 * JSON 1.1 timestamps are epoch seconds (`smithy-lang/smithy:docs/source-2.0/aws/protocols/aws-json.rst.template`).
 */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}
