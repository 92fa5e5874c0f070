/**
 * The native max and average pooling (native/conv/pool2d.h, src/tfjs/kernels/pool2d.ts): the
 * addon's forward and backward against loops written from tfjs's definitions (ties, −∞, NaN;
 * AvgPoolGrad's full-window divisor), bad arguments, and tfjs's kernels against tfjs's own.
 */
import * as tf from '@tensorflow/tfjs';
import { geometryArray } from '../../src/tfjs/kernels/convGeometry';
import { expectNativeError } from '../native/expectNativeError';
import {
  addon,
  bothWays,
  expectClose,
  forEachInsideTap,
  forEachOutputPixel,
  fromArray,
  random,
  size,
  useCpuBackendWithPoisonedOutputs,
  type Geometry,
} from './convHarness';

useCpuBackendWithPoisonedOutputs();

interface PoolCase {
  x: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const POOL_CASES: PoolCase[] = [
  { x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid' },
  { x: [3, 7, 9, 4], filterSize: 3, strides: 2, pad: 'same' },
  { x: [2, 6, 5, 5], filterSize: 3, strides: 1, pad: 'same' },
  { x: [1, 9, 7, 2], filterSize: [2, 3], strides: [1, 2], pad: 'valid' },
  { x: [2, 5, 6, 3], filterSize: 2, strides: 1, pad: 1 },
  { x: [16, 28, 28, 8], filterSize: 2, strides: 2, pad: 'valid' },
  // Inside windows take their taps four at a time: 25 taps (six chunks of four and one), 6 (four
  // and two), with padding on every side and channel counts beyond a vector and its tail.
  { x: [2, 9, 9, 5], filterSize: 5, strides: 1, pad: 'same' },
  { x: [2, 8, 7, 33], filterSize: [3, 2], strides: [2, 1], pad: 'valid' },
  { x: [2, 10, 11, 17], filterSize: 3, strides: 2, pad: 'same' },
];

function describePool(c: PoolCase): string {
  return `x [${c.x}] filter ${c.filterSize} strides ${c.strides} pad ${c.pad}`;
}

function poolGeometry(c: PoolCase): Float64Array {
  const info = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad);
  return geometryArray(info);
}

/** Small integers, so that windows hold ties, with some −∞ and NaN. */
function poolInput(count: number): Float32Array {
  return random(count).map((u, i) => {
    if (i % 37 === 5) return NaN;
    if (i % 41 === 7) return -Infinity;
    return Math.round(u * 2);
  });
}

/**
 * Per window and channel, the input element of tfjs's maximum (the first strictly greater one,
 * row-major, from −∞), or −1: visit(outIndex, xIndex or −1).
 */
function forEachWindowMaximum(
  g: Geometry,
  x: Float32Array,
  visit: (outIndex: number, xIndex: number) => void,
): void {
  forEachOutputPixel(g, (n, oy, ox, outPixel) => {
    for (let c = 0; c < g.inC; c++) {
      let best = -Infinity;
      let where = -1;
      forEachInsideTap(g, n, oy, ox, (pixel) => {
        const index = pixel * g.inC + c;
        if ((x[index] as number) > best) {
          best = x[index] as number;
          where = index;
        }
      });
      visit(outPixel * g.inC + c, where);
    }
  });
}

describe('addon max pooling against loops from the definition', () => {
  test.each(POOL_CASES.map((c) => [describePool(c), c] as const))('%s', (_, c) => {
    const geometry = poolGeometry(c);
    const g = fromArray(geometry);
    const x = poolInput(size(c.x));
    const outSize = g.batch * g.outH * g.outW * g.inC;
    const dy = random(outSize);
    const expectedOut = new Float32Array(outSize);
    const expectedDx = new Float64Array(x.length);
    forEachWindowMaximum(g, x, (o, i) => {
      expectedOut[o] = i < 0 ? -Infinity : (x[i] as number);
      if (i >= 0) expectedDx[i] = (expectedDx[i] as number) + (dy[o] as number);
    });
    const out = new Float32Array(outSize).fill(NaN);
    addon.maxPool(x, out, geometry);
    expect(Buffer.from(out.buffer).equals(Buffer.from(expectedOut.buffer))).toBe(true);
    const dx = new Float32Array(x.length).fill(NaN);
    addon.maxPoolBackward(dy, x, dx, geometry);
    expectClose(dx, expectedDx, 1e-6, 'dx');
  });

  test('refuses a geometry whose output channels differ from its input channels', () => {
    const geometry = poolGeometry(POOL_CASES[0] as PoolCase);
    geometry[6] = 4;
    expectNativeError(
      () => addon.maxPool(new Float32Array(384), new Float32Array(128), geometry),
      'RangeError',
      'Expected geometry.outChannels to equal inChannels (3) but received 4',
    );
  });
});

describe('tfjs MaxPool and MaxPoolGrad against tfjs’s own', () => {
  test.each(POOL_CASES.map((c) => [describePool(c), c] as const))('%s', (_, c) => {
    const x = tf.tensor4d(poolInput(size(c.x)), c.x);
    const pooled = (t: tf.Tensor): tf.Tensor4D =>
      tf.maxPool(t as tf.Tensor4D, c.filterSize, c.strides, c.pad);
    const outShape = tf.tidy(() => pooled(x).shape);
    const dy = tf.tensor(random(size(outShape)), outShape);
    const { stock, native } = bothWays(() => [
      pooled(x),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pooled(t), dy)))(x),
    ]);
    expect(Buffer.from(native[0]!.buffer).equals(Buffer.from(stock[0]!.buffer))).toBe(true);
    expectClose(native[1]!, stock[1]!, 1e-6, 'MaxPoolGrad');
    tf.dispose([x, dy]);
  });
});

describe('addon average pooling against loops from the definition', () => {
  test.each(POOL_CASES.map((c) => [describePool(c), c] as const))('%s', (_, c) => {
    const geometry = poolGeometry(c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const outSize = g.batch * g.outH * g.outW * g.inC;
    const dy = random(outSize);
    // The mean over the inside taps; the gradient over the full window (tfjs's AvgPoolGrad).
    const expectedOut = new Float64Array(outSize);
    const expectedDx = new Float64Array(x.length);
    forEachOutputPixel(g, (n, oy, ox, outPixel) => {
      let count = 0;
      forEachInsideTap(g, n, oy, ox, (pixel) => {
        count++;
        for (let c = 0; c < g.inC; c++) {
          const o = outPixel * g.inC + c;
          expectedOut[o] = (expectedOut[o] as number) + (x[pixel * g.inC + c] as number);
          const i = pixel * g.inC + c;
          expectedDx[i] = (expectedDx[i] as number) + (dy[o] as number) / (g.fh * g.fw);
        }
      });
      for (let c = 0; c < g.inC; c++) {
        const o = outPixel * g.inC + c;
        expectedOut[o] = (expectedOut[o] as number) / count;
      }
    });
    const out = new Float32Array(outSize).fill(NaN);
    addon.avgPool(x, out, geometry);
    expectClose(out, expectedOut, 1e-6, 'avgPool');
    const dx = new Float32Array(x.length).fill(NaN);
    addon.avgPoolBackward(dy, dx, geometry);
    expectClose(dx, expectedDx, 1e-6, 'avgPoolBackward');
  });

  test('refuses a dx whose length does not match the geometry', () => {
    const geometry = poolGeometry(POOL_CASES[0] as PoolCase);
    expectNativeError(
      () => addon.avgPoolBackward(new Float32Array(96), new Float32Array(383), geometry),
      'RangeError',
      'Expected dx.length to be batch · inHeight · inWidth · inChannels = 384 but received 383',
    );
  });
});

describe('tfjs AvgPool and AvgPoolGrad against tfjs’s own', () => {
  test.each(POOL_CASES.map((c) => [describePool(c), c] as const))('%s', (_, c) => {
    const x = tf.tensor4d(random(size(c.x)), c.x);
    const pooled = (t: tf.Tensor): tf.Tensor4D =>
      tf.avgPool(t as tf.Tensor4D, c.filterSize, c.strides, c.pad);
    const outShape = tf.tidy(() => pooled(x).shape);
    const dy = tf.tensor(random(size(outShape)), outShape);
    const { stock, native } = bothWays(() => [
      pooled(x),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pooled(t), dy)))(x),
    ]);
    // Sums in double, each rounded once, as tfjs's: the same floats.
    expect(Buffer.from(native[0]!.buffer).equals(Buffer.from(stock[0]!.buffer))).toBe(true);
    expectClose(native[1]!, stock[1]!, 1e-7, 'AvgPoolGrad');
    tf.dispose([x, dy]);
  });
});
