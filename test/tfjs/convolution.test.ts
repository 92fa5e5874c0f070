/**
 * The native 2-D convolution and max pooling (native/conv/, src/tfjs/kernels/conv2d.ts and
 * maxPool.ts): the addon's convolution and both its gradients against float64 loops written from
 * the definition and against finite differences of that loop, over strides, dilations, paddings,
 * 1×1 filters and batch sizes; the filter gradient bit-identical on one thread and on the pool;
 * bad arguments; tfjs's Conv2D, FusedConv2D and the gradient kernels against tfjs's own; max
 * pooling and its gradient (ties, −∞, NaN) against a loop and against tfjs's kernels; and a Layers
 * CNN training step.
 */
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/native/loadAddon';
import { conv2dGeometry, geometryArray } from '../../src/tfjs/kernels/conv2d';
import { poisonOutputArrays } from '../../src/tfjs/kernels/outputPool';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/tfjs/kernels/register';
import { expectNativeError } from '../native/expectNativeError';
import { uniforms } from '../vit/tinyVit';

const addon = loadAddon();

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

let seedCounter = 7001;
function random(count: number): Float32Array {
  return uniforms(seedCounter++, count).map((u) => 2 * u);
}

interface Geometry {
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

function fromArray(g: Float64Array): Geometry {
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
 * Calls visit(xIndex, filterIndex, outIndex) for every product x · filter of the convolution,
 * straight from its definition (taps outside the input are padding: skipped).
 */
function forEachProduct(
  g: Geometry,
  visit: (xIndex: number, filterIndex: number, outIndex: number) => void,
): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let fy = 0; fy < g.fh; fy++) {
          const iy = oy * g.strideH - g.padTop + fy * g.dilationH;
          if (iy < 0 || iy >= g.inH) continue;
          for (let fx = 0; fx < g.fw; fx++) {
            const ix = ox * g.strideW - g.padLeft + fx * g.dilationW;
            if (ix < 0 || ix >= g.inW) continue;
            for (let c = 0; c < g.inC; c++) {
              for (let o = 0; o < g.outC; o++) {
                visit(
                  ((n * g.inH + iy) * g.inW + ix) * g.inC + c,
                  ((fy * g.fw + fx) * g.inC + c) * g.outC + o,
                  ((n * g.outH + oy) * g.outW + ox) * g.outC + o,
                );
              }
            }
          }
        }
      }
    }
  }
}

function referenceForward(
  g: Geometry,
  x: ArrayLike<number>,
  filter: ArrayLike<number>,
  bias: Float32Array | null,
  relu: boolean,
): Float64Array {
  const out = new Float64Array(g.batch * g.outH * g.outW * g.outC);
  forEachProduct(g, (xi, fi, oi) => {
    out[oi] = (out[oi] as number) + (x[xi] as number) * (filter[fi] as number);
  });
  return out.map((value, i) => {
    const biased = value + (bias === null ? 0 : (bias[i % g.outC] as number));
    return relu ? Math.max(0, biased) : biased;
  });
}

function referenceBackpropInput(g: Geometry, dy: Float32Array, filter: Float32Array): Float64Array {
  const dx = new Float64Array(g.batch * g.inH * g.inW * g.inC);
  forEachProduct(g, (xi, fi, oi) => {
    dx[xi] = (dx[xi] as number) + (dy[oi] as number) * (filter[fi] as number);
  });
  return dx;
}

function referenceBackpropFilter(g: Geometry, x: Float32Array, dy: Float32Array): Float64Array {
  const dfilter = new Float64Array(g.fh * g.fw * g.inC * g.outC);
  forEachProduct(g, (xi, fi, oi) => {
    dfilter[fi] = (dfilter[fi] as number) + (x[xi] as number) * (dy[oi] as number);
  });
  return dfilter;
}

/** |actual − expected| ≤ tolerance · (1 + |expected|) everywhere, with a readable failure. */
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

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
}

const CASES: Case[] = [
  { x: [2, 7, 6, 3], filter: [3, 3, 3, 4], strides: 1, dilations: 1, pad: 'same' },
  { x: [1, 8, 9, 2], filter: [3, 2, 2, 5], strides: 1, dilations: 1, pad: 'valid' },
  { x: [3, 9, 7, 4], filter: [3, 3, 4, 2], strides: [2, 1], dilations: 1, pad: 'same' },
  { x: [2, 10, 11, 1], filter: [5, 4, 1, 3], strides: [3, 2], dilations: 1, pad: 'valid' },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], strides: 1, dilations: [2, 3], pad: 'same' },
  { x: [1, 6, 8, 3], filter: [2, 3, 3, 2], strides: 2, dilations: 1, pad: 1 },
  {
    x: [2, 6, 5, 2],
    filter: [3, 3, 2, 3],
    strides: 1,
    dilations: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 3],
      [0, 0],
    ],
  },
  { x: [3, 5, 4, 6], filter: [1, 1, 6, 7], strides: 1, dilations: 1, pad: 'valid' },
  { x: [2, 7, 7, 4], filter: [1, 1, 4, 3], strides: 2, dilations: 1, pad: 'same' },
  { x: [1, 4, 4, 2], filter: [4, 4, 2, 3], strides: 1, dilations: 1, pad: 'valid' },
  { x: [2, 3, 3, 2], filter: [5, 5, 2, 2], strides: 1, dilations: 1, pad: 'same' },
  // Large enough for several im2col blocks per thread and every filter-gradient segment.
  { x: [8, 28, 28, 3], filter: [3, 3, 3, 8], strides: 1, dilations: 1, pad: 'same' },
];

function describeCase(c: Case): string {
  return `x [${c.x}] filter [${c.filter}] strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(c.pad)}`;
}

function geometryOf(c: Case, dilations = c.dilations): Float64Array {
  return conv2dGeometry(c.x, c.filter, {
    strides: c.strides,
    dilations,
    pad: c.pad,
    dimRoundingMode: undefined,
  }).geometry;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('addon.conv2d against a float64 loop', () => {
  test.each(CASES.map((c) => [describeCase(c), c] as const))('%s', (_, c) => {
    const geometry = geometryOf(c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const filter = random(size(c.filter));
    const bias = random(g.outC);
    const outSize = g.batch * g.outH * g.outW * g.outC;
    for (const [withBias, relu] of [
      [false, false],
      [true, false],
      [true, true],
      [false, true],
    ] as const) {
      const out = new Float32Array(outSize).fill(NaN);
      addon.conv2d(x, filter, withBias ? bias : null, out, geometry, relu ? 1 : 0);
      const expected = referenceForward(g, x, filter, withBias ? bias : null, relu);
      expectClose(out, expected, 1e-5, `forward bias ${withBias} relu ${relu}`);
    }
  });

  test('a zero batch gives empty outputs and a zero filter gradient', () => {
    const c: Case = {
      x: [0, 5, 5, 2],
      filter: [3, 3, 2, 4],
      strides: 1,
      dilations: 1,
      pad: 'same',
    };
    const geometry = geometryOf(c);
    const empty = new Float32Array(0);
    addon.conv2d(empty, random(72), null, empty, geometry, 0);
    addon.conv2dBackpropInput(empty, random(72), empty, geometry);
    const dfilter = new Float32Array(72).fill(NaN);
    addon.conv2dBackpropFilter(empty, empty, dfilter, geometry);
    expect(Array.from(dfilter)).toEqual(new Array<number>(72).fill(0));
  });
});

describe('addon conv2d gradients', () => {
  const gradientCases = CASES.filter((c) => c.dilations === 1);

  test.each(gradientCases.map((c) => [describeCase(c), c] as const))('%s', (_, c) => {
    const geometry = geometryOf(c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const filter = random(size(c.filter));
    const dy = random(g.batch * g.outH * g.outW * g.outC);
    const dx = new Float32Array(x.length).fill(NaN);
    addon.conv2dBackpropInput(dy, filter, dx, geometry);
    expectClose(dx, referenceBackpropInput(g, dy, filter), 1e-5, 'dx');
    const dfilter = new Float32Array(filter.length).fill(NaN);
    addon.conv2dBackpropFilter(x, dy, dfilter, geometry);
    expectClose(dfilter, referenceBackpropFilter(g, x, dy), 2e-5, 'dfilter');
  });

  test('match central differences of L = Σ dy · conv(x, filter), in float64', () => {
    const c = CASES[5] as Case;
    const geometry = geometryOf(c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const filter = random(size(c.filter));
    const dy = random(g.batch * g.outH * g.outW * g.outC);
    const loss = (xs: ArrayLike<number>, fs: ArrayLike<number>): number =>
      referenceForward(g, xs, fs, null, false).reduce(
        (sum, v, i) => sum + v * (dy[i] as number),
        0,
      );
    const dx = new Float32Array(x.length);
    const dfilter = new Float32Array(filter.length);
    addon.conv2dBackpropInput(dy, filter, dx, geometry);
    addon.conv2dBackpropFilter(x, dy, dfilter, geometry);
    const h = 1e-3;
    for (let i = 0; i < x.length; i += 7) {
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      const numeric = (loss(plus, filter) - loss(minus, filter)) / (2 * h);
      expect(Math.abs((dx[i] as number) - numeric)).toBeLessThan(1e-4 * (1 + Math.abs(numeric)));
    }
    for (let i = 0; i < filter.length; i += 3) {
      const plus = Float64Array.from(filter);
      const minus = Float64Array.from(filter);
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      const numeric = (loss(x, plus) - loss(x, minus)) / (2 * h);
      expect(Math.abs((dfilter[i] as number) - numeric)).toBeLessThan(
        1e-4 * (1 + Math.abs(numeric)),
      );
    }
  });

  test('the filter gradient is the same floats on one thread and on the pool', () => {
    const c = CASES.at(-1) as Case;
    const geometry = geometryOf(c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const dy = random(g.batch * g.outH * g.outW * g.outC);
    const threads = addon.getThreads();
    const results: Float32Array[] = [];
    try {
      for (const count of [1, Math.max(2, threads), 3]) {
        addon.setThreads(count);
        const dfilter = new Float32Array(size(c.filter));
        addon.conv2dBackpropFilter(x, dy, dfilter, geometry);
        results.push(dfilter);
      }
    } finally {
      addon.setThreads(threads);
    }
    expect(Buffer.from(results[1]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
    expect(Buffer.from(results[2]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
  });
});

describe('addon conv2d refuses bad arguments', () => {
  const c = CASES[0] as Case;
  const geometry = geometryOf(c);
  const g = fromArray(geometry);
  const x = random(size(c.x));
  const filter = random(size(c.filter));
  const out = new Float32Array(g.batch * g.outH * g.outW * g.outC);

  test('a geometry of the wrong length or with a non-integer or negative size', () => {
    expectNativeError(
      () => addon.conv2d(x, filter, null, out, geometry.subarray(0, 14), 0),
      'RangeError',
      'Expected geometry to have 15 values but received 14',
    );
    const strided = Float64Array.from(geometry);
    strided[9] = 0;
    expectNativeError(
      () => addon.conv2d(x, filter, null, out, strided, 0),
      'RangeError',
      'Expected an integer in [1, 2147483648] for geometry.strideHeight but received 0',
    );
    const fractional = Float64Array.from(geometry);
    fractional[3] = 2.5;
    expectNativeError(
      () => addon.conv2d(x, filter, null, out, fractional, 0),
      'RangeError',
      'Expected an integer in [1, 2147483648] for geometry.inChannels but received 2.5',
    );
  });

  test('a geometry whose tensors would exceed 2^48 elements, even with an empty batch', () => {
    const huge = Float64Array.from(geometry);
    huge[0] = 0;
    huge.fill(2 ** 24, 7, 9); // a 2^24 × 2^24 filter
    expectNativeError(
      () => addon.conv2dBackpropFilter(new Float32Array(0), new Float32Array(0), filter, huge),
      'RangeError',
      "Expected the geometry's filter to have at most 2^48 elements but it has 3377699720527872",
    );
  });

  test('arrays whose length does not match the geometry, and overlapping outputs', () => {
    expectNativeError(
      () => addon.conv2d(x.subarray(1), filter, null, out, geometry, 0),
      'RangeError',
      /Expected x.length to be batch · inHeight · inWidth · inChannels = 252 but received 251/,
    );
    expectNativeError(
      () => addon.conv2d(x, filter, new Float32Array(3), out, geometry, 0),
      'RangeError',
      /Expected bias.length to be outChannels = 4 but received 3/,
    );
    expectNativeError(
      () => addon.conv2d(x, filter, null, out, geometry, 2 as 0),
      'RangeError',
      /activation/,
    );
    const shared = new Float32Array(out.length + x.length);
    expectNativeError(
      () =>
        addon.conv2d(
          shared.subarray(out.length - 1, out.length - 1 + x.length),
          filter,
          null,
          shared.subarray(0, out.length),
          geometry,
          0,
        ),
      'RangeError',
      'Expected out not to overlap x',
    );
    expectNativeError(
      () => addon.conv2dBackpropFilter(x, out, new Float32Array(5), geometry),
      'RangeError',
      /Expected dfilter.length to be filterHeight · filterWidth · inChannels · outChannels = 108/,
    );
  });
});

/** `compute` with tfjs's kernels and with ours (which must reach the addon), as arrays. */
function bothWays(compute: () => tf.Tensor | tf.Tensor[]): {
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
    ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'maxPool', 'maxPoolBackward'] as const
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

describe('tfjs conv kernels against tfjs’s own', () => {
  test.each(CASES.map((c) => [describeCase(c), c] as const))('%s', (_, c) => {
    const x = tf.tensor4d(random(size(c.x)), c.x);
    const filter = tf.tensor4d(random(size(c.filter)), c.filter);
    const bias = tf.tensor1d(random(c.filter[3]));
    const conv = (): tf.Tensor => tf.conv2d(x, filter, c.strides, c.pad, 'NHWC', c.dilations);
    const { stock, native } = bothWays(conv);
    expectClose(native[0]!, stock[0]!, 1e-5, 'Conv2D');
    for (const activation of ['linear', 'relu'] as const) {
      const fused = bothWays(() =>
        tf.fused.conv2d({
          x,
          filter,
          strides: c.strides,
          pad: c.pad,
          dilations: c.dilations,
          bias,
          activation,
        }),
      );
      expectClose(fused.native[0]!, fused.stock[0]!, 1e-5, `FusedConv2D ${activation}`);
    }
    if (c.dilations === 1) {
      const outShape = tf.tidy(() => tf.conv2d(x, filter, c.strides, c.pad).shape);
      const dy = tf.tensor(random(size(outShape)), outShape);
      const grads = bothWays(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), dy)),
        )([x, filter]),
      );
      expectClose(grads.native[0]!, grads.stock[0]!, 1e-5, 'dx');
      expectClose(grads.native[1]!, grads.stock[1]!, 2e-5, 'dfilter');
      dy.dispose();
    }
    tf.dispose([x, filter, bias]);
  });

  test('cases the native kernels do not claim run tfjs’s: other activations, biases, NCHW', () => {
    expect(registerNativeKernels()).toBe(true);
    const spy = jest.spyOn(addon, 'conv2d');
    try {
      const x = tf.tensor4d(random(2 * 5 * 5 * 3), [2, 5, 5, 3]);
      const filter = tf.tensor4d(random(3 * 3 * 3 * 4), [3, 3, 3, 4]);
      const elu = tf.fused.conv2d({ x, filter, pad: 'same', strides: 1, activation: 'elu' });
      const scalarBias = tf.fused.conv2d({
        x,
        filter,
        pad: 'same',
        strides: 1,
        bias: tf.scalar(2),
      });
      const xChannelsFirst = tf.transpose(x, [0, 3, 1, 2]);
      const channelsFirst = tf.conv2d(xChannelsFirst as tf.Tensor4D, filter, 1, 'same', 'NCHW');
      expect(spy).not.toHaveBeenCalled();
      unregisterNativeKernels();
      const channelsFirstStock = tf.conv2d(
        xChannelsFirst as tf.Tensor4D,
        filter,
        1,
        'same',
        'NCHW',
      );
      expectClose(channelsFirst.dataSync(), channelsFirstStock.dataSync(), 0, 'NCHW');
      tf.dispose([xChannelsFirst, channelsFirst, channelsFirstStock]);
      const eluStock = tf.elu(tf.conv2d(x, filter, 1, 'same'));
      const biasStock = tf.add(tf.conv2d(x, filter, 1, 'same'), 2);
      expectClose(elu.dataSync(), eluStock.dataSync(), 1e-5, 'elu');
      expectClose(scalarBias.dataSync(), biasStock.dataSync(), 1e-5, 'scalar bias');
      tf.dispose([x, filter, elu, scalarBias, eluStock, biasStock]);
    } finally {
      spy.mockRestore();
    }
  });
});

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
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let c = 0; c < g.inC; c++) {
          let best = -Infinity;
          let where = -1;
          for (let fy = 0; fy < g.fh; fy++) {
            const iy = oy * g.strideH - g.padTop + fy;
            for (let fx = 0; fx < g.fw; fx++) {
              const ix = ox * g.strideW - g.padLeft + fx;
              if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue;
              const index = ((n * g.inH + iy) * g.inW + ix) * g.inC + c;
              if ((x[index] as number) > best) {
                best = x[index] as number;
                where = index;
              }
            }
          }
          visit(((n * g.outH + oy) * g.outW + ox) * g.inC + c, where);
        }
      }
    }
  }
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

describe('a tfjs Layers CNN', () => {
  function cnn(): tf.Sequential {
    const model = tf.sequential();
    model.add(
      tf.layers.conv2d({
        inputShape: [12, 12, 2],
        filters: 6,
        kernelSize: 3,
        activation: 'relu',
        padding: 'same',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    );
    model.add(tf.layers.flatten());
    model.add(
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
    );
    return model;
  }

  test('one training step’s loss and gradients agree with tfjs’s kernels', () => {
    const model = cnn();
    const x = tf.tensor4d(random(5 * 12 * 12 * 2), [5, 12, 12, 2]);
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0], 'int32'), 3);
    const step = (): tf.Tensor[] => {
      const { value, grads } = tf.variableGrads(() =>
        tf.losses.softmaxCrossEntropy(labels, model.apply(x) as tf.Tensor),
      );
      return [value, ...model.trainableWeights.map((w) => grads[w.name] as tf.Tensor)];
    };
    const { stock, native } = bothWays(step);
    expect(native).toHaveLength(1 + model.trainableWeights.length);
    native.forEach((values, i) => {
      const expected = stock[i] as Float32Array;
      const scale = Math.max(...Array.from(expected, Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      const worst = Math.max(
        ...Array.from(values, (v, j) => Math.abs(v - (expected[j] as number))),
      );
      expect(worst / scale).toBeLessThan(1e-5);
    });
    tf.dispose([x, labels]);
    model.dispose();
  });
});
