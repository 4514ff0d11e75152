import { existsSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository must stand on its own: a clone in an empty folder passes `npm test`. This guard makes every
 * test fail that reads a file outside the checkout (a sibling folder, another clone), instead of passing on
 * the machines where that folder happens to exist. It wraps Node's file-reading functions (callback, sync
 * and promise forms) and refreshes the live bindings of `import { readFile } from 'node:fs/promises'` with
 * `syncBuiltinESMExports` (https://nodejs.org/api/module.html#modulesyncbuiltinesmexports).
 *
 * Allowed besides the checkout: temporary folders (tests write there), the home folder (tool caches), the
 * Node.js installation, and the system's own folders (`/usr`, `/etc`, `/proc`, … which Node and child tools
 * read). Anything else that exists — notably a sibling of the checkout — throws {@link OutsideCheckoutError}.
 */

export const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const SYSTEM = [
  '/usr',
  '/etc',
  '/proc',
  '/sys',
  '/dev',
  '/lib',
  '/lib64',
  '/bin',
  '/sbin',
  '/opt',
  '/var',
  '/run',
];

/** Folders a test may read besides the checkout. */
function allowedRoots(): string[] {
  return [tmpdir(), '/tmp', homedir(), resolve(dirname(process.execPath), '..'), ...SYSTEM];
}

const within = (path: string, root: string) =>
  path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Whether a test may read `abs` when the checkout is `checkout`: anything in the checkout; nothing else in
 * the folder that holds it (a sibling clone or notes folder), unless that folder is itself one of the
 * allowed roots (a checkout made directly in /tmp has only temporary files beside it); else the allowed roots.
 */
export function mayRead(abs: string, checkout: string, roots: readonly string[] = allowedRoots()): boolean {
  if (within(abs, checkout)) return true;
  const parent = dirname(checkout);
  if (within(abs, parent) && !roots.includes(parent)) return false;
  return roots.some((root) => within(abs, root));
}

export class OutsideCheckoutError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(
      `read outside the checkout: ${path}. Everything the tests read lives in the repository (${CHECKOUT}); ` +
        'copy the data into test/fixtures/ with its source and licence.',
    );
    this.name = 'OutsideCheckoutError';
    this.path = path;
  }
}

/** True when `path` (a string, URL or Buffer path; a file descriptor is always fine) is inside an allowed root. */
export function isAllowedPath(path: unknown): boolean {
  let p: string;
  if (typeof path === 'string') p = path;
  else if (path instanceof URL) {
    if (path.protocol !== 'file:') return true;
    p = fileURLToPath(path);
  } else if (Buffer.isBuffer(path)) p = path.toString('utf8');
  else return true;
  return mayRead(resolve(p), CHECKOUT);
}

/**
 * Refuses an existing path outside the allowed roots. A path that does not exist is left to fail as it would
 * (a test of a missing file, `/nonexistent/x`): what breaks a clone is data that exists only on some machines.
 */
function check(path: unknown): void {
  if (isAllowedPath(path)) return;
  const p =
    path instanceof URL ? fileURLToPath(path) : Buffer.isBuffer(path) ? path.toString('utf8') : String(path);
  if (existsSync(p)) throw new OutsideCheckoutError(p);
}

const GUARDED = Symbol.for('nvcf-ecr.checkout-guard');

/** Installs the guard once per process (setup files run once per test file; the wrap must not stack). */
export function installCheckoutGuard(): void {
  const require = createRequire(import.meta.url);
  const fs = require('node:fs') as Record<string | symbol, unknown> & { promises: Record<string, unknown> };
  if (fs[GUARDED]) return;
  fs[GUARDED] = true;
  // The promise API refuses with a rejected promise, as it reports every other failure.
  const wrap = (target: Record<string, unknown>, names: readonly string[], promises = false) => {
    for (const name of names) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      target[name] = function guarded(this: unknown, path: unknown, ...rest: unknown[]) {
        try {
          check(path);
        } catch (err) {
          if (promises) return Promise.reject(err);
          throw err;
        }
        return (original as (...a: unknown[]) => unknown).call(this, path, ...rest);
      };
    }
  };
  wrap(fs, [
    'readFile',
    'readFileSync',
    'open',
    'openSync',
    'createReadStream',
    'readdir',
    'readdirSync',
    'opendir',
    'opendirSync',
  ]);
  wrap(fs.promises, ['readFile', 'open', 'readdir', 'opendir'], true);
  syncBuiltinESMExports();
}
