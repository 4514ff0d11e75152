import { SandboxError } from '../errors.ts';
import type { ControlRoute, ServiceModule } from '../module.ts';
import type { SandboxInfo } from '../sandbox.ts';
import { json, type RequestHandler, type SandboxResponse } from '../server/http.ts';
import type { CallRecord, World } from '../world.ts';

/**
 * The control plane (`/_sandbox/...` on the control endpoint): JSON in and out. It is a test and demo API —
 * `GET state` shows secret values on purpose, so that tests can prove what NVCF holds — and it listens on
 * 127.0.0.1 only, like every sandbox listener. Route names are a contract other tests depend on.
 */
export interface ControlOptions {
  world: World;
  modules: readonly ServiceModule[];
  info: SandboxInfo;
  reset: () => void | Promise<void>;
  calls: () => CallRecord[];
}

export function control(options: ControlOptions): RequestHandler {
  const { world, modules, info } = options;
  const routes: Record<string, ControlRoute> = {
    'POST reset': async () => {
      await options.reset();
      return { reset: true };
    },
    'GET state': () => ({
      accountId: info.accountId,
      region: info.region,
      clock: clockView(world),
      profile: world.profile.view(),
      ...Object.fromEntries(modules.map((m) => [m.name, m.inspect()])),
    }),
    'GET faults': () => ({ faults: world.faults.list() }),
    // The request log: every answered call in order, optionally from a sequence number and for one service.
    'GET calls': (_body, query) => {
      const since = Number(query.get('since') ?? '0');
      const service = query.get('service');
      return { calls: options.calls().filter((c) => c.seq > since && (!service || c.service === service)) };
    },
    'DELETE calls': () => {
      options.calls().length = 0;
      return { calls: [] };
    },
    'POST faults': (body) => {
      const rules = Array.isArray(body)
        ? body
        : ((body as { faults?: unknown; rules?: unknown } | undefined)?.faults ??
          (body as { rules?: unknown })?.rules ?? [body]);
      if (!Array.isArray(rules))
        throw new SandboxError('body must be a fault rule, an array of rules, or {faults: [...]}');
      return { faults: world.faults.add(rules) };
    },
    'DELETE faults': () => {
      world.faults.clear();
      return { faults: [] };
    },
    'GET profile': () => world.profile.view(),
    'POST profile': (body) => world.profile.apply(body),
    'GET clock': () => clockView(world),
    'POST clock': (body) => {
      const seconds = (body as { advanceSeconds?: unknown } | undefined)?.advanceSeconds;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new SandboxError('advanceSeconds must be a non-negative number of seconds');
      }
      world.clock.advance(seconds);
      world.changed();
      return clockView(world);
    },
    'POST settle': async (body) => {
      const timeoutMs = (body as { timeoutMs?: unknown } | undefined)?.timeoutMs;
      const settled = await world.tracker.settle(typeof timeoutMs === 'number' ? timeoutMs : 60_000);
      return { settled, inFlight: world.tracker.inFlight };
    },
    'POST seed': async (body) => {
      if (!body || typeof body !== 'object')
        throw new SandboxError('seed body must be an object keyed by section, e.g. {"nvcf": {...}}');
      const out: Record<string, unknown> = {};
      for (const [section, data] of Object.entries(body)) {
        const m = modules.find((x) => x.name === section && x.seed);
        if (!m?.seed) {
          throw new SandboxError(
            `unknown seed section '${section}'; known: ${modules
              .filter((x) => x.seed)
              .map((x) => x.name)
              .join(', ')}`,
          );
        }
        out[section] = await m.seed(data);
      }
      world.changed();
      return out;
    },
  };
  for (const m of modules) Object.assign(routes, m.control ?? {});

  return async (req): Promise<SandboxResponse> => {
    const prefix = '/_sandbox/';
    if (!req.url.pathname.startsWith(prefix))
      return json(404, { error: 'control routes live under /_sandbox/' });
    const key = `${req.method} ${req.url.pathname.slice(prefix.length).replace(/\/$/, '')}`;
    const route = routes[key];
    if (!route)
      return json(404, { error: `unknown control route '${key}'`, routes: Object.keys(routes).sort() });
    let body: unknown;
    if (req.body.length > 0) {
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return json(400, { error: 'body is not valid JSON' });
      }
    }
    try {
      return json(200, (await route(body, req.url.searchParams)) ?? {});
    } catch (err) {
      if (err instanceof SandboxError || err instanceof RangeError) return json(400, { error: err.message });
      world.log.error('control route failed', { route: key, error: err });
      return json(500, { error: 'internal sandbox error' });
    }
  };
}

function clockView(world: World): { now: string; offsetSeconds: number } {
  return { now: world.clock.now().toISOString(), offsetSeconds: world.clock.offsetSeconds };
}
