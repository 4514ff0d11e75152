import { SandboxError } from '../../errors.ts';
import type { ServiceModule } from '../../module.ts';
import type { World } from '../../world.ts';
import { repositoryState } from '../ecr/module.ts';
import { applySeed } from '../ecr/seed.ts';
import { EcrPublicBackend, type EcrPublicSnapshot } from './backend.ts';
import { ecrPublicService } from './routes.ts';

/** ECR Public: its JSON API, the `ecr-public` sections of `GET state` and `POST seed`, and persistence. */
export function ecrPublicModule(world: World, alias: string): ServiceModule {
  const backend = new EcrPublicBackend(world, alias);
  return {
    name: 'ecr-public',
    json: [ecrPublicService(world, backend)],
    seed: (section) => {
      if (!section || typeof section !== 'object' || Array.isArray(section)) {
        throw new SandboxError('ecr-public must be an object: {repositories, blobs, images}');
      }
      return applySeed(backend.store, section as Record<string, unknown>, 'ecr-public');
    },
    inspect: () => ({
      alias: backend.alias,
      tokens: backend.tokens.size,
      repositories: [...backend.store.repositories.values()].map(repositoryState),
    }),
    snapshot: () => backend.snapshot(),
    restore: (data) => backend.restore(data as EcrPublicSnapshot),
    reset: () => backend.reset(),
  };
}
