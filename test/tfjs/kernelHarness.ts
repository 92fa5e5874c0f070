/**
 * What the tests of the native tfjs kernels share: the cpu backend with poisoned output arrays,
 * seeded inputs, a computation run with tfjs's kernels and with ours (counting the calls that
 * reached the addon), and bit-for-bit comparison.
 */
import * as tf from '@tensorflow/tfjs';
import type { Addon } from '../../src/native/addonTypes';
import { loadAddon } from '../../src/native/loadAddon';
import { poisonOutputArrays } from '../../src/tfjs/kernels/outputPool';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/tfjs/kernels/register';
import { uniforms } from '../vit/tinyVit';

export const addon = loadAddon();

/** The cpu backend for the file's tests, every native output array starting as NaN. */
export function useCpuBackendWithPoisonedOutputs(): void {
  beforeAll(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
    poisonOutputArrays(true);
  });
  afterAll(() => {
    poisonOutputArrays(false);
  });
  afterEach(() => {
    unregisterNativeKernels();
  });
}

let seedCounter = 7001;
/** Seeded uniforms in [−1, 1). */
export function random(count: number): Float32Array {
  return uniforms(seedCounter++, count).map((u) => 2 * u);
}

/**
 * `compute` with tfjs's kernels and with ours, as typed arrays of each output's own dtype, and how
 * many calls reached the named addon functions.
 */
export function bothWays(
  compute: () => tf.Tensor | tf.Tensor[],
  addonFunctions: readonly Exclude<keyof Addon, 'NativePlan' | 'CudaNativePlan'>[],
): { stock: tf.TypedArray[]; native: tf.TypedArray[]; calls: number } {
  const run = (): tf.TypedArray[] => {
    const result = compute();
    const tensors = Array.isArray(result) ? result : [result];
    const arrays = tensors.map((t) => t.dataSync());
    tf.dispose(tensors);
    return arrays;
  };
  unregisterNativeKernels();
  const stock = run();
  expect(registerNativeKernels()).toBe(true);
  const spies = addonFunctions.map((name) => jest.spyOn(addon, name));
  try {
    const native = run();
    return { stock, native, calls: spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0) };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
    unregisterNativeKernels();
  }
}

/** Bit-for-bit equality (NaN equal to NaN, +0 distinct from −0). */
export function expectIdentical(
  actual: tf.TypedArray,
  expected: tf.TypedArray,
  what: string,
): void {
  expect(actual.constructor.name).toBe(expected.constructor.name);
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, tfjs gives ${expected[i]}`);
    }
  }
}
