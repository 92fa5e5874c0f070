/**
 * What the convolution and pooling tests share (test/tfjs/convolution.test.ts, pooling.test.ts):
 * the cpu backend with poisoned output arrays, seeded inputs, the addon's geometry as named
 * fields, the window loop written from the definition, and tfjs's kernels against ours.
 */
import * as tf from '@tensorflow/tfjs';
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

export interface Geometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fh: number;
  fw: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
}

export function fromArray(g: Float64Array): Geometry {
  const [batch, inH, inW, inC, outH, outW, outC, fh, fw, strideH, strideW] = g;
  const [dilationH, dilationW, padTop, padLeft] = g.subarray(11);
  return {
    batch,
    inH,
    inW,
    inC,
    outH,
    outW,
    outC,
    fh,
    fw,
    strideH,
    strideW,
    dilationH,
    dilationW,
    padTop,
    padLeft,
  } as Geometry;
}

/**
 * Calls visit(input pixel, tap) for each tap of output pixel (n, oy, ox) inside the input,
 * row-major over the filter (pixel flattened over batch, height, width; tap = fy · fw + fx).
 */
export function forEachInsideTap(
  g: Geometry,
  n: number,
  oy: number,
  ox: number,
  visit: (pixel: number, tap: number) => void,
): void {
  for (let fy = 0; fy < g.fh; fy++) {
    const iy = oy * g.strideH - g.padTop + fy * g.dilationH;
    if (iy < 0 || iy >= g.inH) continue;
    for (let fx = 0; fx < g.fw; fx++) {
      const ix = ox * g.strideW - g.padLeft + fx * g.dilationW;
      if (ix < 0 || ix >= g.inW) continue;
      visit((n * g.inH + iy) * g.inW + ix, fy * g.fw + fx);
    }
  }
}

/** Calls visit(n, oy, ox, output pixel) for every output pixel. */
export function forEachOutputPixel(
  g: Geometry,
  visit: (n: number, oy: number, ox: number, pixel: number) => void,
): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) visit(n, oy, ox, (n * g.outH + oy) * g.outW + ox);
    }
  }
}

export /** |actual − expected| ≤ tolerance · (1 + |expected|) everywhere, with a readable failure. */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const error = Math.abs((actual[i] as number) - e) / (1 + Math.abs(e));
    if (!(error <= tolerance)) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${e}`);
    }
  }
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `compute` with tfjs's kernels and with ours (which must reach the addon), as arrays. */
export function bothWays(compute: () => tf.Tensor | tf.Tensor[]): {
  stock: Float32Array[];
  native: Float32Array[];
} {
  const run = (): Float32Array[] => {
    const result = compute();
    const tensors = Array.isArray(result) ? result : [result];
    const arrays = tensors.map((t) => t.dataSync() as Float32Array);
    tf.dispose(tensors);
    return arrays;
  };
  unregisterNativeKernels();
  const stock = run();
  expect(registerNativeKernels()).toBe(true);
  const spies = (
    [
      'conv2d',
      'conv2dBackpropInput',
      'conv2dBackpropFilter',
      'depthwiseConv2d',
      'depthwiseConv2dBackpropInput',
      'depthwiseConv2dBackpropFilter',
      'maxPool',
      'maxPoolBackward',
      'avgPool',
      'avgPoolBackward',
    ] as const
  ).map((name) => jest.spyOn(addon, name));
  try {
    const native = run();
    expect(spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0)).toBeGreaterThan(0);
    return { stock, native };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
    unregisterNativeKernels();
  }
}
