/**
 * `npm run native [-- --force] [-- --optional]`: build the native kernels (see
 * timeseries/kernels/native/build.ts). Exit 1 when the compiler fails or warns, unless
 * `--optional` (as `npm install` runs it: the TypeScript kernels then run). A machine without a C
 * compiler or Node.js headers is not an error: it is reported and the TypeScript kernels run.
 */
import { buildNative } from '../timeseries/kernels/native/build.ts';

const args = process.argv.slice(2);
const optional = args.includes('--optional');
const r = buildNative(args.includes('--force'));
if (r.output) console.error(r.output);
if (r.status === 'built' || r.status === 'current') {
  console.log(`native kernels ${r.status === 'built' ? 'built' : 'up to date'} (${r.stamp.compiler})`);
  if (r.output && !optional) {
    console.error('native kernels: the compiler printed warnings (above); fix them');
    process.exitCode = 1;
  }
} else if (r.status === 'unavailable') {
  console.log(`native kernels not built, the TypeScript kernels will run: ${r.reason}`);
} else {
  console.error(`native kernels failed to build: ${r.reason}`);
  if (!optional) process.exitCode = 1;
}
