import type { SandboxRequest } from '../../server/http.ts';
import {
  type ApiKeyRecord,
  credentialDto,
  type NvcfBackend,
  PROVISIONED_BY,
  VISIBILITIES,
} from './backend.ts';
import { ARTIFACT_TYPES } from './registries.ts';
import { parseAddRequest, parseEnumSet, parseUpdateRequest, parseUuid } from './validation.ts';

/**
 * NVCF operations: each one `prepare`s its input the way Spring binds it before the controller method runs
 * (path variables converted, query parameters converted, body read and validated — all 400s, before the
 * scope check), then `run`s against the backend with the caller's account and answers with NVCF's status
 * and DTO wrapper (`RegistryCredentialManagementController`, `FunctionManagementController`). Secret values never
 * appear in an answer.
 */

export interface NvcfCall<I> {
  readonly key: ApiKeyRecord;
  /** The caller's NVIDIA Cloud Account (from the key, never from the path: `accountService.getNcaId`). */
  readonly ncaId: string;
  readonly input: I;
}

export interface NvcfAnswer {
  status: number;
  body?: unknown;
}

export interface Operation<I = unknown> {
  /** Operation name for faults (`POST /_sandbox/faults` with `service: 'nvcf'`). */
  readonly name: string;
  /** Any one of these authorities lets the call through (`@PreAuthorize("hasAnyAuthority(...)")`). */
  readonly scopes: readonly string[];
  /** Reads the body (POST and PATCH consume `application/json`). */
  readonly consumesJson?: boolean;
  prepare(req: SandboxRequest, params: Readonly<Record<string, string>>): I;
  run(call: NvcfCall<I>): Promise<NvcfAnswer> | NvcfAnswer;
}

const MANAGE = ['manage_registry_credentials', 'apikey:manage_registry_credentials'];
const LIST = [
  'list_functions',
  'list_functions_details',
  'apikey:list_functions',
  'apikey:list_functions_details',
];
const DEPLOY = ['deploy_function', 'apikey:deploy_function'];

const op = <I>(o: Operation<I>): Operation<I> => o;

/** Throws the Problem when a query parameter did not convert. */
function orThrow<T>(v: T): Exclude<T, Error> {
  if (v instanceof Error) throw v;
  return v as Exclude<T, Error>;
}

type Params = Readonly<Record<string, string>>;

/** The credential id of `/v2/nvcf/registry-credentials/{id}`. */
const credentialId = (p: Params) => parseUuid('registryCredentialId', p['id'] ?? '');

/** The function and version ids of `/v2/nvcf/functions/{fid}/versions/{vid}` (and its deployment). */
const versionIds = (p: Params) => ({
  fid: parseUuid('functionId', p['fid'] ?? ''),
  vid: parseUuid('functionVersionId', p['vid'] ?? ''),
});

/** The `visibility` query parameter of the function lists (upper case on the wire). */
const visibilityQuery = (req: SandboxRequest) =>
  orThrow(
    parseEnumSet(
      req.url.searchParams,
      'visibility',
      VISIBILITIES.map((v) => v.toUpperCase()),
    ),
  );

export function nvcfOperations(backend: NvcfBackend) {
  /** The functions of the account in the visibilities asked for. */
  const functionsIn = (ncaId: string, asked: readonly string[]) =>
    backend.listFunctions(
      ncaId,
      VISIBILITIES.filter((v) => asked.includes(v.toUpperCase())),
    );

  return {
    listRegistryCredentials: op({
      name: 'ListRegistryCredentials',
      scopes: MANAGE,
      prepare: (req) => ({
        types: orThrow(parseEnumSet(req.url.searchParams, 'artifactType', ARTIFACT_TYPES)),
        by: orThrow(parseEnumSet(req.url.searchParams, 'provisionedBy', PROVISIONED_BY)),
      }),
      run: ({ ncaId, input }) => ({
        status: 200,
        body: {
          registryCredentials: backend.listCredentials(ncaId, input.types, input.by).map(credentialDto),
        },
      }),
    }),
    createRegistryCredential: op({
      name: 'CreateRegistryCredential',
      scopes: MANAGE,
      consumesJson: true,
      prepare: (req) => parseAddRequest(req.body),
      // 200, not 201 (the OpenAPI spec and `RegistryCredentialManagementControllerTest`).
      run: async ({ ncaId, input }) => ({
        status: 200,
        body: { registryCredential: credentialDto(await backend.createCredential(ncaId, input)) },
      }),
    }),
    getRegistryCredential: op({
      name: 'GetRegistryCredential',
      scopes: MANAGE,
      prepare: (_req, p) => credentialId(p),
      run: ({ ncaId, input }) => ({
        status: 200,
        body: { registryCredential: credentialDto(backend.viewCredential(ncaId, input)) },
      }),
    }),
    updateRegistryCredential: op({
      name: 'UpdateRegistryCredential',
      scopes: MANAGE,
      consumesJson: true,
      prepare: (req, p) => ({
        id: credentialId(p),
        body: parseUpdateRequest(req.body),
      }),
      run: async ({ ncaId, input }) => ({
        status: 200,
        body: {
          registryCredential: credentialDto(await backend.updateCredential(ncaId, input.id, input.body)),
        },
      }),
    }),
    deleteRegistryCredential: op({
      name: 'DeleteRegistryCredential',
      scopes: MANAGE,
      prepare: (_req, p) => credentialId(p),
      run: ({ ncaId, input }) => {
        backend.deleteCredential(ncaId, input);
        return { status: 204 };
      },
    }),
    listRecognizedRegistries: op({
      name: 'ListRecognizedRegistries',
      scopes: MANAGE,
      prepare: () => undefined,
      run: () => ({ status: 200, body: { recognizedRegistries: backend.recognizedRegistries() } }),
    }),
    listFunctions: op({
      name: 'ListFunctions',
      scopes: LIST,
      prepare: visibilityQuery,
      run: ({ ncaId, input }) => ({
        status: 200,
        body: { functions: functionsIn(ncaId, input) },
      }),
    }),
    listFunctionIds: op({
      name: 'ListFunctionIds',
      scopes: LIST,
      prepare: visibilityQuery,
      run: ({ ncaId, input }) => {
        const ids = functionsIn(ncaId, input).map((f) => f['id'] as string);
        return { status: 200, body: { functionIds: [...new Set(ids)] } };
      },
    }),
    listFunctionVersions: op({
      name: 'ListFunctionVersions',
      scopes: LIST,
      prepare: (_req, p) => parseUuid('functionId', p['fid'] ?? ''),
      run: ({ ncaId, input }) => ({
        status: 200,
        body: { functions: backend.functionVersions(ncaId, input) },
      }),
    }),
    getFunctionVersion: op({
      name: 'GetFunctionVersion',
      scopes: LIST,
      prepare: (_req, p) => versionIds(p),
      run: ({ ncaId, input }) => ({
        status: 200,
        body: { function: backend.functionVersion(ncaId, input.fid, input.vid) },
      }),
    }),
    getDeployment: op({
      name: 'GetDeployment',
      scopes: DEPLOY,
      prepare: (_req, p) => versionIds(p),
      run: ({ ncaId, input }) => ({
        status: 200,
        body: { deployment: backend.deployment(ncaId, input.fid, input.vid) },
      }),
    }),
    getDeploymentById: op({
      name: 'GetDeploymentById',
      scopes: DEPLOY,
      prepare: (_req, p) => parseUuid('deploymentId', p['did'] ?? ''),
      run: ({ ncaId, input }) => ({
        status: 200,
        body: { deployment: backend.deploymentById(ncaId, input) },
      }),
    }),
  };
}
