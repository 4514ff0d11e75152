import { randomBytes } from 'node:crypto';
import type { Principal } from '../../server/aws.ts';
import type { World } from '../../world.ts';

/**
 * ECR authorization tokens (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html):
 * `GetAuthorizationToken` hands out base64 `AWS:<password>`, valid 12 hours, usable against the registry as HTTP
 * Basic credentials. The password here is an opaque random string remembered server-side with the principal that
 * asked, the region it asked in and its expiry on the virtual clock. A token acts with its principal's *current*
 * permissions (the registry authorises every request), and it dies with the access key that obtained it: the
 * sandbox refuses a token whose key has been deactivated or deleted. AWS does not document which way it goes;
 * refusing is the conservative choice for a system whose job is to retire keys without breaking pulls, because a
 * pull that only works on a cached token would hide exactly the breakage the tests must see.
 */

/** Lifetime of private and public ECR tokens: 12 hours (registry_auth.html; the ECR Public SDK model). */
export const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface TokenRecord {
  readonly password: string;
  readonly principal: Principal;
  readonly region: string;
  /** Which API issued it: private ECR tokens are Basic credentials for the registry listener. */
  readonly service: 'ecr' | 'ecr-public';
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export type TokenCheck =
  | { readonly ok: true; readonly token: TokenRecord }
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' | 'key-inactive' };

export class AuthTokens {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #world: World;

  public constructor(world: World) {
    this.#world = world;
  }

  public issue(principal: Principal, region: string, service: 'ecr' | 'ecr-public'): TokenRecord {
    const now = this.#world.clock.nowMs();
    this.#prune(now);
    const token: TokenRecord = {
      password: randomBytes(48).toString('base64url'),
      principal,
      region,
      service,
      issuedAt: now,
      expiresAt: now + TOKEN_LIFETIME_MS,
    };
    this.#tokens.set(token.password, token);
    return token;
  }

  /** The token a registry request presents, checked against the virtual clock and its key's state. */
  public check(password: string, service: 'ecr' | 'ecr-public' = 'ecr'): TokenCheck {
    const token = this.#tokens.get(password);
    if (!token || token.service !== service) return { ok: false, reason: 'unknown' };
    if (this.#world.clock.nowMs() >= token.expiresAt) return { ok: false, reason: 'expired' };
    if (token.principal.kind === 'user') {
      const key = this.#world.iam.keys.get(token.principal.accessKeyId);
      if (key?.status !== 'Active') return { ok: false, reason: 'key-inactive' };
    }
    return { ok: true, token };
  }

  public get size(): number {
    return this.#tokens.size;
  }

  public snapshot(): TokenRecord[] {
    return [...this.#tokens.values()];
  }

  public restore(tokens: readonly TokenRecord[]): void {
    this.#tokens.clear();
    for (const t of tokens) this.#tokens.set(t.password, t);
  }

  public clear(): void {
    this.#tokens.clear();
  }

  /** Expired tokens are forgotten when new ones are issued, so the map stays small however long a run lasts. */
  #prune(now: number): void {
    for (const [k, t] of this.#tokens) if (t.expiresAt <= now) this.#tokens.delete(k);
  }
}

/** `base64("AWS:<password>")`, the `authorizationToken` ECR returns. */
export function encodeAuthorizationToken(password: string): string {
  return Buffer.from(`AWS:${password}`).toString('base64');
}
