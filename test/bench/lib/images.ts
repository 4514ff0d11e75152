import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Images for the benchmarks, derived from the real buildah-built images of `test/fixtures/images` (see
 * `test/fixtures/README.md`). A *rebuild* of a fixture manifest is what a CI rebuild of the same Dockerfile
 * produces: the same layers, a config that differs (here by one label, `org.example.build`), hence a new config
 * digest and a new manifest digest. Indexes are rebuilt from a fixture index by rebuilding each runnable entry;
 * BuildKit attestation entries are kept (their `vnd.docker.reference.digest` follows the rebuilt image). So every
 * generated image is valid content a registry would accept and the manifest engine must really read: no two
 * rebuilds share a config, and the engine's content cache cannot make the work trivial.
 */

const LAYOUT = new URL('../../fixtures/images/', import.meta.url);

const ATTESTATION = 'attestation-manifest';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

interface ManifestDoc {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

/** One manifest ready for `POST /_sandbox/seed {"ecr": {"images": [...]}}`. */
export interface SeedManifest {
  readonly digest: string;
  readonly mediaType: string;
  /** The exact manifest text (its sha256 is `digest`). */
  readonly text: string;
  /** Base64 of the config and layer blobs it needs (none for an index). */
  readonly blobs: readonly string[];
}

/** An image: its root manifest and, for an index, the manifests it lists (children first when seeding). */
export interface BuiltImage {
  readonly root: SeedManifest;
  readonly children: readonly SeedManifest[];
  /** Runnable image manifests among the children (attestations excluded); 0 for a single manifest. */
  readonly runnable: number;
}

/** The seed entry of one manifest. */
export interface SeedEntry {
  repository: string;
  manifest: string;
  tags: string[];
  blobs: string[];
}

export const sha256 = (data: string | Buffer): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Reads the fixture layout once and rebuilds its images on demand. */
export class ImageFactory {
  private readonly refs: Map<string, string>;
  private readonly cache = new Map<string, Buffer>();

  public constructor() {
    const index = JSON.parse(readFileSync(new URL('index.json', LAYOUT), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    this.refs = new Map(
      index.manifests.flatMap((m) => {
        const ref = m.annotations?.['org.opencontainers.image.ref.name'];
        return ref ? [[ref, m.digest] as [string, string]] : [];
      }),
    );
  }

  /** The digest of fixture `ref` (`amd64-oci`, `attested`, ...). */
  public digest(ref: string): string {
    const d = this.refs.get(ref);
    if (!d) throw new Error(`test/fixtures/images has no image '${ref}'`);
    return d;
  }

  private bytes(digest: string): Buffer {
    let b = this.cache.get(digest);
    if (!b) {
      b = readFileSync(new URL(`blobs/sha256/${digest.slice('sha256:'.length)}`, LAYOUT));
      this.cache.set(digest, b);
    }
    return b;
  }

  private doc(digest: string): ManifestDoc {
    return JSON.parse(this.bytes(digest).toString('utf8')) as ManifestDoc;
  }

  /** A fixture manifest as it is (used for attestation manifests, which rebuilds do not change). */
  public original(digest: string): SeedManifest {
    const doc = this.doc(digest);
    const text = this.bytes(digest).toString('utf8');
    return {
      digest,
      mediaType: doc.mediaType ?? '',
      text,
      blobs: [doc.config, ...(doc.layers ?? [])]
        .filter((d): d is Descriptor => d !== undefined)
        .map((d) => this.bytes(d.digest).toString('base64')),
    };
  }

  /** A rebuild of single-platform manifest `digest`: same layers, config labelled `org.example.build=<build>`. */
  public rebuild(digest: string, build: string): SeedManifest {
    const doc = this.doc(digest);
    if (!doc.config) throw new Error(`${digest} is not a single-platform manifest`);
    const config = JSON.parse(this.bytes(doc.config.digest).toString('utf8')) as {
      config?: { Labels?: Record<string, string> };
    };
    config.config = {
      ...config.config,
      Labels: { ...config.config?.Labels, 'org.example.build': build },
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const manifest: ManifestDoc = {
      ...doc,
      config: { ...doc.config, digest: sha256(configBytes), size: configBytes.length },
    };
    const text = JSON.stringify(manifest);
    return {
      digest: sha256(text),
      mediaType: doc.mediaType ?? '',
      text,
      blobs: [
        configBytes.toString('base64'),
        ...(doc.layers ?? []).map((l) => this.bytes(l.digest).toString('base64')),
      ],
    };
  }

  /** A rebuild of fixture image `ref`: a single manifest, or an index whose runnable entries are rebuilt. */
  public image(ref: string, build: string): BuiltImage {
    const digest = this.digest(ref);
    const doc = this.doc(digest);
    if (!doc.manifests) return { root: this.rebuild(digest, build), children: [], runnable: 0 };
    const rebuilt = new Map<string, SeedManifest>();
    const children: SeedManifest[] = [];
    for (const entry of doc.manifests) {
      if (entry.annotations?.['vnd.docker.reference.type'] === ATTESTATION) continue;
      const child = this.rebuild(entry.digest, build);
      rebuilt.set(entry.digest, child);
      children.push(child);
    }
    const manifests = doc.manifests.map((entry): Descriptor => {
      const child = rebuilt.get(entry.digest);
      if (child) return { ...entry, digest: child.digest, size: Buffer.byteLength(child.text) };
      const subject = entry.annotations?.['vnd.docker.reference.digest'];
      const followed = subject === undefined ? undefined : rebuilt.get(subject);
      if (followed) children.push(this.original(entry.digest));
      return followed
        ? { ...entry, annotations: { ...entry.annotations, 'vnd.docker.reference.digest': followed.digest } }
        : entry;
    });
    const text = JSON.stringify({ ...doc, manifests });
    return {
      root: { digest: sha256(text), mediaType: doc.mediaType ?? '', text, blobs: [] },
      children,
      runnable: rebuilt.size,
    };
  }
}

/** Seed entries of `image` in `repository`: children untagged first, then the root under `tags`. */
export function seedEntries(repository: string, image: BuiltImage, tags: string[]): SeedEntry[] {
  return [
    ...image.children.map((c) => ({ repository, manifest: c.text, tags: [], blobs: [...c.blobs] })),
    { repository, manifest: image.root.text, tags, blobs: [...image.root.blobs] },
  ];
}
