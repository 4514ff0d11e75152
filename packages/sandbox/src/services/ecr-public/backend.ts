import { ECR_PUBLIC_HOSTNAME } from '@nvcf-ecr/core/ecr';
import type { World } from '../../world.ts';
import type { RepositorySnapshot } from '../ecr/records.ts';
import { ImageStore } from '../ecr/store.ts';
import { AuthTokens, type TokenRecord } from '../ecr/tokens.ts';

/**
 * ECR Public state: the account's one public registry (repositories at `public.ecr.aws/<alias>/<name>`,
 * ARNs `arn:aws:ecr-public::<account>:repository/<name>`) stored with the private ECR's rules, and its tokens.
 * No events: AWS documents `ECR Image Action` for private repositories only
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html); none is known for ECR Public
 * pushes.
 */

/**
 * ECR Public authenticates in us-east-1
 * (https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html); the sandbox serves the whole API
 * there only, although https://docs.aws.amazon.com/general/latest/gr/ecr-public.html also lists us-west-2
 * endpoints: a client of this project never needs another region.
 */
export const ECR_PUBLIC_REGION = 'us-east-1';

export interface EcrPublicSnapshot {
  alias: string;
  repositories: RepositorySnapshot[];
  tokens: TokenRecord[];
}

export class EcrPublicBackend {
  readonly tokens: AuthTokens;
  readonly #world: World;
  #alias: string;
  store: ImageStore;

  public constructor(world: World, alias: string) {
    this.#world = world;
    this.#alias = alias;
    this.tokens = new AuthTokens(world);
    this.store = this.#newStore();
  }

  public get alias(): string {
    return this.#alias;
  }

  #newStore(): ImageStore {
    const { accountId, partition } = this.#world;
    return new ImageStore({
      registryId: accountId,
      arnOf: (name) => `arn:${partition}:ecr-public::${accountId}:repository/${name}`,
      uriOf: (name) => `${ECR_PUBLIC_HOSTNAME}/${this.#alias}/${name}`,
      now: () => this.#world.clock.nowMs(),
    });
  }

  public snapshot(): EcrPublicSnapshot {
    return { alias: this.#alias, repositories: this.store.snapshot(), tokens: this.tokens.snapshot() };
  }

  public restore(data: EcrPublicSnapshot): void {
    this.#alias = data.alias ?? this.#alias;
    this.store = this.#newStore();
    this.store.restore(data.repositories ?? []);
    this.tokens.restore(data.tokens ?? []);
  }

  public reset(): void {
    this.store = this.#newStore();
    this.tokens.clear();
  }
}
