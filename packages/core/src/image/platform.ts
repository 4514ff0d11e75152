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
 * The variants a host of platform `host` pulls from an index, best first: the same-architecture part of
 * containerd's platform vector (`containerd/platforms:compare.go`, `platformVector` behind `Only`, which is
 * what `platforms.Default()` in `defaults_unix.go` uses to pick an index entry):
 * - amd64 `vN` pulls `vN` down to `v1` (written with no variant); an amd64 host's own platform has no variant
 *   (`cpuinfo.go` asks the CPU only on ARM), so it pulls plain `amd64` entries and never `amd64/v2`…`v4`;
 * - arm64 `v8.x` pulls `v8.x` down to `v8`, and `v9.x` pulls `v9.x` down to `v9`, then `v8.(x+5)` down to
 *   `v8`; a Linux arm64 host reports `v8` whatever its core (`cpuinfo_linux.go` reads `CPU architecture`,
 *   which the arm64 kernel prints as 8), so a Grace host pulls plain `arm64` (≡ `arm64/v8`) entries only;
 * - arm `vN` pulls `vN` down to `v5`.
 * containerd also lets amd64 pull `386` and arm64 pull 32-bit `arm`; those fallbacks are left out on purpose:
 * a 32-bit build does not count as the 64-bit platform a policy requires.
 * An unknown variant (`arm64/v7`, `amd64/x`) pulls only itself, as in containerd.
 */
export function compatibleVariants(host: Platform): string[] {
  const v = host.variant;
  switch (host.architecture) {
    case 'amd64': {
      const n = levelOf(v === '' ? 'v1' : v);
      if (n === undefined || n < 1) return [v];
      return range(n, 1).map((i) => (i === 1 ? '' : `v${i}`));
    }
    case 'arm64': {
      const m = /^v(8|9)(?:\.(\d))?$/.exec(v === '' ? 'v8' : v);
      if (!m) return [v];
      const minor = Number(m[2] ?? '0');
      const eights = (top: number) => range(top, 0).map((i) => (i === 0 ? '' : `v8.${i}`));
      if (m[1] === '8') return eights(minor);
      return [...range(minor, 0).map((i) => (i === 0 ? 'v9' : `v9.${i}`)), ...eights(Math.min(minor + 5, 9))];
    }
    case 'arm': {
      const n = levelOf(v);
      if (n === undefined || n < 5) return [v];
      return range(n, 5).map((i) => `v${i}`);
    }
    default:
      return [v];
  }
}

/**
 * Whether an index entry of platform `actual` is one a host of platform `required` pulls, as containerd
 * selects index entries: os and architecture equal (`windows/amd64` never satisfies `linux/amd64`), and the
 * entry's variant among {@link compatibleVariants} of the host. So `linux/amd64` is not satisfied by
 * `linux/amd64/v3` (an amd64 host finds no entry and the pull fails), nor `linux/arm64` by `linux/arm64/v9`,
 * while `linux/amd64/v3` is satisfied by plain `linux/amd64` and `linux/arm64/v9` by `linux/arm64`.
 */
export function platformSatisfies(actual: Platform, required: Platform): boolean {
  if (actual.os !== required.os || actual.architecture !== required.architecture) return false;
  return compatibleVariants(required).includes(actual.variant);
}

/**
 * Whether a single manifest of platform `actual` runs on a host of platform `required`. A single manifest
 * is pulled without platform matching (containerd reads its config only for an index child without a
 * platform), so only os and architecture decide; a variant the host may lack is a warning
 * ({@link platformWarnings}), not a refusal.
 */
export function singleManifestSatisfies(actual: Platform, required: Platform): boolean {
  return actual.os === required.os && actual.architecture === required.architecture;
}

/**
 * Warnings about a platform whose variant asks more of the CPU than the architecture's baseline: amd64
 * `v2`/`v3`/`v4` (the x86-64 micro-architecture levels) and arm64 beyond `v8`. In an index such entries are
 * simply not pulled by a baseline host; a single manifest is pulled anyway and fails on a CPU without them.
 */
export function platformWarnings(p: Platform): string[] {
  if (p.architecture === 'amd64' && /^v[2-9]$/.test(p.variant)) {
    return [`${formatPlatform(p)} needs x86-64-${p.variant} CPUs; not every amd64 host has them`];
  }
  if (p.architecture === 'arm64' && p.variant !== '') {
    return [`${formatPlatform(p)} needs ${p.variant} Arm CPUs; not every arm64 host has them`];
  }
  return [];
}

function levelOf(variant: string): number | undefined {
  const m = /^v(\d+)$/.exec(variant);
  return m ? Number(m[1]) : undefined;
}

/** `from`, `from - 1`, …, `to` (empty when `from < to`). */
function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i >= to; i--) out.push(i);
  return out;
}
