import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SandboxError } from '../errors.ts';

/** A request as the emulated services see it: fully read, headers lower-cased. */
export interface SandboxRequest {
  readonly method: string;
  /** Path exactly as received (still percent-encoded), without the query string. */
  readonly rawPath: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | undefined;
}

export type RequestHandler = (req: SandboxRequest) => Promise<SandboxResponse>;

/** Largest request body accepted (ECR layer parts travel base64 inside JSON; OCI blob uploads may be big). */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new SandboxError(`request body larger than ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function toRequest(req: IncomingMessage, body: Buffer, base: string): SandboxRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  return { method: (req.method ?? 'GET').toUpperCase(), rawPath, url: new URL(rawUrl, base), headers, body };
}

export interface Listener {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts an HTTP listener on 127.0.0.1 (never another interface). A handler that throws, or a body over the
 * limit, yields a 500/413 with a short text body: the server never crashes on input.
 */
export async function listen(
  handler: RequestHandler,
  port = 0,
  onError?: (err: unknown) => void,
): Promise<Listener> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      let response: SandboxResponse;
      try {
        const body = await readBody(req, MAX_BODY_BYTES);
        response = await handler(toRequest(req, body, `http://${req.headers.host ?? '127.0.0.1'}`));
      } catch (err) {
        onError?.(err);
        const tooBig = err instanceof SandboxError && err.message.startsWith('request body larger');
        response = {
          status: tooBig ? 413 : 500,
          headers: { 'content-type': 'text/plain' },
          body: tooBig ? 'Request Entity Too Large' : 'Internal Server Error',
        };
      }
      if (res.headersSent) return;
      const body =
        response.body === undefined
          ? undefined
          : typeof response.body === 'string'
            ? Buffer.from(response.body)
            : response.body;
      res.writeHead(response.status, {
        date: new Date().toUTCString(),
        ...(body ? { 'content-length': String(body.length) } : { 'content-length': '0' }),
        ...response.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new SandboxError(
          err.code === 'EADDRINUSE'
            ? `port ${port} on 127.0.0.1 is in use: pick another with --port`
            : err.message,
          { cause: err },
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** JSON response helper. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
