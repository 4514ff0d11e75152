import { randomBytes, randomUUID } from 'node:crypto';

/** Identifier generators shaped like AWS's, so parsers and maskers see realistic values. */

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+';

function pick(alphabet: string, n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** `AKIA` + 16 upper-case characters: a permanent access key id. */
export const accessKeyId = (): string => `AKIA${pick(UPPER_ALNUM, 16)}`;
/** 40 characters of the base64 alphabet, like an AWS secret access key. */
export const secretAccessKey = (): string => pick(SECRET_ALPHABET, 40);
/** IAM unique ids: `AIDA` users, `AGPA` groups, `ANPA` managed policies (21 characters). */
export const uniqueId = (prefix: 'AIDA' | 'AGPA' | 'ANPA' | 'AROA'): string =>
  `${prefix}${pick(UPPER_ALNUM, 17)}`;
export const requestId = (): string => randomUUID();
export const uuid = (): string => randomUUID();
/** Six random characters: the suffix Secrets Manager appends to secret ARNs. */
export const secretSuffix = (): string => pick('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 6);
/** An NGC personal API key lookalike. */
export const ngcApiKey = (): string =>
  `nvapi-${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-', 64)}`;
