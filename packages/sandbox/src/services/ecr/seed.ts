import { SandboxError, ServiceError } from '../../errors.ts';
import { digestOf, isDigest } from './manifest.ts';
import { isValidTag, type RepositoryRecord, TAG_MUTABILITIES, type TagMutability } from './records.ts';
import type { ImageStore } from './store.ts';

/**
 * `POST /_sandbox/seed {"ecr": {...}}` (and `"ecr-public"`): repositories, blobs and images in bulk, without
 * the layer API. Images go through the same PutImage rules as every push (digest, blobs, children,
 * immutability), in the order given — children before their index — so a seeded registry is one a client
 * could have produced. Events are off by default (`emitEvents: true` announces each stored manifest as a push
 * would). Benchmarks seed 10,000 images this way: the work per image is one JSON parse and one sha256.
 *
 * ```json
 * { "region": "us-east-1", "emitEvents": false,
 *   "repositories": ["app", { "name": "pinned", "imageTagMutability": "IMMUTABLE" }],
 *   "blobs": [{ "repository": "app", "data": "<base64>" }],
 *   "images": [{ "repository": "app", "manifest": "<exact JSON text>", "tags": ["v1"], "blobs": ["<base64>"] }] }
 * ```
 * A repository named by a blob or image that does not exist yet is created (mutable).
 */

export interface SeedSummary {
  repositories: string[];
  blobs: number;
  images: { repository: string; digest: string; tags: string[] }[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, message: string): never {
  throw new SandboxError(`${path}: ${message}`);
}

function base64(value: unknown, path: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) fail(path, 'must be base64 data');
  return Buffer.from(value, 'base64');
}

export function applySeed(store: ImageStore, section: Json, sectionName: string): SeedSummary {
  const summary: SeedSummary = { repositories: [], blobs: 0, images: [] };
  const emit = section['emitEvents'] ?? false;
  if (typeof emit !== 'boolean') fail(`${sectionName}.emitEvents`, 'must be a boolean');

  const ensure = (name: unknown, path: string): RepositoryRecord => {
    if (typeof name !== 'string' || name === '') fail(path, 'must name a repository');
    const existing = store.repositories.get(name);
    if (existing) return existing;
    summary.repositories.push(name);
    return guard(path, () => store.createRepository({ name }));
  };

  const repositories = section['repositories'] ?? [];
  if (!Array.isArray(repositories))
    fail(`${sectionName}.repositories`, 'must be an array of names or {name, imageTagMutability}');
  repositories.forEach((r, i) => {
    const path = `${sectionName}.repositories[${i}]`;
    const spec =
      typeof r === 'string'
        ? { name: r }
        : isObject(r)
          ? r
          : fail(path, 'must be a name or {name, imageTagMutability}');
    const mutability = spec['imageTagMutability'];
    if (mutability !== undefined && !TAG_MUTABILITIES.includes(mutability as TagMutability)) {
      fail(`${path}.imageTagMutability`, `must be one of ${TAG_MUTABILITIES.join(', ')}`);
    }
    const repo = ensure(spec['name'], `${path}.name`);
    if (mutability !== undefined) repo.imageTagMutability = mutability as TagMutability;
  });

  const putBlob = (repo: RepositoryRecord, raw: unknown, path: string) => {
    const spec = isObject(raw) ? raw : { data: raw };
    const data = base64(spec['data'], `${path}.data`);
    const digest = digestOf(typeof spec['digest'] === 'string' ? spec['digest'] : 'sha256:', data);
    if (spec['digest'] !== undefined && (!isDigest(spec['digest']) || spec['digest'] !== digest)) {
      fail(`${path}.digest`, `is not the digest of the data (${digest})`);
    }
    store.putBlob(repo, digest, data, typeof spec['mediaType'] === 'string' ? spec['mediaType'] : undefined);
    summary.blobs++;
  };

  const blobs = section['blobs'] ?? [];
  if (!Array.isArray(blobs)) fail(`${sectionName}.blobs`, 'must be an array of {repository, data}');
  blobs.forEach((b, i) => {
    const path = `${sectionName}.blobs[${i}]`;
    if (!isObject(b)) fail(path, 'must be {repository, data}');
    putBlob(ensure(b['repository'], `${path}.repository`), b, path);
  });

  const images = section['images'] ?? [];
  if (!Array.isArray(images))
    fail(`${sectionName}.images`, 'must be an array of {repository, manifest, tags}');
  images.forEach((img, i) => {
    const path = `${sectionName}.images[${i}]`;
    if (!isObject(img)) fail(path, 'must be {repository, manifest, tags}');
    const repo = ensure(img['repository'], `${path}.repository`);
    const inline = img['blobs'] ?? [];
    if (!Array.isArray(inline)) fail(`${path}.blobs`, 'must be an array of base64 data');
    inline.forEach((b, j) => {
      putBlob(repo, b, `${path}.blobs[${j}]`);
    });
    const manifest =
      typeof img['manifest'] === 'string'
        ? img['manifest']
        : isObject(img['manifest'])
          ? JSON.stringify(img['manifest'])
          : fail(`${path}.manifest`, 'must be the manifest JSON text (or object)');
    const tags = [
      ...(img['tag'] !== undefined ? [img['tag']] : []),
      ...(Array.isArray(img['tags']) ? img['tags'] : []),
    ];
    tags.forEach((t, j) => {
      if (!isValidTag(t)) fail(`${path}.tags[${j}]`, 'must be a tag of 1-300 characters');
    });
    const mediaType = typeof img['mediaType'] === 'string' ? img['mediaType'] : undefined;
    let digest = '';
    for (const tag of tags.length > 0 ? (tags as string[]) : [undefined]) {
      digest = guard(
        path,
        () => store.putImage(repo, { manifest, mediaType, tag }, 'seed', emit as boolean).image.digest,
      );
    }
    summary.images.push({ repository: repo.name, digest, tags: tags as string[] });
  });
  return summary;
}

/** ECR's refusal of a seeded item, as a control-plane error naming the item. */
function guard<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ServiceError) fail(path, `${err.code}: ${err.message}`);
    throw err;
  }
}
