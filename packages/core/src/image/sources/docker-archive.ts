import { ImageSourceError, ManifestError } from '../../errors.ts';
import { sha256Digest } from '../digest.ts';
import type { ImageSource, ManifestBlob } from '../fetcher.ts';
import { parseJsonBytes } from '../manifest.ts';
import { DOCKER_CONFIG, DOCKER_MANIFEST } from '../media-types.ts';
import { MAX_CONFIG_BYTES } from '../resolve.ts';
import { createLayoutSource, type LayoutFiles } from './layout.ts';
import { openTarArchive } from './oci-archive.ts';

/**
 * `docker-archive:<file.tar>[:<repo:tag>]`: what `docker save`, `podman save` and `skopeo copy …
 * docker-archive:` write. Two shapes exist:
 * - Docker 25+ writes an OCI image layout (`oci-layout`, `index.json`, `blobs/`) plus a `manifest.json` for
 *   older readers; that layout is read as an `oci-archive:`. With the containerd image store, `docker save`
 *   of a multi-platform image keeps the whole index but the blobs of the host's platform only, so the other
 *   entries are missing (the caller tolerates that with a warning).
 * - The legacy format (Docker before 25, podman, skopeo) holds no manifest at all: `manifest.json` lists,
 *   per image, its `Config` file (the image config, named by its sha256, the image ID), `RepoTags` and
 *   layer tars. The source then serves one Docker v2 manifest per image, made up here from the config
 *   descriptor, so the engine judges the config's platform as it judges any single manifest. Its digest is
 *   that made-up manifest's, not a registry digest: a pushed image gets its own.
 */

/** Largest `manifest.json` read: one small record per image. */
const MAX_MANIFEST_JSON_BYTES = 4 * 1024 * 1024;

/**
 * Opens a docker archive. Throws {@link ImageSourceError} when the file cannot be read, is not a tar, or
 * holds neither an OCI layout nor a `manifest.json`. Call `close()` when done.
 *
 * @example
 * const source = await openDockerArchive('app.tar');
 * const root = await source.resolveReference('app:v1');
 */
export async function openDockerArchive(file: string): Promise<ImageSource> {
  const description = `docker-archive:${file}`;
  return openTarArchive(file, `${file} is not a file: a docker-archive: source is a .tar`, async (files) => {
    if ((await files.size('oci-layout')) !== undefined && (await files.size('index.json')) !== undefined)
      return createLayoutSource(files, description);
    return legacyArchive(files, description);
  });
}

interface LegacyImage {
  config: string;
  tags: string[];
  manifest: ManifestBlob;
  configDigest: string;
}

async function legacyArchive(files: LayoutFiles, description: string): Promise<ImageSource> {
  const size = await files.size('manifest.json');
  if (size === undefined) {
    throw new ImageSourceError(
      `${description} has neither an OCI layout (index.json) nor a manifest.json: it is not a docker save archive`,
      false,
    );
  }
  if (size > MAX_MANIFEST_JSON_BYTES)
    throw new ImageSourceError(`${files.where('manifest.json')} is ${size} bytes; too large to read`, false);
  const records = parseJsonBytes(await files.read('manifest.json'), 'file', 'manifest.json');
  if (!Array.isArray(records) || records.length === 0) {
    throw new ImageSourceError(`${files.where('manifest.json')} must be a non-empty array of images`, false);
  }
  const images: LegacyImage[] = [];
  for (const [i, record] of records.entries()) images.push(await legacyImage(record, i, files));
  const byDigest = new Map(images.map((img) => [img.manifest.digest, img]));

  return {
    description,
    async resolveReference(reference) {
      const image = pickImage(images, reference, description);
      return {
        reference: reference ?? image.tags[0] ?? image.manifest.digest,
        digest: image.manifest.digest,
        mediaType: DOCKER_MANIFEST,
        blob: image.manifest,
      };
    },
    async getManifests(digests) {
      const out = new Map<string, ManifestBlob>();
      for (const d of digests) {
        const img = byDigest.get(d);
        if (img) out.set(d, img.manifest);
      }
      return out;
    },
    async getBlob(digest, maxBytes) {
      const img = images.find((i) => i.configDigest === digest);
      if (!img) throw new ManifestError('not-found', `blob ${digest} is not in ${description}`, digest);
      const bytes = await readBounded(files, img.config, Math.min(maxBytes, MAX_CONFIG_BYTES));
      return bytes;
    },
    close: () => files.close(),
  };
}

async function legacyImage(record: unknown, i: number, files: LayoutFiles): Promise<LegacyImage> {
  const at = `${files.where('manifest.json')}[${i}]`;
  if (typeof record !== 'object' || record === null)
    throw new ImageSourceError(`${at} must be an object with Config and RepoTags`, false);
  const { Config: config, RepoTags: rawTags } = record as Record<string, unknown>;
  if (typeof config !== 'string' || config === '')
    throw new ImageSourceError(`${at}.Config must name the image's config file`, false);
  const tags = Array.isArray(rawTags) ? rawTags.filter((t): t is string => typeof t === 'string') : [];
  const bytes = await readBounded(files, config, MAX_CONFIG_BYTES);
  const configDigest = sha256Digest(bytes);
  const manifestBytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: configDigest, size: bytes.length },
      layers: [],
    }),
  );
  const manifest = { digest: sha256Digest(manifestBytes), mediaType: DOCKER_MANIFEST, bytes: manifestBytes };
  return { config, tags, manifest, configDigest };
}

async function readBounded(files: LayoutFiles, path: string, maxBytes: number): Promise<Uint8Array> {
  const size = await files.size(path);
  if (size === undefined)
    throw new ImageSourceError(
      `${files.where(path)} is named by manifest.json but is not in the archive`,
      false,
    );
  if (size > maxBytes)
    throw new ManifestError(
      'too-large',
      `config ${files.where(path)} is ${size} bytes; at most ${maxBytes} are read`,
    );
  return files.read(path);
}

/** The image a reference names: a `RepoTags` entry (`app:v1`, `docker.io/library/app:v1`), or the only one. */
function pickImage(images: readonly LegacyImage[], reference: string | undefined, description: string) {
  const tags = images.flatMap((i) => i.tags);
  const available = tags.length > 0 ? `available: ${tags.join(', ')}` : 'it names no tag';
  if (reference === undefined) {
    const only = images[0];
    if (images.length === 1 && only) return only;
    throw new ImageSourceError(
      `${description} holds ${images.length} images: name one as ${description}:<repo:tag> (${available})`,
      false,
    );
  }
  const found = images.find((i) => i.tags.some((t) => t === reference || t.endsWith(`/${reference}`)));
  if (!found) throw new ImageSourceError(`${description} has no image '${reference}' (${available})`, false);
  return found;
}
