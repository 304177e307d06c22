/** Test helpers for code with a native and a TypeScript kernel (see native.ts). */
import { nativeKernels, setNativeEnabled } from './native.ts';

export type KernelMode = 'typescript' | 'native';

/** The kernel modes to test on this machine: the TypeScript kernels always, the native ones when loaded. */
export function kernelModes(): KernelMode[] {
  return nativeKernels() === undefined ? ['typescript'] : ['typescript', 'native'];
}

/** Make `mode` the kernels in use on this thread (`native`: the default, when loaded). */
export function useKernels(mode: KernelMode): void {
  setNativeEnabled(mode === 'native' ? undefined : false);
}
