import type { FileHandle } from 'node:fs/promises';
import { ImageSourceError } from '../../errors.ts';

/**
 * A small random-access reader for POSIX tar archives (ustar, pax `x` headers, GNU `L` long names), the
 * format `docker buildx build -o type=oci,dest=out.tar` writes. It reads headers only and seeks over
 * file data, so an archive with gigabytes of layers costs a few hundred small reads and no memory; a
 * file's bytes are read only when asked for. No dependency: the format is a few fixed offsets
 * (POSIX.1-2001 `pax`, and GNU tar's `L` extension).
 *
 * Guards: entries whose name is absolute or contains `..` are never served (a lookup cannot be steered
 * outside the archive's own tree); links, directories and devices are skipped; headers must carry a
 * valid checksum; sizes must fit inside the file; the number of entries and the size of extended
 * headers are bounded.
 */

const BLOCK = 512;
/** Most entries indexed; an OCI layout of a big image has a few hundred. */
export const MAX_TAR_ENTRIES = 100_000;
/** Largest pax extended header or GNU long name accepted. */
const MAX_EXTENDED_HEADER = 1024 * 1024;

export interface TarEntry {
  /** Normalised path (no leading `./`). */
  name: string;
  /** Offset of the file's first data byte. */
  offset: number;
  size: number;
}

export interface TarIndex {
  /** Regular files by normalised name; a later entry of the same name wins, as when extracting. */
  files: Map<string, TarEntry>;
  /** Names skipped because they could escape the archive's tree. */
  unsafe: string[];
}

/** Reads the headers of the tar archive open in `handle` (`label` names it in messages). */
export async function indexTar(handle: FileHandle, fileSize: number, label: string): Promise<TarIndex> {
  const files = new Map<string, TarEntry>();
  const unsafe: string[] = [];
  const header = new Uint8Array(BLOCK);
  let offset = 0;
  let count = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;

  if (fileSize < BLOCK) {
    const head = new Uint8Array(fileSize);
    await readExactly(handle, head, 0, label);
    rejectCompressed(head, label);
    throw new ImageSourceError(
      `${label} is not a tar archive (${fileSize} bytes, shorter than one tar header)`,
      false,
    );
  }
  while (offset + BLOCK <= fileSize) {
    await readExactly(handle, header, offset, label);
    if (offset === 0) rejectCompressed(header, label);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) {
      throw new ImageSourceError(
        offset === 0
          ? `${label} is not a tar archive (bad header checksum): an oci-archive: source is a .tar of an OCI layout`
          : `${label} is corrupt: bad tar header checksum at byte ${offset}`,
        false,
      );
    }
    if (++count > MAX_TAR_ENTRIES)
      throw new ImageSourceError(
        `${label} has more than ${MAX_TAR_ENTRIES} entries; refusing to index it`,
        false,
      );

    const type = String.fromCharCode(header[156] ?? 0);
    let size = parseNumber(header.subarray(124, 136), label, offset);
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize))
        throw new ImageSourceError(`${label}: invalid pax size '${paxSize}' at byte ${offset}`, false);
      size = Number(paxSize);
    }
    const dataOffset = offset + BLOCK;
    if (!Number.isSafeInteger(size) || dataOffset + size > fileSize) {
      throw new ImageSourceError(
        `${label} is truncated: an entry at byte ${offset} claims ${size} bytes past the end of the file`,
        false,
      );
    }

    if (type === 'x' || type === 'L') {
      if (size > MAX_EXTENDED_HEADER)
        throw new ImageSourceError(
          `${label}: extended header at byte ${offset} is ${size} bytes; refusing it`,
          false,
        );
      const data = new Uint8Array(size);
      await readExactly(handle, data, dataOffset, label);
      if (type === 'x') pax = parsePax(data, label, offset);
      else longName = cString(data);
    } else {
      if (type === '0' || type === '\0' || type === '7') {
        const raw = pax?.get('path') ?? longName ?? headerName(header);
        const name = normaliseName(raw);
        if (name === undefined) unsafe.push(raw);
        else files.set(name, { name, offset: dataOffset, size });
      }
      // Global pax headers ('g'), links, directories and devices carry nothing an OCI layout reader needs.
      pax = undefined;
      longName = undefined;
    }
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
  return { files, unsafe };
}

/** Reads a whole entry. */
export async function readTarEntry(handle: FileHandle, entry: TarEntry, label: string): Promise<Uint8Array> {
  const out = new Uint8Array(entry.size);
  await readExactly(handle, out, entry.offset, label);
  return out;
}

async function readExactly(
  handle: FileHandle,
  into: Uint8Array,
  position: number,
  label: string,
): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0)
      throw new ImageSourceError(
        `${label} is truncated: unexpected end of file at byte ${position + done}`,
        false,
      );
    done += bytesRead;
  }
}

function rejectCompressed(header: Uint8Array, label: string): void {
  if (header[0] === 0x1f && header[1] === 0x8b) {
    throw new ImageSourceError(
      `${label} is gzip-compressed: decompress it first (gunzip -k ${label}) and pass the .tar`,
      false,
    );
  }
  if (header[0] === 0x28 && header[1] === 0xb5 && header[2] === 0x2f && header[3] === 0xfd) {
    throw new ImageSourceError(
      `${label} is zstd-compressed: decompress it first (zstd -d ${label}) and pass the .tar`,
      false,
    );
  }
}

/** POSIX checksum: the unsigned sum of the header with the checksum field read as spaces. */
function checksumOk(header: Uint8Array): boolean {
  const field = cString(header.subarray(148, 156)).trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const expected = Number.parseInt(field, 8);
  // Some historic tars summed signed bytes; accept both, as GNU tar does.
  return expected === unsigned || expected === signed;
}

/** Octal ASCII, or GNU base-256 (high bit set) for sizes over 8 GiB. */
function parseNumber(field: Uint8Array, label: string, offset: number): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new ImageSourceError(
      `${label}: invalid size field '${text}' in the tar header at byte ${offset}`,
      false,
    );
  return Number.parseInt(text, 8);
}

function headerName(header: Uint8Array): string {
  const name = cString(header.subarray(0, 100));
  // The ustar prefix field exists only with the POSIX magic; GNU tar uses those bytes for other data.
  const magic = cString(header.subarray(257, 263));
  const prefix = magic === 'ustar' && header[262] === 0 ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** pax records: `"<len> <key>=<value>\n"`, `len` counting the bytes of the whole record. */
function parsePax(data: Uint8Array, label: string, offset: number): Map<string, string> {
  const out = new Map<string, string>();
  const decoder = new TextDecoder();
  let pos = 0;
  while (pos < data.length) {
    if (data.subarray(pos).every((b) => b === 0)) break;
    const space = data.indexOf(0x20, pos);
    const length = space < 0 ? Number.NaN : Number(decoder.decode(data.subarray(pos, space)));
    if (!Number.isSafeInteger(length) || length <= space - pos + 1 || pos + length > data.length) {
      throw new ImageSourceError(`${label}: malformed pax header at byte ${offset}`, false);
    }
    const record = data.subarray(space + 1, pos + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(decoder.decode(record.subarray(0, eq)), decoder.decode(record.subarray(eq + 1)));
    pos += length;
  }
  return out;
}

/** `undefined` for names that could escape the archive tree or are not plain relative paths. */
export function normaliseName(raw: string): string | undefined {
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.includes('\0')) return undefined;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}
