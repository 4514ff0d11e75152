import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../helpers/temp-dir.ts';

const BIN = join(import.meta.dirname, '../../../packages/cli/bin/nvcf-ecr.js');

interface Started {
  child: ChildProcess;
  info: Record<string, string>;
  stderr: () => string;
}

/** Starts `nvcf-ecr sandbox` and resolves with its first stdout line parsed. */
function startCli(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'sandbox', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) =>
      resolve({ child, info: JSON.parse(line) as Record<string, string>, stderr: () => err }),
    );
    child.once('exit', (code) =>
      reject(new Error(`sandbox exited with ${code} before printing its first line: ${err}`)),
    );
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('Command: nvcf-ecr sandbox', () => {
  const dir = useTempDir('nvcf-ecr-cli-sandbox-');

  it('prints one JSON line with endpoints and credentials, serves AWS on 127.0.0.1, and stops on SIGTERM with 0', async () => {
    const { child, info, stderr } = await startCli(['--no-functions', '--config', 'nvcf-ecr.config.ts']);
    try {
      expect(Object.keys(info).sort()).toEqual(
        [
          'accessKeyId',
          'accountId',
          'awsEndpoint',
          'controlEndpoint',
          'ngcApiKey',
          'nvcfEndpoint',
          'region',
          'registryEndpoint',
          'secretAccessKey',
        ].sort(),
      );
      for (const k of ['awsEndpoint', 'registryEndpoint', 'nvcfEndpoint', 'controlEndpoint'])
        expect(new URL(info[k] ?? '').hostname).toBe('127.0.0.1');
      // The example configuration names account 123456789012 in us-east-1.
      expect(info['accountId']).toBe('123456789012');
      expect(info['region']).toBe('us-east-1');
      const sts = new STSClient({
        region: info['region'],
        endpoint: info['awsEndpoint'],
        credentials: {
          accessKeyId: info['accessKeyId'] ?? '',
          secretAccessKey: info['secretAccessKey'] ?? '',
        },
      });
      expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('123456789012');
      const state = (await (await fetch(`${info['controlEndpoint']}/_sandbox/state`)).json()) as {
        runtime: { registries: unknown[] };
      };
      expect(state.runtime.registries).toEqual([]);
      // AWS as unforgiving as it is, unless asked otherwise.
      const profile = (await (await fetch(`${info['controlEndpoint']}/_sandbox/profile`)).json()) as {
        profile: string;
        iamPropagationSeconds: number;
      };
      expect(profile).toMatchObject({ profile: 'aws', iamPropagationSeconds: 10 });
      expect(stderr()).toContain('sandbox started');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitCode(child)).toBe(0);
  });

  it('persists state with --state and reloads it at the next start', async () => {
    const statePath = join(dir(), 'state.json');
    const first = await startCli(['--no-functions', '--state', statePath]);
    first.child.kill('SIGTERM');
    expect(await exitCode(first.child)).toBe(0);
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as { admin: { accessKeyId: string } };
    expect(saved.admin.accessKeyId).toBe(first.info['accessKeyId']);
    const second = await startCli(['--no-functions', '--state', statePath]);
    second.child.kill('SIGTERM');
    await exitCode(second.child);
    expect(second.info['accessKeyId']).toBe(first.info['accessKeyId']);
  });

  it('exits 2 with a clear message when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [BIN, 'sandbox', '--no-functions', '--port', String(port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      expect(await exitCode(child)).toBe(2);
      expect(err).toContain(`port ${port} on 127.0.0.1 is in use: pick another with --port`);
      expect(err).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('rejects a bad --port as a usage error', async () => {
    const child = spawn(process.execPath, [BIN, 'sandbox', '--port', 'eighty'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    expect(await exitCode(child)).toBe(2);
    expect(err).toContain("--port must be a whole number from 1024 to 65532, got 'eighty'");
  });

  it('rejects an unknown --profile as a usage error', async () => {
    const child = spawn(process.execPath, [BIN, 'sandbox', '--profile', 'gcp'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    expect(await exitCode(child)).toBe(2);
    expect(err).toContain("--profile must be aws or ideal, got 'gcp'");
  });
});
