import { open } from 'node:fs/promises';
import { ImageSourceError } from '../../errors.ts';
import type { ImageSource } from '../fetcher.ts';
import { createLayoutSource, type LayoutFiles } from './layout.ts';
import { describeSourceFsError } from './oci-layout.ts';
import { indexTar, readTarEntry } from './tar.ts';

/**
 * `oci-archive:<file.tar>[:<ref>]`: an OCI image layout inside an uncompressed tar, what
 * `docker buildx build -o type=oci,dest=out.tar` and `skopeo copy ... oci-archive:out.tar:TAG` write.
 * The archive is indexed once (headers only) and read in place: nothing is extracted to disk.
 */

/**
 * Opens an OCI archive. Throws {@link ImageSourceError} when the file cannot be read or is not an
 * uncompressed tar. Call `close()` when done (it closes the file).
 *
 * @example
 * const source = await openOciArchive('out.tar');
 * try { const root = await source.resolveReference(undefined); } finally { await source.close(); }
 */
export async function openOciArchive(file: string): Promise<ImageSource> {
  return openTarArchive(
    file,
    `${file} is not a file: an oci-archive: source is a .tar (for a directory use oci:${file})`,
    async (files) => createLayoutSource(files, `oci-archive:${file}`),
  );
}

/**
 * Opens the uncompressed tar `file` and makes a source of its files with `sourceOf`. A file that cannot be
 * opened, a path that is not a file (`notAFile` says so) and anything `sourceOf` throws become an
 * {@link ImageSourceError}, and the file is closed again.
 */
export async function openTarArchive(
  file: string,
  notAFile: string,
  sourceOf: (files: LayoutFiles) => Promise<ImageSource>,
): Promise<ImageSource> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new ImageSourceError(describeSourceFsError(err, file, 'file'), false, { cause: err });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ImageSourceError(notAFile, false);
    return await sourceOf(await tarFiles(handle, info.size, file));
  } catch (err) {
    await handle.close();
    if (err instanceof ImageSourceError) throw err;
    throw new ImageSourceError(describeSourceFsError(err, file, 'file'), false, { cause: err });
  }
}

/** The files of the tar open in `handle`, indexed once; `close()` closes the handle. */
async function tarFiles(
  handle: Awaited<ReturnType<typeof open>>,
  fileSize: number,
  file: string,
): Promise<LayoutFiles> {
  const { files: entries } = await indexTar(handle, fileSize, file);
  return {
    size: async (path) => entries.get(path)?.size,
    read: async (path) => {
      const entry = entries.get(path);
      if (!entry) throw new ImageSourceError(`${file}:${path} is not in the archive`, false);
      return readTarEntry(handle, entry, file);
    },
    where: (path) => `${file}:${path}`,
    close: () => handle.close(),
  };
}
