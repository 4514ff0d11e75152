import { CredentialCodecError, type CredentialCodecErrorCode } from '../errors.ts';
import { maskAccessKeyId, maskSecret } from '../redact.ts';

/**
 * The registry-credential codec: what NVCF stores for an ECR registry is the standard base64 of
 * `AccessKeyId:SecretAccessKey` (https://docs.nvidia.com/nvcf/third-party-registries).
 * {@link encodeRegistrySecret} builds it from an IAM user's permanent key; {@link decodeRegistrySecret} is NVCF's
 * server-side check (`validateSecretFormat`,
 * NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialService.java) reproduced rule for rule, so that
 * the sandbox's NVCF emulator answers exactly as NVCF does and the CLI can predict NVCF's 400 before sending
 * anything.
 */

export { maskAccessKeyId, maskSecret, redact, redactString } from '../redact.ts';

/** An IAM user's permanent access key pair. */
export interface AccessKeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The two halves NVCF reads out of a registry credential. */
export interface RegistrySecret {
  readonly username: string;
  readonly password: string;
}

/**
 * NVCF's 400 detail for any value that is not base64 of exactly `username:password`
 * (`RegistryCredentialService.java`).
 */
export const INVALID_SECRET_FORMAT_MESSAGE =
  'Invalid request: Registry credential secret must be base64 encoded username:password format';
/** NVCF's 400 detail for an NGC credential without the `$oauthtoken` username (same file). */
export const MISSING_OAUTHTOKEN_MESSAGE =
  'Invalid request: Missing $oauthtoken username in NGC registry credential';

// Permanent IAM user keys start with AKIA; ASIA marks temporary (STS/SSO) keys. Both are followed by 16
// upper-case letters or digits. Secret access keys are 40 characters of the base64 alphabet without '='.
const PERMANENT_KEY_ID = /^AKIA[A-Z0-9]{16}$/;
const TEMPORARY_KEY_ID = /^ASIA[A-Z0-9]{16}$/;
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+]{40}$/;
// NVCF's NGC hosts (`validateSecretFormat`): the check is `endsWith`, so `helm.ngc.nvidia.com` counts.
const NGC_HOST_SUFFIXES = ['nvcr.io', 'ngc.nvidia.com'];

/**
 * Why an access key id cannot be used as NVCF's ECR credential, or `undefined` when it can. The message
 * shows the id masked (`AKIA…WXYZ`): ids are not secret, but logs and reports only ever show them masked.
 */
export function accessKeyIdProblem(
  accessKeyId: string,
): { code: CredentialCodecErrorCode; message: string } | undefined {
  if (PERMANENT_KEY_ID.test(accessKeyId)) return undefined;
  if (TEMPORARY_KEY_ID.test(accessKeyId)) {
    return {
      code: 'temporary-key',
      message:
        `Access key ${maskAccessKeyId(accessKeyId)} is a temporary (STS/SSO) key: NVCF needs a permanent IAM user ` +
        'access key (AKIA…). Temporary credentials have no session token in the registry credential, so ECR ' +
        'answers UnrecognizedClientException; create an access key for the pull user instead',
    };
  }
  return {
    code: 'invalid-access-key-id',
    message:
      `Access key id ${describeKeyId(accessKeyId)} is not an IAM user access key id: expected 'AKIA' followed by ` +
      '16 upper-case letters or digits, e.g. AKIAIOSFODNN7EXAMPLE',
  };
}

// Something that is not shaped like a key id may be a secret passed in the wrong field (id and secret
// swapped): show its length only, never its first and last characters.
function describeKeyId(id: string): string {
  const shown = /^[A-Z0-9]{16,24}$/.test(id) ? `${maskAccessKeyId(id)} ` : '';
  return `${shown}(${id.length} characters)`;
}

/**
 * Encodes a permanent IAM access key pair as NVCF's registry credential value: standard base64 (RFC 4648
 * alphabet `+/`, padded, no line breaks) of `AccessKeyId:SecretAccessKey`
 * (https://docs.nvidia.com/nvcf/third-party-registries).
 * Refuses temporary (`ASIA…`) keys and malformed ids or secrets with a {@link CredentialCodecError} whose
 * message never contains the secret.
 *
 * @example
 * const value = encodeRegistrySecret({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey });
 * // PATCH /v2/nvcf/registry-credentials/{id} with { secret: { name, value } }
 */
export function encodeRegistrySecret(pair: AccessKeyPair): string {
  const id: unknown = pair?.accessKeyId;
  const secret: unknown = pair?.secretAccessKey;
  if (typeof id !== 'string') {
    throw new CredentialCodecError(
      'invalid-access-key-id',
      `Access key id must be a string, got ${typeName(id)}`,
    );
  }
  const idProblem = accessKeyIdProblem(id);
  if (idProblem) throw new CredentialCodecError(idProblem.code, idProblem.message);
  if (typeof secret !== 'string' || !SECRET_ACCESS_KEY.test(secret)) {
    const shown = typeof secret === 'string' ? maskSecret(secret) : typeName(secret);
    throw new CredentialCodecError(
      'invalid-secret-access-key',
      `Secret access key of ${maskAccessKeyId(id)} is not an AWS secret access key (${shown}): expected exactly 40 ` +
        "characters of A-Z a-z 0-9 '/' '+', as returned by iam:CreateAccessKey",
    );
  }
  return Buffer.from(`${id}:${secret}`, 'utf8').toString('base64');
}

/**
 * NVCF's server-side validation of a registry credential value (`validateSecretFormat`), rule for rule:
 *
 * 1. `value` must be a JSON string (an object, number, null... is refused);
 * 2. it is decoded like Java's `Base64.getDecoder()` ({@link decodeJavaBase64});
 * 3. the decoded text is split like Java's `String.split(":")` ({@link splitLikeJava}) and must give
 *    exactly two parts, neither blank in the sense of Java's `String.isBlank()` ({@link isJavaBlank});
 * 4. for hostnames ending in `nvcr.io` or `ngc.nvidia.com` the decoded text must contain `$oauthtoken`.
 *
 * Failures throw a {@link CredentialCodecError} whose `message` is NVCF's exact 400 detail, so the sandbox
 * can answer with it verbatim; `code` says which rule failed. Nothing of the value is ever put in a message.
 */
export function decodeRegistrySecret(value: unknown, hostname: string): RegistrySecret {
  if (typeof value !== 'string')
    throw new CredentialCodecError('invalid-format', INVALID_SECRET_FORMAT_MESSAGE);
  const bytes = decodeJavaBase64(value);
  if (bytes === undefined) throw new CredentialCodecError('invalid-base64', INVALID_SECRET_FORMAT_MESSAGE);
  // Java's `new String(bytes)` decodes UTF-8 (the default charset since Java 18) and replaces malformed
  // sequences with U+FFFD instead of failing; TextDecoder without `fatal` does the same.
  const text = new TextDecoder('utf-8').decode(bytes);
  const parts = splitLikeJava(text, ':');
  const [username = '', password = ''] = parts;
  if (parts.length !== 2 || isJavaBlank(username) || isJavaBlank(password)) {
    throw new CredentialCodecError('invalid-format', INVALID_SECRET_FORMAT_MESSAGE);
  }
  const ngcHost = typeof hostname === 'string' && NGC_HOST_SUFFIXES.some((s) => hostname.endsWith(s));
  if (ngcHost && !text.includes('$oauthtoken')) {
    throw new CredentialCodecError('missing-oauthtoken', MISSING_OAUTHTOKEN_MESSAGE);
  }
  return { username, password };
}

/**
 * Decodes a registry credential value into the AWS key pair it carries: NVCF's format check
 * ({@link decodeRegistrySecret}) and then the AWS shape of each half. The sandbox uses it to pull with
 * NVCF's stored credential; the audit uses it to say which key NVCF holds.
 */
export function decodeAccessKeyPair(value: unknown, hostname: string): AccessKeyPair {
  const { username, password } = decodeRegistrySecret(value, hostname);
  const idProblem = accessKeyIdProblem(username);
  if (idProblem) throw new CredentialCodecError(idProblem.code, idProblem.message);
  if (!SECRET_ACCESS_KEY.test(password)) {
    throw new CredentialCodecError(
      'invalid-secret-access-key',
      `The credential's password for ${maskAccessKeyId(username)} is not an AWS secret access key ` +
        `(${maskSecret(password)}): expected exactly 40 characters of A-Z a-z 0-9 '/' '+'`,
    );
  }
  return { accessKeyId: username, secretAccessKey: password };
}

// Standard alphabet only (RFC 4648 table 1): the URL-safe '-' and '_' are illegal for Java's basic decoder.
const BASE64_VALUES = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
  BASE64_VALUES[c.charCodeAt(0)] = i;
}
const PAD = '='.charCodeAt(0);

/**
 * Decodes `text` exactly as Java's `Base64.getDecoder().decode(String)` (the basic, non-MIME decoder NVCF
 * uses), or returns `undefined` where Java throws `IllegalArgumentException`:
 *
 * - the string is converted with ISO-8859-1 first, so a character above U+00FF becomes `?` (illegal);
 * - only `A–Z a–z 0–9 + /` are data; white space, line breaks and the URL-safe `- _` are illegal;
 * - a single character is refused ("should at least have 2 bytes");
 * - `=` is optional, but where it appears it ends the data and must complete the last 4-character unit
 *   exactly: `QQ==` and `QUI=` are fine, `QQ=` (missing `=`), `QQ=x`, `QUJD=` (padding after a full unit)
 *   and `QQ==QUJD` (data after the padding) are refused;
 * - a final unit of one character (`QUJDR`) is refused ("not enough valid bits"), while units of two or
 *   three characters decode as if padded, and non-zero unused low bits are ignored (`QR` decodes like `QQ`).
 *
 * Misplaced padding is therefore never repaired or skipped: we refuse exactly what Java refuses, because
 * NVCF would answer 400 to it and the rotation must not store a value NVCF cannot read.
 */
export function decodeJavaBase64(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n === 0) return new Uint8Array(0);
  if (n < 2) return undefined;
  const out = new Uint8Array(Math.ceil(n / 4) * 3);
  let dp = 0;
  let bits = 0;
  let shift = 18;
  let sp = 0;
  while (sp < n) {
    const code = text.charCodeAt(sp++);
    const v = code < 256 ? (BASE64_VALUES[code] ?? -1) : -1;
    if (v < 0) {
      if (code !== PAD) return undefined;
      // '=' at the start of a unit, or after two characters without a second '=', is a wrong ending unit.
      if (shift === 18) return undefined;
      if (shift === 6 && (sp === n || text.charCodeAt(sp++) !== PAD)) return undefined;
      break;
    }
    bits |= v << shift;
    shift -= 6;
    if (shift < 0) {
      out[dp++] = (bits >> 16) & 0xff;
      out[dp++] = (bits >> 8) & 0xff;
      out[dp++] = bits & 0xff;
      shift = 18;
      bits = 0;
    }
  }
  if (shift === 6) {
    out[dp++] = (bits >> 16) & 0xff;
  } else if (shift === 0) {
    out[dp++] = (bits >> 16) & 0xff;
    out[dp++] = (bits >> 8) & 0xff;
  } else if (shift === 12) {
    return undefined;
  }
  // Anything after the padding is an error for the basic decoder.
  if (sp < n) return undefined;
  return out.subarray(0, dp);
}

/**
 * Java's `String.split(separator)` (limit 0) for a literal, non-empty separator: a string without the
 * separator gives itself; otherwise the pieces, with trailing empty strings removed (`'user:pass:'` → 2
 * parts, `':::'` → 0 parts, `':pass'` → `['', 'pass']`).
 */
export function splitLikeJava(text: string, separator: string): string[] {
  if (!text.includes(separator)) return [text];
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

// Java's Character.isWhitespace: Unicode space, line and paragraph separators except the no-break spaces
// U+00A0, U+2007 and U+202F, plus TAB, LF, VT, FF, CR and the file/group/record/unit separators U+001C–U+001F.
const JAVA_WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
  0x2005, 0x2006, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x205f, 0x3000,
]);

/** Java's `String.isBlank()`: empty, or only characters for which `Character.isWhitespace` is true. */
export function isJavaBlank(text: string): boolean {
  for (const ch of text) {
    if (!JAVA_WHITESPACE.has(ch.codePointAt(0) ?? 0)) return false;
  }
  return true;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
