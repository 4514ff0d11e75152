/**
 * A minimal tar writer for tests of the archive reader: ustar headers, optional pax `x` headers and GNU
 * `L` long names, so the reader is exercised on every header kind without a tar binary.
 */

export interface TarFile {
  name: string;
  content?: Uint8Array | string;
  /** Typeflag; default '0' (regular file). */
  type?: string;
  /** Put the name in a pax header (`path=`) instead of the ustar name field. */
  pax?: boolean;
  /** Put the name in a GNU `L` long-name entry. */
  gnuLongName?: boolean;
}

const BLOCK = 512;

function bytesOf(content: Uint8Array | string | undefined): Uint8Array {
  if (content === undefined) return new Uint8Array();
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}

function writeString(block: Uint8Array, offset: number, length: number, value: string): void {
  const b = new TextEncoder().encode(value);
  block.set(b.subarray(0, length), offset);
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

export function header(name: string, size: number, type: string): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, name);
  writeString(block, 100, 8, octal(0o644, 8));
  writeString(block, 108, 8, octal(0, 8));
  writeString(block, 116, 8, octal(0, 8));
  writeString(block, 124, 12, octal(size, 12));
  writeString(block, 136, 12, octal(0, 12));
  writeString(block, 156, 1, type);
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return [data, new Uint8Array(pad)];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return `${length}${body}`;
}

/** A complete archive (with the two zero blocks at the end). */
export function tar(files: readonly TarFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const data = bytesOf(f.content);
    let name = f.name;
    if (f.pax) {
      const record = new TextEncoder().encode(paxRecord('path', f.name));
      parts.push(header('PaxHeaders/x', record.length, 'x'), ...padded(record));
      name = 'placeholder';
    } else if (f.gnuLongName) {
      const longName = new TextEncoder().encode(`${f.name}\0`);
      parts.push(header('././@LongLink', longName.length, 'L'), ...padded(longName));
      name = 'placeholder';
    }
    parts.push(header(name, data.length, f.type ?? '0'), ...padded(data));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
