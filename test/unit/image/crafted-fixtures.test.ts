/**
 * The crafted fixtures (`test/fixtures/crafted.ts`): images a container runtime treats differently from a
 * naive reading of their configs, judged as containerd would pull them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  evaluatePlatforms,
  type ImageSource,
  openDockerArchive,
  openOciArchive,
  openOciLayout,
  resolveImage,
} from '@nvcf-ecr/core/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craftedFiles } from '../../fixtures/crafted.ts';

const FIXTURES = 'test/fixtures';
const LAYOUT = `${FIXTURES}/crafted`;
const BOTH = ['linux/amd64', 'linux/arm64'];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

async function judge(source: ImageSource, ref: string | undefined, required: string[], missing?: 'ignore') {
  const root = await source.resolveReference(ref);
  const resolved = await resolveImage(source, root.digest, {
    root: root.blob,
    ...(missing ? { missingChildren: missing } : {}),
  });
  return { resolved, evaluation: evaluatePlatforms(resolved, required) };
}

describe('Fixture: crafted images', () => {
  let source: ImageSource;
  beforeAll(async () => {
    source = await openOciLayout(LAYOUT);
  });
  afterAll(async () => {
    await source.close();
  });

  it('are exactly what test/fixtures/crafted.ts writes (regenerate with node test/fixtures/crafted.ts)', () => {
    const generated = craftedFiles();
    const committed = [
      ...listFiles(LAYOUT),
      `${FIXTURES}/docker-save-legacy.tar`,
      `${FIXTURES}/docker-save-containerd.tar`,
    ].map((f) => relative(FIXTURES, f));
    expect(committed.sort()).toEqual([...generated.keys()].sort());
    for (const [path, bytes] of generated)
      expect(Buffer.from(readFileSync(join(FIXTURES, path))).equals(Buffer.from(bytes)), path).toBe(true);
  });

  it('fails the swapped index: each entry declares the other architecture, so neither counts', async () => {
    const { resolved, evaluation } = await judge(source, 'swapped', BOTH);
    expect(resolved.platforms).toEqual([]);
    expect(resolved.mismatches.map((m) => [m.declared, m.actual])).toEqual([
      ['linux/arm64', 'linux/amd64'],
      ['linux/amd64', 'linux/arm64'],
    ]);
    expect(evaluation).toMatchObject({ verdict: 'non-compliant', missing: BOTH });
    expect(evaluation.reasons[3]).toContain('a linux/amd64 host would pull a linux/arm64 binary');
  });

  it('fails the mislabelled index for linux/amd64 (no amd64 entry) and for linux/arm64 (an amd64 binary)', async () => {
    for (const required of [['linux/amd64'], ['linux/arm64']]) {
      const { resolved, evaluation } = await judge(source, 'mislabelled', required);
      expect(resolved.platforms).toEqual([]);
      expect(evaluation).toMatchObject({ verdict: 'non-compliant', missing: required });
    }
  });

  it('fails an index whose only entry is linux/amd64/v3 for linux/amd64, and passes it for linux/amd64/v3', async () => {
    const plain = await judge(source, 'amd64-v3-only', ['linux/amd64']);
    expect(plain.resolved.platforms).toEqual(['linux/amd64/v3']);
    expect(plain.evaluation).toMatchObject({ verdict: 'non-compliant', missing: ['linux/amd64'] });
    expect(plain.evaluation.reasons[0]).toContain("a linux/amd64 host's runtime selects only linux/amd64");
    const v3 = await judge(source, 'amd64-v3-only', ['linux/amd64/v3']);
    expect(v3.evaluation.verdict).toBe('compliant');
  });

  it('fails an index whose only entry is linux/arm64/v9 for linux/arm64 (Linux hosts report v8)', async () => {
    const { resolved, evaluation } = await judge(source, 'arm64-v9-only', ['linux/arm64']);
    expect(resolved.platforms).toEqual(['linux/arm64/v9']);
    expect(evaluation).toMatchObject({ verdict: 'non-compliant', missing: ['linux/arm64'] });
  });

  it('skips an entry with an empty platform as runtimes do, and judges the rest', async () => {
    const { resolved, evaluation } = await judge(source, 'empty-platform', ['linux/amd64']);
    expect(resolved.platforms).toEqual(['linux/amd64']);
    expect(resolved.ignored).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/^platform with an empty os or architecture/),
      }),
    ]);
    expect(evaluation.verdict).toBe('compliant');
    expect((await judge(source, 'empty-platform', BOTH)).evaluation.missing).toEqual(['linux/arm64']);
  });

  it('gives a cosign signature the artifact verdict', async () => {
    const multi = await source.resolveReference('multi');
    const sig = `${multi.digest.replace(':', '-')}.sig`;
    const { resolved, evaluation } = await judge(source, sig, BOTH);
    expect(resolved.kind).toBe('artifact');
    expect(evaluation.verdict).toBe('artifact');
    expect((await judge(source, 'multi', BOTH)).evaluation.verdict).toBe('compliant');
  });

  it('refuses the schema1 image as not-runnable, with the fix in the reason', async () => {
    const images = await openOciLayout(`${FIXTURES}/images`);
    try {
      const { resolved, evaluation } = await judge(images, 'amd64-schema1', ['linux/amd64']);
      expect(resolved.platforms).toEqual([]);
      expect(evaluation.verdict).toBe('not-runnable');
      expect(evaluation.reasons[0]).toMatch(/containerd 2\.0\+ and Docker 26\+ refuse to pull: rebuild/);
    } finally {
      await images.close();
    }
  });
});

describe('Fixture: docker save archives', () => {
  it('reads a legacy docker save tar (manifest.json and a config, no manifest) by its RepoTag', async () => {
    const archive = await openDockerArchive(`${FIXTURES}/docker-save-legacy.tar`);
    try {
      for (const ref of ['app:v1', undefined]) {
        const { resolved, evaluation } = await judge(archive, ref, ['linux/amd64']);
        expect(resolved).toMatchObject({ kind: 'image', platforms: ['linux/amd64'] });
        expect(evaluation.verdict).toBe('compliant');
      }
      await expect(archive.resolveReference('app:v2')).rejects.toThrow(
        "docker-archive:test/fixtures/docker-save-legacy.tar has no image 'app:v2' (available: app:v1)",
      );
    } finally {
      await archive.close();
    }
  });

  it('reads the OCI layout of a containerd-store docker save, counting only the platforms it holds', async () => {
    for (const open of [openDockerArchive, openOciArchive]) {
      const archive = await open(`${FIXTURES}/docker-save-containerd.tar`);
      try {
        const { resolved, evaluation } = await judge(archive, undefined, ['linux/amd64'], 'ignore');
        expect(resolved.platforms).toEqual(['linux/amd64']);
        expect(resolved.ignored).toEqual([
          expect.objectContaining({ platform: 'linux/arm64', reason: expect.stringMatching(/^missing:/) }),
        ]);
        expect(evaluation.verdict).toBe('compliant');
      } finally {
        await archive.close();
      }
    }
  });
});
