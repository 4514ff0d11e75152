import { ProblemError } from '../../errors.ts';
import type { FaultErrorSpec } from '../../faults.ts';
import * as ids from '../../ids.ts';
import { json, type RequestHandler, type SandboxRequest, type SandboxResponse } from '../../server/http.ts';
import type { World } from '../../world.ts';
import type { NvcfBackend } from './backend.ts';
import { bootProblem, type GatewayUnauthorized, nvcfErrors } from './errors.ts';
import { nvcfOperations, type Operation } from './handlers.ts';

/**
 * The NVCF listener: the registry-credential, function and deployment routes of NVCF's OpenAPI spec (copy:
 * `stackql-registry/stackql-provider-nvidia:provider-dev/downloaded/nvcf_openapi.json`) under the plain prefix
 * `/v2/nvcf/` and the NGC gateway's org-scoped forms `/v2/orgs/{org}[/teams/{team}]/nvcf/` (as
 * `NVIDIA/terraform-provider-ngc` builds them; the org and team are accepted as given — the account comes from
 * the key). Per request, in the order NVCF's stack applies them:
 *
 * 1. the gateway authenticates the bearer key (401, gateway body);
 * 2. fault injection (`world.faults.decide('nvcf', <operation>)`) may delay or fail the call;
 * 3. Spring binds the request: unknown path 404, wrong method 405, non-JSON body 415, unconvertible path or
 *    query values and unreadable or invalid bodies 400 — all before `@PreAuthorize`, which is why a key
 *    without the scope but with a bad body gets 400, not 403 (the project's inference from
 *    Spring MVC's order, not tested in `NVIDIA/nvcf`);
 * 4. the scope check (403 "Access Denied");
 * 5. the operation; an `afterEffect` fault then replaces its answer.
 */

interface Route {
  readonly pattern: readonly string[];
  readonly methods: Readonly<Record<string, Operation<unknown>>>;
}

/** Prefixes NVCF is reached under; the capture is the path below `nvcf/`. */
const PREFIXES = [
  /^\/v2\/nvcf\/(.*)$/,
  /^\/v2\/orgs\/[^/]+\/nvcf\/(.*)$/,
  /^\/v2\/orgs\/[^/]+\/teams\/[^/]+\/nvcf\/(.*)$/,
];

export function nvcfRoutes(backend: NvcfBackend): Route[] {
  const ops = nvcfOperations(backend);
  // Each operation is typed by its own input; the table only needs to call prepare and run in turn.
  const m = (name: keyof typeof ops): Operation<unknown> => ops[name] as unknown as Operation<unknown>;
  return [
    {
      pattern: ['registry-credentials'],
      methods: { GET: m('listRegistryCredentials'), POST: m('createRegistryCredential') },
    },
    {
      pattern: ['registry-credentials', ':id'],
      methods: {
        GET: m('getRegistryCredential'),
        PATCH: m('updateRegistryCredential'),
        DELETE: m('deleteRegistryCredential'),
      },
    },
    { pattern: ['recognized-registries'], methods: { GET: m('listRecognizedRegistries') } },
    { pattern: ['functions'], methods: { GET: m('listFunctions') } },
    { pattern: ['functions', 'ids'], methods: { GET: m('listFunctionIds') } },
    { pattern: ['functions', ':fid', 'versions'], methods: { GET: m('listFunctionVersions') } },
    { pattern: ['functions', ':fid', 'versions', ':vid'], methods: { GET: m('getFunctionVersion') } },
    {
      pattern: ['deployments', 'functions', ':fid', 'versions', ':vid'],
      methods: { GET: m('getDeployment') },
    },
    { pattern: ['deployments', ':did'], methods: { GET: m('getDeploymentById') } },
  ];
}

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of pattern.entries()) {
    const s = segments[i] as string;
    if (p.startsWith(':')) {
      if (s === '') return undefined;
      params[p.slice(1)] = s;
    } else if (p !== s) {
      return undefined;
    }
  }
  return params;
}

/** Problem Details exactly as Spring serialises `ProblemDetail` (type, title, status, detail, instance). */
export function problemResponse(
  err: ProblemError,
  instance: string,
  headers: Record<string, string> = {},
): SandboxResponse {
  const body = {
    type: err.type ?? 'about:blank',
    title: err.title,
    status: err.status,
    detail: err.detail,
    instance,
  };
  return {
    status: err.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The NGC gateway's 401. The gateway authenticates before NVCF sees the request, so its answer is not a
 * Problem Details body but `{"requestStatus": {...}}` — the shape api.ngc.nvidia.com was observed to answer
 * (`stackql-registry/stackql-provider-nvidia:NOTES.md`, item 18) and Terraform's NGC client parses
 * (`NVIDIA/terraform-provider-ngc:internal/provider/utils/nvcf_client.go`, `ErrorResponse`).
 */
function unauthorized(description: string): SandboxResponse {
  const body: GatewayUnauthorized = {
    requestStatus: { statusCode: 'UNAUTHORIZED', statusDescription: description, requestId: ids.requestId() },
  };
  return json(401, body);
}

/** A fault's error as NVCF would answer it; with a `code`, the detail relays AWS JSON as NVCF relays AWS errors. */
function faultProblem(spec: FaultErrorSpec): ProblemError {
  const detail = spec.code ? JSON.stringify({ __type: spec.code, message: spec.message }) : spec.message;
  return bootProblem(spec.status, detail);
}

/** Seconds a throttled client is told to wait (`Retry-After` on injected 429s). */
export const RETRY_AFTER_SECONDS = 1;

function faultResponse(spec: FaultErrorSpec, instance: string): SandboxResponse {
  return problemResponse(
    faultProblem(spec),
    instance,
    spec.status === 429 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {},
  );
}

export function createNvcfListener(world: World, backend: NvcfBackend): RequestHandler {
  const routes = nvcfRoutes(backend);

  // Every answered request goes to the sandbox's request log (`GET /_sandbox/calls`, `onCall`), like AWS calls.
  return async (req: SandboxRequest): Promise<SandboxResponse> => {
    const call = { operation: 'Unrouted', fault: false };
    const response = await handle(req, call);
    world.recordCall({
      service: 'nvcf',
      operation: call.operation,
      status: response.status,
      fault: call.fault,
    });
    return response;
  };

  async function handle(
    req: SandboxRequest,
    call: { operation: string; fault: boolean },
  ): Promise<SandboxResponse> {
    const below = PREFIXES.map((p) => p.exec(req.rawPath)?.[1]).find((x) => x !== undefined);
    const instance = below === undefined ? req.rawPath : `/v2/nvcf/${below}`;
    if (!req.rawPath.startsWith('/v2/')) return problemResponse(nvcfErrors.noResource(req.rawPath), instance);

    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers['authorization'] ?? '');
    if (!auth?.[1])
      return unauthorized('Missing or malformed Authorization header: expected Bearer <API key>');
    const key = backend.authenticate(auth[1]);
    if (!key) return unauthorized('Invalid API key.');

    const segments = below === undefined ? undefined : below.replace(/\/$/, '').split('/');
    let route: Route | undefined;
    let params: Record<string, string> | undefined;
    for (const r of routes) {
      params = segments && match(r.pattern, segments);
      if (params) {
        route = r;
        break;
      }
    }
    if (!route || !params) return problemResponse(nvcfErrors.noResource(req.rawPath), instance);
    const operation = route.methods[req.method];
    if (!operation) {
      return problemResponse(nvcfErrors.methodNotAllowed(req.method), instance, {
        allow: Object.keys(route.methods).join(', '),
      });
    }

    call.operation = operation.name;
    // NVCF's gateway answers a throttled call 429 with Retry-After, as for an injected 429.
    if (!world.throttle.take('nvcf', operation.name))
      return faultResponse({ status: 429, message: 'Rate exceeded' }, instance);
    const fault = world.faults.decide('nvcf', operation.name);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    call.fault = fault?.error !== undefined;
    if (fault?.error && !fault.afterEffect) return faultResponse(fault.error, instance);

    let answer: { status: number; body?: unknown };
    try {
      if (operation.consumesJson) {
        const contentType = req.headers['content-type'] ?? 'application/octet-stream';
        if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType))
          throw nvcfErrors.unsupportedMediaType(contentType);
      }
      const input = operation.prepare(req, params);
      if (!operation.scopes.some((s) => key.scopes.includes(s))) throw nvcfErrors.accessDenied();
      answer = await operation.run({ key, ncaId: key.account, input });
    } catch (err) {
      if (err instanceof ProblemError) return problemResponse(err, instance);
      world.log.error('nvcf handler failed', { operation: operation.name, error: err });
      return problemResponse(nvcfErrors.internal(), instance);
    }
    if (fault?.error && fault.afterEffect) return faultResponse(fault.error, instance);
    if (answer.status === 204) return { status: 204 };
    return json(answer.status, answer.body);
  }
}
