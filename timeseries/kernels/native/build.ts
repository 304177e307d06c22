/**
 * Building the native kernels (the C files beside this one) into one Node-API addon with the
 * machine's C compiler and the headers that come with Node.js. `npm install` runs it
 * (scripts/build-native.ts, allowed to fail: the TypeScript kernels then run), `npm test` runs it
 * strictly. The addon and a stamp with the hash of the sources it was built from go to
 * `build/native/`; a stamp that does not match the sources means a stale addon, which the loader
 * (../native.ts) refuses.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(SOURCE_DIR, '../../..');

/** Where the addon and its stamp are written. */
export const NATIVE_DIR = join(ROOT, 'build', 'native');
export const ADDON_PATH = join(NATIVE_DIR, 'polaroid.node');
export const STAMP_PATH = join(NATIVE_DIR, 'polaroid.json');

/**
 * Compiler flags; part of the stamp, so a change of flags rebuilds. Node-API symbols are resolved
 * from the node binary at load: a shared object on Linux, a bundle that allows undefined symbols
 * on macOS.
 */
const LINK = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];
const FLAGS = ['-O2', '-std=c11', '-pthread', '-fPIC', ...LINK, '-fvisibility=hidden', '-Wall', '-Wextra'];

export interface Stamp {
  /** sha256 over the C sources (names and contents) and the flags. */
  sources: string;
  compiler: string;
  headers: string;
  node: string;
}

function sourceFiles(): string[] {
  return readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .sort();
}

/** The hash a stamp must carry for the current sources. */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of sourceFiles())
    h.update(`${f}\0`)
      .update(readFileSync(join(SOURCE_DIR, f)))
      .update('\0');
  h.update(FLAGS.join(' '));
  return h.digest('hex');
}

/** The stamp of the built addon, or undefined when there is none. */
export function readStamp(): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(STAMP_PATH, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

/** Directories that may hold `node_api.h` for the running Node.js, most specific first. */
function headerCandidates(): string[] {
  const prefix = (process.config.variables as { node_prefix?: string }).node_prefix;
  return [
    ...(process.env.POLAROID_NODE_HEADERS ? [process.env.POLAROID_NODE_HEADERS] : []),
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    ...(prefix ? [join(prefix, 'include', 'node')] : []),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
}

/**
 * What a build did: `built` (or found current), `unavailable` (no compiler or no headers on this
 * machine: the TypeScript kernels run) or `failed` (the compiler rejected the sources).
 * `output` is what the compiler printed (warnings included).
 */
export type BuildResult =
  | { status: 'built'; stamp: Stamp; output: string }
  | { status: 'current'; stamp: Stamp; output: string }
  | { status: 'unavailable'; reason: string; output: string }
  | { status: 'failed'; reason: string; output: string };

/** Build the addon unless a current one is there (`force` rebuilds). Never throws: the result says why. */
export function buildNative(force = false): BuildResult {
  if (process.platform === 'win32')
    return { status: 'unavailable', reason: 'native kernels are built on Linux and macOS only', output: '' };
  const hash = sourceHash();
  const stamp = readStamp();
  if (!force && stamp?.sources === hash && existsSync(ADDON_PATH))
    return { status: 'current', stamp, output: '' };
  const headers = headerCandidates().find((d) => existsSync(join(d, 'node_api.h')));
  if (!headers)
    return {
      status: 'unavailable',
      reason: `no Node.js headers (node_api.h) in ${headerCandidates().join(', ')}; set POLAROID_NODE_HEADERS`,
      output: '',
    };
  const compiler = process.env.CC || 'cc';
  const sources = sourceFiles()
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(SOURCE_DIR, f));
  mkdirSync(NATIVE_DIR, { recursive: true });
  // Compiled to a name of this process, then renamed: concurrent builds never expose half a file.
  const tmp = join(NATIVE_DIR, `polaroid.${process.pid}.tmp.node`);
  const run = spawnSync(compiler, [...FLAGS, `-I${headers}`, '-o', tmp, ...sources, '-lm'], {
    encoding: 'utf8',
  });
  if (run.error)
    return {
      status: 'unavailable',
      reason: `C compiler "${compiler}" could not be run: ${run.error.message}; set CC`,
      output: '',
    };
  const output = `${run.stdout}${run.stderr}`.trim();
  if (run.status !== 0) {
    rmSync(tmp, { force: true });
    return { status: 'failed', reason: `${compiler} exited with ${run.status}`, output };
  }
  renameSync(tmp, ADDON_PATH);
  const next: Stamp = { sources: hash, compiler, headers, node: process.version };
  const stampTmp = join(NATIVE_DIR, `polaroid.${process.pid}.tmp.json`);
  writeFileSync(stampTmp, `${JSON.stringify(next, null, 2)}\n`);
  renameSync(stampTmp, STAMP_PATH);
  return { status: 'built', stamp: next, output };
}
