/**
 * Platforms, normalised the containerd way (containerd/platforms:database.go, `normalizeArch`), and the
 * matching rules NVCF needs. After normalisation a platform is written `os/arch[/variant]`, e.g.
 * `linux/amd64`, `linux/arm64`, `linux/arm/v7`, `windows/amd64`.
 */

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  /** Empty string when there is none (after normalisation `arm64/v8` has none). */
  readonly variant: string;
  readonly osVersion?: string | undefined;
}

/** A platform object as it appears in an index entry or a config blob (fields may be missing or odd). */
export interface RawPlatform {
  readonly os?: unknown;
  readonly architecture?: unknown;
  readonly variant?: unknown;
  readonly 'os.version'?: unknown;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  amd64: 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  i386: '386',
  armhf: 'arm',
  armel: 'arm',
};

/**
 * Normalises os/architecture/variant as containerd's `platforms.Normalize` does: lower case; `x86_64` →
 * `amd64` (variant `v1` dropped); `aarch64` → `arm64` (variant `8`/`v8`/`v8.0` dropped, `9`/`9.0`/`v9.0` →
 * `v9`); `i386` → `386`; `armhf` → `arm/v7`, `armel` → `arm/v6`; `arm` with no variant or `7` → `v7`, and
 * bare `5`/`6`/`8` gain a `v`.
 */
export function normalizePlatform(
  os: string,
  architecture: string,
  variant = '',
  osVersion?: string,
): Platform {
  const o = os.toLowerCase();
  const rawArch = architecture.toLowerCase();
  let v = variant.toLowerCase();
  const arch = ARCH_ALIASES[rawArch] ?? rawArch;
  if (rawArch === 'armhf') v = 'v7';
  if (rawArch === 'armel') v = 'v6';
  switch (arch) {
    case 'amd64':
      if (v === 'v1') v = '';
      break;
    case '386':
      v = '';
      break;
    case 'arm64':
      if (v === '8' || v === 'v8' || v === 'v8.0') v = '';
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
      break;
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return osVersion
    ? { os: o, architecture: arch, variant: v, osVersion }
    : { os: o, architecture: arch, variant: v };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

const PLATFORM_STRING = /^([a-z0-9_]+)\/([a-z0-9_-]+)(?:\/([a-z0-9._]+))?$/;

/**
 * Parses `os/arch[/variant]` (case-insensitive) and normalises it. Returns `undefined` when the string is
 * not of that shape; callers turn that into an error naming their field.
 */
export function parsePlatform(text: string): Platform | undefined {
  const m = PLATFORM_STRING.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  return normalizePlatform(m[1] ?? '', m[2] ?? '', m[3] ?? '');
}

/** Normalised platform from a raw JSON platform object, or `undefined` when os/architecture are missing. */
export function platformFromRaw(raw: RawPlatform | undefined | null): Platform | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const { os, architecture, variant } = raw;
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '')
    return undefined;
  const osVersion = typeof raw['os.version'] === 'string' ? raw['os.version'] : undefined;
  return normalizePlatform(os, architecture, typeof variant === 'string' ? variant : '', osVersion);
}

/** True for the BuildKit attestation placeholder platform. */
export function isUnknownPlatform(p: Platform): boolean {
  return p.os === 'unknown' && p.architecture === 'unknown';
}

/**
 * Whether an image platform satisfies a required one.
 * - os and architecture must be equal: `windows/amd64` never satisfies `linux/amd64`.
 * - A required platform without variant accepts every variant of its architecture: amd64 `v2`/`v3`/`v4`
 *   micro-architecture levels (flagged by {@link platformWarnings}), arm64 `v8.x`/`v9.x` (Grace, the GB200
 *   CPU, is Armv9.0-A and runs v8.x code; containerd/platforms:compare.go lets arm64/v9.x match v8.x).
 * - A required platform with a variant (`linux/arm/v7`) needs that exact variant.
 */
export function platformSatisfies(actual: Platform, required: Platform): boolean {
  if (actual.os !== required.os || actual.architecture !== required.architecture) return false;
  if (required.variant === '') return true;
  return actual.variant === required.variant;
}

/** Warnings about platforms that satisfy a requirement but may not run everywhere. */
export function platformWarnings(p: Platform): string[] {
  if (p.architecture === 'amd64' && (p.variant === 'v3' || p.variant === 'v4')) {
    return [`${formatPlatform(p)} needs x86-64-${p.variant} CPUs; not every amd64 host has them`];
  }
  return [];
}
