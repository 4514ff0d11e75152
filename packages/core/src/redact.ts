/**
 * Masking and redaction. The rotation code never hands a secret to a logger, an event or an error; this
 * module is the second line of defence that scrubs anything shaped like one before it leaves the process
 * (amazon-ecr-login leaked tokens through logs more than once:
 * https://github.com/aws-actions/amazon-ecr-login/issues/495).
 */

/** `AKIAIOSFODNN7EXAMPLE` → `AKIA…MPLE`. Short or empty input is masked completely. */
export function maskAccessKeyId(id: string): string {
  if (id.length < 12) return '****';
  return `${id.slice(0, 4)}…${id.slice(-4)}`;
}

/** Replaces every character of a secret by its length only: `[secret: 40 chars]`. */
export function maskSecret(value: string): string {
  return `[secret: ${value.length} chars]`;
}

// Access key ids: 4-letter prefix (AKIA permanent, ASIA temporary) then 16 upper-case alphanumerics. Only
// the prefix and the last 4 stay, as in maskAccessKeyId (`AKIA…MPLE`), so logs and reports agree.
const ACCESS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{12}([A-Z0-9]{4})\b/g;
// AWS secret access keys are 40 characters of base64 alphabet. Matching any 40-char run of that alphabet
// also catches other secrets of that shape; false positives only cost readability of a log line. A '='
// before the run is a `key=value` separator, not base64 (padding only ends a base64 string), so it must not
// shield the secret in `secretAccessKey=wJalr…`.
const SECRET_ACCESS_KEY = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
// NGC personal and service keys.
const NGC_KEY = /\bnvapi-[A-Za-z0-9_-]{8,}/g;
// base64 of "AKIA...:..." or "ASIA...:..." (what NVCF stores): "AKIA" encodes to "QUtJQ", "ASIA" to "QVNJQ".
const ENCODED_CREDENTIAL = /\b(?:QUtJQ|QVNJQ)[A-Za-z0-9+/]{20,}={0,2}/g;
// ECR authorization tokens are base64 of "AWS:<password>"; "AWS:" encodes to "QVdTO".
const ECR_TOKEN = /\bQVdTO[A-Za-z0-9+/]{20,}={0,2}/g;
// Basic and bearer authorization header values.
const AUTH_HEADER = /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/** Keys whose values are secret whatever they look like. Compared case-insensitively. */
const SECRET_KEYS = new Set([
  'secretaccesskey',
  'secret_access_key',
  'sessiontoken',
  'password',
  'apikey',
  'api_key',
  'authorization',
  'authorizationtoken',
  'secretstring',
  'secretbinary',
  'ngcapikey',
  'token',
]);

/** Scrubs secrets out of one string; access key ids are masked, not removed, so logs stay useful. */
export function redactString(text: string): string {
  return text
    .replace(AUTH_HEADER, '$1 [redacted]')
    .replace(ENCODED_CREDENTIAL, '[redacted-credential]')
    .replace(ECR_TOKEN, '[redacted-token]')
    .replace(NGC_KEY, 'nvapi-[redacted]')
    .replace(ACCESS_KEY_ID, '$1…$2')
    .replace(SECRET_ACCESS_KEY, '[redacted]');
}

/**
 * Deep copy of `value` with secrets scrubbed: values under secret-named keys are replaced, strings are
 * run through {@link redactString}, errors become `{name, message}`. Cycles are cut.
 */
export function redact(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactString(value.message) };
    if (value.cause !== undefined) out['cause'] = redact(value.cause, seen);
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEYS.has(k.toLowerCase()) && v !== undefined && v !== null ? '[redacted]' : redact(v, seen);
  }
  return out;
}
