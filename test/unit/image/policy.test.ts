import { ConfigError, ImageSourceError, ManifestError } from '@nvcf-ecr/core/errors';
import { errorEvaluation, evaluatePlatforms, type ResolvedImage } from '@nvcf-ecr/core/image';
import { describe, expect, it } from 'vitest';

const ROOT = `sha256:${'9'.repeat(64)}`;

function resolved(platforms: string[], more: Partial<ResolvedImage> = {}): ResolvedImage {
  return {
    digest: ROOT,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    kind: 'index',
    platforms,
    children: [],
    ignored: [],
    mismatches: [],
    warnings: [],
    ...more,
  };
}

describe('Function: evaluatePlatforms', () => {
  it('is compliant when every required platform is present', () => {
    const e = evaluatePlatforms(resolved(['linux/amd64', 'linux/arm64', 'linux/arm/v7']), [
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(e).toEqual({
      verdict: 'compliant',
      required: ['linux/amd64', 'linux/arm64'],
      missing: [],
      reasons: [
        'provides every required platform (linux/amd64, linux/arm64): the image has linux/amd64, linux/arm64, linux/arm/v7',
      ],
    });
  });

  it('is non-compliant with the missing platforms, naming the repository', () => {
    const e = evaluatePlatforms(resolved(['linux/amd64']), ['linux/amd64', 'linux/arm64'], {
      repository: 'inference-gb200',
    });
    expect(e.verdict).toBe('non-compliant');
    expect(e.missing).toEqual(['linux/arm64']);
    expect(e.reasons).toEqual([
      'missing linux/arm64 required for repository inference-gb200 (the image has linux/amd64)',
    ]);
  });

  it('never lets windows/amd64 satisfy linux/amd64, and says why', () => {
    const e = evaluatePlatforms(resolved(['windows/amd64'], { kind: 'image' }), ['linux/amd64']);
    expect(e.verdict).toBe('non-compliant');
    expect(e.missing).toEqual(['linux/amd64']);
    expect(e.reasons).toEqual([
      'missing linux/amd64 required (the image has windows/amd64); windows/amd64 does not count: NVCF runs linux containers',
    ]);
  });

  it('treats a required linux/arm64/v8 as plain linux/arm64', () => {
    const e = evaluatePlatforms(resolved(['linux/arm64']), ['linux/arm64/v8']);
    expect(e).toMatchObject({ verdict: 'compliant', required: ['linux/arm64'] });
  });

  it('matches index entries as containerd does: a host pulls its own variant and the ones below it', () => {
    const verdict = (platforms: string[], required: string, kind: ResolvedImage['kind'] = 'index') =>
      evaluatePlatforms(resolved(platforms, { kind }), [required]).verdict;
    // An amd64 host has no variant; arm64 hosts on Linux report v8 (Grace included).
    expect(verdict(['linux/arm64/v8.2'], 'linux/arm64')).toBe('non-compliant');
    expect(verdict(['linux/arm64/v9'], 'linux/arm64')).toBe('non-compliant');
    expect(verdict(['linux/amd64/v2'], 'linux/amd64')).toBe('non-compliant');
    // A host with a higher variant pulls the lower ones: v9.x pulls v8.(x+5), amd64 v3 pulls v2 and v1.
    expect(verdict(['linux/arm64/v8.5'], 'linux/arm64/v9')).toBe('compliant');
    expect(verdict(['linux/arm64/v8.6'], 'linux/arm64/v9')).toBe('non-compliant');
    expect(verdict(['linux/arm64'], 'linux/arm64/v9.2')).toBe('compliant');
    expect(verdict(['linux/amd64'], 'linux/amd64/v3')).toBe('compliant');
    expect(verdict(['linux/amd64/v4'], 'linux/amd64/v3')).toBe('non-compliant');
    expect(verdict(['linux/arm/v6'], 'linux/arm/v7')).toBe('compliant');
    expect(verdict(['linux/arm/v7'], 'linux/arm/v6')).toBe('non-compliant');
    // 32-bit fallbacks containerd would also pull do not count as the 64-bit platform required.
    expect(verdict(['linux/386'], 'linux/amd64')).toBe('non-compliant');
    // A single manifest is pulled without platform matching: its variant is a warning, not a refusal.
    expect(verdict(['linux/amd64/v3'], 'linux/amd64', 'image')).toBe('compliant');
    expect(verdict(['linux/arm64/v9'], 'linux/arm64', 'image')).toBe('compliant');
  });

  it('gives an artifact the artifact verdict, with the artifact reason', () => {
    const reason = 'artifact: config media type application/vnd.oci.empty.v1+json is not an image config';
    const e = evaluatePlatforms(
      resolved([], {
        kind: 'artifact',
        ignored: [{ digest: ROOT, mediaType: 'application/vnd.oci.image.manifest.v1+json', reason }],
      }),
      ['linux/amd64'],
    );
    expect(e).toEqual({ verdict: 'artifact', required: ['linux/amd64'], missing: [], reasons: [reason] });
  });

  it('is not-runnable for an empty index', () => {
    const e = evaluatePlatforms(resolved([]), ['linux/amd64']);
    expect(e).toMatchObject({
      verdict: 'not-runnable',
      reasons: [`index ${ROOT} lists no manifests, so there is nothing to run`],
    });
  });

  it('is not-runnable for an index whose entries were all ignored, listing why', () => {
    const att = `sha256:${'8'.repeat(64)}`;
    const e = evaluatePlatforms(
      resolved([], { ignored: [{ digest: att, reason: 'attestation manifest: not runnable' }] }),
      ['linux/amd64'],
    );
    expect(e.verdict).toBe('not-runnable');
    expect(e.reasons).toEqual([
      `index ${ROOT} has no runnable platform: all 1 entry was ignored`,
      `ignored ${att}: attestation manifest: not runnable`,
    ]);
  });

  it('fails an index with a mismatch even when every required platform is present', () => {
    const child = `sha256:${'7'.repeat(64)}`;
    const e = evaluatePlatforms(
      resolved(['linux/amd64', 'linux/arm64'], {
        mismatches: [{ digest: child, declared: 'linux/arm/v7', actual: 'linux/arm64' }],
      }),
      ['linux/amd64', 'linux/arm64'],
    );
    expect(e).toMatchObject({ verdict: 'non-compliant', missing: [] });
  });

  it('explains index/config mismatches in the reasons', () => {
    const child = `sha256:${'7'.repeat(64)}`;
    const e = evaluatePlatforms(
      resolved(['linux/amd64'], {
        mismatches: [{ digest: child, declared: 'linux/arm64', actual: 'linux/amd64' }],
      }),
      ['linux/amd64', 'linux/arm64'],
    );
    expect(e.reasons).toEqual([
      'missing linux/arm64 required (the image has linux/amd64)',
      `index entry ${child} declares linux/arm64 but its config says linux/amd64: a linux/arm64 host would pull a linux/amd64 binary, so the entry counts for no platform; fix the index (docker buildx imagetools create, or docker manifest annotate) or rebuild`,
    ]);
  });

  it('throws ConfigError naming a required value that is not a platform', () => {
    let err: unknown;
    try {
      evaluatePlatforms(resolved(['linux/amd64']), ['linux/amd64', 'amd64']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      "Invalid configuration (1 problem):\n  - required[1]: 'amd64' must be a platform 'os/arch[/variant]', e.g. 'linux/amd64' or 'linux/arm64'",
    );
  });
});

describe('Function: errorEvaluation', () => {
  it('carries the message of our own errors', () => {
    const err = new ManifestError('not-found', `manifest ${ROOT} was not found`, ROOT);
    expect(errorEvaluation(err)).toEqual({ verdict: 'error', reasons: [`manifest ${ROOT} was not found`] });
  });

  it('redacts secrets that slipped into a message', () => {
    const err = new ImageSourceError('denied for AKIAIOSFODNN7EXAMPLE', false);
    const { reasons } = errorEvaluation(err);
    expect(reasons[0]).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('shows only the class of an unexpected error, never its message or stack', () => {
    const err = new TypeError('Cannot read properties of undefined (reading "x") at /var/task/index.js:1:2');
    expect(errorEvaluation(err)).toEqual({
      verdict: 'error',
      reasons: ["internal error (TypeError) while resolving the image; see the function's logs"],
    });
  });
});
