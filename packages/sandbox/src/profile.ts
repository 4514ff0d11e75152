import { SandboxError } from './errors.ts';

/**
 * How unforgiving the sandbox is: the delays and caches of AWS and NVCF that a correct client must live with,
 * each a number of seconds on the virtual clock. `aws` models them as the public documentation describes them
 * (or, where it documents no bound, pessimistically); `ideal` turns them all off — strongly consistent IAM,
 * no NVCF caches — for tests of something else. `packages/sandbox/README.md` gives the source of every `aws`
 * value. `GET /_sandbox/profile` shows the knobs in force and `POST /_sandbox/profile` overrides any subset.
 */

export interface ProfileKnobs {
  /** A new access key authenticates only this long after CreateAccessKey. */
  iamPropagationSeconds: number;
  /** A created key appears in ListAccessKeys (a deleted one disappears from it) only this long after. */
  iamListLagSeconds: number;
  /** GetAccessKeyLastUsed reflects a use only this long after it. */
  iamLastUsedLagSeconds: number;
  /** NVCF's registry-credential list and get may answer the state from up to this long ago. */
  nvcfListCacheSeconds: number;
  /** A new NVCF instance may start with a credential's secret as it was up to this long ago. */
  nvcfCredentialCacheSeconds: number;
  /** Running NVCF workloads refresh their registry credential this often. */
  nvcfWorkloadRefreshSeconds: number;
}

export type ProfileName = 'aws' | 'ideal';
export const PROFILE_NAMES: readonly ProfileName[] = ['aws', 'ideal'];

export const PROFILES: Readonly<Record<ProfileName, Readonly<ProfileKnobs>>> = {
  aws: {
    iamPropagationSeconds: 10,
    iamListLagSeconds: 5,
    iamLastUsedLagSeconds: 14_400,
    nvcfListCacheSeconds: 60,
    nvcfCredentialCacheSeconds: 300,
    nvcfWorkloadRefreshSeconds: 3_600,
  },
  ideal: {
    iamPropagationSeconds: 0,
    iamListLagSeconds: 0,
    iamLastUsedLagSeconds: 0,
    nvcfListCacheSeconds: 0,
    nvcfCredentialCacheSeconds: 0,
    nvcfWorkloadRefreshSeconds: 0,
  },
};

export const KNOB_NAMES = Object.keys(PROFILES.aws) as (keyof ProfileKnobs)[];

export type ProfileView = { profile: ProfileName } & ProfileKnobs;

/** At most 30 days: longer would only hide a mistake in a test (days rather than seconds). */
const MAX_KNOB_SECONDS = 30 * 86_400;

/** The knobs in force: a named profile's, then any overrides. */
export class SandboxProfile {
  #base: ProfileName;
  #knobs: ProfileKnobs;

  public constructor(name: ProfileName = 'ideal', overrides: Partial<ProfileKnobs> = {}) {
    if (!PROFILE_NAMES.includes(name)) {
      throw new SandboxError(`profile must be one of ${PROFILE_NAMES.join(', ')}, got '${String(name)}'`);
    }
    this.#base = name;
    this.#knobs = { ...PROFILES[name] };
    this.set(overrides);
  }

  /** The profile the knobs started from. */
  public get name(): ProfileName {
    return this.#base;
  }

  public get knobs(): Readonly<ProfileKnobs> {
    return this.#knobs;
  }

  /** Milliseconds of one knob. */
  public ms(knob: keyof ProfileKnobs): number {
    return this.#knobs[knob] * 1000;
  }

  /** Overrides a subset; every name and value is checked before anything changes. */
  public set(overrides: unknown): Readonly<ProfileKnobs> {
    if (!overrides || typeof overrides !== 'object' || Array.isArray(overrides)) {
      throw new SandboxError(`profile overrides must be an object of knobs: ${KNOB_NAMES.join(', ')}`);
    }
    const entries = Object.entries(overrides as Record<string, unknown>);
    for (const [name, value] of entries) {
      if (!KNOB_NAMES.includes(name as keyof ProfileKnobs)) {
        throw new SandboxError(`unknown profile knob '${name}'; known: ${KNOB_NAMES.join(', ')}`);
      }
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_KNOB_SECONDS) {
        throw new SandboxError(
          `${name} must be a number of seconds from 0 to ${MAX_KNOB_SECONDS}, got ${JSON.stringify(value)}`,
        );
      }
    }
    for (const [name, value] of entries) this.#knobs[name as keyof ProfileKnobs] = value as number;
    return this.#knobs;
  }

  /**
   * `POST /_sandbox/profile`: `{"profile": "aws"|"ideal"}` starts again from that profile's knobs, any knob
   * given overrides its value; the answer is {@link view}, so a GET's answer posted back changes nothing.
   */
  public apply(body: unknown): ProfileView {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new SandboxError(
        `body must be an object: {"profile"?: ${PROFILE_NAMES.map((n) => `"${n}"`).join('|')}, <knob>?: seconds}; knobs: ${KNOB_NAMES.join(', ')}`,
      );
    }
    const { profile, ...knobs } = body as Record<string, unknown>;
    if (profile !== undefined && !PROFILE_NAMES.includes(profile as ProfileName)) {
      throw new SandboxError(
        `profile must be one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(profile)}`,
      );
    }
    const next = new SandboxProfile((profile as ProfileName | undefined) ?? this.#base, this.#knobs);
    if (profile !== undefined) next.#knobs = { ...PROFILES[profile as ProfileName] };
    next.set(knobs);
    this.#base = next.#base;
    this.#knobs = next.#knobs;
    return this.view();
  }

  /** What `GET /_sandbox/profile` answers: the profile the knobs started from and every knob in force. */
  public view(): ProfileView {
    return { profile: this.#base, ...this.#knobs };
  }
}
