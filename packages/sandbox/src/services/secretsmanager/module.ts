import { SandboxError } from '../../errors.ts';
import type { ServiceModule } from '../../module.ts';
import type { World } from '../../world.ts';
import type { ServiceModuleOptions } from '../index.ts';
import { SecretsManagerBackend } from './backend.ts';
import type { SecretRecord, SecretsManagerSnapshot } from './records.ts';
import { RotationEngine } from './rotation.ts';
import { secretsManagerService } from './routes.ts';

/** Attempts of a failing rotation, the first included, when the sandbox options do not say (AWS's count is not published). */
export const DEFAULT_ROTATION_ATTEMPTS = 3;
/** Pause between attempts, real time: short, so that tests converge quickly. */
export const DEFAULT_ROTATION_RETRY_DELAY_MS = 100;
/** The real-time tick on which schedules and deletions are evaluated (besides every clock advance). */
const TICK_MS = 1000;

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/**
 * Secrets Manager: secrets with versions and staging labels, rotation through registered Lambda functions,
 * schedules on the virtual clock. `GET /_sandbox/state` shows, under `secretsmanager`, every secret with its
 * rotation configuration, its versions with their values (test-only), and its rotation history.
 */
export function secretsManagerModule(world: World, options: ServiceModuleOptions): ServiceModule {
  const attempts = options.rotationAttempts ?? DEFAULT_ROTATION_ATTEMPTS;
  const retryDelayMs = options.rotationRetryDelayMs ?? DEFAULT_ROTATION_RETRY_DELAY_MS;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new SandboxError(`rotationAttempts must be a positive integer, got ${attempts}`);
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0)
    throw new SandboxError(`rotationRetryDelayMs must be 0 or more milliseconds, got ${retryDelayMs}`);

  const backend = new SecretsManagerBackend(world.accountId, world.partition, world.clock);
  const engine = new RotationEngine({
    backend,
    lambda: world.lambda,
    tracker: world.tracker,
    log: world.log,
    changed: () => world.changed(),
    attempts,
    retryDelayMs,
  });
  let timer: NodeJS.Timeout | undefined;
  let offAdvance: (() => void) | undefined;
  // Runs inside `POST clock` and a timer: a failure is logged, never thrown into the clock or the event loop.
  const tick = () => {
    try {
      engine.tick();
    } catch (err) {
      world.log.error('secrets manager: schedule evaluation failed', { error: err });
    }
  };

  const view = (s: SecretRecord) => ({
    arn: s.arn,
    name: s.name,
    region: s.region,
    description: s.description,
    kmsKeyId: s.kmsKeyId,
    tags: s.tags ?? [],
    createdDate: iso(s.createdDate),
    lastChangedDate: iso(s.lastChangedDate),
    lastAccessedDate: iso(s.lastAccessedDate),
    deletedDate: iso(s.deletedDate),
    deletionDate: iso(s.deletionDate),
    rotation: {
      enabled: s.rotationEnabled ?? false,
      lambdaArn: s.rotationLambdaArn,
      rules: s.rotationRules,
      lastRotatedDate: iso(s.lastRotatedDate),
      nextRotationDate: iso(s.nextRotationDate),
      nextWindowStart: iso(s.nextAttemptAt),
      inProgress: engine.isRunning(s),
      pendingVersionId: backend.pendingRotation(s)?.versionId,
    },
    versions: s.versions.map((v) => ({
      versionId: v.versionId,
      stages: v.stages,
      createdDate: iso(v.createdDate),
      lastAccessedDate: iso(v.lastAccessedDate),
      hasValue: v.secretString !== undefined || v.secretBinary !== undefined,
      secretString: v.secretString,
      secretBinary: v.secretBinary,
    })),
    rotations: s.rotations,
  });

  return {
    name: 'secretsmanager',
    json: [secretsManagerService(world, backend, engine)],
    inspect: () => ({ secrets: backend.all().map(view) }),
    snapshot: () => backend.snapshot(),
    restore: (data) => {
      const snapshot = data as Partial<SecretsManagerSnapshot> | undefined;
      if (!snapshot || !Array.isArray(snapshot.secrets))
        throw new SandboxError('state file: secretsmanager section must be {"secrets": [...]}');
      engine.cancelAll();
      backend.restore(snapshot as SecretsManagerSnapshot);
      // A rotation cannot resume across a restart: say so; its labels stay and the schedule reattempts it.
      for (const s of backend.all()) {
        for (const r of s.rotations) {
          if (r.status !== 'running') continue;
          r.status = 'interrupted';
          r.finishedAt = new Date(backend.now()).toISOString();
        }
      }
    },
    reset: () => {
      engine.cancelAll();
      backend.restore({ secrets: [] });
    },
    start: () => {
      if (timer) return;
      timer = setInterval(tick, TICK_MS);
      timer.unref?.();
      offAdvance = world.clock.onAdvance(tick);
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      offAdvance?.();
      offAdvance = undefined;
      engine.cancelAll();
    },
  };
}
