/**
 * What the convolution and pooling tests share (test/tfjs/convolution.test.ts, pooling.test.ts),
 * besides kernelHarness.ts: the addon's geometry as named fields, the window loop written from the
 * definition, and tfjs's kernels against ours on the convolution and pooling functions.
 */
import type * as tf from '@tensorflow/tfjs';
import { bothWays as bothWaysCounted } from './kernelHarness';

export { addon, random, useCpuBackendWithPoisonedOutputs } from './kernelHarness';

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
  const { stock, native, calls } = bothWaysCounted(compute, [
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
  ]);
  expect(calls).toBeGreaterThan(0);
  return { stock: stock as Float32Array[], native: native as Float32Array[] };
}
