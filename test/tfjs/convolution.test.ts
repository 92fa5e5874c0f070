/**
 * The native 2-D convolutions (native/conv/conv2d.h, depthwise_conv2d.h; src/tfjs/kernels/conv2d.ts,
 * depthwiseConv2d.ts): the addon's forward and both gradients against float64 loops written from
 * the definition and against finite differences of that loop, over strides, dilations, paddings,
 * 1×1 filters, channel multipliers and batch sizes; the filter gradients bit-identical on one
 * thread and on the pool; bad arguments; tfjs's kernels, fused ones included, against tfjs's own;
 * and Layers models' training steps (a CNN, a MobileNet-style block) with both kernel sets.
 */
import * as tf from '@tensorflow/tfjs';
import { convGeometry } from '../../src/tfjs/kernels/convGeometry';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/tfjs/kernels/register';
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

/**
 * Calls visit(xIndex, filterIndex, outIndex) for every product x · filter of the convolution,
 * straight from its definition: a plain one sums every input channel into every output channel;
 * a depthwise one (filter [fh, fw, inC, multiplier]) sends input channel c to output channels
 * c · multiplier + q only. Taps in the padding are skipped.
 */
function forEachProduct(
  g: Geometry,
  depthwise: boolean,
  visit: (xIndex: number, filterIndex: number, outIndex: number) => void,
): void {
  const multiplier = g.outC / g.inC;
  forEachOutputPixel(g, (n, oy, ox, outPixel) => {
    forEachInsideTap(g, n, oy, ox, (pixel, tap) => {
      for (let c = 0; c < g.inC; c++) {
        const xIndex = pixel * g.inC + c;
        if (depthwise) {
          for (let q = 0; q < multiplier; q++) {
            const o = c * multiplier + q;
            visit(xIndex, tap * g.outC + o, outPixel * g.outC + o);
          }
        } else {
          for (let o = 0; o < g.outC; o++) {
            visit(xIndex, (tap * g.inC + c) * g.outC + o, outPixel * g.outC + o);
          }
        }
      }
    });
  });
}

function referenceForward(
  g: Geometry,
  depthwise: boolean,
  x: ArrayLike<number>,
  filter: ArrayLike<number>,
  bias: Float32Array | null,
  relu: boolean,
): Float64Array {
  const out = new Float64Array(g.batch * g.outH * g.outW * g.outC);
  forEachProduct(g, depthwise, (xi, fi, oi) => {
    out[oi] = (out[oi] as number) + (x[xi] as number) * (filter[fi] as number);
  });
  return out.map((value, i) => {
    const biased = value + (bias === null ? 0 : (bias[i % g.outC] as number));
    return relu ? Math.max(0, biased) : biased;
  });
}

function referenceBackpropInput(
  g: Geometry,
  depthwise: boolean,
  dy: Float32Array,
  filter: Float32Array,
): Float64Array {
  const dx = new Float64Array(g.batch * g.inH * g.inW * g.inC);
  forEachProduct(g, depthwise, (xi, fi, oi) => {
    dx[xi] = (dx[xi] as number) + (dy[oi] as number) * (filter[fi] as number);
  });
  return dx;
}

function referenceBackpropFilter(
  g: Geometry,
  depthwise: boolean,
  x: Float32Array,
  dy: Float32Array,
  filterSize: number,
): Float64Array {
  const dfilter = new Float64Array(filterSize);
  forEachProduct(g, depthwise, (xi, fi, oi) => {
    dfilter[fi] = (dfilter[fi] as number) + (x[xi] as number) * (dy[oi] as number);
  });
  return dfilter;
}

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  /** [fh, fw, in, out], or [fh, fw, in, multiplier] for a depthwise convolution. */
  filter: [number, number, number, number];
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
}

const EXPLICIT_PAD: Pad = [
  [0, 0],
  [2, 0],
  [0, 3],
  [0, 0],
];

const CONV_CASES: Case[] = [
  { x: [2, 7, 6, 3], filter: [3, 3, 3, 4], strides: 1, dilations: 1, pad: 'same' },
  { x: [1, 8, 9, 2], filter: [3, 2, 2, 5], strides: 1, dilations: 1, pad: 'valid' },
  { x: [3, 9, 7, 4], filter: [3, 3, 4, 2], strides: [2, 1], dilations: 1, pad: 'same' },
  { x: [2, 10, 11, 1], filter: [5, 4, 1, 3], strides: [3, 2], dilations: 1, pad: 'valid' },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], strides: 1, dilations: [2, 3], pad: 'same' },
  { x: [1, 6, 8, 3], filter: [2, 3, 3, 2], strides: 2, dilations: 1, pad: 1 },
  { x: [2, 6, 5, 2], filter: [3, 3, 2, 3], strides: 1, dilations: 1, pad: EXPLICIT_PAD },
  { x: [3, 5, 4, 6], filter: [1, 1, 6, 7], strides: 1, dilations: 1, pad: 'valid' },
  { x: [2, 7, 7, 4], filter: [1, 1, 4, 3], strides: 2, dilations: 1, pad: 'same' },
  { x: [1, 4, 4, 2], filter: [4, 4, 2, 3], strides: 1, dilations: 1, pad: 'valid' },
  { x: [2, 3, 3, 2], filter: [5, 5, 2, 2], strides: 1, dilations: 1, pad: 'same' },
  // Large enough for several im2col blocks per thread and every filter-gradient segment.
  { x: [8, 28, 28, 3], filter: [3, 3, 3, 8], strides: 1, dilations: 1, pad: 'same' },
];

const DEPTHWISE_CASES: Case[] = [
  { x: [2, 7, 6, 3], filter: [3, 3, 3, 1], strides: 1, dilations: 1, pad: 'same' },
  { x: [1, 8, 9, 2], filter: [3, 2, 2, 3], strides: 1, dilations: 1, pad: 'valid' },
  { x: [3, 9, 7, 4], filter: [3, 3, 4, 2], strides: [2, 1], dilations: 1, pad: 'same' },
  { x: [2, 10, 11, 5], filter: [5, 4, 5, 1], strides: 2, dilations: 1, pad: 'valid' },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 2], strides: 1, dilations: [2, 3], pad: 'same' },
  { x: [1, 6, 8, 3], filter: [2, 3, 3, 1], strides: 2, dilations: 1, pad: 1 },
  { x: [2, 6, 5, 2], filter: [3, 3, 2, 1], strides: 1, dilations: 1, pad: EXPLICIT_PAD },
  { x: [2, 3, 3, 2], filter: [5, 5, 2, 2], strides: 1, dilations: 1, pad: 'same' },
  { x: [8, 28, 28, 16], filter: [3, 3, 16, 1], strides: 1, dilations: 1, pad: 'same' },
];

function describeCase(c: Case): string {
  return `x [${c.x}] filter [${c.filter}] strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(c.pad)}`;
}

interface Family {
  name: string;
  depthwise: boolean;
  cases: Case[];
  forward: 'conv2d' | 'depthwiseConv2d';
  backpropInput: 'conv2dBackpropInput' | 'depthwiseConv2dBackpropInput';
  backpropFilter: 'conv2dBackpropFilter' | 'depthwiseConv2dBackpropFilter';
  /** The tfjs op, and its fused version. */
  op: (x: tf.Tensor4D, filter: tf.Tensor4D, c: Case) => tf.Tensor4D;
  fused: (
    x: tf.Tensor4D,
    filter: tf.Tensor4D,
    c: Case,
    bias: tf.Tensor,
    relu: boolean,
  ) => tf.Tensor;
}

const FAMILIES: Family[] = [
  {
    name: 'conv2d',
    depthwise: false,
    cases: CONV_CASES,
    forward: 'conv2d',
    backpropInput: 'conv2dBackpropInput',
    backpropFilter: 'conv2dBackpropFilter',
    op: (x, filter, c) => tf.conv2d(x, filter, c.strides, c.pad, 'NHWC', c.dilations),
    fused: (x, filter, c, bias, relu) =>
      tf.fused.conv2d({
        ...{ x, filter, strides: c.strides, pad: c.pad, dilations: c.dilations, bias },
        activation: relu ? 'relu' : 'linear',
      }),
  },
  {
    name: 'depthwiseConv2d',
    depthwise: true,
    cases: DEPTHWISE_CASES,
    forward: 'depthwiseConv2d',
    backpropInput: 'depthwiseConv2dBackpropInput',
    backpropFilter: 'depthwiseConv2dBackpropFilter',
    op: (x, filter, c) => tf.depthwiseConv2d(x, filter, c.strides, c.pad, 'NHWC', c.dilations),
    fused: (x, filter, c, bias, relu) =>
      tf.fused.depthwiseConv2d({
        // (Its type leaves out explicit padding, which it takes: the kernel's geometry is tfjs's.)
        ...{ x, filter, strides: c.strides, pad: c.pad as 'same', dilations: c.dilations, bias },
        activation: relu ? 'relu' : 'linear',
      }),
  },
];

function geometryOf(family: Family, c: Case): Float64Array {
  const attrs = {
    strides: c.strides,
    dilations: c.dilations,
    pad: c.pad,
    dimRoundingMode: undefined,
  };
  return convGeometry(c.x, c.filter, attrs, family.depthwise).geometry;
}

describe.each(FAMILIES.map((family) => [family.name, family] as const))('addon %s', (_, family) => {
  const cases = family.cases.map((c) => [describeCase(c), c] as const);

  test.each(cases)('forward against a float64 loop: %s', (_name, c) => {
    const geometry = geometryOf(family, c);
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
      addon[family.forward](x, filter, withBias ? bias : null, out, geometry, relu ? 1 : 0);
      const expected = referenceForward(
        g,
        family.depthwise,
        x,
        filter,
        withBias ? bias : null,
        relu,
      );
      expectClose(out, expected, 1e-5, `forward bias ${withBias} relu ${relu}`);
    }
  });

  test.each(cases)('gradients against float64 loops: %s', (_name, c) => {
    const geometry = geometryOf(family, c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const filter = random(size(c.filter));
    const dy = random(g.batch * g.outH * g.outW * g.outC);
    const dx = new Float32Array(x.length).fill(NaN);
    addon[family.backpropInput](dy, filter, dx, geometry);
    expectClose(dx, referenceBackpropInput(g, family.depthwise, dy, filter), 1e-5, 'dx');
    const dfilter = new Float32Array(filter.length).fill(NaN);
    addon[family.backpropFilter](x, dy, dfilter, geometry);
    const expected = referenceBackpropFilter(g, family.depthwise, x, dy, filter.length);
    expectClose(dfilter, expected, 2e-5, 'dfilter');
  });

  test('gradients match central differences of L = Σ dy · conv(x, filter), in float64', () => {
    const c = family.cases[5] as Case;
    const geometry = geometryOf(family, c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const filter = random(size(c.filter));
    const dy = random(g.batch * g.outH * g.outW * g.outC);
    const loss = (xs: ArrayLike<number>, fs: ArrayLike<number>): number =>
      referenceForward(g, family.depthwise, xs, fs, null, false).reduce(
        (sum, v, i) => sum + v * (dy[i] as number),
        0,
      );
    const dx = new Float32Array(x.length);
    const dfilter = new Float32Array(filter.length);
    addon[family.backpropInput](dy, filter, dx, geometry);
    addon[family.backpropFilter](x, dy, dfilter, geometry);
    const h = 1e-3;
    const central = (values: Float32Array, i: number, lossOf: (v: Float64Array) => number) => {
      const plus = Float64Array.from(values);
      const minus = Float64Array.from(values);
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      return (lossOf(plus) - lossOf(minus)) / (2 * h);
    };
    for (let i = 0; i < x.length; i += 7) {
      const numeric = central(x, i, (v) => loss(v, filter));
      expect(Math.abs((dx[i] as number) - numeric)).toBeLessThan(1e-4 * (1 + Math.abs(numeric)));
    }
    for (let i = 0; i < filter.length; i += 2) {
      const numeric = central(filter, i, (v) => loss(x, v));
      expect(Math.abs((dfilter[i] as number) - numeric)).toBeLessThan(
        1e-4 * (1 + Math.abs(numeric)),
      );
    }
  });

  test('the filter gradient is the same floats on one thread and on the pool', () => {
    const c = family.cases.at(-1) as Case;
    const geometry = geometryOf(family, c);
    const g = fromArray(geometry);
    const x = random(size(c.x));
    const dy = random(g.batch * g.outH * g.outW * g.outC);
    const threads = addon.getThreads();
    const results: Buffer[] = [];
    try {
      for (const count of [1, Math.max(2, threads), 3]) {
        addon.setThreads(count);
        const dfilter = new Float32Array(size(c.filter));
        addon[family.backpropFilter](x, dy, dfilter, geometry);
        results.push(Buffer.from(dfilter.buffer));
      }
    } finally {
      addon.setThreads(threads);
    }
    expect(results[1]!.equals(results[0]!)).toBe(true);
    expect(results[2]!.equals(results[0]!)).toBe(true);
  });

  test('a zero batch gives empty outputs and a zero filter gradient', () => {
    const c: Case = { ...(family.cases[0] as Case), x: [0, 5, 5, family.cases[0]!.x[3]] };
    const geometry = geometryOf(family, c);
    const empty = new Float32Array(0);
    const filterSize = size(c.filter);
    addon[family.forward](empty, random(filterSize), null, empty, geometry, 0);
    addon[family.backpropInput](empty, random(filterSize), empty, geometry);
    const dfilter = new Float32Array(filterSize).fill(NaN);
    addon[family.backpropFilter](empty, empty, dfilter, geometry);
    expect(Array.from(dfilter)).toEqual(new Array<number>(filterSize).fill(0));
  });
});

describe('addon conv2d refuses bad arguments', () => {
  const c = CONV_CASES[0] as Case;
  const geometry = geometryOf(FAMILIES[0] as Family, c);
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
  test('a depthwise geometry whose output channels are not a multiple of the input channels', () => {
    const depthwise = geometryOf(FAMILIES[1] as Family, DEPTHWISE_CASES[0] as Case);
    depthwise[6] = 4;
    expectNativeError(
      () => addon.depthwiseConv2d(x, random(36), null, out, depthwise, 0),
      'RangeError',
      'Expected geometry.outChannels to be a multiple of inChannels (3) but received 4',
    );
  });
});

describe.each(FAMILIES.map((family) => [family.name, family] as const))(
  'tfjs %s kernels against tfjs’s own',
  (_, family) => {
    test.each(family.cases.map((c) => [describeCase(c), c] as const))('%s', (_name, c) => {
      const x = tf.tensor4d(random(size(c.x)), c.x);
      const filter = tf.tensor4d(random(size(c.filter)), c.filter);
      const outShape = tf.tidy(() => family.op(x, filter, c).shape);
      const bias = tf.tensor1d(random(outShape[3]));
      const forward = bothWays(() => family.op(x, filter, c));
      expectClose(forward.native[0]!, forward.stock[0]!, 1e-5, 'forward');
      for (const relu of [false, true]) {
        const fused = bothWays(() => family.fused(x, filter, c, bias, relu));
        expectClose(fused.native[0]!, fused.stock[0]!, 1e-5, `fused relu ${relu}`);
      }
      if (c.dilations === 1) {
        const dy = tf.tensor(random(size(outShape)), outShape);
        const grads = bothWays(() =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(family.op(a as tf.Tensor4D, b as tf.Tensor4D, c), dy)),
          )([x, filter]),
        );
        expectClose(grads.native[0]!, grads.stock[0]!, 1e-5, 'dx');
        expectClose(grads.native[1]!, grads.stock[1]!, 2e-5, 'dfilter');
        dy.dispose();
      }
      tf.dispose([x, filter, bias]);
    });
  },
);

describe('what the native conv kernels do not claim', () => {
  test('other activations, a scalar bias and NCHW data run tfjs’s kernels', () => {
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

describe('tfjs Layers models', () => {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });

  function cnn(): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.conv2d({
          ...{ inputShape: [12, 12, 2], filters: 6, kernelSize: 3, activation: 'relu' },
          ...{ padding: 'same', kernelInitializer: init(3) },
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, kernelInitializer: init(4) }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, kernelInitializer: init(5) }),
      ],
    });
  }

  /** MobileNet's pieces: depthwise and pointwise convolutions, batch norm, ReLU6, average pools. */
  function mobileNetBlock(): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.conv2d({
          ...{ inputShape: [12, 12, 2], filters: 8, kernelSize: 3, strides: 2 },
          ...{ padding: 'same', useBias: false, kernelInitializer: init(6) },
        }),
        tf.layers.batchNormalization(),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.depthwiseConv2d({
          ...{ kernelSize: 3, padding: 'same', depthMultiplier: 2, useBias: false },
          depthwiseInitializer: init(7),
        }),
        tf.layers.batchNormalization(),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.conv2d({ filters: 6, kernelSize: 1, kernelInitializer: init(8) }),
        tf.layers.averagePooling2d({ poolSize: 2 }),
        tf.layers.separableConv2d({
          ...{ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' },
          ...{ depthwiseInitializer: init(9), pointwiseInitializer: init(10) },
        }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, kernelInitializer: init(11) }),
      ],
    });
  }

  test.each([
    ['a CNN', cnn],
    ['a MobileNet-style stack', mobileNetBlock],
  ] as const)(
    '%s: one training step’s loss and gradients agree with tfjs’s kernels',
    (_, build) => {
      const model = build();
      const x = tf.tensor4d(random(5 * 12 * 12 * 2), [5, 12, 12, 2]);
      const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0], 'int32'), 3);
      const step = (): tf.Tensor[] => {
        const { value, grads } = tf.variableGrads(() =>
          tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor),
        );
        return [value, ...model.trainableWeights.map((w) => grads[w.name] as tf.Tensor)];
      };
      const { stock, native } = bothWays(step);
      expect(native).toHaveLength(1 + model.trainableWeights.length);
      // A batch norm's γ gradient sums dy · x̂ over the batch, terms that largely cancel: its
      // float32 error, relative to its largest entry, reached 1.05e-5 (AVX2 / AVX-512) and 1.08e-5
      // (portable, and linux-arm64) on some inputs; every other gradient stays below 6e-7.
      const tolerances = ['loss', ...model.trainableWeights.map((w) => w.name)].map((name) =>
        /batch_normalization/.test(name) ? 5e-5 : 1e-5,
      );
      native.forEach((values, i) => {
        const expected = stock[i] as Float32Array;
        const scale = Math.max(...Array.from(expected, Math.abs));
        expect(scale).toBeGreaterThan(1e-6); // not a gradient that is zero by construction
        const worst = Math.max(
          ...Array.from(values, (v, j) => Math.abs(v - (expected[j] as number))),
        );
        expect(worst / scale).toBeLessThan(tolerances[i] as number);
      });
      tf.dispose([x, labels]);
      model.dispose();
    },
  );
});
