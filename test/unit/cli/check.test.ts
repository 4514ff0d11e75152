import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { B1, b1Compliant, REGCLIENT } from '../../helpers/regclient.ts';
import { captureIo } from './io.ts';

const BIN = 'packages/cli/bin/nvcf-ecr.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `nvcf-ecr` executable as a child process. */
async function cli(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { PATH: process.env['PATH'] },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('Command: nvcf-ecr check on crafted indexes (as containerd pulls them)', () => {
  it.each([
    ['swapped', 'linux/amd64,linux/arm64', 1],
    ['mislabelled', 'linux/amd64', 1],
    ['mislabelled', 'linux/arm64', 1],
    ['amd64-v3-only', 'linux/amd64', 1],
    ['arm64-v9-only', 'linux/arm64', 1],
    ['empty-platform', 'linux/amd64', 0],
  ])('oci:test/fixtures/crafted:%s --require %s exits %i', async (ref, required, exit) => {
    const io = captureIo();
    const code = await main(
      ['check', `oci:test/fixtures/crafted:${ref}`, '--require', required, '--json'],
      io,
    );
    expect(code).toBe(exit);
    expect(JSON.parse(io.out()).verdict).toBe(exit === 0 ? 'compliant' : 'non-compliant');
  });

  it('warns about, and does not count, platforms a containerd-store docker save left out', async () => {
    const io = captureIo();
    const code = await main(
      ['check', 'docker-archive:test/fixtures/docker-save-containerd.tar', '--json'],
      io,
    );
    expect(code).toBe(0);
    const report = JSON.parse(io.out()) as { platforms: string[]; warnings: string[] };
    expect(report.platforms).toEqual(['linux/amd64']);
    expect(report.warnings).toEqual([
      expect.stringMatching(/was not found in the source; its platform was not counted/),
    ]);
  });
});

describe('Command: nvcf-ecr check (child process)', () => {
  it('exits 0 and prints the compliant report of regclient b1 for linux/amd64,linux/arm64', async () => {
    const r = await cli('check', `oci:${REGCLIENT}:b1`, '--require', 'linux/amd64,linux/arm64', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ reference: `oci:${REGCLIENT}:b1`, digest: B1, ...b1Compliant() });
  });

  it('exits 1 with verdict artifact for the regclient artifact a1', async () => {
    const r = await cli('check', `oci:${REGCLIENT}:a1`, '--require', 'linux/amd64,linux/arm64', '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { verdict: string; kind: string; platforms: string[] };
    expect(report).toMatchObject({ verdict: 'artifact', kind: 'artifact', platforms: [] });
  });

  it('reads a legacy docker save tar with docker-archive: and exits 0 for its amd64 image', async () => {
    const r = await cli('check', 'docker-archive:test/fixtures/docker-save-legacy.tar:app:v1', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      kind: 'image',
      platforms: ['linux/amd64'],
      verdict: 'compliant',
    });
  });

  it('exits 1 for an image missing a required platform (the OCI archive, amd64 only)', async () => {
    const r = await cli(
      'check',
      'oci-archive:test/fixtures/images.tar:amd64-docker',
      '--require',
      'linux/amd64,linux/arm64',
      '--json',
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'non-compliant', missing: ['linux/arm64'] });
  });

  it('exits 2 with the message on stderr and no stack trace when the source does not exist', async () => {
    const r = await cli('check', 'oci:/nonexistent/layout:v1');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('nvcf-ecr: error: /nonexistent/layout: no such directory; check the path\n');
  });

  it('exits 2 with a usage error naming a bad --require value', async () => {
    const r = await cli('check', `oci:${REGCLIENT}:b1`, '--require', 'linux/amd64,amd64');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "nvcf-ecr: --require: 'amd64' is not a platform 'os/arch[/variant]', e.g. linux/amd64 or linux/arm64\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });
});

describe('Command: nvcf-ecr check (in process)', () => {
  it('uses the default policy linux/amd64 when --require is not given', async () => {
    const io = captureIo();
    const code = await main(['check', 'oci:test/fixtures/images:amd64-oci', '--json'], io);
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ required: ['linux/amd64'], verdict: 'compliant' });
  });

  it('accepts --require repeated and normalises the platforms', async () => {
    const io = captureIo();
    const code = await main(
      [
        'check',
        'oci:test/fixtures/images:multi-oci',
        '--require',
        'linux/x86_64',
        '--require',
        'linux/arm64/v8',
        '--json',
      ],
      io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({
      required: ['linux/amd64', 'linux/arm64'],
      verdict: 'compliant',
    });
  });

  it('prints a human summary with the verdict, platforms, ignored entries and reasons', async () => {
    const io = captureIo();
    const code = await main(
      ['check', 'oci:test/fixtures/images:attested', '--require', 'linux/amd64,linux/arm64'],
      io,
    );
    expect(code).toBe(0);
    const lines = io.out().split('\n');
    expect(lines[0]).toBe('compliant  oci:test/fixtures/images:attested');
    expect(lines).toContain('  platforms   linux/amd64, linux/arm64');
    expect(lines).toContain('  missing     none');
    expect(
      lines.filter((l) => l.includes('(vnd.docker.reference.type=attestation-manifest): not runnable')),
    ).toHaveLength(2);
    expect(io.out()).not.toContain('\u001b[');
  });

  it('shows the missing platform and the mismatch for an index that lies about arm64', async () => {
    const io = captureIo();
    const code = await main(
      ['check', 'oci:test/fixtures/images:mismatch', '--require', 'linux/amd64,linux/arm64'],
      io,
    );
    expect(code).toBe(1);
    const out = io.out();
    expect(out.split('\n')[0]).toBe('non-compliant  oci:test/fixtures/images:mismatch');
    expect(out).toContain('  missing     linux/arm64\n');
    expect(out).toMatch(
      / {2}mismatches {2}sha256:[0-9a-f]{64}: index says linux\/arm64, config says linux\/amd64\n/,
    );
  });

  it('colours the verdict on a terminal, and not when NO_COLOR is set', async () => {
    const tty = captureIo({ tty: true });
    await main(['check', 'oci:test/fixtures/images:amd64-oci'], tty);
    expect(tty.out().split('\n')[0]).toBe(
      '\u001b[1m\u001b[32mcompliant\u001b[39m\u001b[22m  oci:test/fixtures/images:amd64-oci',
    );
    const noColor = captureIo({ tty: true, env: { NO_COLOR: '1' } });
    await main(['check', 'oci:test/fixtures/images:amd64-oci'], noColor);
    expect(noColor.out()).not.toContain('\u001b[');
  });

  it('prints an error object on stdout with --json when the check cannot run, and exits 2', async () => {
    const io = captureIo();
    const code = await main(['check', `oci:${REGCLIENT}:nope`, '--json'], io);
    expect(code).toBe(2);
    const message = `oci:${REGCLIENT} has no image 'nope' (available: b1, b2, b3, v1, v2, v3, a-docker, a-docker-oci, sha256-7e87ffc91b9ceafa85be2777b16b1be10e4664fd4f3acc86e4295b97da5163ba, a1, sha256-dfae8f425735a5e3a72e40d6609e03079995511d48157c74d54801ff4430491e, a2, sha256-ee378b79279b57eb5ac1f3b892c9ad2a9be9d9ccabe1a29a9cbaed8cad182358, sha256-36ed7f4ec4545a40ca043f60d76653ef3d2a76f58a051c0f3a256aaab26fb847, sha256-6bed79d0800a0d3a1d0e0e8105a6a5f7f7758ce09e160a8f142574c418302467, a3, ai, a-example, sha256-7ceb9b6bcc274697d0c38be6214b50cec79d601bc61708747d3f6cb772f6c6fa.6fe828b32b9b4572.meta, child, loop, sha256-8e54c6754f08d22f85c7552bb1951b228b8194d29b14a1639dbe50868da0273e, mirror, sha256-0514ce64171e869a0b065fa1ce1b533e82808c9228d5b97ea6e3ef2e026d9aed)`;
    expect(JSON.parse(io.out())).toEqual({
      reference: `oci:${REGCLIENT}:nope`,
      required: ['linux/amd64'],
      verdict: 'error',
      reasons: [message],
    });
    expect(io.err()).toBe(`nvcf-ecr: error: ${message}\n`);
  });

  it('rejects a source without a known prefix with a usage error listing the forms', async () => {
    const io = captureIo();
    const code = await main(['check', 'docker://app:v1'], io);
    expect(code).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: 'docker://app:v1' is not an image source: use oci:<dir>[:<ref>] or oci-archive:<file.tar>[:<ref>] or docker-archive:<file.tar>[:<repo:tag>] or <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:<tag>|@<digest>]\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });

  it('rejects a source with an empty path', async () => {
    const io = captureIo();
    expect(await main(['check', 'oci:'], io)).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: 'oci:' names no path: use oci:<dir>[:<ref>]\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });

  it('rejects a missing source argument', async () => {
    const io = captureIo();
    expect(await main(['check'], io)).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: missing argument: nvcf-ecr check <source> [--require <platforms>] [--json]\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });

  it('rejects an empty --require', async () => {
    const io = captureIo();
    expect(await main(['check', 'oci:x', '--require', ','], io)).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: --require needs at least one platform, e.g. '--require linux/amd64'\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });

  it('reports a malformed manifest as an error (exit 2), not as a verdict', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-cli-'));
    try {
      const bytes = '{"schemaVersion":2,';
      const hex = createHash('sha256').update(bytes).digest('hex');
      await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
      await writeFile(join(dir, 'blobs', 'sha256', hex), bytes);
      await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      const desc = {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${hex}`,
        size: bytes.length,
      };
      await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [desc] }));
      const io = captureIo();
      expect(await main(['check', `oci:${dir}`], io)).toBe(2);
      expect(io.out()).toBe('');
      expect(io.err()).toMatch(
        new RegExp(`^nvcf-ecr: error: manifest sha256:${hex} is not valid JSON: [^\n]+\n$`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
