// Entry of a pool worker thread: load the TypeScript sources through tsx (as bin/polaroid.js does),
// then the task loop. Plain JavaScript, because a fresh thread starts without tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
