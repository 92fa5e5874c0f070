/**
 * tfjs's own cpu kernels, saved when ours replace them, so that a native kernel can hand a case it
 * does not claim (another dtype, an unsupported attribute) to the kernel it replaced, and
 * unregisterNativeKernels() can put it back.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './cpuBackend';

export const CPU_BACKEND = 'cpu';

/** A cpu-backend KernelConfig for one of our kernel functions. */
export function nativeKernelConfig(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => unknown,
): tf.KernelConfig {
  return { kernelName, backendName: CPU_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc };
}

const saved = new Map<string, tf.KernelConfig>();

export function saveStockKernel(config: tf.KernelConfig): void {
  saved.set(config.kernelName, config);
}

/** The saved stock kernel, removed from the saved set (restoring hands it back to tfjs). */
export function takeStockKernel(kernelName: string): tf.KernelConfig | undefined {
  const config = saved.get(kernelName);
  saved.delete(kernelName);
  return config;
}

/**
 * Runs tfjs's own cpu kernel `kernelName`: the saved one when ours replaced it, else whatever is
 * registered (then it is tfjs's own).
 */
export function runStock(kernelName: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const config = saved.get(kernelName) ?? tf.getKernel(kernelName, CPU_BACKEND);
  if (config === undefined) throw new Error(`tfjs has no ${CPU_BACKEND} kernel ${kernelName}`);
  return config.kernelFunc(args);
}

/** runStock for a kernel with one output. */
export function runStockSingle(kernelName: string, args: KernelArgs): tf.TensorInfo {
  const result = runStock(kernelName, args);
  if (Array.isArray(result)) {
    const [first] = result;
    if (first === undefined || result.length !== 1) {
      throw new Error(`tfjs ${CPU_BACKEND} kernel ${kernelName} returned ${result.length} outputs`);
    }
    return first;
  }
  return result;
}
