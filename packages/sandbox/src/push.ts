import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  type ECRClient,
  ImageAlreadyExistsException,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import type { ImageSource, ManifestBlob } from '@nvcf-ecr/core/image';
import { SandboxError } from './errors.ts';

/**
 * Pushing an image from any core {@link ImageSource} (an OCI layout, an OCI archive) into ECR through the ECR
 * API, the way a registry client does: for every manifest, children first, the blobs the repository lacks
 * (`BatchCheckLayerAvailability`, then `InitiateLayerUpload` / `UploadLayerPart` / `CompleteLayerUpload` in
 * the part size ECR answers), then `PutImage` — children untagged, the root under its tag. Each `PutImage`
 * makes ECR emit one `ECR Image Action` (one event per stored manifest, as in the real events of
 * awslabs/cfn-ecr-aws-soci-index-builder#137; AWS documents no count or order), so this is how the tests and
 * `nvcf-ecr demo` feed real images to push validation. Blobs are read whole into memory: meant for test and demo
 * images, not for multi-gigabyte layers.
 */

/** The ECR client calls a push makes (an `ECRClient` fits). */
export type EcrPushApi = Pick<ECRClient, 'send'>;

export interface PushImageOptions {
  repositoryName: string;
  /** Tag of the root manifest; without one the root is pushed untagged, like its children. */
  tag?: string | undefined;
  /** Registry (account) id; default: the caller's account. */
  registryId?: string | undefined;
  /** Largest blob read from the source (default 512 MiB). */
  maxBlobBytes?: number | undefined;
}

export interface PushedImage {
  /** Digest of the root manifest. */
  digest: string;
  mediaType: string;
  /** Manifests stored, the root included (a manifest shared by two indexes counts once). */
  manifests: number;
  /** Blobs uploaded, and blobs the repository already had. */
  blobsUploaded: number;
  blobsPresent: number;
}

const DEFAULT_MAX_BLOB_BYTES = 512 * 1024 * 1024;
// Used when InitiateLayerUpload answers no part size; ECR's documented minimum part is 5 MiB.
const FALLBACK_PART_BYTES = 10 * 1024 * 1024;

interface RawDescriptor {
  mediaType?: unknown;
  digest?: unknown;
}

interface RawManifest {
  mediaType?: unknown;
  manifests?: RawDescriptor[];
  config?: RawDescriptor;
  layers?: RawDescriptor[];
  /** OCI artifact manifests (`application/vnd.oci.artifact.manifest.v1+json`). */
  blobs?: RawDescriptor[];
  /** Docker schema1. */
  fsLayers?: { blobSum?: unknown }[];
}

/**
 * Pushes `reference` of `source` (a tag or ref name; `undefined` for the only image of the source) into
 * `options.repositoryName`. Returns the root's digest. Throws {@link SandboxError} when the source lacks a
 * manifest it names; ECR's own errors (a missing repository, an immutable tag) propagate as the SDK throws them.
 *
 * @example
 * const source = await openOciLayout('test/fixtures/images');
 * await pushImage(ecr, source, 'multi-oci', { repositoryName: 'inference', tag: 'v1' });
 */
export async function pushImage(
  ecr: EcrPushApi,
  source: ImageSource,
  reference: string | undefined,
  options: PushImageOptions,
): Promise<PushedImage> {
  const { repositoryName, registryId } = options;
  const maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  const stored = new Set<string>();
  const counts = { blobsUploaded: 0, blobsPresent: 0 };

  const manifest = async (digest: string): Promise<ManifestBlob> => {
    const blob = (await source.getManifests([digest])).get(digest);
    if (!blob)
      throw new SandboxError(`${source.description} has no manifest ${digest}: the image is incomplete`);
    return blob;
  };

  const uploadMissing = async (digests: string[]): Promise<void> => {
    if (digests.length === 0) return;
    const { layers } = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName, registryId, layerDigests: digests }),
    );
    for (const layer of layers ?? []) {
      if (!layer.layerDigest) continue;
      if (layer.layerAvailability === 'AVAILABLE') {
        counts.blobsPresent++;
        continue;
      }
      await uploadBlob(layer.layerDigest, await source.getBlob(layer.layerDigest, maxBlobBytes));
      counts.blobsUploaded++;
    }
  };

  const uploadBlob = async (digest: string, data: Uint8Array): Promise<void> => {
    const { uploadId, partSize } = await ecr.send(
      new InitiateLayerUploadCommand({ repositoryName, registryId }),
    );
    const size = partSize && partSize > 0 ? partSize : FALLBACK_PART_BYTES;
    for (let first = 0; first < data.length; first += size) {
      const part = data.subarray(first, Math.min(first + size, data.length));
      await ecr.send(
        new UploadLayerPartCommand({
          repositoryName,
          registryId,
          uploadId,
          partFirstByte: first,
          partLastByte: first + part.length - 1,
          layerPartBlob: part,
        }),
      );
    }
    await ecr.send(
      new CompleteLayerUploadCommand({ repositoryName, registryId, uploadId, layerDigests: [digest] }),
    );
  };

  const push = async (digest: string, descriptorType: string | undefined, tag?: string): Promise<string> => {
    const blob = await manifest(digest);
    const text = new TextDecoder().decode(blob.bytes);
    const doc = parseJson(text, digest, source.description);
    const mediaType = stringOr(doc.mediaType, blob.mediaType ?? descriptorType);
    if (!mediaType) throw new SandboxError(`manifest ${digest} of ${source.description} names no media type`);
    for (const child of doc.manifests ?? []) {
      if (typeof child.digest === 'string' && !stored.has(child.digest))
        await push(child.digest, stringOr(child.mediaType, undefined));
    }
    await uploadMissing(blobsOf(doc));
    try {
      await ecr.send(
        new PutImageCommand({
          repositoryName,
          registryId,
          imageManifest: text,
          imageManifestMediaType: mediaType,
          imageTag: tag,
        }),
      );
    } catch (err) {
      // A manifest already stored (a child shared by two indexes, a re-push): a client checks and moves on.
      if (!(err instanceof ImageAlreadyExistsException)) throw err;
    }
    stored.add(digest);
    return mediaType;
  };

  const root = await source.resolveReference(reference);
  const mediaType = await push(root.digest, root.mediaType, options.tag);
  return { digest: root.digest, mediaType, manifests: stored.size, ...counts };
}

/** Distributable blobs a manifest refers to: its config and layers (or an artifact's blobs, schema1's fsLayers). */
function blobsOf(doc: RawManifest): string[] {
  const descriptors = [...(doc.config ? [doc.config] : []), ...(doc.layers ?? []), ...(doc.blobs ?? [])];
  const digests = descriptors
    // Foreign (non-distributable) layers live elsewhere (`urls`); registries do not store them.
    .filter((d) => !(typeof d.mediaType === 'string' && /foreign|nondistributable/.test(d.mediaType)))
    .map((d) => d.digest);
  digests.push(...(doc.fsLayers ?? []).map((l) => l.blobSum));
  return [...new Set(digests.filter((d): d is string => typeof d === 'string'))];
}

function parseJson(text: string, digest: string, where: string): RawManifest {
  try {
    const doc: unknown = JSON.parse(text);
    if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) return doc as RawManifest;
  } catch {
    // reported below
  }
  throw new SandboxError(`manifest ${digest} of ${where} is not a JSON object`);
}

function stringOr(value: unknown, fallback: string | undefined): string | undefined {
  return typeof value === 'string' ? value : fallback;
}
