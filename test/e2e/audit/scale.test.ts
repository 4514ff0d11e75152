import { readFileSync } from 'node:fs';
import { assertConfig, type Config } from '@nvcf-ecr/core/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import { type AuditRun, type AuditSandbox, fixture, invokeAudit, startAuditSandbox } from './helpers.ts';

/**
 * Batching, counted on the wire (the sandbox's request log): 2,400 tagged multi-platform images in two
 * repositories cost two DescribeImages pages per repository, BatchGetImage calls of 100 roots plus one for the
 * children all indexes share, and one config download per distinct config — not one round trip per image.
 * Performance is measured by the benchmark, never asserted here.
 */

const REPOSITORIES = ['fleet-a', 'fleet-b'];
const PER_REPOSITORY = 1200;
const config: Config = assertConfig({
  ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
  registries: [
    {
      name: 'prod',
      hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      repositories: REPOSITORIES,
      credentialName: 'ecr-prod',
      platforms: { require: ['linux/amd64', 'linux/arm64'] },
    },
  ],
});

const LAYOUT = new URL('../../fixtures/images/', import.meta.url);
const blob = (digest: string) => readFileSync(new URL(`blobs/${digest.replace(':', '/')}`, LAYOUT));

let s: AuditSandbox;
let run: AuditRun;
let calls: Record<string, number>;

beforeAll(async () => {
  s = await startAuditSandbox(config);
  const children = ['amd64-oci', 'arm64-oci'].map((ref) => {
    const { digest } = fixture(ref);
    const text = blob(digest).toString('utf8');
    const m = JSON.parse(text) as { config: { digest: string }; layers: { digest: string }[] };
    return {
      digest,
      text,
      size: Buffer.byteLength(text),
      blobs: [m.config, ...m.layers].map((d) => blob(d.digest).toString('base64')),
    };
  });
  for (const repository of REPOSITORIES) {
    const images: unknown[] = children.map((c) => ({
      repository,
      manifest: c.text,
      tags: [],
      blobs: c.blobs,
    }));
    for (let i = 0; i < PER_REPOSITORY; i++) {
      // Distinct indexes (each build annotated) over the same two children, as a CI that rebuilds often produces.
      const index = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c, k) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: c.digest,
          size: c.size,
          platform: { os: 'linux', architecture: k === 0 ? 'amd64' : 'arm64' },
        })),
        annotations: { 'org.opencontainers.image.revision': `${repository}-${i}` },
      };
      images.push({ repository, manifest: JSON.stringify(index), tags: [`build-${i}`] });
    }
    await control(s.sb, 'POST', 'seed', { ecr: { images } });
  }
  await control(s.sb, 'DELETE', 'calls');
  run = await invokeAudit(s);
  const log = await control<{ calls: { operation: string }[] }>(s.sb, 'GET', 'calls?service=ecr');
  calls = {};
  for (const c of log.calls) calls[c.operation] = (calls[c.operation] ?? 0) + 1;
}, 120_000);
afterAll(async () => {
  await s?.sb.close();
});

describe('Audit: reading thousands of images', () => {
  it('resolves every tagged image and finds them compliant', () => {
    expect(run.report.stats).toMatchObject({ images: 2 * PER_REPOSITORY, indexes: 2 * PER_REPOSITORY });
    expect(
      run.report.findings.filter((f) => f.checkId === 'image.platforms').map((f) => [f.status, f.message]),
    ).toEqual(
      REPOSITORIES.map((r) => [
        'pass',
        `All ${PER_REPOSITORY} tagged images of 123456789012.dkr.ecr.us-east-1.amazonaws.com/${r} provide linux/amd64, linux/arm64.`,
      ]),
    );
  });

  it('pages DescribeImages by 1000, batches BatchGetImage by 100, and downloads each config once per repository', () => {
    const pages = Math.ceil(PER_REPOSITORY / 1000);
    // Roots: ceil(page / 100) per page; children: one call per repository, shared by every index.
    const rootCalls = Math.ceil(1000 / 100) + Math.ceil((PER_REPOSITORY - 1000) / 100);
    expect(calls).toEqual({
      DescribeImages: REPOSITORIES.length * pages,
      BatchGetImage: REPOSITORIES.length * (rootCalls + 1),
      GetDownloadUrlForLayer: REPOSITORIES.length * 2,
    });
  });
});
