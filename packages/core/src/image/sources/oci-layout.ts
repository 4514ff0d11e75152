import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImageSourceError } from '../../errors.ts';
import type { ImageSource } from '../fetcher.ts';
import { createLayoutSource, type LayoutFiles } from './layout.ts';

/**
 * `oci:<dir>[:<ref>]`: an OCI image layout directory, as written by `skopeo copy ... oci:DIR:TAG`,
 * `buildah push IMAGE oci:DIR:TAG` or `docker buildx build -o type=oci,tar=false,dest=DIR`.
 */

/**
 * Splits `<path>[:<ref>]` at the first `:`, the convention of containers/image's `oci:` transport
 * (`oci/internal/oci_util.go`, splitPathAndImageNonWindows): a path cannot contain `:`, a ref may
 * (`oci:dir:sha256:...` selects by digest).
 */
export function splitPathAndReference(spec: string): { path: string; reference: string | undefined } {
  const at = spec.indexOf(':');
  if (at < 0) return { path: spec, reference: undefined };
  const reference = spec.slice(at + 1);
  return { path: spec.slice(0, at), reference: reference === '' ? undefined : reference };
}

/**
 * Opens an OCI layout directory. Throws {@link ImageSourceError} when `dir` is not a readable directory;
 * a directory that is not a layout is reported on first use, naming the missing file.
 *
 * @example
 * const source = await openOciLayout('test/fixtures/regclient-testrepo');
 * const root = await source.resolveReference('b1');
 */
export async function openOciLayout(dir: string): Promise<ImageSource> {
  const abs = resolve(dir);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(abs);
  } catch (err) {
    throw new ImageSourceError(describeSourceFsError(err, dir, 'directory'), false, { cause: err });
  }
  if (!info.isDirectory()) {
    throw new ImageSourceError(
      `${dir} is not a directory: an oci: source is an OCI layout directory (for a .tar use oci-archive:${dir})`,
      false,
    );
  }
  const files: LayoutFiles = {
    async size(path) {
      try {
        const s = await stat(join(abs, path));
        return s.isFile() ? s.size : undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw new ImageSourceError(describeSourceFsError(err, join(dir, path), 'file'), false, {
          cause: err,
        });
      }
    },
    async read(path) {
      try {
        return new Uint8Array(await readFile(join(abs, path)));
      } catch (err) {
        throw new ImageSourceError(describeSourceFsError(err, join(dir, path), 'file'), false, {
          cause: err,
        });
      }
    },
    where: (path) => join(dir, path),
    close: async () => undefined,
  };
  return createLayoutSource(files, `oci:${dir}`);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function describeSourceFsError(err: unknown, path: string, what: 'file' | 'directory'): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `${path}: no such ${what}; check the path`;
  if (code === 'EACCES' || code === 'EPERM') return `${path}: permission denied; make the ${what} readable`;
  return `${path}: cannot be read (${(err as Error).message})`;
}
