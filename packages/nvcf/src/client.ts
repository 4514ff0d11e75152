import {
  NvcfApiError,
  NvcfApiKeyError,
  type NvcfError,
  NvcfNetworkError,
  NvcfNotFoundError,
  NvcfTimeoutError,
  scrubSecrets,
} from './errors.ts';
import { causeOf, errorFrom, isObject, member, parseSuccess } from './responses.ts';
import { backoffDelay, isRetryableStatus, type RetryOptions, resolveRetry } from './retry.ts';
import type {
  AddRegistryCredentialRequest,
  ArtifactType,
  FunctionDeployment,
  FunctionDto,
  FunctionVisibility,
  RecognizedRegistries,
  RegistryCredential,
  RegistryCredentialFilter,
  UpdateRegistryCredentialRequest,
} from './types.ts';

/** The logging this client does, structurally compatible with `@nvcf-ecr/core`'s `Logger`. */
export interface NvcfLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface NvcfClientOptions {
  /**
   * API origin without a trailing slash, e.g. `https://api.ngc.nvidia.com`
   * (https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/api.html).
   */
  baseUrl: string;
  /**
   * Supplies the NGC API key (read from Secrets Manager at the edge). Called once and cached; called again
   * once when NVCF answers 401 (the key may have been rotated), then the 401 stands.
   */
  apiKey: () => Promise<string>;
  /**
   * NGC org: when set, paths are org-scoped `/v2/orgs/<org>[/teams/<team>]/nvcf/...`, the NGC gateway's form
   * (as `NVIDIA/terraform-provider-ngc:internal/provider/utils/nvcf_client.go` builds it).
   */
  org?: string | undefined;
  team?: string | undefined;
  fetch?: typeof globalThis.fetch | undefined;
  retry?: Partial<RetryOptions> | undefined;
  /** Per-attempt timeout (default 10 s), never beyond what is left of `retry.maxTotalMs`. */
  timeoutMs?: number | undefined;
  logger?: NvcfLogger | undefined;
  /** Waits between attempts (tests pass a fake). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: (() => number) | undefined;
  /** Clock for the retry budget and HTTP-date `Retry-After` (default `Date.now`). */
  now?: (() => number) | undefined;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Which failures a call may retry:
 * - `idempotent` (GET, PATCH, DELETE): 429, 5xx, network errors and timeouts. A PATCH sends the same secret
 *   again, so repeating it converges; a repeated DELETE that finds nothing means an earlier attempt worked.
 * - `create` (POST): only answers that prove nothing was stored — 429 (the rate limiter runs in the controller
 *   before anything is read or written: `NVIDIA/nvcf`, `RegistryCredentialManagementController`) and NVCF's 502
 *   `upstream` (ECR failed the credential check that precedes the save: `RegistryCredentialValidationService`).
 *   A POST that timed out, lost its connection or got another 5xx may have been applied:
 *   it is not repeated; the caller looks the credential up by (hostname, name) with
 *   {@link NvcfClient.findRegistryCredential} before trying again.
 */
type RetryMode = 'idempotent' | 'create';

interface Call {
  method: Method;
  /** Below the NVCF prefix, already encoded: `registry-credentials/<id>`. */
  path: string;
  query?: [string, string][];
  body?: unknown;
  retry: RetryMode;
  /** DELETE: a 404 after an attempt whose outcome is unknown is the earlier attempt's success. */
  notFoundAfterUnknownIsSuccess?: boolean;
}

const UPSTREAM_TYPE = 'urn:nv-boot:problem-details:upstream';

/**
 * Typed client for NVCF's registry-credential, function and deployment APIs, as NVCF's published OpenAPI spec
 * (copy: `stackql-registry/stackql-provider-nvidia:provider-dev/downloaded/nvcf_openapi.json`) and the
 * open-source service behind it (`NVIDIA/nvcf`, `nvcf-core` `rest/registry` and `service/registry`) define them.
 *
 * @example
 * const nvcf = new NvcfClient({ baseUrl: 'https://api.ngc.nvidia.com', apiKey: () => readNgcKey() });
 * const cred = await nvcf.findRegistryCredential('123456789012.dkr.ecr.us-east-1.amazonaws.com', 'ecr-prod');
 * if (cred) await nvcf.updateRegistryCredentialSecret(cred.registryCredentialId, encodedKey);
 */
export class NvcfClient {
  readonly #baseUrl: string;
  readonly #prefix: string;
  readonly #apiKey: () => Promise<string>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #retry: RetryOptions;
  readonly #timeoutMs: number;
  readonly #logger: NvcfLogger | undefined;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  #key: Promise<string> | undefined;

  public constructor(options: NvcfClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch (err) {
      throw new RangeError(
        `baseUrl must be an absolute http(s) URL such as https://api.ngc.nvidia.com, got '${options.baseUrl}'`,
        { cause: err },
      );
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new RangeError(`baseUrl must use http or https, got '${options.baseUrl}'`);
    }
    if (typeof options.apiKey !== 'function')
      throw new RangeError('apiKey must be a function returning the NGC API key');
    if (options.team !== undefined && options.org === undefined)
      throw new RangeError('team needs org: NGC team paths are /v2/orgs/<org>/teams/<team>/nvcf');
    const segment = /^[A-Za-z0-9_-]+$/;
    if (options.org !== undefined && !segment.test(options.org))
      throw new RangeError(`org must be an NGC org name, got '${options.org}'`);
    if (options.team !== undefined && !segment.test(options.team))
      throw new RangeError(`team must be an NGC team name, got '${options.team}'`);
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#prefix =
      options.org === undefined
        ? '/v2/nvcf'
        : `/v2/orgs/${options.org}${options.team === undefined ? '' : `/teams/${options.team}`}/nvcf`;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#retry = resolveRetry(options.retry);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0)
      throw new RangeError(`timeoutMs must be a positive number, got ${this.#timeoutMs}`);
    this.#logger = options.logger;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  // ---- registry credentials ----------------------------------------------------------------------------

  /** `GET /registry-credentials`: the account's credentials, optionally filtered (NVCF does not paginate). */
  public async listRegistryCredentials(filter: RegistryCredentialFilter = {}): Promise<RegistryCredential[]> {
    const query: [string, string][] = [
      ...(filter.artifactTypes ?? []).map((t): [string, string] => ['artifactType', t]),
      ...(filter.provisionedBy ?? []).map((p): [string, string] => ['provisionedBy', p]),
    ];
    const body = await this.#call({
      method: 'GET',
      path: 'registry-credentials',
      query,
      retry: 'idempotent',
    });
    return member<RegistryCredential[]>(
      body,
      'registryCredentials',
      'GET',
      this.#path('registry-credentials'),
      Array.isArray,
    );
  }

  /** `GET /registry-credentials/{id}`; throws {@link NvcfNotFoundError} when the id is not in the account. */
  public async getRegistryCredential(id: string): Promise<RegistryCredential> {
    const path = `registry-credentials/${segment(id, 'id')}`;
    const body = await this.#call({ method: 'GET', path, retry: 'idempotent' });
    return member<RegistryCredential>(body, 'registryCredential', 'GET', this.#path(path), isObject);
  }

  /**
   * The credential with NVCF's uniqueness key (hostname, name) (`NVIDIA/nvcf` `service/registry`: a second one
   * is a 409), or undefined. Both are compared exactly, as NVCF compares them (case-sensitive, `String.equals`).
   */
  public async findRegistryCredential(
    hostname: string,
    name: string,
  ): Promise<RegistryCredential | undefined> {
    const all = await this.listRegistryCredentials();
    return all.find((c) => c.registryHostname === hostname && c.registryCredentialName === name);
  }

  /**
   * Every credential for `hostname`, whatever its name: NVCF hands all of a host's CONTAINER credentials to the
   * workloads that pull from it, so a credential renamed by hand still counts.
   */
  public async findRegistryCredentialsForHost(hostname: string): Promise<RegistryCredential[]> {
    const all = await this.listRegistryCredentials();
    return all.filter((c) => c.registryHostname === hostname);
  }

  /**
   * `POST /registry-credentials` (answers 200). NVCF checks the key against ECR first
   * (`NVIDIA/nvcf`, `RegistryCredentialValidationService`): a key IAM has
   * not propagated yet fails with {@link NvcfBadRequestError} whose `awsErrorCode` is
   * `UnrecognizedClientException`. Not retried when the outcome is unknown — see {@link RetryMode}.
   */
  public async createRegistryCredential(request: AddRegistryCredentialRequest): Promise<RegistryCredential> {
    const body = await this.#call({
      method: 'POST',
      path: 'registry-credentials',
      body: request,
      retry: 'create',
    });
    return member<RegistryCredential>(
      body,
      'registryCredential',
      'POST',
      this.#path('registry-credentials'),
      isObject,
    );
  }

  /** `PATCH /registry-credentials/{id}` with a body of your own (prefer the two verbs below). */
  public async patchRegistryCredential(
    id: string,
    request: UpdateRegistryCredentialRequest,
  ): Promise<RegistryCredential> {
    const path = `registry-credentials/${segment(id, 'id')}`;
    const body = await this.#call({ method: 'PATCH', path, body: request, retry: 'idempotent' });
    return member<RegistryCredential>(body, 'registryCredential', 'PATCH', this.#path(path), isObject);
  }

  /**
   * Replaces the secret in place and keeps the credential's name: a PATCH's `secret.name` renames the
   * credential (`UpdateRegistryCredentialRequest` in `NVIDIA/nvcf`), so the current name is read first and
   * sent back, as the NGC SDK does. Id and `createdAt` stay; `lastUpdatedAt` moves.
   */
  public async updateRegistryCredentialSecret(id: string, value: string): Promise<RegistryCredential> {
    const current = await this.getRegistryCredential(id);
    return this.patchRegistryCredential(id, { secret: { name: current.registryCredentialName, value } });
  }

  /** Adds artifact types (NVCF never removes any) — sent as `artifactTypeEnums`, the member NVCF reads. */
  public async addArtifactTypes(id: string, types: readonly ArtifactType[]): Promise<RegistryCredential> {
    if (types.length === 0) throw new RangeError('addArtifactTypes needs at least one artifact type');
    return this.patchRegistryCredential(id, { artifactTypeEnums: [...types] });
  }

  /**
   * `DELETE /registry-credentials/{id}` (204). NVCF refuses SYSTEM credentials and ones functions use
   * (`NVIDIA/nvcf`, `RegistryCredentialFunctionService.validateRegistryCredentialDeletion`).
   */
  public async deleteRegistryCredential(id: string): Promise<void> {
    await this.#call({
      method: 'DELETE',
      path: `registry-credentials/${segment(id, 'id')}`,
      retry: 'idempotent',
      notFoundAfterUnknownIsSuccess: true,
    });
  }

  /** `GET /recognized-registries`: per artifact type, the registries NVCF accepts credentials for. */
  public async recognizedRegistries(): Promise<RecognizedRegistries> {
    const body = await this.#call({ method: 'GET', path: 'recognized-registries', retry: 'idempotent' });
    return member<RecognizedRegistries>(
      body,
      'recognizedRegistries',
      'GET',
      this.#path('recognized-registries'),
      isObject,
    );
  }

  // ---- functions and deployments -----------------------------------------------------------------------

  /** `GET /functions`: one entry per function version (each has its `versionId`); default visibility: all three. */
  public async listFunctions(
    visibility?: FunctionVisibility | readonly FunctionVisibility[],
  ): Promise<FunctionDto[]> {
    const body = await this.#call({
      method: 'GET',
      path: 'functions',
      query: visibilityQuery(visibility),
      retry: 'idempotent',
    });
    return member<FunctionDto[]>(body, 'functions', 'GET', this.#path('functions'), Array.isArray);
  }

  /** `GET /functions/ids`. */
  public async listFunctionIds(
    visibility?: FunctionVisibility | readonly FunctionVisibility[],
  ): Promise<string[]> {
    const body = await this.#call({
      method: 'GET',
      path: 'functions/ids',
      query: visibilityQuery(visibility),
      retry: 'idempotent',
    });
    return member<string[]>(body, 'functionIds', 'GET', this.#path('functions/ids'), Array.isArray);
  }

  /** `GET /functions/{fid}/versions`. */
  public async listFunctionVersions(functionId: string): Promise<FunctionDto[]> {
    const path = `functions/${segment(functionId, 'functionId')}/versions`;
    const body = await this.#call({ method: 'GET', path, retry: 'idempotent' });
    return member<FunctionDto[]>(body, 'functions', 'GET', this.#path(path), Array.isArray);
  }

  /** `GET /functions/{fid}/versions/{vid}`. */
  public async getFunctionVersion(functionId: string, versionId: string): Promise<FunctionDto> {
    const path = `functions/${segment(functionId, 'functionId')}/versions/${segment(versionId, 'versionId')}`;
    const body = await this.#call({ method: 'GET', path, retry: 'idempotent' });
    return member<FunctionDto>(body, 'function', 'GET', this.#path(path), isObject);
  }

  /** `GET /deployments/functions/{fid}/versions/{vid}`, or undefined when the version is not deployed (404). */
  public async getDeployment(functionId: string, versionId: string): Promise<FunctionDeployment | undefined> {
    const path = `deployments/functions/${segment(functionId, 'functionId')}/versions/${segment(versionId, 'versionId')}`;
    let body: unknown;
    try {
      body = await this.#call({ method: 'GET', path, retry: 'idempotent' });
    } catch (err) {
      if (err instanceof NvcfNotFoundError) return undefined;
      throw err;
    }
    return member<FunctionDeployment>(body, 'deployment', 'GET', this.#path(path), isObject);
  }

  // ---- transport ---------------------------------------------------------------------------------------

  #path(below: string): string {
    return `${this.#prefix}/${below}`;
  }

  async #getKey(): Promise<string> {
    this.#key ??= (async () => {
      let key: unknown;
      try {
        key = await this.#apiKey();
      } catch (err) {
        throw new NvcfApiKeyError(
          `the NGC API key provider failed: ${scrubSecrets(err instanceof Error ? err.message : String(err))}`,
          { cause: err },
        );
      }
      if (typeof key !== 'string' || key.trim() === '')
        throw new NvcfApiKeyError('the NGC API key provider returned an empty key');
      return key.trim();
    })();
    try {
      return await this.#key;
    } catch (err) {
      this.#key = undefined;
      throw err;
    }
  }

  /** Runs one API call with retries, the 401 key refresh and the total time budget; returns the JSON body. */
  async #call(call: Call): Promise<unknown> {
    const path = this.#path(call.path);
    const search =
      call.query && call.query.length > 0 ? `?${new URLSearchParams(call.query).toString()}` : '';
    const url = `${this.#baseUrl}${path}${search}`;
    const start = this.#now();
    let attempt = 0;
    let refreshedKey = false;
    let outcomeUnknown = false;
    for (;;) {
      attempt++;
      const remaining = this.#retry.maxTotalMs - (this.#now() - start);
      const timeoutMs = Math.max(1, Math.min(this.#timeoutMs, remaining));
      const key = await this.#getKey();
      const began = this.#now();
      let failure: NvcfError;
      const result = await this.#attempt(call, url, path, key, timeoutMs);
      if (result.kind === 'answer') {
        const { status, text, headers } = result;
        this.#logger?.debug('nvcf request', {
          method: call.method,
          path,
          status,
          attempt,
          durationMs: this.#now() - began,
        });
        if (status >= 200 && status < 300) return parseSuccess(call.method, path, status, text);
        if (status === 401 && !refreshedKey) {
          // The key may have been rotated since we read it: read it again, once, without using an attempt.
          refreshedKey = true;
          this.#key = undefined;
          attempt--;
          continue;
        }
        if (status === 404 && call.notFoundAfterUnknownIsSuccess && outcomeUnknown) return undefined;
        const error = errorFrom(call.method, path, status, text, headers, this.#now());
        if (!retryable(call.retry, error)) throw error;
        failure = error;
        // A 5xx other than NVCF's pre-save 502 may come after the change was made.
        if (status >= 500) outcomeUnknown = true;
      } else {
        this.#logger?.debug('nvcf request failed', {
          method: call.method,
          path,
          attempt,
          error: result.error.name,
        });
        if (call.retry === 'create') throw result.error;
        failure = result.error;
        outcomeUnknown = true;
      }
      if (attempt >= this.#retry.maxAttempts) throw failure;
      const retryAfterMs = failure instanceof NvcfApiError ? failure.retryAfterMs : undefined;
      // A server that asks for a longer pause than we allow ourselves gets its answer back, not a hammering.
      if (retryAfterMs !== undefined && retryAfterMs > this.#retry.maxDelayMs) throw failure;
      const delay = retryAfterMs ?? backoffDelay(attempt, this.#retry, this.#random);
      if (this.#now() - start + delay >= this.#retry.maxTotalMs) throw failure;
      this.#logger?.warn('nvcf retrying', {
        method: call.method,
        path,
        attempt,
        delayMs: delay,
        reason: failure.name,
      });
      await this.#sleep(delay);
    }
  }

  async #attempt(
    call: Call,
    url: string,
    path: string,
    key: string,
    timeoutMs: number,
  ): Promise<
    { kind: 'answer'; status: number; text: string; headers: Headers } | { kind: 'failed'; error: NvcfError }
  > {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'application/json' };
      if (call.body !== undefined) headers['content-type'] = 'application/json';
      const res = await this.#fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: controller.signal,
      });
      const text = await res.text();
      return { kind: 'answer', status: res.status, text, headers: res.headers };
    } catch (err) {
      if (timedOut)
        return { kind: 'failed', error: new NvcfTimeoutError(call.method, path, timeoutMs, { cause: err }) };
      const reason = err instanceof Error ? `${err.message}${causeOf(err)}` : String(err);
      return { kind: 'failed', error: new NvcfNetworkError(call.method, path, reason, { cause: err }) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function retryable(mode: RetryMode, error: NvcfApiError): boolean {
  if (mode === 'idempotent') return isRetryableStatus(error.status);
  return error.status === 429 || (error.status === 502 && error.type === UPSTREAM_TYPE);
}

function segment(value: string, name: string): string {
  if (typeof value !== 'string' || value === '') throw new RangeError(`${name} must be a non-empty string`);
  return encodeURIComponent(value);
}

function visibilityQuery(
  v: FunctionVisibility | readonly FunctionVisibility[] | undefined,
): [string, string][] {
  if (v === undefined) return [];
  return (typeof v === 'string' ? [v] : v).map((x): [string, string] => ['visibility', x]);
}
