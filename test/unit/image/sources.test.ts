import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageSourceError, ManifestError } from '@nvcf-ecr/core/errors';
import {
  MAX_MANIFEST_BYTES,
  openOciArchive,
  openOciLayout,
  resolveImage,
  splitPathAndReference,
} from '@nvcf-ecr/core/image';
import { afterEach, describe, expect, it } from 'vitest';
import { AMD64, type Desc, encode, MemoryRepo, OCI_INDEX, thrown } from './helpers.ts';
import { type TarFile, tar } from './tar-writer.ts';

const REGCLIENT = 'test/fixtures/regclient-testrepo';
const ARCHIVE = 'test/fixtures/images.tar';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-sources-'));
  temps.push(dir);
  return dir;
}

/** The files of an OCI layout holding `repo`'s content, with `refs` named in index.json. */
function layoutFiles(
  repo: MemoryRepo,
  refs: { ref?: string; desc: Desc }[],
  layout = '{"imageLayoutVersion":"1.0.0"}',
): TarFile[] {
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: refs.map(({ ref, desc }) => ({
      ...desc,
      ...(ref ? { annotations: { 'org.opencontainers.image.ref.name': ref } } : {}),
    })),
  };
  const blobs = [...repo.manifests.values()].map((m) => ({
    name: `blobs/sha256/${m.digest.slice(7)}`,
    content: m.bytes,
  }));
  for (const [d, bytes] of repo.blobs) blobs.push({ name: `blobs/sha256/${d.slice(7)}`, content: bytes });
  return [
    { name: 'oci-layout', content: layout },
    { name: 'index.json', content: JSON.stringify(index) },
    ...blobs,
  ];
}

async function writeLayout(files: TarFile[]): Promise<string> {
  const dir = await tempDir();
  for (const f of files) {
    await mkdir(join(dir, f.name, '..'), { recursive: true });
    await writeFile(join(dir, f.name), f.content ?? '');
  }
  return dir;
}

async function writeArchive(content: Uint8Array): Promise<string> {
  const file = join(await tempDir(), 'image.tar');
  await writeFile(file, content);
  return file;
}

describe('Function: splitPathAndReference', () => {
  it('splits at the first colon, as the oci: transport of containers/image does', () => {
    expect(splitPathAndReference('out:v1')).toEqual({ path: 'out', reference: 'v1' });
    expect(splitPathAndReference('out')).toEqual({ path: 'out', reference: undefined });
    expect(splitPathAndReference(`out:sha256:${'a'.repeat(64)}`)).toEqual({
      path: 'out',
      reference: `sha256:${'a'.repeat(64)}`,
    });
    expect(splitPathAndReference('out:')).toEqual({ path: 'out', reference: undefined });
  });
});

describe('Function: openOciLayout', () => {
  it('resolves a ref name to the digest and media type recorded in index.json', async () => {
    const source = await openOciLayout(REGCLIENT);
    const root = await source.resolveReference('b1');
    expect(root).toEqual({
      reference: 'b1',
      digest: 'sha256:119b4a63feeda91d4874578e7883994fc45772dd912aa49ba380f87507f6ad07',
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
  });

  it('selects an image by digest when no ref name matches', async () => {
    const source = await openOciLayout(REGCLIENT);
    const digest = 'sha256:819ff4564a5d4a1c07b4e25bbba420cace378d4ed32671e6ee4eea95df1b8c4c';
    expect((await source.resolveReference(digest)).digest).toBe(digest);
  });

  it('selects the only image when no ref is given', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const source = await openOciLayout(await writeLayout(layoutFiles(repo, [{ desc: img }])));
    expect(await source.resolveReference(undefined)).toEqual({
      reference: img.digest,
      digest: img.digest,
      mediaType: img.mediaType,
    });
    expect((await resolveImage(source, img.digest)).platforms).toEqual(['linux/amd64']);
  });

  it('throws ImageSourceError listing the refs when no ref is given and there are several images', async () => {
    const source = await openOciLayout(REGCLIENT);
    const err = await thrown(() => source.resolveReference(undefined));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as ImageSourceError).message).toMatch(
      /^oci:test\/fixtures\/regclient-testrepo holds 26 images: name one as oci:test\/fixtures\/regclient-testrepo:<ref> \(available: b1, b2, b3, v1, v2, v3, a-docker,/,
    );
  });

  it('throws ImageSourceError naming the missing ref and the available ones', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const dir = await writeLayout(layoutFiles(repo, [{ ref: 'v1', desc: img }]));
    const source = await openOciLayout(dir);
    const err = await thrown(() => source.resolveReference('v2'));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect(err).toMatchObject({ transient: false, message: `oci:${dir} has no image 'v2' (available: v1)` });
  });

  it('throws ImageSourceError when one ref names two different images', async () => {
    const repo = new MemoryRepo();
    const a = repo.image(AMD64);
    const b = repo.image({ os: 'linux', architecture: 'arm64' });
    const dir = await writeLayout(
      layoutFiles(repo, [
        { ref: 'v1', desc: a },
        { ref: 'v1', desc: b },
      ]),
    );
    const err = await thrown(async () => (await openOciLayout(dir)).resolveReference('v1'));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${join(dir, 'index.json')} names 2 different images 'v1' (${a.digest}, ${b.digest}): remove the duplicate ref name`,
    );
  });

  it('throws ImageSourceError for a directory that does not exist', async () => {
    const err = await thrown(() => openOciLayout('/nonexistent/layout'));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect(err).toMatchObject({
      transient: false,
      message: '/nonexistent/layout: no such directory; check the path',
    });
  });

  it('throws ImageSourceError for a file, pointing at oci-archive:', async () => {
    const err = await thrown(() => openOciLayout(ARCHIVE));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${ARCHIVE} is not a directory: an oci: source is an OCI layout directory (for a .tar use oci-archive:${ARCHIVE})`,
    );
  });

  it('throws ImageSourceError for a directory without oci-layout', async () => {
    const dir = await tempDir();
    const err = await thrown(async () => (await openOciLayout(dir)).resolveReference('v1'));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `oci:${dir} is not an OCI image layout: ${join(dir, 'oci-layout')} is missing (write one with 'skopeo copy ... oci:DIR:TAG' or 'docker buildx build -o type=oci,tar=false,dest=DIR')`,
    );
  });

  it('throws ImageSourceError for an index.json that is not an index', async () => {
    const dir = await writeLayout([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":"none"}` },
    ]);
    const err = await thrown(async () => (await openOciLayout(dir)).resolveReference('v1'));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${join(dir, 'index.json')} is not a valid OCI image index: index index.json: 'manifests' must be an array`,
    );
  });

  it('throws ManifestError not-found for a blob the layout lacks', async () => {
    const source = await openOciLayout(REGCLIENT);
    const digest = `sha256:${'0'.repeat(64)}`;
    const err = await thrown(() => source.getBlob(digest, 1024));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'not-found',
      message: `blob ${digest} is not in oci:${REGCLIENT}: the layout is incomplete; copy the image again`,
    });
  });

  it('refuses to read a blob over maxBytes with ManifestError too-large', async () => {
    const source = await openOciLayout(REGCLIENT);
    const digest = 'sha256:03d7b3c657a4af5b4ff7967bf843d04a93008f28d658a7df3f679b2c7e519639';
    const err = await thrown(() => source.getBlob(digest, 100));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'too-large',
      message: `blob ${digest} (${REGCLIENT}/blobs/sha256/${digest.slice(7)}) is 1418 bytes; at most 100 are read`,
    });
  });

  it('refuses a manifest file over MAX_MANIFEST_BYTES', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const dir = await writeLayout(layoutFiles(repo, [{ ref: 'v1', desc: img }]));
    const big = `sha256:${'f'.repeat(64)}`;
    await writeFile(join(dir, 'blobs/sha256', 'f'.repeat(64)), new Uint8Array(MAX_MANIFEST_BYTES + 1));
    const err = await thrown(async () => (await openOciLayout(dir)).getManifests([big]));
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).code).toBe('too-large');
  });

  it('leaves unknown and malformed digests out of getManifests', async () => {
    const source = await openOciLayout(REGCLIENT);
    const got = await source.getManifests([`sha256:${'0'.repeat(64)}`, 'sha256:../../index.json']);
    expect(got.size).toBe(0);
  });
});

describe('Function: openOciArchive', () => {
  it('resolves the images of the committed archive (buildah layout, tarred with pax headers)', async () => {
    const source = await openOciArchive(ARCHIVE);
    try {
      const multi = await source.resolveReference('multi-oci');
      expect((await resolveImage(source, multi.digest)).platforms).toEqual(['linux/amd64', 'linux/arm64']);
      const docker = await source.resolveReference('amd64-docker');
      const r = await resolveImage(source, docker.digest);
      expect(r).toMatchObject({
        kind: 'image',
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        platforms: ['linux/amd64'],
      });
    } finally {
      await source.close();
    }
  });

  it('reads names from pax headers, GNU long names and ./ prefixes', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const files = layoutFiles(repo, [{ desc: img }]).map((f, i) => ({
      ...f,
      name: i === 0 ? `./${f.name}` : f.name,
      pax: i % 3 === 1,
      gnuLongName: i % 3 === 2,
    }));
    const source = await openOciArchive(await writeArchive(tar(files)));
    try {
      const root = await source.resolveReference(undefined);
      expect((await resolveImage(source, root.digest)).platforms).toEqual(['linux/amd64']);
    } finally {
      await source.close();
    }
  });

  it('never serves entries whose names escape the archive', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const files = layoutFiles(repo, [{ desc: img }]).map((f) =>
      f.name === 'oci-layout' ? { ...f, name: '../oci-layout' } : f,
    );
    const file = await writeArchive(
      tar([...files, { name: '/oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }]),
    );
    const source = await openOciArchive(file);
    const err = await thrown(() => source.resolveReference(undefined));
    await source.close();
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `oci-archive:${file} is not an OCI image layout: ${file}:oci-layout is missing (write one with 'skopeo copy ... oci:DIR:TAG' or 'docker buildx build -o type=oci,tar=false,dest=DIR')`,
    );
  });

  it('skips symbolic links instead of following them', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const files = layoutFiles(repo, [{ desc: img }]).filter((f) => f.name !== 'oci-layout');
    const file = await writeArchive(tar([{ name: 'oci-layout', type: '2' }, ...files]));
    const source = await openOciArchive(file);
    const err = await thrown(() => source.resolveReference(undefined));
    await source.close();
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toMatch(/oci-layout is missing/);
  });

  it('throws ImageSourceError for a gzip-compressed archive, saying how to fix it', async () => {
    const file = await writeArchive(gzipSync(tar([{ name: 'oci-layout', content: '{}' }])));
    const err = await thrown(() => openOciArchive(file));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${file} is gzip-compressed: decompress it first (gunzip -k ${file}) and pass the .tar`,
    );
  });

  it('throws ImageSourceError for a file that is not a tar', async () => {
    const file = await writeArchive(encode('x'.repeat(2048)));
    const err = await thrown(() => openOciArchive(file));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${file} is not a tar archive (bad header checksum): an oci-archive: source is a .tar of an OCI layout`,
    );
  });

  it('throws ImageSourceError for a file shorter than one tar header', async () => {
    const file = await writeArchive(encode('{}'));
    const err = await thrown(() => openOciArchive(file));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${file} is not a tar archive (2 bytes, shorter than one tar header)`,
    );
  });

  it('throws ImageSourceError for a truncated archive', async () => {
    const whole = tar([{ name: 'index.json', content: 'x'.repeat(2000) }]);
    const file = await writeArchive(whole.subarray(0, 1024));
    const err = await thrown(() => openOciArchive(file));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${file} is truncated: an entry at byte 0 claims 2000 bytes past the end of the file`,
    );
  });

  it('throws ImageSourceError for a file that does not exist', async () => {
    const err = await thrown(() => openOciArchive('/nonexistent/image.tar'));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe('/nonexistent/image.tar: no such file; check the path');
  });

  it('throws ImageSourceError for a directory, pointing at oci:', async () => {
    const err = await thrown(() => openOciArchive(REGCLIENT));
    expect(err).toBeInstanceOf(ImageSourceError);
    expect((err as Error).message).toBe(
      `${REGCLIENT} is not a file: an oci-archive: source is a .tar (for a directory use oci:${REGCLIENT})`,
    );
  });
});
