import {
  AdaptiveGate,
  type CachedResolution,
  type EcrAuditApi,
  incompleteFindings,
  parsePack,
  renderPack,
} from '@nvcf-ecr/core/audit';
import { ContentCache } from '@nvcf-ecr/core/image';
import { silentLogger } from '@nvcf-ecr/core/log';
import { describe, expect, it } from 'vitest';
import { imageChecks } from '../../../packages/core/src/audit/checks/image.ts';
import { accountFacts } from '../../../packages/core/src/audit/facts.ts';
import { ImageScanner } from '../../../packages/core/src/audit/images.ts';
import { config, fakeClient, HOST, registry } from './fakes.ts';

/**
 * The resolution cache's object format read back as the audit reads it (what is trusted, what is dropped),
 * and the scanner's deadline: a repository not started is `unreached`, and `audit.incomplete` names it.
 */

const d = (c: string) => `sha256:${c.repeat(64)}`;
const index: CachedResolution = {
  digest: d('a'),
  kind: 'index',
  mediaType: 'application/vnd.oci.image.index.v1+json',
  platforms: ['linux/amd64', 'linux/arm64'],
  children: [
    { digest: d('b'), platform: 'linux/amd64', mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    { digest: d('c'), platform: 'linux/arm64', mediaType: 'application/vnd.oci.image.manifest.v1+json' },
  ],
  ignored: [],
  mismatches: [],
  manifests: [d('b'), d('c')],
};
const malformed: CachedResolution = {
  digest: d('e'),
  error: { code: 'invalid-json', message: 'manifest is not JSON' },
  manifests: [],
};
const WHEN = new Date('2026-12-01T00:00:00Z');

type Pack = { entries: Record<string, unknown>[] } & Record<string, unknown>;
const pack = (): Pack => JSON.parse(renderPack(HOST, 'inference', [index, malformed], WHEN)) as Pack;

describe('Function: parsePack', () => {
  it('reads back what renderPack wrote, each entry under its digest', () => {
    const read = parsePack(JSON.stringify(pack()), HOST, 'inference');
    expect(read).toMatchObject({ foreign: false, rejected: 0, writtenAt: WHEN });
    expect(read.entries.get(index.digest)).toEqual(index);
    expect(read.entries.get(malformed.digest)).toEqual(malformed);
  });

  it.each([
    [
      'a changed platform list',
      (e: Record<string, unknown>) => Object.assign(e, { platforms: ['linux/amd64'] }),
    ],
    ['another digest', (e: Record<string, unknown>) => Object.assign(e, { digest: d('f') })],
    [
      'a manifest dropped from the list',
      (e: Record<string, unknown>) => Object.assign(e, { manifests: [d('b')] }),
    ],
    ['no seal', (e: Record<string, unknown>) => Object.assign(e, { seal: undefined })],
    ['a field the format does not have', (e: Record<string, unknown>) => Object.assign(e, { trusted: true })],
  ])('drops an entry with %s and keeps the others', (_, edit) => {
    const p = pack();
    edit(p.entries.find((e) => e['digest'] === index.digest) as Record<string, unknown>);
    const read = parsePack(JSON.stringify(p), HOST, 'inference');
    expect(read.rejected).toBe(1);
    expect([...read.entries.keys()]).toEqual([malformed.digest]);
  });

  it('drops an entry sealed over content the format forbids (a missing child is never cached)', () => {
    const withMissing: CachedResolution = {
      ...index,
      ignored: [{ digest: d('c'), reason: 'missing: not in the repository' }],
    } as CachedResolution;
    const read = parsePack(renderPack(HOST, 'inference', [withMissing], WHEN), HOST, 'inference');
    expect(read).toMatchObject({ rejected: 1 });
    expect(read.entries.size).toBe(0);
  });

  it.each([
    ['another repository', (p: Pack) => Object.assign(p, { repository: 'other' })],
    ['another registry', (p: Pack) => Object.assign(p, { registry: 'public.ecr.aws' })],
    ['another cache version', (p: Pack) => Object.assign(p, { version: 2 })],
    ['another format', (p: Pack) => Object.assign(p, { format: 'something-else' })],
  ])('ignores a pack of %s whole', (_, edit) => {
    const read = parsePack(JSON.stringify(edit(pack())), HOST, 'inference');
    expect(read).toMatchObject({ foreign: true, rejected: 0 });
    expect(read.entries.size).toBe(0);
  });

  it('ignores text that is not JSON', () => {
    expect(parsePack('{"format":', HOST, 'inference')).toMatchObject({ foreign: true });
  });
});

describe('Deadline: repositories not started', () => {
  const emptyEcr = { send: async () => ({ $metadata: {}, imageDetails: [] }) } as unknown as EcrAuditApi;

  it('leaves the repositories it may not start unreached, with no image finding, and names them', async () => {
    const asked: number[] = [];
    const scanner = new ImageScanner({
      ecr: () => emptyEcr,
      ecrPublic: emptyEcr as never,
      cache: new ContentCache(),
      gate: () => new AdaptiveGate(4),
      backoff: { sleep: async () => {} },
      concurrency: 4,
      logger: silentLogger,
      // Room for the first repository only; the second is asked with the first one's duration.
      mayStart: (slowestMs) => {
        asked.push(slowestMs);
        return asked.length === 1;
      },
    });
    const findings = await imageChecks({
      registries: [registry],
      scanner,
      account: accountFacts(
        config,
        {
          listRegistryCredentials: async () => [],
          listFunctions: async () => [],
          getDeployment: async () => undefined,
        },
        fakeClient({}),
      ),
      logger: silentLogger,
      repositoryConcurrency: 1,
      nvcfConcurrency: 1,
    });
    expect(asked).toHaveLength(2);
    expect(asked[1]).toBeGreaterThan(0);
    expect(scanner.unreached.map((u) => u.repository)).toEqual(['inference-gb200']);
    const platforms = findings.filter((f) => f.checkId === 'image.platforms').map((f) => f.resource);
    expect(platforms).toEqual([`${HOST}/inference`]);

    const [incomplete] = incompleteFindings([registry], scanner.unreached, {
      remainingMs: () => 0,
      reserveMs: 30_000,
    });
    expect(incomplete).toMatchObject({
      checkId: 'audit.incomplete',
      status: 'fail',
      severity: 'high',
      registry: 'prod',
    });
    expect(incomplete?.message).toContain('inference-gb200');
    expect(incomplete?.evidence).toMatchObject({ unreached: ['inference-gb200'], repositories: 2 });
  });
});
