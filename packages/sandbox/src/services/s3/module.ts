import type { ServiceModule } from '../../module.ts';
import type { World } from '../../world.ts';
import type { LayerReader } from '../ecr/layers.ts';
import { S3Backend, type S3Snapshot } from './backend.ts';
import { s3Service } from './routes.ts';

/** S3 (path style): buckets and objects, plus the ECR layer downloads read through `layers`. */
export function s3Module(world: World, layers: LayerReader): ServiceModule {
  const backend = new S3Backend(() => world.clock.nowMs());
  return {
    name: 's3',
    rest: s3Service(world, backend, layers),
    inspect: () => ({
      buckets: [...backend.buckets.values()].map((b) => ({
        name: b.name,
        region: b.region,
        createdAt: new Date(b.createdAt).toISOString(),
        objects: [...b.objects.values()].map((o) => ({
          key: o.key,
          size: o.data.length,
          etag: o.etag,
          contentType: o.contentType,
          lastModified: new Date(o.lastModified).toISOString(),
          metadata: o.metadata,
        })),
      })),
    }),
    snapshot: () => backend.snapshot(),
    restore: (data) => backend.restore(data as S3Snapshot),
    reset: () => backend.restore({ buckets: [] }),
  };
}
