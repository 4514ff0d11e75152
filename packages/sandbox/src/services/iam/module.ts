import type { ServiceModule } from '../../module.ts';
import type { World } from '../../world.ts';
import { stsService } from '../sts/routes.ts';
import { iamService } from './routes.ts';

/** IAM and STS. IAM's backend lives in the world because every request is authenticated against its keys. */
export function iamModule(world: World): ServiceModule {
  return {
    name: 'iam',
    query: [iamService(world), stsService(world)],
    inspect: () => {
      const s = world.iam.snapshot();
      return {
        users: s.users.map((u) => ({
          ...u,
          arn: world.iam.userArn(u.userName, u.path),
          groups: s.groups.filter((g) => g.members.includes(u.userName)).map((g) => g.groupName),
          keys: world.iam.keysOf(u.userName),
        })),
        groups: s.groups,
        policies: s.policies,
      };
    },
    snapshot: () => world.iam.snapshot(),
    restore: (data) => world.iam.restore(data as ReturnType<World['iam']['snapshot']>),
    reset: () => world.iam.restore({ users: [], groups: [], policies: [], keys: [] }),
  };
}
