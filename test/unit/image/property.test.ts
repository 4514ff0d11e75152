/**
 * Property tests: whatever JSON a source serves (manifests, indexes, configs, nesting, self-references,
 * cycles), the engine terminates with a ResolvedImage or a ManifestError, never another exception.
 */
import { createHash } from 'node:crypto';
import { ManifestError } from '@nvcf-ecr/core/errors';
import { resolveImage } from '@nvcf-ecr/core/image';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, MemoryRepo } from './helpers.ts';

const MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.oci.artifact.manifest.v1+json',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'text/plain',
];
const CONFIG_TYPES = [
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.empty.v1+json',
  'application/vnd.example+json',
];

// Mostly well-formed values with a steady share of malformed ones, so that runs reach deep into the
// engine (nested indexes, configs, loops) instead of stopping at the first malformed field.
const mediaType = fc.oneof(
  { arbitrary: fc.constantFrom(...MEDIA_TYPES.slice(0, 4)), weight: 6 },
  { arbitrary: fc.constantFrom(...MEDIA_TYPES), weight: 2 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);
const platform = fc.oneof(
  {
    arbitrary: fc.record({
      os: fc.constantFrom('linux', 'linux', 'windows', 'unknown', 'Linux'),
      architecture: fc.constantFrom('amd64', 'arm64', 'arm', 'unknown', 'x86_64', 'aarch64', '386'),
      variant: fc.constantFrom('v6', 'v7', 'v8', '8', 'v9.0', 'v3', ''),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record(
      {
        os: fc.constantFrom('linux', ''),
        architecture: fc.constantFrom('amd64', ''),
        variant: fc.jsonValue({ maxDepth: 0 }),
      },
      { requiredKeys: [] },
    ),
    weight: 1,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
);
const annotations = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  { arbitrary: fc.constant({ 'vnd.docker.reference.type': 'attestation-manifest' }), weight: 1 },
  {
    arbitrary: fc.dictionary(
      fc.string({ maxLength: 8 }),
      fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
    ),
    weight: 1,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 },
);
const size = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 10_000 }), weight: 4 },
  { arbitrary: fc.oneof(fc.integer({ min: -1, max: 5_000_000 }), fc.jsonValue({ maxDepth: 0 })), weight: 1 },
);
const extra = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 8 },
  {
    arbitrary: fc.record(
      {
        artifactType: fc.oneof(fc.string({ maxLength: 12 }), fc.integer()),
        subject: fc.oneof(
          fc.constant({ mediaType: MEDIA_TYPES[1], digest: `sha256:${'e'.repeat(64)}`, size: 1 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        schemaVersion: fc.oneof(fc.constantFrom(1, 2, 3), fc.jsonValue({ maxDepth: 0 })),
        architecture: fc.constantFrom('amd64', 'arm64', ''),
      },
      { requiredKeys: [] },
    ),
    weight: 1,
  },
);

const indexType = fc.oneof(
  { arbitrary: fc.constantFrom(MEDIA_TYPES[0], MEDIA_TYPES[2]), weight: 6 },
  { arbitrary: mediaType, weight: 1 },
);
const manifestType = fc.oneof(
  { arbitrary: fc.constantFrom(MEDIA_TYPES[1], MEDIA_TYPES[3]), weight: 6 },
  { arbitrary: mediaType, weight: 1 },
);

/** A node refers to other nodes by position; `target >= count` means "a digest nobody stores". */
const entry = fc.record({
  target: fc.nat(12),
  mediaType,
  platform: fc.oneof({ arbitrary: platform, weight: 4 }, { arbitrary: fc.constant(undefined), weight: 1 }),
  annotations,
  size,
});
const node = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('index' as const),
      mediaType: indexType,
      entries: fc.array(entry, { maxLength: 5 }),
      extra,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('image' as const),
      mediaType: manifestType,
      config: fc.nat(12),
      configMediaType: fc.oneof(
        { arbitrary: fc.constantFrom(...CONFIG_TYPES.slice(0, 2)), weight: 4 },
        { arbitrary: fc.constantFrom(...CONFIG_TYPES), weight: 1 },
      ),
      extra,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('junk' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
    weight: 1,
  },
);
const config = fc.oneof(
  { arbitrary: platform, weight: 6 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
  { arbitrary: fc.constant('not json'), weight: 1 },
);
const graph = fc.record({
  nodes: fc.array(node, { minLength: 1, maxLength: 10 }),
  configs: fc.array(config, { minLength: 1, maxLength: 5 }),
  reportMediaTypes: fc.boolean(),
});

type Graph = typeof graph extends fc.Arbitrary<infer T> ? T : never;
type Node = Graph['nodes'][number];

function fakeDigest(kind: string, i: number): string {
  return `sha256:${createHash('sha256').update(`${kind}${i}`).digest('hex')}`;
}

function documentOf(
  n: Node,
  digestOfNode: (i: number) => string,
  configDesc: (i: number, type: string) => unknown,
): unknown {
  if (n.kind === 'junk') return n.value;
  if (n.kind === 'image') {
    const doc: Record<string, unknown> = {
      schemaVersion: 2,
      config: configDesc(n.config, n.configMediaType),
      layers: [],
      ...n.extra,
    };
    if (n.mediaType !== undefined) doc['mediaType'] = n.mediaType;
    return doc;
  }
  const manifests = n.entries.map((e) => {
    const d: Record<string, unknown> = {
      mediaType: e.mediaType ?? MEDIA_TYPES[1],
      digest: digestOfNode(e.target),
    };
    if (e.size !== undefined) d['size'] = e.size;
    if (e.platform !== undefined) d['platform'] = e.platform;
    if (e.annotations !== undefined) d['annotations'] = e.annotations;
    return d;
  });
  const doc: Record<string, unknown> = { schemaVersion: 2, manifests, ...n.extra };
  if (n.mediaType !== undefined) doc['mediaType'] = n.mediaType;
  return doc;
}

/** Outcome of one resolution: 'result', a ManifestError code, or the unexpected error itself. */
async function outcome(repo: MemoryRepo, root: string, verifyDigests: boolean): Promise<string> {
  try {
    const r = await resolveImage(repo, root, {
      verifyDigests,
      missingChildren: verifyDigests ? 'error' : 'ignore',
    });
    expect(['index', 'image', 'artifact']).toContain(r.kind);
    return 'result';
  } catch (err) {
    if (err instanceof ManifestError) return err.code;
    throw err;
  }
}

describe('Property: resolveImage terminates with a ResolvedImage or a ManifestError', () => {
  it('on arbitrary JSON as the root manifest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), mediaType, async (value, type) => {
        const repo = new MemoryRepo();
        const root = repo.manifest(value, type ?? '');
        if (type === undefined) repo.reportMediaTypes = false;
        expect(await outcome(repo, root.digest, true)).toMatch(
          /^(result|invalid-json|invalid-manifest|unsupported-media-type|not-found|invalid-config|too-large)$/,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('on arbitrary graphs of content-addressed manifests, indexes and configs', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(graph, async (g) => {
        // Real digests: a node can only refer to nodes before it (content addressing forbids cycles);
        // references forward become digests nobody stores.
        const repo = new MemoryRepo();
        repo.reportMediaTypes = g.reportMediaTypes;
        const configDigests = g.configs.map((c) => repo.blob(encode(c)).digest);
        const configDesc = (i: number, type: string) => ({
          mediaType: type,
          digest: configDigests[i] ?? fakeDigest('c', i),
          size: 10,
        });
        const digests: string[] = [];
        g.nodes.forEach((n, i) => {
          const doc = documentOf(
            n,
            (t) => (t < i ? (digests[t] as string) : fakeDigest('missing', t)),
            configDesc,
          );
          digests.push(repo.manifest(doc, n.kind === 'junk' ? '' : (n.mediaType ?? '')).digest);
        });
        seen.add(await outcome(repo, digests[digests.length - 1] as string, true));
      }),
      { numRuns: 300 },
    );
    // The generator reaches real resolutions, not only early parse errors.
    expect(seen).toContain('result');
  });

  it('on graphs with self-references, cycles and deep nesting when digests are not verified', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(graph, fc.nat(9), async (g, rootAt) => {
        // Fake digests, fixed per position, so any node may refer to any other, itself included.
        const repo = new MemoryRepo();
        repo.reportMediaTypes = g.reportMediaTypes;
        for (const [i, c] of g.configs.entries()) repo.blobs.set(fakeDigest('c', i), encode(c));
        const configDesc = (i: number, type: string) => ({
          mediaType: type,
          digest: fakeDigest('c', i),
          size: 10,
        });
        const digestOfNode = (t: number) =>
          t < g.nodes.length ? fakeDigest('n', t) : fakeDigest('missing', t);
        g.nodes.forEach((n, i) => {
          const digest = fakeDigest('n', i);
          repo.manifests.set(digest, {
            digest,
            mediaType: n.kind === 'junk' ? undefined : n.mediaType,
            bytes: encode(documentOf(n, digestOfNode, configDesc)),
          });
        });
        const root = fakeDigest('n', rootAt % g.nodes.length);
        seen.add(await outcome(repo, root, false));
      }),
      { numRuns: 300 },
    );
    expect(seen).toContain('result');
  });

  it('on a chain of indexes far deeper than the depth bound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), async (depth) => {
        const repo = new MemoryRepo();
        let top = repo.image({ os: 'linux', architecture: 'amd64' });
        for (let i = 0; i < depth; i++) top = repo.index([top]);
        const result = await outcome(repo, top.digest, true);
        expect(result).toBe(depth <= 4 ? 'result' : 'too-deep');
      }),
      { numRuns: 40 },
    );
  });
});
