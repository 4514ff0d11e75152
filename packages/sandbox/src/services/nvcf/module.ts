import { SandboxError } from '../../errors.ts';
import * as ids from '../../ids.ts';
import type { ServiceModule } from '../../module.ts';
import type { World } from '../../world.ts';
import type { ServiceModuleOptions } from '../index.ts';
import { NvcfBackend } from './backend.ts';
import { type CredentialValidator, ecrCredentialValidator } from './ecr-auth.ts';
import { simulatePull } from './pull.ts';
import type { NvcfSnapshot } from './records.ts';
import { createNvcfListener } from './routes.ts';
import { Workloads } from './workloads.ts';

/**
 * The NVCF API emulator: the `nvcf` listener, its state in `GET /_sandbox/state`
 * (section `nvcf`), seeds (`POST /_sandbox/seed {"nvcf": {...}}`, see `NvcfBackend.seed`) and three control
 * routes:
 *
 * - `POST nvcf/pull {image, ncaId?}` — NVCF starting an instance: `{ok: true, credentialId, digest, ...}` or
 *   `{ok: false, error, attempts}` (see `pull.ts`); the secret is the one NVCF's cache serves
 *   (`nvcfCredentialCacheSeconds`);
 * - `POST`/`GET`/`DELETE nvcf/workloads` — running workloads that pull on the virtual clock (`workloads.ts`);
 * - `POST nvcf/api-keys/revoke {key}` — the key then gets the gateway's 401 (an audit test's "revoked NGC key");
 * - `POST nvcf/stale-cache {seconds}` — stale-cache mode: after a PATCH replaces a secret, pulls keep
 *   getting the previous one for `seconds` of virtual time, as NVCF's 5-minute secret cache and running
 *   workloads do (`RegistryCredentialEssService`); 0 turns it off. Also settable with seed `staleCacheSeconds`.
 */
export interface NvcfModuleOptions extends ServiceModuleOptions {
  /** Replaces the ECR check NVCF runs on create and PATCH (tests of the emulator itself only). */
  validator?: CredentialValidator | undefined;
}

export function nvcfModule(world: World, options: NvcfModuleOptions = {}): ServiceModule {
  const backend = new NvcfBackend(world, {
    ngcApiKey: options.ngcApiKey ?? ids.ngcApiKey(),
    validator: options.validator ?? ecrCredentialValidator(world),
  });
  const workloads = new Workloads(world, backend);
  return {
    name: 'nvcf',
    listeners: { nvcf: createNvcfListener(world, backend) },
    control: {
      'POST nvcf/pull': (body) => simulatePull(world, backend, body),
      'POST nvcf/workloads': (body) => workloads.add(body),
      'GET nvcf/workloads': () => workloads.list(),
      'DELETE nvcf/workloads': () => {
        workloads.clear();
        return workloads.list();
      },
      'POST nvcf/api-keys/revoke': (body) => {
        const key = (body as { key?: unknown } | undefined)?.key;
        if (typeof key !== 'string' || key === '')
          throw new SandboxError('body must be {"key": "<NGC API key>"}');
        if (!backend.revokeKey(key))
          throw new SandboxError(
            'no such NGC API key (seed it first with POST seed {"nvcf": {"apiKeys": [...]}})',
          );
        return { revoked: true };
      },
      'POST nvcf/stale-cache': (body) => {
        const seconds = (body as { seconds?: unknown } | undefined)?.seconds;
        if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
          throw new SandboxError(
            'body must be {"seconds": <non-negative number>}; 0 turns stale-cache mode off',
          );
        }
        backend.staleCacheSeconds = seconds;
        return { staleCacheSeconds: seconds };
      },
    },
    seed: (section) => backend.seed(section),
    inspect: () => ({ ...(backend.inspect() as object), workloads: workloads.inspect() }),
    snapshot: () => backend.snapshot(),
    restore: (data) => backend.restore(data as NvcfSnapshot),
    reset: () => {
      workloads.clear();
      backend.reset();
    },
    start: () => workloads.start(),
    stop: () => workloads.stop(),
  };
}
