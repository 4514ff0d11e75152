import type { Logger } from '@nvcf-ecr/core/log';
import { redactString } from '@nvcf-ecr/core/redact';
import * as ids from '../../ids.ts';
import type { WorkTracker } from '../../tracker.ts';
import type { LambdaInvoker } from '../../world.ts';
import type { SecretsManagerBackend } from './backend.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  type RotationAttemptRecord,
  type RotationRecord,
  type RotationStep,
  type SecretRecord,
} from './records.ts';

/**
 * Rotation as Secrets Manager drives it
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html,
 * `awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`, the RotateSecret API reference):
 * - RotateSecret (or the schedule) has already created the value-less version named by the token and
 *   labelled it AWSPENDING; the function is then invoked synchronously for `createSecret`, `setSecret`,
 *   `testSecret` and `finishSecret`, in order, with `{Step, SecretId: <ARN>, ClientRequestToken, RotationToken}`.
 * - The first error stops the attempt and leaves the labels as they are.
 * - "If any rotation step fails, Secrets Manager retries the entire rotation process multiple times": AWS
 *   publishes neither the count nor the backoff, nor whether retries keep the token
 *   (`awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md`). The sandbox retries the whole rotation
 *   with the SAME token — the idempotency the contract is built for — up to `attempts` attempts in all,
 *   `retryDelayMs` apart (sandbox options `rotationAttempts`, `rotationRetryDelayMs`).
 * - After the four steps succeed, "our backend cleans up the pending label on rotation completion, outside
 *   the rotation lambda" (AWS maintainer, aws-samples/aws-secrets-manager-rotation-lambdas#145): AWSPENDING
 *   comes off the new AWSCURRENT version, and LastRotatedDate and the next rotation date are set.
 * - RotateImmediately=false is a validation run: only `testSecret`, once, against an AWSPENDING version,
 *   then the label is removed (RotateSecret API reference).
 * Every rotation is kept in the secret's history (token, attempts, each step's outcome and the function's
 * error message, scrubbed of secret values) for tests, `GET /_sandbox/state` and the CLI.
 */

export const ROTATION_STEPS: readonly RotationStep[] = [
  'createSecret',
  'setSecret',
  'testSecret',
  'finishSecret',
];

/** Rotations kept per secret in the history. */
const HISTORY = 50;

export interface RotationEngineOptions {
  backend: SecretsManagerBackend;
  lambda: LambdaInvoker;
  tracker: WorkTracker;
  log: Logger;
  /** Marks state dirty for persistence. */
  changed: () => void;
  /** Attempts of the whole rotation, the first included. */
  attempts: number;
  /** Real-time pause between attempts. */
  retryDelayMs: number;
}

export interface StartRotation {
  token: string;
  mode: 'rotate' | 'test';
  trigger: RotationRecord['trigger'];
  lambdaArn: string;
}

interface Run {
  readonly region: string;
  readonly arn: string;
  readonly record: RotationRecord;
  readonly generation: number;
  cancelled: boolean;
}

export class RotationEngine {
  readonly #o: RotationEngineOptions;
  readonly #runs = new Map<string, Run>();
  #generation = 0;

  public constructor(options: RotationEngineOptions) {
    this.#o = options;
  }

  /** A rotation is under way (a cancelled one, finishing its current step, no longer counts). */
  isRunning(secret: SecretRecord): boolean {
    const run = this.#runs.get(secret.arn);
    return run !== undefined && !run.cancelled;
  }

  /** Records the rotation and runs it in the background (registered with the tracker: `POST settle` waits for it). */
  start(secret: SecretRecord, start: StartRotation): RotationRecord {
    const record: RotationRecord = {
      token: start.token,
      mode: start.mode,
      trigger: start.trigger,
      lambdaArn: start.lambdaArn,
      status: 'running',
      startedAt: this.#iso(),
      attempts: [],
    };
    secret.rotations = [...secret.rotations, record].slice(-HISTORY);
    const run: Run = {
      region: secret.region,
      arn: secret.arn,
      record,
      generation: this.#generation,
      cancelled: false,
    };
    this.#runs.set(secret.arn, run);
    this.#o.log.info('secrets manager: rotation started', {
      secretArn: secret.arn,
      token: start.token,
      mode: start.mode,
      trigger: start.trigger,
    });
    this.#o.tracker.later(0, () => this.#execute(run));
    return record;
  }

  /** CancelRotateSecret, DeleteSecret: the rotation stops before its next step or attempt. */
  cancel(secret: SecretRecord): void {
    const run = this.#runs.get(secret.arn);
    if (run) run.cancelled = true;
  }

  /** `POST /_sandbox/reset`: every run stops touching state. */
  cancelAll(): void {
    this.#generation++;
    for (const run of this.#runs.values()) run.cancelled = true;
    this.#runs.clear();
  }

  /**
   * The schedule: purge secrets whose recovery window passed, then start one rotation for every secret whose
   * next window has opened. However far the clock jumped, a secret gets ONE rotation (as a service that was
   * down for several windows would catch up once), and the next one waits for the following window. A
   * secret stuck with AWSPENDING on a non-current version has that rotation reattempted with its token
   * ("A previous rotation isn't complete. That rotation will be reattempted.").
   */
  tick(): void {
    const { backend } = this.#o;
    for (const gone of backend.purgeExpired()) {
      this.cancel(gone);
      this.#o.log.info('secrets manager: recovery window over, secret deleted', { secretArn: gone.arn });
      this.#o.changed();
    }
    const now = backend.now();
    for (const secret of backend.all()) {
      const lambdaArn = secret.rotationLambdaArn;
      if (!secret.rotationEnabled || !lambdaArn || secret.deletedDate !== undefined) continue;
      if (secret.nextAttemptAt === undefined || secret.nextAttemptAt > now || this.isRunning(secret))
        continue;
      try {
        secret.nextAttemptAt = backend.nextWindow(secret, now)?.start;
      } catch {
        secret.nextAttemptAt = undefined;
      }
      const stuck = backend.pendingRotation(secret);
      const token = stuck?.versionId ?? ids.uuid();
      if (!stuck) backend.addPendingVersion(secret, token);
      this.start(secret, { token, mode: 'rotate', trigger: 'schedule', lambdaArn });
      this.#o.changed();
    }
  }

  #iso(): string {
    return new Date(this.#o.backend.now()).toISOString();
  }

  #secret(run: Run): SecretRecord | undefined {
    if (run.cancelled || run.generation !== this.#generation) return undefined;
    const s = this.#o.backend.find(run.region, run.arn);
    return s?.deletedDate === undefined ? s : undefined;
  }

  async #execute(run: Run): Promise<void> {
    const { record } = run;
    const attempts = record.mode === 'test' ? 1 : Math.max(1, this.#o.attempts);
    // Opaque to the function; it hands it back to PutSecretValue (`RotationToken`, the SDK model).
    const rotationToken = ids.uuid();
    let outcome: RotationRecord['status'] = 'failed';
    try {
      for (let n = 1; n <= attempts; n++) {
        if (n > 1) await delay(this.#o.retryDelayMs);
        if (!this.#secret(run)) {
          outcome = 'cancelled';
          return;
        }
        const attempt: RotationAttemptRecord = { attempt: n, startedAt: this.#iso(), steps: [] };
        record.attempts.push(attempt);
        const result = await this.#attempt(run, attempt, rotationToken);
        if (result === 'cancelled') {
          outcome = 'cancelled';
          return;
        }
        if (result === 'ok') {
          outcome = record.mode === 'test' ? 'succeeded' : this.#complete(run);
          return;
        }
        this.#o.changed();
      }
      // A failed validation run (RotateImmediately=false) leaves the schedule as RotateSecret set it.
      if (record.mode === 'rotate') this.#failed(run);
    } catch (err) {
      // Never expected (steps catch the function's errors); keep the sandbox alive and say so.
      this.#o.log.error('secrets manager: rotation crashed', {
        secretArn: run.arn,
        token: record.token,
        error: err,
      });
      outcome = 'failed';
    } finally {
      record.status = outcome;
      record.finishedAt = this.#iso();
      if (record.mode === 'test') {
        const secret = this.#secret(run);
        if (secret) this.#o.backend.dropStage(secret, AWSPENDING, record.token);
      }
      if (this.#runs.get(run.arn) === run) this.#runs.delete(run.arn);
      this.#o.log.info('secrets manager: rotation finished', {
        secretArn: run.arn,
        token: record.token,
        status: outcome,
        attempts: record.attempts.length,
      });
      this.#o.changed();
    }
  }

  async #attempt(
    run: Run,
    attempt: RotationAttemptRecord,
    rotationToken: string,
  ): Promise<'ok' | 'failed' | 'cancelled'> {
    const { record } = run;
    const steps: readonly RotationStep[] = record.mode === 'test' ? ['testSecret'] : ROTATION_STEPS;
    for (const step of steps) {
      const secret = this.#secret(run);
      if (!secret) return 'cancelled';
      const at = this.#iso();
      try {
        await this.#o.lambda.invoke(record.lambdaArn, {
          Step: step,
          SecretId: run.arn,
          ClientRequestToken: record.token,
          RotationToken: rotationToken,
        });
        attempt.steps.push({ step, ok: true, at });
      } catch (err) {
        const error = {
          name: errorName(err),
          message: scrub(errorMessage(err), this.#o.backend.find(run.region, run.arn)),
        };
        attempt.steps.push({ step, ok: false, at, error });
        this.#o.log.warn('secrets manager: rotation step failed', {
          secretArn: run.arn,
          token: record.token,
          step,
          attempt: attempt.attempt,
          error: error.message,
        });
        return 'failed';
      }
    }
    return 'ok';
  }

  /** The four steps returned: clean up and date the rotation, if the new version really became AWSCURRENT. */
  #complete(run: Run): RotationRecord['status'] {
    const secret = this.#secret(run);
    if (!secret) return 'cancelled';
    const { backend } = this.#o;
    const now = backend.now();
    if (backend.version(secret, AWSCURRENT)?.versionId !== run.record.token) {
      // finishSecret returned without moving AWSCURRENT: AWSPENDING stays, and the next RotateSecret says so.
      this.#o.log.warn('secrets manager: rotation steps succeeded but the new version is not AWSCURRENT', {
        secretArn: run.arn,
        token: run.record.token,
      });
      this.#retryNextWindow(secret, now);
      return 'incomplete';
    }
    backend.dropStage(secret, AWSPENDING, run.record.token);
    secret.lastRotatedDate = now;
    if (secret.rotationEnabled) backend.scheduleFrom(secret, now);
    return 'succeeded';
  }

  /** Every attempt failed: the labels stay; NextRotationDate stays (it "may be in the past"); the schedule reattempts in its next window. */
  #failed(run: Run): void {
    const secret = this.#secret(run);
    if (secret) this.#retryNextWindow(secret, this.#o.backend.now());
  }

  #retryNextWindow(secret: SecretRecord, now: number): void {
    if (!secret.rotationEnabled) return;
    try {
      secret.nextAttemptAt = this.#o.backend.nextWindow(secret, now)?.start;
    } catch {
      secret.nextAttemptAt = undefined;
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref?.();
  });
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A function's error message may quote what it handled: scrub secret shapes (core `redactString`) and any
 * value stored in the secret, including the string leaves of a JSON value.
 */
function scrub(message: string, secret: SecretRecord | undefined): string {
  let out = redactString(message);
  const values = new Set<string>();
  const collect = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= 8) values.add(v);
    } else if (v && typeof v === 'object') {
      for (const x of Object.values(v)) collect(x);
    }
  };
  for (const version of secret?.versions ?? []) {
    for (const raw of [version.secretString, version.secretBinary]) {
      if (raw === undefined) continue;
      collect(raw);
      try {
        collect(JSON.parse(raw));
      } catch {
        // Not JSON: the whole value is already collected.
      }
    }
  }
  for (const v of [...values].sort((a, b) => b.length - a.length)) out = out.split(v).join('[redacted]');
  return out;
}
