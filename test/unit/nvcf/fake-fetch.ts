/**
 * An in-test `fetch`: answers from a script, records every request. A scripted entry is a response
 * description, an Error to reject with, or `'hang'` (never answers until the request is aborted).
 */

export interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Step = Scripted | Error | 'hang';

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface FakeFetch {
  fetch: typeof globalThis.fetch;
  requests: RecordedRequest[];
}

export function fakeFetch(steps: Step[]): FakeFetch {
  const requests: RecordedRequest[] = [];
  const queue = [...steps];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    requests.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers,
      body: init?.body as string | undefined,
    });
    const step = queue.shift();
    if (step === undefined) throw new Error(`fake fetch: no scripted answer for request ${requests.length}`);
    if (step === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () =>
          reject(new DOMException('This operation was aborted', 'AbortError')),
        );
      });
    }
    if (step instanceof Error) throw step;
    const text =
      step.body === undefined ? null : typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
    return new Response(text, {
      status: step.status,
      headers: step.headers ?? { 'content-type': 'application/json' },
    });
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

/** A Problem Details answer as NVCF sends it. */
export function problem(
  status: number,
  detail: string,
  type = 'urn:nv-boot:problem-details:bad-request',
  title = 'Bad Request',
): Scripted {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: { type, title, status, detail, instance: '/v2/nvcf/registry-credentials' },
  };
}
