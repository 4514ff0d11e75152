import { registryHostnameFor } from '@nvcf-ecr/core/ecr';
import type { World } from '../../world.ts';
import type { ImageAction, RepositorySnapshot } from './records.ts';
import { ImageStore } from './store.ts';
import { AuthTokens, type TokenRecord } from './tokens.ts';

/**
 * ECR (private) state of the emulated account: one {@link ImageStore} per region (AWS partitions ECR by
 * region; moto keys backends by account then region, `getmoto/moto:moto/core/base_backend.py`), the authorization
 * tokens, and the `ECR Image Action` events the stores announce.
 */

/**
 * Detail of an `ECR Image Action` event, keys as the real events spell them
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
 */
export interface ImageActionDetail {
  result: 'SUCCESS';
  'repository-name': string;
  'image-digest': string;
  'action-type': 'PUSH' | 'DELETE';
  'image-tag': string;
  'manifest-media-type': string;
  'artifact-media-type'?: string;
}

export interface EmittedEvent {
  readonly region: string;
  readonly time: string;
  readonly detail: ImageActionDetail;
}

/** How many emitted events `GET /_sandbox/state` keeps (the count is exact; the list is the latest ones). */
export const EMITTED_EVENTS_KEPT = 1000;

export interface EcrSnapshot {
  regions: Record<string, RepositorySnapshot[]>;
  tokens: TokenRecord[];
}

export class EcrBackend {
  readonly tokens: AuthTokens;
  readonly #world: World;
  readonly #stores = new Map<string, ImageStore>();
  /** Events announced since start or reset (`emitted.count`), the latest {@link EMITTED_EVENTS_KEPT} of them. */
  readonly emitted: { count: number; recent: EmittedEvent[] } = { count: 0, recent: [] };

  public constructor(world: World) {
    this.#world = world;
    this.tokens = new AuthTokens(world);
  }

  /** The registry of `region`, created on first use (every region of the partition has an empty registry). */
  public store(region: string): ImageStore {
    let store = this.#stores.get(region);
    if (!store) {
      const { accountId, partition } = this.#world;
      store = new ImageStore({
        registryId: accountId,
        arnOf: (name) => `arn:${partition}:ecr:${region}:${accountId}:repository/${name}`,
        uriOf: (name) => `${registryHostnameFor(accountId, region)}/${name}`,
        now: () => this.#world.clock.nowMs(),
        onImageAction: (action) => this.#emit(region, action),
      });
      this.#stores.set(region, store);
    }
    return store;
  }

  public regions(): [string, ImageStore][] {
    return [...this.#stores.entries()];
  }

  /**
   * Puts one `ECR Image Action` on the default bus of `region`, shaped as the real events
   * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html;
   * real ones in awslabs/cfn-ecr-aws-soci-index-builder#137):
   * `image-tag` is `""` for untagged manifests, `artifact-media-type` only for non-index manifests.
   */
  #emit(region: string, action: ImageAction): void {
    const detail: ImageActionDetail = {
      result: 'SUCCESS',
      'repository-name': action.repository,
      'image-digest': action.digest,
      'action-type': action.action,
      'image-tag': action.tag,
      'manifest-media-type': action.manifestMediaType,
      ...(action.artifactMediaType !== undefined ? { 'artifact-media-type': action.artifactMediaType } : {}),
    };
    const time = this.#world.clock.now();
    this.emitted.count++;
    this.emitted.recent.push({ region, time: time.toISOString(), detail });
    if (this.emitted.recent.length > EMITTED_EVENTS_KEPT) this.emitted.recent.shift();
    this.#world.events.putServiceEvents(region, [
      {
        Source: 'aws.ecr',
        DetailType: 'ECR Image Action',
        Detail: JSON.stringify(detail),
        Resources: [],
        Time: time,
      },
    ]);
  }

  public snapshot(): EcrSnapshot {
    return {
      regions: Object.fromEntries([...this.#stores].map(([region, store]) => [region, store.snapshot()])),
      tokens: this.tokens.snapshot(),
    };
  }

  public restore(data: EcrSnapshot): void {
    this.#stores.clear();
    for (const [region, repos] of Object.entries(data.regions ?? {})) this.store(region).restore(repos);
    this.tokens.restore(data.tokens ?? []);
  }

  public reset(): void {
    this.#stores.clear();
    this.tokens.clear();
    this.emitted.count = 0;
    this.emitted.recent = [];
  }
}
