import { readFileSync } from 'node:fs';
import {
  boundDetail,
  IMAGE_VALIDATION_SCHEMA_VERSION,
  type ImageValidationDetail,
  imageValidationDetailSchema,
  VALIDATION_MAX_ITEMS,
  VALIDATION_MAX_TEXT,
} from '@nvcf-ecr/core';
import { describe, expect, it } from 'vitest';

// The versioned detail of `NVCF Image Validation`: its schema, the bounds that keep an event under
// EventBridge's 256 KB, and the documented example.

const base: ImageValidationDetail = {
  schemaVersion: IMAGE_VALIDATION_SCHEMA_VERSION,
  registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  repository: 'inference',
  tag: 'v1',
  digest: `sha256:${'a'.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  kind: 'image',
  platforms: ['linux/amd64'],
  required: ['linux/amd64'],
  missing: [],
  mismatches: [],
  ignored: [],
  warnings: [],
  verdict: 'compliant',
  reasons: ['ok'],
  sourceEventId: null,
};

describe('Schema: imageValidationDetailSchema', () => {
  it('accepts a verdict and refuses unknown fields, a wrong version or verdict', () => {
    expect(imageValidationDetailSchema.safeParse(base).success).toBe(true);
    expect(imageValidationDetailSchema.safeParse({ ...base, extra: 1 }).success).toBe(false);
    expect(imageValidationDetailSchema.safeParse({ ...base, schemaVersion: 2 }).success).toBe(false);
    expect(imageValidationDetailSchema.safeParse({ ...base, verdict: 'ok' }).success).toBe(false);
  });

  it('validates the example event of README.md', () => {
    const doc = readFileSync('README.md', 'utf8');
    const block = [...doc.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? '')
      .find((b) => b.includes('"detail-type": "NVCF Image Validation"'));
    const event = JSON.parse(block ?? '{}') as { source: string; detail: unknown };
    expect(event.source).toBe('nvcf-ecr-autopilot');
    expect(imageValidationDetailSchema.safeParse(event.detail).success).toBe(true);
  });
});

describe('Function: boundDetail', () => {
  it('leaves a detail within bounds unchanged', () => {
    expect(boundDetail(base)).toEqual(base);
  });

  it('clips long strings and long lists, and says what it left out in the last reason', () => {
    const long = 'p'.repeat(VALIDATION_MAX_TEXT + 10);
    const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const bounded = boundDetail({
      ...base,
      mediaType: long,
      platforms: many(VALIDATION_MAX_ITEMS + 3, 'linux/x'),
      warnings: [long],
      reasons: many(VALIDATION_MAX_ITEMS + 5, 'reason '),
    });
    expect(imageValidationDetailSchema.safeParse(bounded).success).toBe(true);
    expect(bounded.mediaType).toBe(`${'p'.repeat(VALIDATION_MAX_TEXT - 1)}…`);
    expect(bounded.platforms).toEqual(many(VALIDATION_MAX_ITEMS, 'linux/x'));
    expect(bounded.reasons).toHaveLength(VALIDATION_MAX_ITEMS);
    expect(bounded.reasons.at(-2)).toBe(`reason ${VALIDATION_MAX_ITEMS - 2}`);
    expect(bounded.reasons.at(-1)).toBe(
      `this event lists at most ${VALIDATION_MAX_ITEMS} of each: 3 more platforms, 6 more reasons omitted`,
    );
  });
});
