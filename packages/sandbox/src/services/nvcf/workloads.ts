import { decodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { SandboxError } from '../../errors.ts';
import * as ids from '../../ids.ts';
import type { World } from '../../world.ts';
import type { NvcfBackend } from './backend.ts';
import { type ImageParts, parseImage, pullWithSecret, unservedRegistry } from './pull.ts';
import { DEFAULT_NCA_ID } from './records.ts';

/**
 * Running NVCF workloads (`POST /_sandbox/nvcf/workloads {image, pullEverySeconds}` → `{id}`;
 * `GET /_sandbox/nvcf/workloads` → `{workloads: [{id, image, pulls, failures: [{at, error}]}]}`;
 * `DELETE /_sandbox/nvcf/workloads` stops them all). A workload is an instance that keeps running: it gets the
 * registry credentials NVCF serves when it starts and at every refresh (`nvcfWorkloadRefreshSeconds`: the
 * hourly CronJob of NVIDIA/nvcf's `image-credential-helper`), and pulls its image with what it holds every
 * `pullEverySeconds` of virtual time (restarts, extra replicas). Each pull exchanges the held key for an ECR
 * token through the sandbox's AWS endpoint, so a deactivated or deleted key fails and IAM records the use.
 * NVCF hands every CONTAINER credential for the image's host to the compute plane; a pull succeeds if one
 * works.
 *
 * Virtual time may jump far ahead at once. The world does not change during a jump, so the pulls due in it
 * are run as at most two real pulls — one with the credentials held before the first refresh inside the jump,
 * one after it — and each due pull is counted (and, on failure, recorded at its own virtual time) with the
 * outcome of its group.
 */

/** The real-time tick on which due pulls run, besides every clock advance. */
const TICK_MS = 1_000;
/** A pull every 10 s of virtual time at the most often: more would only measure the sandbox. */
const MIN_PULL_EVERY_SECONDS = 10;

interface Held {
  readonly credentialId: string;
  readonly hostname: string;
  readonly value: string;
}

interface Workload {
  readonly id: string;
  readonly image: string;
  readonly parts: ImageParts;
  readonly ncaId: string;
  readonly pullEveryMs: number;
  held: Held[];
  nextPullMs: number;
  nextRefreshMs: number;
  pulls: number;
  failures: { at: string; error: string }[];
}

export interface WorkloadView {
  id: string;
  image: string;
  pulls: number;
  failures: { at: string; error: string }[];
}

export class Workloads {
  readonly #world: World;
  readonly #backend: NvcfBackend;
  #workloads: Workload[] = [];
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #offAdvance: (() => void) | undefined;
  #generation = 0;

  public constructor(world: World, backend: NvcfBackend) {
    this.#world = world;
    this.#backend = backend;
  }

  public start(): void {
    this.#timer = setInterval(() => this.#schedule(), TICK_MS);
    this.#timer.unref?.();
    this.#offAdvance = this.#world.clock.onAdvance(() => this.#schedule());
  }

  public stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#offAdvance?.();
    this.clear();
  }

  public clear(): void {
    this.#generation++;
    this.#workloads = [];
  }

  /** `POST nvcf/workloads`: starts one, pulling at once as an instance does when it starts. */
  public async add(body: unknown): Promise<{ id: string }> {
    const b = (body ?? {}) as { image?: unknown; pullEverySeconds?: unknown; ncaId?: unknown };
    if (typeof b.image !== 'string' || b.image === '')
      throw new SandboxError(
        'body must be {"image": "<registry>/<repository>:<tag>", "pullEverySeconds": n}',
      );
    const every = b.pullEverySeconds;
    if (typeof every !== 'number' || !Number.isFinite(every) || every < MIN_PULL_EVERY_SECONDS) {
      throw new SandboxError(
        `pullEverySeconds must be a number of seconds of virtual time, at least ${MIN_PULL_EVERY_SECONDS}`,
      );
    }
    const ncaId = typeof b.ncaId === 'string' ? b.ncaId : DEFAULT_NCA_ID;
    const parts = parseImage(b.image);
    const unserved = unservedRegistry(this.#world, parts.host);
    if (unserved) throw new SandboxError(unserved);
    const held = this.#served(ncaId, parts.host);
    if (held.length === 0)
      throw new SandboxError(`Missing CONTAINER registry credential for hostname '${parts.host}'`);
    const now = this.#world.clock.nowMs();
    const w: Workload = {
      id: ids.uuid(),
      image: b.image,
      parts,
      ncaId,
      pullEveryMs: every * 1000,
      held,
      nextPullMs: now,
      nextRefreshMs: now + this.#world.profile.ms('nvcfWorkloadRefreshSeconds'),
      pulls: 0,
      failures: [],
    };
    this.#workloads.push(w);
    await this.#schedule();
    return { id: w.id };
  }

  public list(): { workloads: WorkloadView[] } {
    return {
      workloads: this.#workloads.map((w) => ({
        id: w.id,
        image: w.image,
        pulls: w.pulls,
        failures: w.failures.map((f) => ({ ...f })),
      })),
    };
  }

  /**
   * The test-only view (`inspect`, in-process): which key each workload holds, by access key id (the username
   * of the credential it got at its last refresh, never the secret), so that a test can check after every call
   * that no key a running workload holds was deactivated or deleted.
   */
  public inspect(): { id: string; image: string; heldAccessKeyIds: string[] }[] {
    return this.#workloads.map((w) => ({
      id: w.id,
      image: w.image,
      heldAccessKeyIds: w.held.flatMap((h) => {
        try {
          return [decodeRegistrySecret(h.value, h.hostname).username];
        } catch {
          return [];
        }
      }),
    }));
  }

  /** What NVCF hands a workload now: every CONTAINER credential for the host, as its secret cache serves it. */
  #served(ncaId: string, host: string): Held[] {
    return this.#backend.containerCredentialsFor(ncaId, host).map((c) => ({
      credentialId: c.registryCredentialId,
      hostname: c.registryHostname,
      value: this.#backend.servedSecret(c).value,
    }));
  }

  /** Runs the due pulls of every workload, one catch-up at a time (counted as in-flight work). */
  #schedule(): Promise<void> {
    if (this.#workloads.length === 0) return this.#chain;
    const generation = this.#generation;
    this.#chain = this.#chain
      .then(() =>
        this.#world.tracker.track(async () => {
          for (const w of [...this.#workloads]) {
            if (generation !== this.#generation) return;
            await this.#catchUp(w);
          }
        }),
      )
      .catch((err) => this.#world.log.error('nvcf workloads failed', { error: err }));
    return this.#chain;
  }

  async #catchUp(w: Workload): Promise<void> {
    const now = this.#world.clock.nowMs();
    if (w.nextPullMs > now) return;
    const due: number[] = [];
    for (let t = w.nextPullMs; t <= now; t += w.pullEveryMs) due.push(t);
    w.nextPullMs = (due.at(-1) ?? now) + w.pullEveryMs;
    const refreshMs = this.#world.profile.ms('nvcfWorkloadRefreshSeconds');
    // Without a refresh interval (the ideal profile) a workload always holds what NVCF serves.
    const refreshAt = refreshMs === 0 ? Number.NEGATIVE_INFINITY : w.nextRefreshMs;
    const before = due.filter((t) => t < refreshAt);
    const after = due.filter((t) => t >= refreshAt);
    if (before.length > 0) await this.#pull(w, before);
    if (refreshAt <= now) {
      const fresh = this.#served(w.ncaId, w.parts.host);
      // A credential deleted from NVCF leaves the workload with what it had (its Secret stays in the cluster).
      if (fresh.length > 0) w.held = fresh;
      if (refreshMs > 0) while (w.nextRefreshMs <= now) w.nextRefreshMs += refreshMs;
    }
    if (after.length > 0) await this.#pull(w, after);
  }

  async #pull(w: Workload, times: readonly number[]): Promise<void> {
    const errors: string[] = [];
    let ok = false;
    for (const h of w.held) {
      const outcome = await pullWithSecret(this.#world, h.hostname, h.value, w.parts);
      if (outcome.ok) {
        ok = true;
        break;
      }
      errors.push(w.held.length === 1 ? outcome.error : `${h.credentialId}: ${outcome.error}`);
    }
    w.pulls += times.length;
    if (!ok) {
      const error = errors.join('; ');
      for (const t of times) w.failures.push({ at: new Date(t).toISOString(), error });
    }
  }
}
