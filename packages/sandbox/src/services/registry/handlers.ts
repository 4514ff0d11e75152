import { evaluateAccess } from '../../auth/authorize.ts';
import { ServiceError } from '../../errors.ts';
import type { RequestHandler, SandboxRequest, SandboxResponse } from '../../server/http.ts';
import { accessDenied } from '../../server/wire-errors.ts';
import type { World } from '../../world.ts';
import { statusOf } from '../ecr/archive.ts';
import type { EcrBackend } from '../ecr/backend.ts';
import { isRepositoryName } from '../ecr/input.ts';
import { digestOf, isDigest, MANIFEST_MEDIA_TYPES } from '../ecr/manifest.ts';
import { type ImageRecord, isValidTag, type RepositoryRecord } from '../ecr/records.ts';
import type { ImageStore } from '../ecr/store.ts';
import type { TokenRecord } from '../ecr/tokens.ts';
import { fromEcrError, registryErrors } from './errors.ts';
import { matchRoute, type RegistryOperation, type RegistryRoute } from './routes.ts';

/**
 * The OCI distribution API (pull and push) over the ECR storage, authenticated as ECR's registry is: HTTP
 * Basic `AWS:<password>` where the password comes from `GetAuthorizationToken`
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html). Every request
 * is authorised for the token's principal with the IAM action ECR maps it to (pull: `ecr:BatchGetImage`,
 * `ecr:GetDownloadUrlForLayer`; push: `ecr:InitiateLayerUpload`, `ecr:UploadLayerPart`,
 * `ecr:CompleteLayerUpload`, `ecr:PutImage`, `ecr:BatchCheckLayerAvailability`), and a manifest PUT goes
 * through the same PutImage rules (digest, blobs, children, immutability) and emits the same events.
 */

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };

interface RegistryContext {
  readonly world: World;
  readonly store: ImageStore;
  readonly token: TokenRecord;
  readonly route: RegistryRoute;
  readonly req: SandboxRequest;
}

function errorResponse(err: ServiceError, world: World, extra: Record<string, string> = {}): SandboxResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...API_VERSION, ...extra };
  if (err.status === 401)
    headers['www-authenticate'] = `Basic realm="${world.endpoints.registry}/",service="ecr.amazonaws.com"`;
  return {
    status: err.status,
    headers,
    body: JSON.stringify({ errors: [{ code: err.code, message: err.message }] }),
  };
}

const isRegistryCode = (code: string) => /^[A-Z_]+$/.test(code);

/** The token a request presents as `Basic base64(AWS:<password>)`, or the 401 it gets. */
function authenticate(req: SandboxRequest, backend: EcrBackend): TokenRecord | ServiceError {
  const header = req.headers['authorization'];
  if (!header) return registryErrors.unauthorized();
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return registryErrors.unauthorized('ECR accepts HTTP Basic credentials AWS:<token> only');
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  // Split on the first ':' as the credential helper does
  // (`awslabs/amazon-ecr-credential-helper:ecr-login/api/client.go`, `extractToken`); the user is always AWS.
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== 'AWS') return registryErrors.invalidToken();
  const check = backend.tokens.check(decoded.slice(colon + 1));
  if (check.ok) return check.token;
  return check.reason === 'expired'
    ? registryErrors.expired()
    : check.reason === 'key-inactive'
      ? registryErrors.keyInactive()
      : registryErrors.invalidToken();
}

async function authorize(ctx: RegistryContext, action: string): Promise<void> {
  const arn = `arn:${ctx.world.partition}:ecr:${ctx.token.region}:${ctx.world.accountId}:repository/${ctx.route.name}`;
  const decision = await evaluateAccess(ctx.world, ctx.token.principal, action, arn);
  if (decision !== 'Allowed') {
    throw registryErrors.denied(
      accessDenied('json', ctx.token.principal.arn, action, arn, decision === 'ExplicitlyDenied').message,
    );
  }
}

function repository(ctx: RegistryContext): RepositoryRecord {
  return ctx.store.repository(ctx.route.name);
}

/** The blob the route names, in the route's repository; BLOB_UNKNOWN when there is none. */
function routedBlob(ctx: RegistryContext) {
  const blob = repository(ctx).blobs.get(ctx.route.reference);
  if (!blob) throw registryErrors.blobUnknown(ctx.route.reference);
  return blob;
}

const location = (ctx: RegistryContext, path: string) => `/v2/${ctx.route.name}/${path}`;

/**
 * Stores an uploaded blob once its content has the digest the client named, and answers 201 Created with its
 * location. A blob that is already there is fine for the registry protocol (ECR's API says LayerAlreadyExists).
 */
function storeBlob(
  ctx: RegistryContext,
  repo: RepositoryRecord,
  digest: string,
  data: Buffer,
): SandboxResponse {
  const computed = digestOf(digest, data);
  if (computed !== digest)
    throw registryErrors.digestInvalid(`the uploaded content has digest ${computed}, not ${digest}`);
  ctx.store.putBlob(repo, digest, data);
  return {
    status: 201,
    headers: { ...API_VERSION, location: location(ctx, `blobs/${digest}`), 'docker-content-digest': digest },
  };
}

/** Manifest types a request accepts: `Accept` may repeat and carry parameters; none or `*\/*` accepts all. */
function acceptsType(req: SandboxRequest, mediaType: string): boolean {
  const accept = req.headers['accept'];
  if (!accept) return true;
  const types = accept.split(',').map((t) => t.split(';')[0]?.trim() ?? '');
  return types.includes('*/*') || types.includes(mediaType);
}

function findManifest(ctx: RegistryContext, repo: RepositoryRecord): ImageRecord {
  const ref = ctx.route.reference;
  const digest = isDigest(ref) ? ref : repo.tagIndex.get(ref);
  const image = digest === undefined ? undefined : repo.images.get(digest);
  // An archived image "cannot be pulled. Requests to pull the archived image will fail with a 404 error"
  // (https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html).
  if (!image || statusOf(image, ctx.store.now()) !== 'ACTIVE') throw registryErrors.manifestUnknown();
  return image;
}

function manifestHeaders(image: ImageRecord): Record<string, string> {
  return {
    ...API_VERSION,
    'content-type': image.mediaType,
    'docker-content-digest': image.digest,
    etag: `"${image.digest}"`,
  };
}

function uploadHeaders(ctx: RegistryContext, id: string, received: number): Record<string, string> {
  return {
    ...API_VERSION,
    location: location(ctx, `blobs/uploads/${id}`),
    range: `0-${Math.max(0, received - 1)}`,
    'docker-upload-uuid': id,
  };
}

/** The declared manifest type of a PUT: its Content-Type when that is a manifest type (else the JSON decides). */
function declaredType(req: SandboxRequest): string | undefined {
  const type = req.headers['content-type']?.split(';')[0]?.trim();
  return type !== undefined && MANIFEST_MEDIA_TYPES.includes(type) ? type : undefined;
}

type Operation = (ctx: RegistryContext) => Promise<SandboxResponse>;

const operations: Record<RegistryOperation, Operation> = {
  async Ping() {
    return { status: 200, headers: { ...API_VERSION, 'content-type': 'application/json' }, body: '{}' };
  },

  // ECR has no catalog endpoint: listing repositories is DescribeRepositories.
  async Catalog() {
    throw registryErrors.unsupported(
      'The catalog API is not supported by Amazon ECR: use DescribeRepositories.',
    );
  },

  async GetManifest(ctx) {
    await authorize(ctx, 'ecr:BatchGetImage');
    const repo = repository(ctx);
    const image = findManifest(ctx, repo);
    // No format conversion (as BatchGetImage by digest): a client that does not accept the stored type is
    // told so rather than handed another document.
    if (!acceptsType(ctx.req, image.mediaType)) {
      throw registryErrors.manifestUnknown(
        `Requested image not found: its manifest media type '${image.mediaType}' is not in the Accept header`,
      );
    }
    if (ctx.req.method === 'GET') ctx.store.recordPull(image);
    return { status: 200, headers: manifestHeaders(image), body: image.manifest };
  },

  async HeadManifest(ctx) {
    return operations.GetManifest(ctx);
  },

  async PutManifest(ctx) {
    await authorize(ctx, 'ecr:PutImage');
    const repo = repository(ctx);
    const bytes = ctx.req.body;
    const text = bytes.toString('utf8');
    // Manifests are JSON (UTF-8); bytes that do not survive decoding could not be stored exactly.
    if (!Buffer.from(text, 'utf8').equals(bytes))
      throw registryErrors.manifestInvalid('the manifest is not valid UTF-8 JSON');
    const ref = ctx.route.reference;
    const byDigest = isDigest(ref);
    if (!byDigest && !isValidTag(ref)) throw registryErrors.tagInvalid(`invalid tag '${ref}'`);
    const { image } = ctx.store.putImage(
      repo,
      {
        manifest: text,
        mediaType: declaredType(ctx.req),
        tag: byDigest ? undefined : ref,
        digest: byDigest ? ref : undefined,
      },
      'registry',
      true,
    );
    return {
      status: 201,
      headers: {
        ...API_VERSION,
        location: location(ctx, `manifests/${image.digest}`),
        'docker-content-digest': image.digest,
        ...(image.subject !== undefined ? { 'oci-subject': image.subject } : {}),
      },
    };
  },

  async DeleteManifest(ctx) {
    await authorize(ctx, 'ecr:BatchDeleteImage');
    const repo = repository(ctx);
    const ref = ctx.route.reference;
    const result = ctx.store.deleteImage(
      repo,
      isDigest(ref) ? { imageDigest: ref } : { imageTag: ref },
      true,
    );
    if (!Array.isArray(result)) {
      if (result.failureCode === 'ImageNotFound') throw registryErrors.manifestUnknown(result.failureReason);
      throw registryErrors.unsupported(result.failureReason);
    }
    return { status: 202, headers: API_VERSION };
  },

  async GetBlob(ctx) {
    await authorize(ctx, 'ecr:GetDownloadUrlForLayer');
    const blob = routedBlob(ctx);
    // ECR answers a blob GET with a redirect to a presigned S3 URL; the sandbox serves the bytes itself (also
    // what the spec allows) so that no client has to forward or drop credentials across ports.
    return blobResponse(blob);
  },

  async HeadBlob(ctx) {
    // Pushers HEAD a blob to learn whether to upload it: ECR evaluates that as BatchCheckLayerAvailability.
    await authorize(ctx, 'ecr:BatchCheckLayerAvailability');
    const blob = routedBlob(ctx);
    // The listener sends no body for HEAD; the headers (length, digest) are the answer.
    return blobResponse(blob);
  },

  async DeleteBlob() {
    throw registryErrors.unsupported('Amazon ECR does not delete layers: delete the images that use them.');
  },

  async StartUpload(ctx) {
    await authorize(ctx, 'ecr:InitiateLayerUpload');
    const repo = repository(ctx);
    const digest = ctx.req.url.searchParams.get('digest');
    if (digest !== null) {
      // Monolithic upload: POST with the whole blob and its digest.
      await authorize(ctx, 'ecr:UploadLayerPart');
      await authorize(ctx, 'ecr:CompleteLayerUpload');
      if (!isDigest(digest)) throw registryErrors.digestInvalid(`'${digest}' is not a digest`);
      return storeBlob(ctx, repo, digest, ctx.req.body);
    }
    // `mount`/`from` (cross-repository mount) is not offered: the spec lets a registry answer with a plain
    // upload session instead, which every client handles.
    const upload = ctx.store.initiateUpload(repo);
    return { status: 202, headers: uploadHeaders(ctx, upload.id, 0) };
  },

  async PatchUpload(ctx) {
    await authorize(ctx, 'ecr:UploadLayerPart');
    const repo = repository(ctx);
    const upload = repo.uploads.get(ctx.route.reference);
    if (!upload) throw registryErrors.uploadUnknown(ctx.route.reference);
    const range = ctx.req.headers['content-range'];
    let first = upload.received;
    if (range !== undefined) {
      const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(range.trim());
      if (!m || Number(m[1]) !== upload.received || Number(m[2]) - Number(m[1]) + 1 !== ctx.req.body.length) {
        return errorResponse(
          registryErrors.rangeInvalid(
            `Content-Range ${range} does not continue the upload at byte ${upload.received}`,
          ),
          ctx.world,
          uploadHeaders(ctx, upload.id, upload.received),
        );
      }
      first = Number(m[1]);
    }
    if (ctx.req.body.length > 0)
      ctx.store.uploadPart(repo, upload, first, first + ctx.req.body.length - 1, ctx.req.body, false);
    return { status: 202, headers: uploadHeaders(ctx, upload.id, upload.received) };
  },

  async CompleteUpload(ctx) {
    await authorize(ctx, 'ecr:CompleteLayerUpload');
    const repo = repository(ctx);
    const upload = repo.uploads.get(ctx.route.reference);
    if (!upload) throw registryErrors.uploadUnknown(ctx.route.reference);
    const digest = ctx.req.url.searchParams.get('digest');
    if (digest === null || !isDigest(digest))
      throw registryErrors.digestInvalid('the digest query parameter is missing or is not a digest');
    if (ctx.req.body.length > 0)
      ctx.store.uploadPart(
        repo,
        upload,
        upload.received,
        upload.received + ctx.req.body.length - 1,
        ctx.req.body,
        false,
      );
    repo.uploads.delete(upload.id);
    const data = Buffer.concat(upload.parts);
    return storeBlob(ctx, repo, digest, data);
  },

  async GetUpload(ctx) {
    await authorize(ctx, 'ecr:UploadLayerPart');
    const repo = repository(ctx);
    const upload = repo.uploads.get(ctx.route.reference);
    if (!upload) throw registryErrors.uploadUnknown(ctx.route.reference);
    return { status: 204, headers: uploadHeaders(ctx, upload.id, upload.received) };
  },

  async CancelUpload(ctx) {
    await authorize(ctx, 'ecr:UploadLayerPart');
    const repo = repository(ctx);
    if (!repo.uploads.delete(ctx.route.reference)) throw registryErrors.uploadUnknown(ctx.route.reference);
    return { status: 204, headers: API_VERSION };
  },

  async ListTags(ctx) {
    await authorize(ctx, 'ecr:ListImages');
    const repo = repository(ctx);
    const all = [...repo.tagIndex.keys()].sort();
    const q = ctx.req.url.searchParams;
    const last = q.get('last');
    const n = q.get('n') === null ? undefined : Number(q.get('n'));
    if (n !== undefined && (!Number.isInteger(n) || n < 0))
      throw registryErrors.uploadInvalid('n must be a non-negative integer');
    const after = last === null ? all : all.filter((t) => t > last);
    const page = n === undefined ? after : after.slice(0, n);
    const headers: Record<string, string> = { ...API_VERSION, 'content-type': 'application/json' };
    if (n !== undefined && after.length > page.length && page.length > 0) {
      headers['link'] =
        `<${location(ctx, `tags/list?n=${n}&last=${encodeURIComponent(page.at(-1) ?? '')}`)}>; rel="next"`;
    }
    return { status: 200, headers, body: JSON.stringify({ name: repo.name, tags: page }) };
  },

  /**
   * OCI 1.1 referrers (ECR supports them since 2024,
   * https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-ecr-oci-image-distribution-version-1-1): the
   * manifests whose subject is the digest.
   */
  async ListReferrers(ctx) {
    await authorize(ctx, 'ecr:BatchGetImage');
    const repo = repository(ctx);
    if (!isDigest(ctx.route.reference))
      throw registryErrors.digestInvalid(`'${ctx.route.reference}' is not a digest`);
    const artifactType = ctx.req.url.searchParams.get('artifactType');
    const manifests = [...repo.images.values()]
      .filter((i) => i.subject === ctx.route.reference)
      .map((i) => {
        const doc = JSON.parse(i.manifest) as { artifactType?: unknown; annotations?: unknown };
        const type = typeof doc.artifactType === 'string' ? doc.artifactType : i.artifactMediaType;
        return {
          mediaType: i.mediaType,
          digest: i.digest,
          size: Buffer.byteLength(i.manifest),
          ...(type !== undefined ? { artifactType: type } : {}),
          ...(doc.annotations && typeof doc.annotations === 'object' ? { annotations: doc.annotations } : {}),
        };
      })
      .filter((d) => artifactType === null || d.artifactType === artifactType);
    const headers: Record<string, string> = {
      ...API_VERSION,
      'content-type': 'application/vnd.oci.image.index.v1+json',
    };
    if (artifactType !== null) headers['oci-filters-applied'] = 'artifactType';
    return {
      status: 200,
      headers,
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      }),
    };
  },
};

/**
 * The registry listener: route, authenticate, apply faults (service `registry`, operations named as in
 * `routes.ts`), run, answer OCI errors, and record every answered call (`GET /_sandbox/calls`).
 */
export function createRegistryHandler(world: World, backend: EcrBackend): RequestHandler {
  return async (req) => {
    const match = matchRoute(req.method, req.url.pathname);
    let operation = match.kind === 'route' ? match.route.operation : 'Unknown';
    let accessKeyId: string | undefined;
    const answer = (response: SandboxResponse, err?: ServiceError, fault = false): SandboxResponse => {
      world.recordCall({
        service: 'registry',
        operation,
        status: response.status,
        code: err?.code,
        accessKeyId,
        fault,
      });
      return response;
    };
    const fail = (err: ServiceError, fault = false) => answer(errorResponse(err, world), err, fault);

    if (match.kind === 'none') return fail(registryErrors.notFound());
    if (match.kind === 'method-not-allowed') {
      return fail(registryErrors.unsupported(`${req.method} is not supported on ${req.url.pathname}`));
    }
    const { route } = match;
    operation = route.operation;
    const auth = authenticate(req, backend);
    if (auth instanceof ServiceError) return fail(auth);
    accessKeyId = auth.principal.accessKeyId;
    if (route.operation !== 'Ping' && route.operation !== 'Catalog' && !isRepositoryName(route.name)) {
      return fail(registryErrors.nameInvalid(route.name));
    }
    const ctx: RegistryContext = { world, store: backend.store(auth.region), token: auth, route, req };

    if (!world.throttle.take('registry', route.operation)) return fail(registryErrors.tooManyRequests());
    const fault = world.faults.decide('registry', route.operation);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    const faultError = fault?.error
      ? new ServiceError(fault.error.code ?? 'UNAVAILABLE', fault.error.message, fault.error.status)
      : undefined;
    if (faultError && !fault?.afterEffect) return fail(faultError, true);
    let response: SandboxResponse;
    try {
      response = await operations[route.operation](ctx);
      world.changed();
    } catch (err) {
      if (!(err instanceof ServiceError)) {
        world.log.error('registry handler failed', { operation: route.operation, error: err });
        return fail(new ServiceError('UNKNOWN', 'An internal error occurred in the sandbox registry.', 500));
      }
      return fail(isRegistryCode(err.code) ? err : fromEcrError(err));
    }
    if (faultError) return fail(faultError, true);
    return answer(response);
  };
}

function blobResponse(blob: { digest: string; data: Buffer }): SandboxResponse {
  return {
    status: 200,
    headers: {
      ...API_VERSION,
      'content-type': 'application/octet-stream',
      'docker-content-digest': blob.digest,
    },
    body: blob.data,
  };
}
