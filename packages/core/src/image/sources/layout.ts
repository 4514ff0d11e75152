import { ImageSourceError, ManifestError } from '../../errors.ts';
import { digestProblem } from '../digest.ts';
import type { ImageSource, ManifestBlob, RootDescriptor } from '../fetcher.ts';
import { type ContentDescriptor, parseJsonBytes, parseManifest } from '../manifest.ts';
import { REF_NAME_ANNOTATION } from '../media-types.ts';
import { MAX_MANIFEST_BYTES } from '../resolve.ts';

/**
 * The OCI image layout (opencontainers/image-spec:image-layout.md): `oci-layout`, `index.json` naming the
 * images (annotation `org.opencontainers.image.ref.name`), and content at `blobs/<alg>/<encoded>`. The same
 * logic serves a directory and a tar archive of one; only the way files are read differs.
 */

/** Read access to the files of a layout. */
export interface LayoutFiles {
  /** Size in bytes of a regular file of the layout, `undefined` when there is none. */
  size(path: string): Promise<number | undefined>;
  /** Reads a file {@link size} reported. */
  read(path: string): Promise<Uint8Array>;
  /** How to name `path` in messages (`/abs/dir/index.json`, `out.tar:index.json`). */
  where(path: string): string;
  close(): Promise<void>;
}

interface LayoutIndex {
  entries: ContentDescriptor[];
  /** Media types recorded in `index.json`, reported by `getManifests` for those digests. */
  mediaTypes: Map<string, string>;
}

/**
 * An {@link ImageSource} over layout files. `description` names the source in messages, e.g.
 * `oci:./out` or `oci-archive:out.tar`.
 */
export function createLayoutSource(files: LayoutFiles, description: string): ImageSource {
  let index: Promise<LayoutIndex> | undefined;
  const loadIndex = () => {
    index ??= readLayoutIndex(files, description);
    return index;
  };

  const blobPath = (digest: string): string | undefined => {
    // Only verified-shape digests become paths, so no digest can point outside blobs/ (no '/', no '..').
    if (digestProblem(digest) !== undefined) return undefined;
    const [algorithm, encoded] = digest.split(':');
    return `blobs/${algorithm}/${encoded}`;
  };

  return {
    description,

    async resolveReference(reference) {
      return pickReference(await loadIndex(), reference, description, files);
    },

    async getManifests(digests) {
      const { mediaTypes } = await loadIndex();
      const out = new Map<string, ManifestBlob>();
      await Promise.all(
        [...new Set(digests)].map(async (digest) => {
          const path = blobPath(digest);
          if (path === undefined) return;
          const size = await files.size(path);
          if (size === undefined) return;
          if (size > MAX_MANIFEST_BYTES) {
            throw new ManifestError(
              'too-large',
              `manifest ${digest} (${files.where(path)}) is ${size} bytes; manifests over ${MAX_MANIFEST_BYTES} bytes are refused`,
              digest,
            );
          }
          out.set(digest, { digest, mediaType: mediaTypes.get(digest), bytes: await files.read(path) });
        }),
      );
      return out;
    },

    async getBlob(digest, maxBytes) {
      const path = blobPath(digest);
      const size = path === undefined ? undefined : await files.size(path);
      if (path === undefined || size === undefined) {
        throw new ManifestError(
          'not-found',
          `blob ${digest} is not in ${description}: the layout is incomplete; copy the image again`,
          digest,
        );
      }
      if (size > maxBytes) {
        throw new ManifestError(
          'too-large',
          `blob ${digest} (${files.where(path)}) is ${size} bytes; at most ${maxBytes} are read`,
          digest,
        );
      }
      return files.read(path);
    },

    close: () => files.close(),
  };
}

async function readLayoutIndex(files: LayoutFiles, description: string): Promise<LayoutIndex> {
  const layoutSize = await files.size('oci-layout');
  if (layoutSize === undefined) {
    throw new ImageSourceError(
      `${description} is not an OCI image layout: ${files.where('oci-layout')} is missing (write one with 'skopeo copy ... oci:DIR:TAG' or 'docker buildx build -o type=oci,tar=false,dest=DIR')`,
      false,
    );
  }
  const marker = layoutSize <= 4096 ? safeJson(await files.read('oci-layout')) : undefined;
  if (!isObject(marker) || typeof marker['imageLayoutVersion'] !== 'string') {
    throw new ImageSourceError(
      `${files.where('oci-layout')} must be JSON like {"imageLayoutVersion":"1.0.0"}`,
      false,
    );
  }
  const indexSize = await files.size('index.json');
  if (indexSize === undefined) {
    throw new ImageSourceError(
      `${description} is not an OCI image layout: ${files.where('index.json')} is missing`,
      false,
    );
  }
  if (indexSize > MAX_MANIFEST_BYTES) {
    throw new ImageSourceError(
      `${files.where('index.json')} is ${indexSize} bytes; at most ${MAX_MANIFEST_BYTES} are read`,
      false,
    );
  }
  const bytes = await files.read('index.json');
  try {
    const { manifest } = parseManifest(bytes, 'index.json');
    if (manifest.kind !== 'index')
      throw new ManifestError(
        'invalid-manifest',
        `index.json is a ${manifest.mediaType}, not an image index`,
      );
    return {
      entries: manifest.manifests,
      mediaTypes: new Map(manifest.manifests.map((d) => [d.digest, d.mediaType])),
    };
  } catch (err) {
    if (err instanceof ManifestError) {
      throw new ImageSourceError(
        `${files.where('index.json')} is not a valid OCI image index: ${err.message}`,
        false,
        { cause: err },
      );
    }
    throw err;
  }
}

function pickReference(
  index: LayoutIndex,
  reference: string | undefined,
  description: string,
  files: LayoutFiles,
): RootDescriptor {
  const named = index.entries
    .map((e) => e.annotations[REF_NAME_ANNOTATION])
    .filter((r): r is string => r !== undefined);
  const available = () =>
    named.length === 0
      ? 'it names no image (no org.opencontainers.image.ref.name annotation)'
      : `available: ${[...new Set(named)].join(', ')}`;
  const describe = (e: ContentDescriptor): RootDescriptor => ({
    reference: e.annotations[REF_NAME_ANNOTATION] ?? e.digest,
    digest: e.digest,
    mediaType: e.mediaType,
  });
  if (reference === undefined) {
    const only = index.entries[0];
    if (index.entries.length === 1 && only) return describe(only);
    if (index.entries.length === 0)
      throw new ImageSourceError(`${files.where('index.json')} lists no image`, false);
    throw new ImageSourceError(
      `${description} holds ${index.entries.length} images: name one as ${description}:<ref> (${available()})`,
      false,
    );
  }
  const matches = index.entries.filter((e) => e.annotations[REF_NAME_ANNOTATION] === reference);
  const distinct = new Set(matches.map((e) => e.digest));
  if (distinct.size > 1) {
    throw new ImageSourceError(
      `${files.where('index.json')} names ${distinct.size} different images '${reference}' (${[...distinct].join(', ')}): remove the duplicate ref name`,
      false,
    );
  }
  const match = matches[0];
  if (match) return describe(match);
  // Not a ref name: a digest listed in index.json selects that image (`oci:DIR:sha256:...`).
  const byDigest = index.entries.find((e) => e.digest === reference);
  if (byDigest) return { reference, digest: byDigest.digest, mediaType: byDigest.mediaType };
  throw new ImageSourceError(`${description} has no image '${reference}' (${available()})`, false);
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return parseJsonBytes(bytes, 'file', 'oci-layout');
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
