import { type AccessKeyPair, encodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { CredentialCodecError } from '@nvcf-ecr/core/errors';
import type { Command, CommandContext } from '../cli.ts';
import { CliError, UsageError } from '../errors.ts';
import type { CliIo } from '../output.ts';

/**
 * `nvcf-ecr encode`: the NVCF registry credential value for an IAM user's key pair — standard base64 of
 * `AccessKeyId:SecretAccessKey` (core's `encodeRegistrySecret`;
 * https://docs.nvidia.com/nvcf/third-party-registries) — for a first setup by hand or a check. The input is a
 * secret: it is never printed, not even in part, not even in an error (errors name the access key id masked
 * and the secret by its length only).
 */

const HELP = `Prints the value NVCF stores for an ECR registry credential: base64 of AccessKeyId:SecretAccessKey.
Only the value is printed, on stdout, followed by a newline. Temporary keys (ASIA…, from STS, SSO or an
assumed role) are refused: NVCF keeps no session token, so ECR would answer UnrecognizedClientException.
The deployed rotation does this by itself; use encode for a one-off setup or to compare a value.

Where the key pair comes from:
  stdin (when it is a pipe or a file, or with --stdin): one line ACCESS_KEY_ID:SECRET_ACCESS_KEY, or two
      lines (the id, then the secret), or the JSON of 'aws iam create-access-key' or of the rotated secret
  the environment (when stdin is a terminal, or with --env): AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY

Options:
  --stdin      read the key pair from stdin
  --env        read it from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
  -h, --help   show this help

Examples:
  aws iam create-access-key --user-name nvcf-ecr-prod | nvcf-ecr encode
  printf '%s:%s\\n' "$ID" "$SECRET" | nvcf-ecr encode
  AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... nvcf-ecr encode --env

Exit codes:
  0  printed
  1  refused: a temporary key, or not an IAM user access key pair
  2  usage error: no key pair given, or both --stdin and --env`;

export const command: Command = {
  name: 'encode',
  summary: 'print the NVCF registry credential value for an IAM access key pair',
  usage: 'nvcf-ecr encode [--stdin | --env]',
  help: HELP,
  options: { stdin: { type: 'boolean' }, env: { type: 'boolean' } },
  positionals: { min: 0, max: 0 },
  run: encode,
};

/** Bytes of stdin read at most: a key pair is under 100, the create-access-key JSON under 500. */
const MAX_INPUT_BYTES = 64 * 1024;

async function encode({ values, io }: CommandContext): Promise<number> {
  if (values['stdin'] === true && values['env'] === true)
    throw new UsageError('give --stdin or --env, not both', 'encode');
  const fromStdin =
    values['stdin'] === true || (values['env'] !== true && io.stdin !== undefined && io.stdin.isTTY !== true);
  const pair = fromStdin ? parsePair(await readStdin(io)) : pairFromEnv(io.env);
  let value: string;
  try {
    value = encodeRegistrySecret(pair);
  } catch (err) {
    // The codec's messages mask the id and give the secret's length only (never its characters).
    if (err instanceof CredentialCodecError) throw new CliError(err.message, 1, { cause: err });
    throw err;
  }
  io.stdout.write(`${value}\n`);
  return 0;
}

async function readStdin(io: CliIo): Promise<string> {
  if (!io.stdin)
    throw new UsageError('there is no standard input to read: pipe the key pair in, or use --env', 'encode');
  if (io.stdin.isTTY === true) {
    throw new UsageError(
      'refusing to read a secret typed at a terminal (it would show on screen and in scrollback): pipe it in, or use --env',
      'encode',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += bytes.length;
    if (size > MAX_INPUT_BYTES)
      throw new UsageError(
        `stdin holds more than ${MAX_INPUT_BYTES} bytes: that is not a key pair`,
        'encode',
      );
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function pairFromEnv(env: CliIo['env']): AccessKeyPair {
  const accessKeyId = env['AWS_ACCESS_KEY_ID']?.trim();
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY']?.trim();
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError(
      'no key pair: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pipe ACCESS_KEY_ID:SECRET_ACCESS_KEY to stdin',
      'encode',
    );
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * The key pair in `text`: the JSON of `aws iam create-access-key` (`AccessKey.AccessKeyId`) or of the rotated
 * secret (`accessKeyId`), one line `ID:SECRET`, or two lines. Errors describe the shape, never the content.
 */
export function parsePair(text: string): AccessKeyPair {
  const trimmed = text.trim();
  const shapes =
    'one line ACCESS_KEY_ID:SECRET_ACCESS_KEY, two lines (id, then secret), or the JSON of aws iam create-access-key';
  if (trimmed === '') throw new UsageError(`stdin is empty: give ${shapes}`, 'encode');
  if (trimmed.startsWith('{')) {
    const pair = pairFromJson(trimmed);
    if (!pair) throw new UsageError(`stdin is JSON without an access key pair: give ${shapes}`, 'encode');
    return pair;
  }
  const lines = trimmed
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 1) {
    const line = lines[0] as string;
    const colon = line.indexOf(':');
    if (colon > 0 && colon < line.length - 1) {
      return { accessKeyId: line.slice(0, colon), secretAccessKey: line.slice(colon + 1) };
    }
  }
  if (lines.length === 2) return { accessKeyId: lines[0] as string, secretAccessKey: lines[1] as string };
  throw new UsageError(
    `stdin holds ${lines.length} line${lines.length === 1 ? '' : 's'} that are not a key pair: give ${shapes}`,
    'encode',
  );
}

function pairFromJson(text: string): AccessKeyPair | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const candidates = [doc, (doc as { AccessKey?: unknown } | null)?.AccessKey];
  for (const c of candidates) {
    if (c === null || typeof c !== 'object') continue;
    const o = c as Record<string, unknown>;
    const accessKeyId = o['AccessKeyId'] ?? o['accessKeyId'];
    const secretAccessKey = o['SecretAccessKey'] ?? o['secretAccessKey'];
    if (typeof accessKeyId === 'string' && typeof secretAccessKey === 'string')
      return { accessKeyId, secretAccessKey };
  }
  return undefined;
}
