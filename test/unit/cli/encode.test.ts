import { describe, expect, it } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import type { InputStream } from '../../../packages/cli/src/output.ts';
import { type CapturedIo, captureIo } from './io.ts';

// NVCF's ECR registry credential is the standard base64 of `AccessKeyId:SecretAccessKey`
// (https://docs.nvidia.com/nvcf/third-party-registries). The keys are AWS's documented example key pair (not a
// real key).

const ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const VALUE = Buffer.from(`${ID}:${SECRET}`).toString('base64');

function stdin(text: string, tty = false): InputStream {
  return {
    isTTY: tty,
    async *[Symbol.asyncIterator]() {
      // Chunks split inside the line, as a pipe may deliver them.
      yield Buffer.from(text.slice(0, 7));
      yield text.slice(7);
    },
  };
}

async function encode(
  args: string[],
  options: { input?: InputStream; env?: Record<string, string> } = {},
): Promise<{ code: number; io: CapturedIo }> {
  const io = captureIo({ env: options.env ?? {} });
  io.stdin = options.input;
  return { code: await main(['encode', ...args], io), io };
}

/** Neither the secret, nor the id unmasked, nor the value appears in what was printed besides the value itself. */
function expectNoEcho(io: CapturedIo) {
  for (const text of [io.err(), io.out()]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(0, 12));
    expect(text).not.toContain(ID);
  }
}

describe('Command: nvcf-ecr encode', () => {
  it('prints only the base64 value for ID:SECRET piped on one line', async () => {
    const { code, io } = await encode([], { input: stdin(`${ID}:${SECRET}\n`) });
    expect(code).toBe(0);
    expect(io.out()).toBe(`${VALUE}\n`);
    expect(io.err()).toBe('');
  });

  it('reads two lines, the id then the secret, tolerating CRLF and blanks', async () => {
    const { code, io } = await encode(['--stdin'], { input: stdin(`\r\n  ${ID}\r\n${SECRET}  \r\n`) });
    expect(code).toBe(0);
    expect(io.out()).toBe(`${VALUE}\n`);
  });

  it('reads the JSON that aws iam create-access-key prints', async () => {
    const json = JSON.stringify({
      AccessKey: { UserName: 'nvcf-ecr-prod', AccessKeyId: ID, Status: 'Active', SecretAccessKey: SECRET },
    });
    const { code, io } = await encode([], { input: stdin(json) });
    expect(code).toBe(0);
    expect(io.out()).toBe(`${VALUE}\n`);
  });

  it('reads the rotated secret JSON (accessKeyId, secretAccessKey)', async () => {
    const json = JSON.stringify({ accessKeyId: ID, secretAccessKey: SECRET, userName: 'nvcf-ecr-prod' });
    const { io } = await encode([], { input: stdin(json) });
    expect(io.out()).toBe(`${VALUE}\n`);
  });

  it('reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when stdin is a terminal', async () => {
    const env = { AWS_ACCESS_KEY_ID: ID, AWS_SECRET_ACCESS_KEY: SECRET };
    const { code, io } = await encode([], { input: stdin('', true), env });
    expect(code).toBe(0);
    expect(io.out()).toBe(`${VALUE}\n`);
  });

  it('reads the environment with --env even when stdin is a pipe', async () => {
    const env = { AWS_ACCESS_KEY_ID: ID, AWS_SECRET_ACCESS_KEY: SECRET };
    const { io } = await encode(['--env'], { input: stdin('ignored:input'), env });
    expect(io.out()).toBe(`${VALUE}\n`);
  });

  it('refuses a temporary (ASIA) key with the reason, exit 1, printing no value and no secret', async () => {
    const temporary = `ASIA${ID.slice(4)}`;
    const { code, io } = await encode([], { input: stdin(`${temporary}:${SECRET}`) });
    expect(code).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toBe(
      'nvcf-ecr: error: Access key ASIA…MPLE is a temporary (STS/SSO) key: NVCF needs a permanent IAM user access key (AKIA…). ' +
        'Temporary credentials have no session token in the registry credential, so ECR answers UnrecognizedClientException; ' +
        'create an access key for the pull user instead\n',
    );
    expect(io.err()).not.toContain(SECRET);
  });

  it('refuses a malformed secret naming its length only', async () => {
    const { code, io } = await encode([], { input: stdin(`${ID}:${SECRET.slice(0, 39)}!`) });
    expect(code).toBe(1);
    expect(io.err()).toContain(
      'Secret access key of AKIA…MPLE is not an AWS secret access key ([secret: 40 chars])',
    );
    expectNoEcho(io);
  });

  it('does not echo a secret passed where the id belongs (the pair swapped)', async () => {
    const { code, io } = await encode([], { input: stdin(`${SECRET}\n${ID}\n`) });
    expect(code).toBe(1);
    expect(io.err()).toContain('is not an IAM user access key id');
    expectNoEcho(io);
  });

  it('rejects input that is not a key pair without showing it', async () => {
    const { code, io } = await encode([], { input: stdin(`${SECRET}\n${ID}\nextra\n`) });
    expect(code).toBe(2);
    expect(io.err()).toContain(
      'nvcf-ecr: stdin holds 3 lines that are not a key pair: give one line ACCESS_KEY_ID:SECRET_ACCESS_KEY',
    );
    expectNoEcho(io);
  });

  it('rejects JSON without a key pair', async () => {
    const { code, io } = await encode([], { input: stdin(JSON.stringify({ SecretString: SECRET })) });
    expect(code).toBe(2);
    expect(io.err()).toContain('nvcf-ecr: stdin is JSON without an access key pair');
    expectNoEcho(io);
  });

  it('rejects empty stdin', async () => {
    const { code, io } = await encode([], { input: stdin('\n') });
    expect(code).toBe(2);
    expect(io.err()).toMatch(/^nvcf-ecr: stdin is empty: give one line ACCESS_KEY_ID:SECRET_ACCESS_KEY/);
  });

  it('refuses to read a secret typed at a terminal with --stdin', async () => {
    const { code, io } = await encode(['--stdin'], { input: stdin('', true) });
    expect(code).toBe(2);
    expect(io.err()).toMatch(/^nvcf-ecr: refusing to read a secret typed at a terminal/);
  });

  it('asks for the variables when the environment lacks them', async () => {
    const { code, io } = await encode(['--env'], { env: { AWS_ACCESS_KEY_ID: ID } });
    expect(code).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: no key pair: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pipe ACCESS_KEY_ID:SECRET_ACCESS_KEY to stdin\nRun 'nvcf-ecr encode --help' for usage.\n",
    );
  });

  it('rejects --stdin together with --env', async () => {
    const { code, io } = await encode(['--stdin', '--env']);
    expect(code).toBe(2);
    expect(io.err()).toMatch(/^nvcf-ecr: give --stdin or --env, not both\n/);
  });
});
