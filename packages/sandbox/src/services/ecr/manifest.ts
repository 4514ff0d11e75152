import { createHash } from 'node:crypto';

/**
 * What ECR reads from a manifest it is asked to store
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html; opencontainers/image-spec
 * `manifest.md`, `image-index.md`; distribution/distribution `docs/content/spec/manifest-v2-2.md`): its media type,
 * the blobs (config and layers) that must already be in the repository, the child manifests an index needs, the
 * `subject` (OCI 1.1 referrers) and the config media type ECR reports as `artifactMediaType`. Manifests are
 * content-addressed: the digest is the sha256 of the exact bytes.
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/**
 * Manifest media types ECR stores
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html).
 */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
];

/** ECR's limit on a manifest (the `imageManifest` member is at most 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** image-spec `descriptor.md` digest grammar; sha256 digests must have 64 lower-case hex characters. */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** What ECR's failure reasons quote as the digest pattern (`imageDigest`'s pattern in the API reference). */
export const ECR_DIGEST_PATTERN = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;

export function isDigest(value: unknown): value is string {
  if (typeof value !== 'string' || !DIGEST.test(value)) return false;
  const [algorithm, hex = ''] = value.split(':');
  if (algorithm === 'sha256') return /^[a-f0-9]{64}$/.test(hex);
  if (algorithm === 'sha512') return /^[a-f0-9]{128}$/.test(hex);
  return false;
}

export function sha256(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest of `bytes` with the algorithm `digest` names (sha256 or sha512). */
export function digestOf(algorithmOf: string, bytes: Uint8Array): string {
  const algorithm = algorithmOf.split(':')[0] === 'sha512' ? 'sha512' : 'sha256';
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
}

export interface ManifestInfo {
  readonly mediaType: string;
  /** Config media type (what DescribeImages calls `artifactMediaType`); undefined for indexes and schema1. */
  readonly artifactMediaType: string | undefined;
  /** Blobs the manifest needs in the repository: config and layers (foreign layers excluded). */
  readonly blobs: readonly string[];
  /** Media types the manifest declares for its blobs (BatchCheckLayerAvailability reports them). */
  readonly blobTypes: Readonly<Record<string, string>>;
  /** Manifests an index points at. */
  readonly children: readonly string[];
  readonly subject: string | undefined;
}

export type ManifestProblem =
  | { readonly kind: 'json'; readonly detail: string }
  | { readonly kind: 'media-type'; readonly detail: string }
  | { readonly kind: 'invalid'; readonly detail: string };

export type ManifestResult =
  | { readonly ok: true; readonly info: ManifestInfo }
  | { readonly ok: false; readonly problem: ManifestProblem };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Layers a registry is not asked to hold: Docker foreign layers and OCI non-distributable layers are fetched
 * from their `urls` (Windows base layers, `google/go-containerregistry:pkg/v1/tarball/README.md`), so ECR does not
 * require them to be uploaded.
 */
function isForeignLayer(mediaType: unknown): boolean {
  return (
    typeof mediaType === 'string' &&
    (mediaType.includes('.foreign.') || mediaType.includes('.nondistributable.'))
  );
}

/**
 * Reads `text` as a manifest. The media type is `declared` (PutImage's `imageManifestMediaType`, a registry
 * PUT's Content-Type) or the manifest's own `mediaType`; they must agree when both are present. A manifest
 * that names neither is classified by its shape (`manifests` → OCI index, `config` → OCI manifest,
 * `schemaVersion: 1` → Docker schema 1), as OCI registries do for the pre-1.0.0 documents that omitted it.
 */
export function inspectManifest(text: string, declared: string | undefined): ManifestResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, problem: { kind: 'json', detail: 'the manifest is not valid JSON' } };
  }
  if (!isObject(doc))
    return { ok: false, problem: { kind: 'json', detail: 'the manifest is not a JSON object' } };
  const inner = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : undefined;
  if (declared !== undefined && inner !== undefined && declared !== inner) {
    return {
      ok: false,
      problem: {
        kind: 'media-type',
        detail: `the manifest's mediaType '${inner}' does not match the declared media type '${declared}'`,
      },
    };
  }
  const mediaType =
    declared ??
    inner ??
    (doc['schemaVersion'] === 1
      ? DOCKER_SCHEMA1
      : Array.isArray(doc['manifests'])
        ? OCI_INDEX
        : isObject(doc['config'])
          ? OCI_MANIFEST
          : undefined);
  if (mediaType === undefined) {
    return {
      ok: false,
      problem: {
        kind: 'media-type',
        detail: 'the manifest has no mediaType and no imageManifestMediaType was given',
      },
    };
  }
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    return {
      ok: false,
      problem: {
        kind: 'media-type',
        detail: `the media type '${mediaType}' is not a manifest media type ECR supports`,
      },
    };
  }
  const invalid = (detail: string): ManifestResult => ({ ok: false, problem: { kind: 'invalid', detail } });

  if (mediaType === DOCKER_SCHEMA1 || mediaType === DOCKER_SCHEMA1_SIGNED) {
    // Legacy schema 1: accepted so that old clients can push, but digested over the bytes as sent (a real
    // registry addresses a signed one by its payload without the JWS signatures); no client here pushes it.
    if (doc['schemaVersion'] !== 1) return invalid('a schema 1 manifest must have schemaVersion 1');
    const fsLayers = doc['fsLayers'];
    if (!Array.isArray(fsLayers)) return invalid('a schema 1 manifest must have an fsLayers array');
    const blobs: string[] = [];
    for (const [i, layer] of fsLayers.entries()) {
      const sum = isObject(layer) ? layer['blobSum'] : undefined;
      if (!isDigest(sum)) return invalid(`fsLayers[${i}].blobSum is not a digest`);
      if (!blobs.includes(sum)) blobs.push(sum);
    }
    return {
      ok: true,
      info: {
        mediaType,
        artifactMediaType: undefined,
        blobs,
        blobTypes: {},
        children: [],
        subject: undefined,
      },
    };
  }

  if (doc['schemaVersion'] !== 2) return invalid('schemaVersion must be 2');
  let subject: string | undefined;
  if (doc['subject'] !== undefined) {
    if (!isObject(doc['subject']) || !isDigest(doc['subject']['digest']))
      return invalid('subject must be a descriptor with a digest');
    subject = doc['subject']['digest'];
  }

  if (isIndexType(mediaType)) {
    const manifests = doc['manifests'];
    if (!Array.isArray(manifests)) return invalid('an index must have a manifests array');
    const children: string[] = [];
    for (const [i, entry] of manifests.entries()) {
      if (!isObject(entry) || !isDigest(entry['digest']))
        return invalid(`manifests[${i}].digest is not a digest`);
      if (!children.includes(entry['digest'])) children.push(entry['digest']);
    }
    return {
      ok: true,
      info: { mediaType, artifactMediaType: undefined, blobs: [], blobTypes: {}, children, subject },
    };
  }

  const config = doc['config'];
  if (!isObject(config) || !isDigest(config['digest']))
    return invalid('config must be a descriptor with a digest');
  const layers = doc['layers'] ?? [];
  if (!Array.isArray(layers)) return invalid('layers must be an array');
  const blobs: string[] = [config['digest']];
  const blobTypes: Record<string, string> = {};
  if (typeof config['mediaType'] === 'string') blobTypes[config['digest']] = config['mediaType'];
  for (const [i, layer] of layers.entries()) {
    if (!isObject(layer) || !isDigest(layer['digest'])) return invalid(`layers[${i}].digest is not a digest`);
    if (isForeignLayer(layer['mediaType'])) continue;
    if (typeof layer['mediaType'] === 'string') blobTypes[layer['digest']] = layer['mediaType'];
    if (!blobs.includes(layer['digest'])) blobs.push(layer['digest']);
  }
  const artifactMediaType = typeof config['mediaType'] === 'string' ? config['mediaType'] : undefined;
  return { ok: true, info: { mediaType, artifactMediaType, blobs, blobTypes, children: [], subject } };
}
