import { decodeJavaBase64, decodeRegistrySecret, encodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { parseImageReference, parseRegistryHostname } from '@nvcf-ecr/core/ecr';
import { CredentialCodecError, HostnameError, ImageReferenceError } from '@nvcf-ecr/core/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Property tests: the parsers face operator input, event payloads and API answers, so whatever they are
// given they either answer or throw their own error class, never a TypeError or a RangeError.

/** `fn` returns, or throws an instance of `cls`; anything else fails the property. */
function onlyThrows(cls: abstract new (...args: never[]) => Error, fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    return err instanceof cls;
  }
}

const VALID_HOSTS = [
  '123456789012.dkr.ecr.us-west-2.amazonaws.com',
  '123456789012.dkr-ecr-fips.us-gov-east-1.on.aws',
  '210987654321.dkr.ecr.cn-north-1.on.amazonwebservices.com.cn',
  '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu',
  'public.ecr.aws',
];

/** A valid hostname with one character inserted, deleted or replaced, a few times over. */
const mutatedHostname = fc
  .tuple(
    fc.constantFrom(...VALID_HOSTS),
    fc.array(
      fc.tuple(
        fc.constantFrom('insert', 'delete', 'replace'),
        fc.nat(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  )
  .map(([host, edits]) =>
    edits.reduce((h, [op, at, ch]) => {
      const i = h.length === 0 ? 0 : at % h.length;
      if (op === 'insert') return h.slice(0, i) + ch + h.slice(i);
      if (op === 'delete') return h.slice(0, i) + h.slice(i + 1);
      return h.slice(0, i) + ch + h.slice(i + 1);
    }, host),
  );

const hostnameChars = fc.string({ unit: fc.constantFrom(...'0123456789abcdefgkrsu.-:/ABC'), maxLength: 60 });

describe('Property: parseRegistryHostname', () => {
  it('throws nothing but HostnameError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) =>
        onlyThrows(HostnameError, () => parseRegistryHostname(s)),
      ),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but HostnameError on strings built from hostname characters', () => {
    fc.assert(
      fc.property(hostnameChars, (s) => onlyThrows(HostnameError, () => parseRegistryHostname(s))),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but HostnameError on mutations of valid hostnames', () => {
    fc.assert(
      fc.property(mutatedHostname, (s) => onlyThrows(HostnameError, () => parseRegistryHostname(s))),
      { numRuns: 2000 },
    );
  });

  it('returns the hostname it was given whenever it accepts one', () => {
    fc.assert(
      fc.property(mutatedHostname, (s) => {
        try {
          return parseRegistryHostname(s).hostname === s;
        } catch {
          return true;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Property: parseImageReference', () => {
  const reference = fc
    .tuple(
      fc.oneof(fc.constantFrom(...VALID_HOSTS), mutatedHostname),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    )
    .map(([host, rest]) => `${host}/${rest}`);

  it('throws nothing but ImageReferenceError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) =>
        onlyThrows(ImageReferenceError, () => parseImageReference(s)),
      ),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but ImageReferenceError on host/path strings', () => {
    fc.assert(
      fc.property(reference, (s) => onlyThrows(ImageReferenceError, () => parseImageReference(s))),
      { numRuns: 2000 },
    );
  });
});

const upperAlnum = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const secretChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+');
const keyPair = fc.record({
  accessKeyId: fc.string({ unit: upperAlnum, minLength: 16, maxLength: 16 }).map((s) => `AKIA${s}`),
  secretAccessKey: fc.string({ unit: secretChar, minLength: 40, maxLength: 40 }),
});

describe('Property: registry credential codec', () => {
  it('round-trips every valid permanent key pair', () => {
    fc.assert(
      fc.property(keyPair, (pair) => {
        const decoded = decodeRegistrySecret(
          encodeRegistrySecret(pair),
          '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        );
        expect(decoded).toEqual({ username: pair.accessKeyId, password: pair.secretAccessKey });
      }),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but CredentialCodecError when decoding arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.constantFrom('nvcr.io', 'public.ecr.aws'),
        (s, host) => onlyThrows(CredentialCodecError, () => decodeRegistrySecret(s, host)),
      ),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but CredentialCodecError when decoding strings of the base64 alphabet and padding', () => {
    const b64ish = fc.string({ unit: fc.constantFrom(...'QUFBOjpz=+/'), maxLength: 24 });
    fc.assert(
      fc.property(b64ish, (s) => onlyThrows(CredentialCodecError, () => decodeRegistrySecret(s, 'nvcr.io'))),
      { numRuns: 2000 },
    );
  });

  it('decodes any standard base64, padded or not, to the bytes that were encoded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, keepPadding) => {
        const padded = Buffer.from(bytes).toString('base64');
        const input = keepPadding ? padded : padded.replace(/=+$/, '');
        expect([...(decodeJavaBase64(input) ?? [-1])]).toEqual([...bytes]);
      }),
      { numRuns: 1000 },
    );
  });
});
