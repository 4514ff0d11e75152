import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { B1, REGCLIENT, sha256, text } from '../../helpers/regclient.ts';
import { clients, control, withSandbox } from '../../helpers/sandbox.ts';

/**
 * A real registry client against the sandbox: `skopeo` (Debian package, installed by `.ci/run`) pushes the
 * regclient fixture (read in place) to the OCI registry listener with ECR credentials, the manifests land in
 * ECR with one `ECR Image Action` each, and skopeo reads them back byte for byte.
 */

const run = promisify(execFile);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const index = JSON.parse(text(B1)) as { manifests: { digest: string; platform: { architecture: string } }[] };
const CHILDREN = index.manifests.map((m) => m.digest);
const ARM64 = index.manifests.find((m) => m.platform.architecture === 'arm64')?.digest ?? '';
const configType = (digest: string) =>
  (JSON.parse(text(digest)) as { config: { mediaType: string } }).config.mediaType;

function findSkopeo(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat('/usr/bin')) {
    const candidate = join(dir, 'skopeo');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    'skopeo is not installed: CI installs it (Debian package "skopeo", see .ci/run); locally run: sudo apt-get install skopeo',
  );
}

interface DeliveredEvent {
  event: { source: string; 'detail-type': string; detail: Record<string, string> };
}

describe('Sandbox: skopeo against the OCI registry', () => {
  let sb: RunningSandbox;
  let ecr: ECRClient;
  let skopeo: string;
  let creds: string;
  let host: string;

  /** The `ECR Image Action` events delivered for one repository, in order. */
  async function eventsOf(repository: string): Promise<Record<string, string>[]> {
    const { events } = await control<{ events: DeliveredEvent[] }>(sb, 'GET', 'events?source=aws.ecr');
    return events
      .filter(
        (e) =>
          e.event['detail-type'] === 'ECR Image Action' && e.event.detail['repository-name'] === repository,
      )
      .map((e) => e.event.detail);
  }

  beforeAll(async () => {
    skopeo = findSkopeo();
    sb = await withSandbox();
    ecr = clients(sb).ecr;
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    creds = Buffer.from(authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString('utf8');
    host = new URL(sb.registryEndpoint).host;
  });
  afterAll(() => sb?.close());

  /** The `ECR Image Action` detail of a push of `digest` (a manifest of `mediaType`) to `repository` under `tag`. */
  const pushed = (repository: string, digest: string, tag: string, mediaType: string) => ({
    result: 'SUCCESS',
    'repository-name': repository,
    'image-digest': digest,
    'action-type': 'PUSH',
    'image-tag': tag,
    'manifest-media-type': mediaType,
  });
  const configTypeOf = (digest: string) => ({ 'artifact-media-type': configType(digest) });

  /** `skopeo copy`s the regclient fixture's b1 to `image` (`repository:tag`) in the sandbox's ECR, with `flags`. */
  const push = (flags: string[], image: string, destCreds = creds) =>
    run(skopeo, [
      'copy',
      '--insecure-policy',
      ...flags,
      '--dest-tls-verify=false',
      '--dest-creds',
      destCreds,
      `oci:${REGCLIENT}:b1`,
      `docker://${host}/${image}`,
    ]);

  /** What `skopeo inspect --raw` reads of `image` (`repository:tag`) in the sandbox's ECR. */
  const inspectRaw = async (image: string) =>
    (
      await run(skopeo, [
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        creds,
        `docker://${host}/${image}`,
      ])
    ).stdout;

  it('pushes the 4-platform b1 index: children untagged first, the index tagged b1 last, and pulls it back byte-identical', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'multi' }));
    await push(['--all'], 'multi:b1');

    const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: 'multi' }));
    expect(imageDetails?.map((d) => d.imageDigest).sort()).toEqual([B1, ...CHILDREN].sort());
    expect(imageDetails?.find((d) => d.imageDigest === B1)?.imageTags).toEqual(['b1']);

    const events = await eventsOf('multi');
    expect(events).toEqual([
      ...CHILDREN.map((digest) => ({
        ...pushed('multi', digest, '', OCI_MANIFEST),
        ...configTypeOf(digest),
      })),
      pushed('multi', B1, 'b1', 'application/vnd.oci.image.index.v1+json'),
    ]);
    expect(await inspectRaw('multi:b1')).toBe(text(B1));
  });

  it('pulls the whole image back into an OCI layout with the same index digest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skopeo-pull-'));
    try {
      await run(skopeo, [
        'copy',
        '--all',
        '--insecure-policy',
        '--src-tls-verify=false',
        '--src-creds',
        creds,
        `docker://${host}/multi:b1`,
        `oci:${dir}:b1`,
      ]);
      const layout = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      expect(layout.manifests.map((m) => m.digest)).toEqual([B1]);
      for (const digest of [B1, ...CHILDREN]) {
        const copied = await readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
        expect(sha256(copied)).toBe(digest);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pushes a single-platform image as one tagged manifest with one event', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'single' }));
    await push(['--override-os', 'linux', '--override-arch', 'arm64'], 'single:arm64');
    const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: 'single' }));
    expect(imageDetails?.map((d) => [d.imageDigest, d.imageTags, d.imageManifestMediaType])).toEqual([
      [ARM64, ['arm64'], 'application/vnd.oci.image.manifest.v1+json'],
    ]);
    expect(await eventsOf('single')).toEqual([
      { ...pushed('single', ARM64, 'arm64', OCI_MANIFEST), ...configTypeOf(ARM64) },
    ]);
    expect(await inspectRaw('single:arm64')).toBe(text(ARM64));
  });

  it('refuses a push with an unknown token (skopeo reports the 401)', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'refused' }));
    const err = (await push(['--override-arch', 'arm64'], 'refused:x', 'AWS:not-a-token').catch(
      (e: unknown) => e,
    )) as { stderr?: string; code?: number };
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/unauthorized|401/i);
    expect(await eventsOf('refused')).toEqual([]);
  });
});
