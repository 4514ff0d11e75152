/**
 * The "in use" window model: how long after a key was last used — or last handed out by NVCF — something may
 * still hold it. Rotation safety is judged against the worst case (invariant 2), so every bound here is the
 * pessimistic one, and the sum is what createSecret and the retirement wait before they delete or deactivate
 * a key (README.md, "The window model").
 */

/**
 * How often NVCF's running workloads refresh the registry credential they pull with: the compute plane's
 * credential helper runs hourly (`0 * * * *`, NVIDIA's image-credential-helper, `imagecredential.go`).
 * Until its next refresh, a running workload keeps the key it got at its last one.
 */
export const WORKLOAD_REFRESH_MS = 3_600_000;

/**
 * How late IAM's `GetAccessKeyLastUsed` may show a use. IAM documents no bound for access keys; its
 * last-accessed information "usually appears within 4 hours"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html), so 4 hours is taken as
 * the worst case: a use inside the last 4 hours may not show at all yet.
 */
export const LAST_USED_LAG_MS = 4 * 3_600_000;

/** Added to the modelled worst case for what the model does not know (clock skew, a slow refresh). */
export const IN_USE_MARGIN_MS = 3_600_000;

/**
 * A key whose last recorded use is this recent counts as in use: a workload that used it may hold it until its
 * next refresh, and a later use may not show yet. Workload refresh + last-used lag + margin = 6 hours.
 */
export const IN_USE_WINDOW_MS = WORKLOAD_REFRESH_MS + LAST_USED_LAG_MS + IN_USE_MARGIN_MS;

/**
 * How long NVCF may keep handing out a key after its credential was given another one: each API pod caches a
 * credential's secret for 5 minutes (`expireAfterWrite`), invalidated only on the pod that took the write, and
 * NVCT caches credentials for about 5 minutes more, possibly filled from a pod's stale copy just before it
 * expired (`RegistryCredentialEssService` in NVIDIA/nvcf; NVCT's "about 5 minutes":
 * https://docs.nvidia.com/nvcf/third-party-registries): 10 minutes end to end. Counted from the rotation's own clock read after NVCF
 * answered the PATCH, so no clock difference with NVCF shortens it.
 */
export const NVCF_CACHE_LIFETIME_MS = 10 * 60_000;

/**
 * How long after NVCF was given another key a running workload may still hold the one it replaced: a new
 * instance may start with the cached key up to {@link NVCF_CACHE_LIFETIME_MS} later, and it keeps that key until
 * its next hourly refresh. No Active key NVCF held is deleted or deactivated before this has passed, forced or
 * not.
 */
export const NVCF_RELEASE_MS = NVCF_CACHE_LIFETIME_MS + WORKLOAD_REFRESH_MS;

/** Whether a key last used at `lastUsedAt` is in use at `now` (undefined: never used). */
export function usedWithinWindow(lastUsedAt: Date | undefined, now: Date): boolean {
  return lastUsedAt !== undefined && now.getTime() - lastUsedAt.getTime() < IN_USE_WINDOW_MS;
}

/** When a key last used at `lastUsedAt` stops counting as in use. */
export function unusedFrom(lastUsedAt: Date): Date {
  return new Date(lastUsedAt.getTime() + IN_USE_WINDOW_MS);
}

/** Hours, for messages ("6 h"). */
export function hours(ms: number): string {
  return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
}
