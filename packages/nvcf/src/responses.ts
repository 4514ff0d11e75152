import { apiErrorFor, type NvcfApiError, NvcfResponseError, scrubSecrets } from './errors.ts';
import { parseRetryAfter } from './retry.ts';
import type { ProblemDetails, RequestStatus } from './types.ts';

/**
 * Reading what NVCF answered: a success body as JSON, an error body as the typed error of its status (Problem
 * Details, the NGC gateway's `requestStatus`, or raw text), a wrapper's member, a network failure's cause.
 */

export function causeOf(err: Error): string {
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  if (!cause) return '';
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  return code ? ` (${code})` : typeof cause.message === 'string' ? ` (${cause.message})` : '';
}

export function parseSuccess(method: string, path: string, status: number, text: string): unknown {
  if (status === 204 || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new NvcfResponseError(method, path, status, 'not JSON', { cause: err });
  }
}

/** Problem Details, the gateway's `requestStatus`, or raw text (scrubbed, shortened). */
export function errorFrom(
  method: string,
  path: string,
  status: number,
  text: string,
  headers: Headers,
  nowMs: number,
): NvcfApiError {
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), nowMs);
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (isObject(parsed)) {
    const rs = parsed['requestStatus'];
    if (isObject(rs))
      return apiErrorFor({ method, path, status, requestStatus: rs as RequestStatus, retryAfterMs });
    if ('detail' in parsed || 'title' in parsed || 'type' in parsed) {
      return apiErrorFor({ method, path, status, problem: parsed as ProblemDetails, retryAfterMs });
    }
  }
  const raw =
    text.trim() === '' ? undefined : scrubSecrets(text.length > 500 ? `${text.slice(0, 500)}…` : text);
  return apiErrorFor({ method, path, status, rawBody: raw, retryAfterMs });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function member<T>(
  body: unknown,
  key: string,
  method: string,
  path: string,
  check: (v: unknown) => boolean,
): T {
  const value = isObject(body) ? body[key] : undefined;
  if (!check(value)) throw new NvcfResponseError(method, path, 200, `expected a '${key}' member`);
  return value as T;
}
