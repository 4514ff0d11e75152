import { type ImageSource, openOciArchive, openOciLayout, splitPathAndReference } from '@nvcf-ecr/core';
import { UsageError } from './errors.ts';

/**
 * Image sources the CLI can read, by prefix. A source spec is `<prefix>:<rest>`; the opener gets `<rest>`
 * and says which reference it selects. ECR references (`<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`)
 * join later as one more entry.
 */

export interface OpenedSource {
  source: ImageSource;
  /** The reference inside the source (`undefined`: the only image it holds). */
  reference: string | undefined;
}

export interface SourceKind {
  /** `oci:<dir>[:<ref>]`, for help and error messages. */
  syntax: string;
  open(rest: string): Promise<OpenedSource>;
}

export const SOURCES: Readonly<Record<string, SourceKind>> = {
  oci: {
    syntax: 'oci:<dir>[:<ref>]',
    async open(rest) {
      const { path, reference } = splitPathAndReference(rest);
      return { source: await openOciLayout(path), reference };
    },
  },
  'oci-archive': {
    syntax: 'oci-archive:<file.tar>[:<ref>]',
    async open(rest) {
      const { path, reference } = splitPathAndReference(rest);
      return { source: await openOciArchive(path), reference };
    },
  },
};

/** Opens the source a spec names; an unknown prefix or an empty path is a usage error. */
export async function openSource(spec: string, command: string): Promise<OpenedSource> {
  const colon = spec.indexOf(':');
  const prefix = colon < 0 ? '' : spec.slice(0, colon);
  const kind = Object.hasOwn(SOURCES, prefix) ? SOURCES[prefix] : undefined;
  const forms = Object.values(SOURCES)
    .map((s) => s.syntax)
    .join(' or ');
  if (!kind) throw new UsageError(`'${spec}' is not an image source: use ${forms}`, command);
  const rest = spec.slice(colon + 1);
  if (rest === '' || rest.startsWith(':'))
    throw new UsageError(`'${spec}' names no path: use ${kind.syntax}`, command);
  return kind.open(rest);
}
