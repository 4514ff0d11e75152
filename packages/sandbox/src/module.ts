import type { JsonServiceDef, QueryServiceDef, RestServiceDef } from './server/aws.ts';
import type { RequestHandler } from './server/http.ts';

/**
 * How an emulated service plugs into the sandbox. Each service folder (`services/<name>/`) exports a factory
 * `(world, ...) => ServiceModule`; the sandbox mounts its protocol definitions on the AWS front door, its
 * extra listeners (the OCI registry, the NVCF API), its control-plane routes, and includes its state in
 * persistence, `reset` and `GET /_sandbox/state`.
 */
export interface ServiceModule {
  /** Key of this module's section in `GET /_sandbox/state`, in the state file, and in `POST /_sandbox/seed`. */
  readonly name: string;
  readonly json?: readonly JsonServiceDef[];
  readonly query?: readonly QueryServiceDef[];
  readonly rest?: RestServiceDef;
  /** Handlers for the sandbox's other listeners. */
  readonly listeners?: Partial<Record<'registry' | 'nvcf', RequestHandler>>;
  /** Extra control-plane routes, keyed `"<METHOD> <path under /_sandbox/>"`, e.g. `"POST nvcf/pull"`. */
  readonly control?: Readonly<Record<string, ControlRoute>>;
  /** Applies `POST /_sandbox/seed` section `body[name]`. */
  seed?(section: unknown): unknown;
  /** Test-only view of everything (may include secret values: the control plane is never a production API). */
  inspect(): unknown;
  /** Serialisable state for `--state`. */
  snapshot(): unknown;
  restore(data: unknown): void;
  /**
   * Forget everything (`POST /_sandbox/reset`). Modules reset in list order and each is awaited, so a module
   * later in the list (the local runtime) may re-provision through the APIs of the ones before it.
   */
  reset(): void | Promise<void>;
  /** Background work (schedules); `close()` stops it. */
  start?(): void | Promise<void>;
  stop?(): void;
}

/** A control-plane route: JSON body in (undefined for GET), JSON out. Throw SandboxError for a 400. */
export type ControlRoute = (body: unknown, query: URLSearchParams) => Promise<unknown> | unknown;
