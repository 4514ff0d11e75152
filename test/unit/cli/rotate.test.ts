import type { NvcfRegistryCredentialView } from '@nvcf-ecr/core/ports';
import {
  type LastFailure,
  type PullKeySecret,
  ROTATION_TAGS,
  type SecretState,
} from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';
import {
  failureLines,
  followRotation,
  type RotationSource,
} from '../../../packages/cli/src/commands/rotate.ts';
import { styleFor } from '../../../packages/cli/src/output.ts';

// How `nvcf-ecr rotate` follows a rotation: what it reads and how often (against a scripted source and a
// virtual clock), and what it says when a step fails.

const TOKEN = '6f0c1e2a-0b7d-4c55-9a1e-2f3b4c5d6e7f';
const style = styleFor({ write: () => true, isTTY: false }, {});
const KEY: PullKeySecret = {
  accessKeyId: 'AKIAPENDING000000003',
  secretAccessKey: 'x'.repeat(40),
  userName: 'nvcf-ecr-prod',
  registryHostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  credentialName: 'ecr-prod',
  createdAt: '2026-03-01T12:00:01.000Z',
};

function state(labels: string[], tags: [string, string][] = []): SecretState {
  return {
    arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nvcf-ecr/prod/pull-key-AbCdEf',
    name: 'nvcf-ecr/prod/pull-key',
    rotationEnabled: true,
    rotationLambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:nvcf-ecr-rotate-credential',
    lastRotatedDate: undefined,
    nextRotationDate: undefined,
    versions: { [TOKEN]: labels },
    tags: new Map(tags),
    currentVersionId: labels.includes('AWSCURRENT') ? TOKEN : undefined,
    previousVersionId: undefined,
    pendingVersionId: labels.includes('AWSPENDING') ? TOKEN : undefined,
  };
}

function credential(lastUpdatedAt: string): NvcfRegistryCredentialView {
  return {
    registryCredentialId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
    registryCredentialName: 'ecr-prod',
    registryHostname: KEY.registryHostname,
    artifactTypes: ['CONTAINER'],
    provisionedBy: 'USER',
    lastUpdatedAt,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/**
 * A rotation scripted poll by poll: the key is stored from poll `stored`, NVCF shows the update from poll
 * `nvcfUpdated`, AWSCURRENT moves at poll `current`. Counts what the follower reads.
 */
function scripted(script: { stored: number; nvcfUpdated: number; current: number }) {
  let poll = 0;
  const reads = { describe: 0, pendingKey: 0, nvcf: 0, nvcfAfterCurrent: 0 };
  const source: RotationSource = {
    describe: async () => {
      poll++;
      reads.describe++;
      return state(poll >= script.current ? ['AWSCURRENT', 'AWSPENDING'] : ['AWSPENDING']);
    },
    pendingKey: async () => {
      reads.pendingKey++;
      return poll >= script.stored ? KEY : undefined;
    },
    nvcfCredential: async () => {
      reads.nvcf++;
      if (poll >= script.current) reads.nvcfAfterCurrent++;
      return credential(poll >= script.nvcfUpdated ? '2026-03-01T12:00:02.000Z' : '2026-02-01T00:00:00.000Z');
    },
  };
  return { source, reads };
}

function clock() {
  let now = 0;
  const pauses: number[] = [];
  return {
    pauses,
    now: () => now,
    sleep: async (ms: number) => {
      pauses.push(ms);
      now += ms;
    },
  };
}

/** Follows `source` on a virtual clock, with a 5-minute deadline unless `deadlineMs` says otherwise. */
async function follow(
  source: RotationSource,
  options: { deadlineMs?: number; say?: (line: string) => void } = {},
) {
  const t = clock();
  const outcome = await followRotation(source, {
    token: TOKEN,
    registryName: 'prod',
    deadlineMs: options.deadlineMs ?? 300_000,
    lastFailureBefore: undefined,
    now: t.now,
    sleep: t.sleep,
    say: options.say ?? (() => {}),
    style,
  });
  return { outcome, t };
}

describe('Function: followRotation', () => {
  it('polls about every one to two seconds, the pauses growing, and shows every step once', async () => {
    const { source } = scripted({ stored: 2, nvcfUpdated: 4, current: 8 });
    const lines: string[] = [];
    const { outcome, t } = await follow(source, { say: (line) => lines.push(line) });
    expect(outcome).toEqual({ kind: 'rotated', accessKeyId: KEY.accessKeyId });
    expect(t.pauses).toHaveLength(7);
    expect(t.pauses[0]).toBe(1_000);
    for (const [i, pause] of t.pauses.entries()) {
      expect(pause).toBeGreaterThanOrEqual(1_000);
      expect(pause).toBeLessThanOrEqual(2_000);
      if (i > 0) expect(pause).toBeGreaterThanOrEqual(t.pauses[i - 1] as number);
    }
    expect(t.pauses.at(-1)).toBeGreaterThan(1_000);
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
  });

  it('stops listing NVCF once AWSCURRENT has moved, and reads the key only until it is stored', async () => {
    // NVCF never shows the update to this follower (its cache, or a clock skew): AWSCURRENT moving is enough.
    const { source, reads } = scripted({ stored: 1, nvcfUpdated: 99, current: 3 });
    const { outcome } = await follow(source);
    expect(outcome.kind).toBe('rotated');
    expect(reads.describe).toBe(3);
    expect(reads.pendingKey).toBe(1);
    expect(reads.nvcf).toBe(2);
    expect(reads.nvcfAfterCurrent).toBe(0);
  });

  it('stops at the deadline, with one last look exactly there', async () => {
    const { source, reads } = scripted({ stored: 99, nvcfUpdated: 99, current: 99 });
    const { outcome, t } = await follow(source, { deadlineMs: 2_500 });
    expect(outcome).toEqual({ kind: 'timeout' });
    // Looks at 0, 1 s and 2.25 s; the next pause is cut to end at the deadline, where one last look runs.
    expect(t.pauses).toEqual([1_000, 1_250, 250]);
    expect(t.now()).toBe(2_500);
    expect(reads.describe).toBe(4);
  });

  it('shows a failure the function recorded for this token, once, and follows on', async () => {
    let poll = 0;
    const failure = `${TOKEN} testSecret failed 2026-03-01T12:00:03.000Z current-key-works`;
    const source: RotationSource = {
      describe: async () => {
        poll++;
        return state(
          poll >= 4 ? ['AWSCURRENT', 'AWSPENDING'] : ['AWSPENDING'],
          poll >= 2
            ? [
                [ROTATION_TAGS.lastFailure, failure],
                [ROTATION_TAGS.lastFailureReason, 'The canary image could not be pulled'],
              ]
            : [],
        );
      },
      pendingKey: async () => KEY,
      nvcfCredential: async () => credential('2026-03-01T12:00:02.000Z'),
    };
    const lines: string[] = [];
    await follow(source, { say: (line) => lines.push(line) });
    expect(lines.filter((l) => l.startsWith('✗'))).toEqual([
      '✗ testSecret failed: The canary image could not be pulled',
    ]);
  });
});

describe('Function: failureLines', () => {
  const failure = (step: string, currentKey?: LastFailure['currentKey']): LastFailure => ({
    token: TOKEN,
    step,
    refused: false,
    at: new Date('2026-03-01T12:00:03.000Z'),
    reason: 'why',
    currentKey,
  });
  const text = (f: LastFailure) => failureLines(f, style, 'prod').join('\n');

  it('says NVCF may hold the pending key when a step after setSecret failed', () => {
    expect(text(failure('testSecret', 'works'))).toContain('NVCF may hold the pending key');
    expect(text(failure('finishSecret', 'works'))).toContain('NVCF may hold the pending key');
    expect(text(failure('createSecret', 'works'))).not.toContain('NVCF may hold');
  });

  it('says what the check of the current key found, and nothing when it was not recorded', () => {
    expect(text(failure('setSecret', 'works'))).toContain(
      'the current key worked when checked right after the failure',
    );
    expect(text(failure('setSecret', 'broken'))).toContain(
      'the current key did NOT work when checked right after the failure',
    );
    expect(text(failure('createSecret', 'none'))).toContain('no current key yet: the first rotation');
    expect(text(failure('setSecret'))).not.toMatch(/current key (worked|did|still)/);
  });
});
