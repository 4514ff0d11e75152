import type { RegistryConfig } from '@nvcf-ecr/core/config';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';

/**
 * In-process views of a running sandbox for the rotation's end-to-end tests: synchronous reads of its state
 * (usable from `onCall`, after every call), the invariant checks, and snapshots to start runs from one world.
 */

// ---- in-process views (synchronous: usable from onCall) --------------------------------------------------

interface SecretView {
  arn: string;
  name: string;
  tags: { Key: string; Value: string }[];
  versions: { versionId: string; stages: string[]; secretString?: string }[];
  rotation: { nextWindowStart?: string | undefined };
  rotations: {
    token: string;
    status: string;
    attempts: { steps: { step: string; ok: boolean; error?: { message: string } }[] }[];
  }[];
}

interface NvcfCredentialView {
  registryCredentialId: string;
  registryCredentialName: string;
  registryHostname: string;
  lastUpdatedAt: string;
  username: string;
  /** Stale-cache mode: the secret a PATCH replaced, still served until `servedUntil`. */
  previous?: { username: string; servedUntil: string };
}

function inspect<T>(sb: RunningSandbox, module: string): T {
  const m = sb.modules.find((x) => x.name === module);
  if (!m) throw new Error(`no module ${module}`);
  return m.inspect() as T;
}

export function secretOf(sb: RunningSandbox, registry: RegistryConfig): SecretView {
  const s = inspect<{ secrets: SecretView[] }>(sb, 'secretsmanager').secrets.find(
    (x) => x.name === registry.secretName,
  );
  if (!s) throw new Error(`no secret ${registry.secretName}`);
  return s;
}

/** The key ids each running workload holds (its credential of the last refresh). */
export function workloadKeysOf(sb: RunningSandbox): { image: string; heldAccessKeyIds: string[] }[] {
  return inspect<{ workloads: { image: string; heldAccessKeyIds: string[] }[] }>(sb, 'nvcf').workloads;
}

export function credentialsOf(sb: RunningSandbox, registry: RegistryConfig): NvcfCredentialView[] {
  return inspect<{ credentials: NvcfCredentialView[] }>(sb, 'nvcf').credentials.filter(
    (c) => c.registryHostname === registry.hostname && c.registryCredentialName === registry.credentialName,
  );
}

export function keysOf(sb: RunningSandbox, registry: RegistryConfig) {
  return sb.world.iam
    .keysOf(registry.userName)
    .map((k) => ({ accessKeyId: k.accessKeyId, status: k.status }));
}

/** The access key id stored in a stage (undefined for the bootstrap value). */
export function keyInStage(sb: RunningSandbox, registry: RegistryConfig, stage: string): string | undefined {
  const v = secretOf(sb, registry).versions.find((x) => x.stages.includes(stage));
  if (!v?.secretString) return undefined;
  return (JSON.parse(v.secretString) as { accessKeyId?: string }).accessKeyId;
}

export type SandboxCall = Parameters<Parameters<RunningSandbox['onCall']>[0]>[0];

/**
 * How long the real NVCF may go on handing out a key after its credential was given another one: each API pod
 * caches a credential's secret for 5 minutes and only the pod that took the write forgets it (`NVIDIA/nvcf`,
 * `RegistryCredentialEssService`). The sandbox switches at once (unless in stale-cache mode), so the harness keeps
 * that history itself.
 */
export const NVCF_SECRET_CACHE_MS = 5 * 60_000;

interface CacheViolation {
  readonly accessKeyId: string;
  readonly hostname: string;
  readonly heldAtMs: number;
  readonly what: 'deleted' | 'deactivated';
}

const nvcfHistories = new WeakMap<RunningSandbox, { violations: CacheViolation[]; forget(): void }>();

/**
 * Watches, after every call, which keys NVCF's credentials hold (and serve, in stale-cache mode) and when, and
 * records every key an IAM call deletes or deactivates within {@link NVCF_SECRET_CACHE_MS} of NVCF holding it.
 * Keys are compared with the previous call's, and only across a successful DeleteAccessKey or UpdateAccessKey:
 * a control-plane reset or a test's restore removes keys without being a deletion.
 */
export function watchNvcf(sb: RunningSandbox): { observe(call?: SandboxCall): void } {
  const lastHeld = new Map<string, { atMs: number; hostname: string }>();
  let keys = new Map<string, string>();
  const violations: CacheViolation[] = [];
  nvcfHistories.set(sb, {
    violations,
    forget: () => {
      lastHeld.clear();
      violations.length = 0;
      keys = new Map();
    },
  });
  return {
    observe(call) {
      const now = sb.world.clock.nowMs();
      const current = new Map(
        [...sb.world.iam.keys.values()].map((k) => [k.accessKeyId, k.status as string]),
      );
      const iamChange =
        call?.service === 'iam' &&
        call.status < 300 &&
        (call.operation === 'DeleteAccessKey' || call.operation === 'UpdateAccessKey');
      if (iamChange) {
        for (const [id, before] of keys) {
          const after = current.get(id);
          const what =
            after === undefined
              ? 'deleted'
              : before === 'Active' && after !== 'Active'
                ? 'deactivated'
                : undefined;
          const held = lastHeld.get(id);
          if (what && held && now - held.atMs < NVCF_SECRET_CACHE_MS)
            violations.push({ accessKeyId: id, hostname: held.hostname, heldAtMs: held.atMs, what });
        }
      }
      keys = current;
      const nvcf = inspect<{ credentials: NvcfCredentialView[] }>(sb, 'nvcf');
      for (const c of nvcf.credentials) {
        lastHeld.set(c.username, { atMs: now, hostname: c.registryHostname });
        if (c.previous && Date.parse(c.previous.servedUntil) > now)
          lastHeld.set(c.previous.username, { atMs: now, hostname: c.registryHostname });
      }
    },
  };
}

/**
 * Invariants 1 and 2 of the rotation protocol (packages/core/src/rotation/README.md, "Invariants"), read from the
 * sandbox's state: NVCF's credential holds an Active key of the pull user; the user has at most two keys;
 * AWSCURRENT's key is Active; every key a running workload holds is Active (workloads refresh their credential
 * only hourly); and — for a sandbox started by {@link startHarness} — no key was deleted or
 * deactivated while NVCF's caches may still hand it out (within {@link NVCF_SECRET_CACHE_MS} of NVCF holding it;
 * reported while that lasts).
 */
export function invariantViolations(sb: RunningSandbox, registry: RegistryConfig): string[] {
  const out: string[] = [];
  const keys = sb.world.iam.keysOf(registry.userName);
  if (keys.length > 2) out.push(`user ${registry.userName} has ${keys.length} keys`);
  for (const c of credentialsOf(sb, registry)) {
    const k = sb.world.iam.keys.get(c.username);
    if (k?.status !== 'Active' || k.userName !== registry.userName)
      out.push(
        `NVCF holds ${maskAccessKeyId(c.username)}, which is ${k ? `${k.status} (${k.userName})` : 'deleted'}`,
      );
  }
  for (const w of workloadKeysOf(sb).filter((x) => x.image.startsWith(`${registry.hostname}/`))) {
    for (const id of w.heldAccessKeyIds) {
      const k = sb.world.iam.keys.get(id);
      if (k?.status !== 'Active')
        out.push(`a running workload holds ${maskAccessKeyId(id)}, which is ${k ? k.status : 'deleted'}`);
    }
  }
  const current = keyInStage(sb, registry, 'AWSCURRENT');
  if (current !== undefined && sb.world.iam.keys.get(current)?.status !== 'Active')
    out.push(`AWSCURRENT holds ${maskAccessKeyId(current)}, which is not Active`);
  const now = sb.world.clock.nowMs();
  for (const v of nvcfHistories.get(sb)?.violations ?? []) {
    if (v.hostname !== registry.hostname || now - v.heldAtMs >= NVCF_SECRET_CACHE_MS) continue;
    out.push(
      `${maskAccessKeyId(v.accessKeyId)} was ${v.what} while NVCF may still hand it out (it held it at ` +
        `${new Date(v.heldAtMs).toISOString()}; NVCF caches a credential's secret for 5 minutes)`,
    );
  }
  return out;
}

/** The sandbox's state and virtual time, for runs that must each start from the same world. */
export interface Snapshot {
  readonly modules: [string, unknown][];
  readonly atMs: number;
}

export function takeSnapshot(sb: RunningSandbox): Snapshot {
  return {
    modules: sb.modules.map((m) => [m.name, structuredClone(m.snapshot())]),
    atMs: sb.world.clock.nowMs(),
  };
}

/**
 * Puts the sandbox back as {@link takeSnapshot} found it: the services' state, the virtual clock (back to the
 * snapshot's time, or to real time when that is later: the clock never runs behind the machine's), no fault
 * rules, no running workloads, and the harness's NVCF history forgotten (the restored world has no past). NVCF's
 * and IAM's caches restart agreeing with the restored state.
 */
export function restoreSnapshot(sb: RunningSandbox, snap: Snapshot): void {
  for (const [name, data] of snap.modules)
    sb.modules.find((m) => m.name === name)?.restore(structuredClone(data));
  sb.world.faults.clear();
  // Workloads are not part of the state (as with `--state`): the ones running now hold keys of another past.
  void sb.modules
    .find((m) => m.name === 'nvcf')
    ?.control?.['DELETE nvcf/workloads']?.(undefined, new URLSearchParams());
  sb.world.clock.restore((snap.atMs - Date.now()) / 1000);
  nvcfHistories.get(sb)?.forget();
}

/** AWSPENDING left on a version that is not AWSCURRENT. */
export function stuckPending(sb: RunningSandbox, registry: RegistryConfig): string | undefined {
  return secretOf(sb, registry).versions.find(
    (v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'),
  )?.versionId;
}

/** The rotation record of a token (the sandbox's history). */
export function rotationRecord(sb: RunningSandbox, registry: RegistryConfig, token: string) {
  return secretOf(sb, registry)
    .rotations.filter((r) => r.token === token)
    .at(-1);
}
