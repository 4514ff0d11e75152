import { readFileSync } from 'node:fs';
import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import {
  boundDetail,
  IMAGE_VALIDATION_SCHEMA_VERSION,
  type ImageValidationDetail,
  imageValidationDetailSchema,
  publishableDetail,
  VALIDATION_DETAIL_MAX_BYTES,
  VALIDATION_EVENT_MAX_BYTES,
  VALIDATION_MAX_ITEMS,
  VALIDATION_MAX_TEXT,
  verdictEnvelopeBytes,
} from '@nvcf-ecr/core/validation';
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
  pushedAt: null,
  functionCheck: 'checked',
  functions: [],
};

describe('Schema: imageValidationDetailSchema', () => {
  it('accepts a verdict and refuses unknown fields, a wrong version or verdict', () => {
    expect(imageValidationDetailSchema.safeParse(base).success).toBe(true);
    expect(imageValidationDetailSchema.safeParse({ ...base, extra: 1 }).success).toBe(false);
    expect(imageValidationDetailSchema.safeParse({ ...base, schemaVersion: 2 }).success).toBe(false);
    expect(imageValidationDetailSchema.safeParse({ ...base, verdict: 'ok' }).success).toBe(false);
  });

  it('validates the example event of the push validation README', () => {
    const doc = readFileSync('packages/core/src/validation/README.md', 'utf8');
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
      'this event was cut: 3 more platforms, 6 more reasons omitted; 2 strings shortened to 256 characters',
    );
  });

  it('keeps the JSON-encoded detail within its byte budget when characters encode to several bytes', () => {
    // '中' is 3 bytes in UTF-8 (plus the quotes JSON adds): 64 entries in each list, each string 256 of them,
    // come to over 400 KB, well over the 256 KB EventBridge allows for a whole entry.
    const wide = '中'.repeat(VALIDATION_MAX_TEXT);
    const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
    const full = <T>(make: (i: number) => T) =>
      Array.from({ length: VALIDATION_MAX_ITEMS }, (_, i) => make(i));
    const input: ImageValidationDetail = {
      ...base,
      verdict: 'non-compliant',
      platforms: full(() => wide),
      missing: ['linux/arm64'],
      required: ['linux/amd64', 'linux/arm64'],
      mismatches: full((i) => ({ digest: digest(i), declared: wide, actual: wide })),
      ignored: full((i) => ({ digest: digest(i), mediaType: wide, platform: wide, reason: wide })),
      warnings: full(() => wide),
      reasons: full(() => wide),
    };
    const bounded = boundDetail(input);
    const bytes = Buffer.byteLength(JSON.stringify(bounded));
    // Room for the envelope of a whole `PutEvents` entry (256 KB, API_PutEvents.html) stays.
    expect(bytes).toBeLessThan(255 * 1024);
    expect(bytes).toBeLessThanOrEqual(VALIDATION_DETAIL_MAX_BYTES);
    expect(imageValidationDetailSchema.safeParse(bounded).success).toBe(true);
    // What decides the verdict is kept whole; the rest is kept as a prefix of each list, as far as it fits.
    expect(bounded).toMatchObject({
      missing: input.missing,
      required: input.required,
      platforms: input.platforms,
    });
    expect(bounded.reasons.slice(0, -1)).toEqual(input.reasons.slice(0, bounded.reasons.length - 1));
    expect(bounded.mismatches).toEqual(input.mismatches.slice(0, bounded.mismatches.length));
    expect(bounded.warnings).toEqual(input.warnings.slice(0, bounded.warnings.length));
    expect(bounded.ignored).toEqual(input.ignored.slice(0, bounded.ignored.length));
    const more = (kept: number, one: string, many: string) => {
      const n = VALIDATION_MAX_ITEMS - kept;
      return n === 0 ? [] : [`${n} more ${n === 1 ? one : many}`];
    };
    const omitted = [
      ...more(bounded.mismatches.length, 'mismatch', 'mismatches'),
      ...more(bounded.ignored.length, 'ignored entry', 'ignored entries'),
      ...more(bounded.warnings.length, 'warning', 'warnings'),
      ...more(bounded.reasons.length - 1, 'reason', 'reasons'),
    ];
    expect(bounded.ignored.length).toBeLessThan(VALIDATION_MAX_ITEMS);
    expect(bounded.reasons.at(-1)).toBe(`this event was cut: ${omitted.join(', ')} omitted`);
  });

  it('removes control and other non-printing characters from every string, and says so', () => {
    const bounded = boundDetail({
      ...base,
      mediaType: 'application/vnd.oci.image.manifest.v1+json\u0001\u0007',
      warnings: ['line one\r\nline two\u202e\u200b\ud800'],
      ignored: [
        {
          digest: base.digest,
          mediaType: 'application/x\u0000y',
          platform: 'linux/\u001b[31mamd64',
          reason: 'plain',
        },
      ],
    });
    expect(bounded.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    // Line breaks and tabs become a space, so the words they separated stay apart.
    expect(bounded.warnings).toEqual(['line one line two']);
    expect(bounded.ignored).toEqual([
      { digest: base.digest, mediaType: 'application/xy', platform: 'linux/[31mamd64', reason: 'plain' },
    ]);
    expect(bounded.reasons).toEqual([
      'ok',
      'this event was cut: non-printing characters removed from 4 strings',
    ]);
    expect(JSON.stringify(bounded)).not.toMatch(/\\u[0-9a-f]{4}/);
  });

  it('never splits a character made of two UTF-16 units when shortening a string', () => {
    const text = `${'a'.repeat(VALIDATION_MAX_TEXT - 2)}${'😀'.repeat(10)}`;
    const bounded = boundDetail({ ...base, warnings: [text] });
    // Cutting at 255 units would keep half of the emoji: the cut moves back by one unit instead.
    expect(bounded.warnings).toEqual([`${'a'.repeat(VALIDATION_MAX_TEXT - 2)}…`]);
    expect(bounded.reasons.at(-1)).toBe('this event was cut: 1 string shortened to 256 characters');
  });
});

describe('Function: verdictEnvelopeBytes', () => {
  it('counts what EventBridge counts besides the detail: Time, Source, DetailType and each resource', () => {
    // The EventBridge user guide, "Calculating PutEvents event entry size": Time 14 bytes, the others their
    // UTF-8 bytes. 'nvcf-ecr-autopilot' is 18, 'NVCF Image Validation' 21.
    const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/inference';
    expect(verdictEnvelopeBytes([arn])).toBe(14 + 18 + 21 + arn.length);
    expect(VALIDATION_DETAIL_MAX_BYTES + verdictEnvelopeBytes([arn])).toBeLessThan(
      VALIDATION_EVENT_MAX_BYTES,
    );
    expect(VALIDATION_EVENT_MAX_BYTES).toBeLessThan(256 * 1024);
  });
});

describe('Function: publishableDetail', () => {
  const minimal = {
    schemaVersion: IMAGE_VALIDATION_SCHEMA_VERSION,
    registry: base.registry,
    repository: base.repository,
    tag: base.tag,
    digest: base.digest,
    mediaType: null,
    kind: null,
    platforms: [],
    required: [],
    missing: [],
    mismatches: [],
    ignored: [],
    warnings: [],
    verdict: 'error',
    reasons: [
      "internal error: the verdict computed for this image failed its own schema or size check, so only this minimal error verdict is published; see the function's logs",
    ],
    sourceEventId: 'event-1',
    pushedAt: null,
    functionCheck: 'checked',
    functions: [],
  };

  it('returns the bounded detail when it matches its schema and fits, logging nothing', () => {
    const logs = memorySink();
    const out = publishableDetail(
      { ...base, warnings: ['a\u0001b'] },
      { logger: createLogger({ sink: logs }) },
    );
    expect(out).toEqual({
      ...base,
      warnings: ['ab'],
      reasons: ['ok', 'this event was cut: non-printing characters removed from 1 string'],
    });
    expect(logs.records).toEqual([]);
  });

  it('logs a detail that fails its own schema (a bug) and returns a minimal error verdict instead', () => {
    const logs = memorySink();
    const broken = {
      ...base,
      sourceEventId: 'event-1',
      verdict: 'maybe',
    } as unknown as ImageValidationDetail;
    const out = publishableDetail(broken, { logger: createLogger({ sink: logs }) });
    expect(out).toEqual(minimal);
    expect(imageValidationDetailSchema.safeParse(out).success).toBe(true);
    expect(logs.records).toHaveLength(1);
    expect(logs.records[0]).toMatchObject({
      level: 'error',
      message:
        'the verdict does not match its schema or size budget: a minimal error verdict is published instead',
      fields: { problem: expect.stringMatching(/^schema: verdict: /) },
    });
  });

  it('returns a minimal error verdict when even the cut detail exceeds the byte budget', () => {
    const logs = memorySink();
    const out = publishableDetail(
      { ...base, sourceEventId: 'event-1' },
      { logger: createLogger({ sink: logs }), maxBytes: 200 },
    );
    expect(out).toEqual(minimal);
    expect(logs.records[0]?.fields['problem']).toMatch(
      /^size: the detail is \d+ bytes, over the 200-byte budget$/,
    );
  });
});
