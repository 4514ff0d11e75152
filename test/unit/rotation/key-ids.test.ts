import { type TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import {
  isKeyIdTagValue,
  KEY_ID_TAG_PREFIX,
  keyIdTag,
  keyIdTagChanges,
  NO_KEY,
  recordedKey,
  recordKeyIds,
} from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';

// The key id of each version, kept in the secret's tags so that the retirement and the audit never read a value
// (packages/core/src/rotation/key-ids.ts).

const V1 = '6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const V2 = '7a1d2b3c-4d5e-4f60-9a1b-2c3d4e5f6a7b';
const V3 = '8b2e3c4d-5e6f-4071-8b2c-3d4e5f6a7b8c';
const K1 = 'AKIAIOSFODNN7EXAMPLE';
const K2 = 'AKIAI44QH8DHBEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('Key ids per version', () => {
  it('records each version under nvcf-ecr:version:<VersionId>, and none for a keyless one', () => {
    const { tag, untag } = keyIdTagChanges({
      secretId: 's',
      tags: new Map(),
      versions: { [V1]: ['AWSCURRENT'] },
      record: [
        { versionId: V2, accessKeyId: K2 },
        { versionId: V1, accessKeyId: undefined },
      ],
    });
    expect(Object.fromEntries(tag)).toEqual({ [keyIdTag(V2)]: K2, [keyIdTag(V1)]: NO_KEY });
    expect(untag).toEqual([]);
    expect(keyIdTag(V1)).toBe(`nvcf-ecr:version:${V1}`);
    // Secrets Manager's tag key limit: 128 characters, for the longest ClientRequestToken (64).
    expect(keyIdTag('x'.repeat(64)).length).toBeLessThanOrEqual(128);
  });

  it('writes nothing the tags already say, and prunes versions that lost every staging label', () => {
    const tags = new Map([
      [keyIdTag(V1), K1],
      [keyIdTag(V2), K2],
      [keyIdTag(V3), 'AKIAOLDOLDOLDOLDOLD1'],
      ['nvcf-ecr:nvcf-key', `${V2}@2026-01-01T00:00:00.000Z`],
    ]);
    const { tag, untag } = keyIdTagChanges({
      secretId: 's',
      tags,
      versions: { [V1]: ['AWSPREVIOUS'], [V2]: ['AWSCURRENT'], [V3]: [] },
      record: [{ versionId: V2, accessKeyId: K2 }],
    });
    expect(tag.size).toBe(0);
    expect(untag).toEqual([keyIdTag(V3)]);
  });

  it('keeps the key id of the version being written, which carries no label yet', () => {
    const { tag, untag } = keyIdTagChanges({
      secretId: 's',
      tags: new Map([[keyIdTag(V3), K1]]),
      versions: { [V1]: ['AWSCURRENT'] },
      record: [{ versionId: V3, accessKeyId: K2 }],
    });
    expect(Object.fromEntries(tag)).toEqual({ [keyIdTag(V3)]: K2 });
    expect(untag).toEqual([]);
  });

  it('never writes anything but an access key id: a secret passed by mistake, or a bad tag key, is skipped', () => {
    const { tag } = keyIdTagChanges({
      secretId: 's',
      tags: new Map(),
      versions: {},
      record: [
        { versionId: V1, accessKeyId: SECRET },
        { versionId: V2, accessKeyId: `${K1}:${SECRET}` },
        { versionId: 'bad,token', accessKeyId: K1 },
        { versionId: V3, accessKeyId: K2 },
      ],
    });
    expect(Object.fromEntries(tag)).toEqual({ [keyIdTag(V3)]: K2 });
    for (const value of tag.values()) {
      expect(isKeyIdTagValue(value)).toBe(true);
      expect(value).toMatch(/^(?:AKIA|ASIA)[A-Z0-9]+$|^none$/);
    }
    expect(isKeyIdTagValue(SECRET)).toBe(false);
    expect(isKeyIdTagValue(Buffer.from(`${K1}:${SECRET}`).toString('base64'))).toBe(false);
  });

  it('reads what a version holds: a key, no key, or unrecorded (also for a value that is not a key id)', () => {
    const tags = new Map([
      [keyIdTag(V1), K1],
      [keyIdTag(V2), NO_KEY],
      [keyIdTag(V3), 'forged value'],
    ]);
    expect(recordedKey(tags, V1)).toEqual({ kind: 'key', accessKeyId: K1 });
    expect(recordedKey(tags, V2)).toEqual({ kind: 'no-key' });
    expect(recordedKey(tags, V3)).toEqual({ kind: 'unrecorded' });
    expect(recordedKey(tags, 'other')).toEqual({ kind: 'unrecorded' });
    expect(recordedKey(tags, undefined)).toEqual({ kind: 'unrecorded' });
    expect(KEY_ID_TAG_PREFIX.startsWith('nvcf-ecr:')).toBe(true);
  });
  it('prunes before it adds, so a secret at the 50-tag limit still records the new version', async () => {
    // 49 other tags, the key id of a version that lost its labels: adding first would make 51 and be refused.
    const tags = new Map(Array.from({ length: 49 }, (_, i) => [`team:${i}`, 'x'] as [string, string]));
    tags.set(keyIdTag(V3), K1);
    const sent: string[] = [];
    const secrets = {
      async send(command: TagResourceCommand | UntagResourceCommand) {
        if (command instanceof UntagResourceCommand) {
          for (const key of command.input.TagKeys ?? []) tags.delete(key);
          sent.push('untag');
        } else {
          for (const t of command.input.Tags ?? []) tags.set(t.Key ?? '', t.Value ?? '');
          if (tags.size > 50) throw new Error('ValidationException: too many tags');
          sent.push('tag');
        }
        return {};
      },
    };
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    await recordKeyIds(
      secrets,
      {
        secretId: 's',
        tags: new Map(tags),
        versions: { [V1]: ['AWSCURRENT'] },
        record: [{ versionId: V2, accessKeyId: K2 }],
      },
      log as never,
    );
    expect(sent).toEqual(['untag', 'tag']);
    expect(tags.get(keyIdTag(V2))).toBe(K2);
    expect(tags.has(keyIdTag(V3))).toBe(false);
  });
});
