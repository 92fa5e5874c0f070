/**
 * The one-pass gradients of Relu, ClipByValue, FusedBatchNorm and Mean (src/tfjs/kernels/nativeGradients.ts,
 * native/ops/mask_ops.h, native/ops/batch_norm.h): x's gradients bit for bit against tfjs's own
 * composed gradients, special values included; batch norm's parameter gradients against the
 * derivatives written out in float64 here and against tfjs's; Mean's over several axis patterns
 * against tfjs's and a direct loop, bit for bit; the parameter pass runs only when
 * a parameter's gradient is asked for and gives the same floats on any thread count; the cases
 * left to tfjs's gradient (int32, broadcasting parameters, the wasm backend); tfjs's
 * gradients put back by unregisterNativeKernels(); and the addon's refusals.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/tfjs/kernels/register';
import { expectNativeError } from '../native/expectNativeError';
import {
  addon,
  bothWays,
  expectIdentical,
  random,
  useCpuBackendWithPoisonedOutputs,
} from './kernelHarness';

useCpuBackendWithPoisonedOutputs();

const SPECIAL = [NaN, 0, -0, 6, -6, Infinity, -Infinity, 1e-30, 5.999999, 0.1, Math.fround(0.1)];

/** Values in [−9, 9) with every special value among them, from index `first` every 7th. */
function withSpecials(count: number, first = 0): Float32Array {
  const array = random(count).map((u) => 9 * u);
  SPECIAL.forEach((value, i) => {
    if (first + i * 7 < count) array[first + i * 7] = value;
  });
  return array;
}

/** The gradient of Σ f(x) · dy with respect to x. */
function gradientOf(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(f(input), dy)))(x);
}

describe('Relu and ClipByValue gradients', () => {
  let x: tf.Tensor;
  let dy: tf.Tensor;
  beforeAll(() => {
    x = tf.tensor(withSpecials(2048), [8, 16, 16]);
    // dy has its own special values (∞ and NaN times a zero step give NaN), at other positions.
    dy = tf.tensor(withSpecials(2048, 3), [8, 16, 16]);
  });
  afterAll(() => tf.dispose([x, dy]));

  test('relu: tfjs’s dy · step(x) bit for bit, one addon call', () => {
    const { stock, native, calls } = bothWays(
      () => gradientOf((input) => tf.relu(input), x, dy),
      ['reluBackward'],
    );
    expect(calls).toBe(1);
    expectIdentical(native[0]!, stock[0]!, 'relu gradient');
  });

  test('clipByValue: dy where min ≤ x ≤ max, bounds rounded to float32, bit for bit', () => {
    for (const [min, max] of [
      [0, 6],
      [-0.1, 0.1], // not float32 values: tfjs compares with their float32 roundings
      [1 / 3, 0.5],
      [-Infinity, 2],
    ] as const) {
      const { stock, native, calls } = bothWays(
        () => gradientOf((input) => tf.clipByValue(input, min, max), x, dy),
        ['clipByValueBackward'],
      );
      expect(calls).toBe(1);
      expectIdentical(native[0]!, stock[0]!, `clip to [${min}, ${max}]`);
    }
  });

  test('ReLU6 backward is two addon calls instead of eight tfjs kernels', () => {
    const layer = tf.layers.reLU({ maxValue: 6 });
    const { stock, native, calls } = bothWays(
      () => gradientOf((input) => layer.apply(input) as tf.Tensor, x, dy),
      ['reluBackward', 'clipByValueBackward', 'compare', 'logicalAnd', 'select'],
    );
    expect(calls).toBe(2);
    expectIdentical(native[0]!, stock[0]!, 'ReLU6 gradient');
  });

  test('int32 inputs are left to tfjs’s gradient', () => {
    const integers = tf.tensor([-2, 0, 3, 7], [4], 'int32');
    const four = tf.tensor(random(4));
    const { stock, native, calls } = bothWays(
      () => gradientOf((input) => tf.relu(input), integers, four),
      ['reluBackward'],
    );
    expect(calls).toBe(0);
    expectIdentical(native[0]!, stock[0]!, 'relu of int32');
    tf.dispose([integers, four]);
  });
});

describe('Mean gradient', () => {
  test.each([
    { shape: [64, 6, 6, 8], axis: [0, 1, 2], keepDims: false }, // a Layers batch norm's moments
    { shape: [64, 6, 6, 8], axis: [1, 2], keepDims: true }, // global average pooling
    { shape: [5, 7, 9], axis: null, keepDims: false }, // every element: a loss
    { shape: [5, 7, 9], axis: [-1], keepDims: false },
    { shape: [5, 7, 9], axis: [0, 2], keepDims: true }, // axes that are not adjacent
    { shape: [6, 1, 3], axis: [1], keepDims: false }, // an axis of one element
    { shape: [3, 1000], axis: [1], keepDims: false }, // 1000: the quotients round
  ])(
    'shape $shape, axis $axis, keepDims $keepDims: tfjs’s bit for bit, one addon call',
    ({ shape, axis, keepDims }) => {
      const x = tf.tensor(withSpecials(shape.reduce((a, b) => a * b, 1)), shape);
      const reducedShape = tf.mean(x, axis ?? undefined, keepDims).shape;
      const dy = tf.tensor(
        withSpecials(
          reducedShape.reduce((a, b) => a * b, 1),
          2,
        ),
        reducedShape,
      );
      const { stock, native, calls } = bothWays(
        () => gradientOf((input) => tf.mean(input, axis ?? undefined, keepDims), x, dy),
        ['meanBackward'],
      );
      expect(calls).toBe(1);
      expectIdentical(native[0]!, stock[0]!, 'dx');
      // Independently: each element's gradient is its mean's dy divided by the count, in float32.
      const count = x.size / dy.size;
      const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
      const axes =
        axis === null ? shape.map((_, d) => d) : axis.map((a) => (a + shape.length) % shape.length);
      const dyValues = dy.dataSync();
      const dx = native[0]!;
      for (let i = 0; i < dx.length; i++) {
        let j = 0;
        let jStride = 1;
        for (let d = shape.length - 1; d >= 0; d--) {
          if (axes.includes(d)) continue;
          j += (Math.floor(i / strides[d]!) % shape[d]!) * jStride;
          jStride *= shape[d]!;
        }
        const expected = Math.fround(dyValues[j]! / count);
        if (!Object.is(dx[i], expected))
          throw new Error(`dx[${i}] is ${dx[i]}, expected ${expected}`);
      }
      tf.dispose([x, dy]);
    },
  );

  test('a Layers batchNormalization and globalAveragePooling2d: the moments’ two mean gradients and the pool’s', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.batchNormalization({ inputShape: [6, 6, 4] }),
        tf.layers.globalAveragePooling2d({}),
      ],
    });
    const x = tf.tensor(
      random(8 * 6 * 6 * 4).map((u) => 2 * u + 1),
      [8, 6, 6, 4],
    );
    const dy = tf.tensor(random(8 * 4), [8, 4]);
    const { stock, native, calls } = bothWays(
      () => gradientOf((input) => model.apply(input, { training: true }) as tf.Tensor, x, dy),
      ['meanBackward'],
    );
    expect(calls).toBe(3);
    const scale = Math.max(...Array.from(stock[0]!, Math.abs));
    expect(worstRatio(native[0]!, stock[0]!, () => 1e-5 * scale)).toBeLessThanOrEqual(1);
    tf.dispose([x, dy]);
    model.dispose();
  });
});

/** The five gradients of Σ batchNorm(x, mean, variance, offset, scale) · dy, in float64. */
function batchNormGradients64(
  x: Float32Array,
  dy: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  scale: Float32Array | null,
  epsilon: number,
): { x: Float64Array; params: Float64Array[]; magnitudes: Float64Array[] } {
  const channels = mean.length;
  const dx = new Float64Array(x.length);
  const params = [0, 1, 2, 3].map(() => new Float64Array(channels));
  const magnitudes = [0, 1, 2, 3].map(() => new Float64Array(channels));
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    const s = scale?.[c] ?? 1;
    const root = Math.sqrt(variance[c]! + epsilon);
    const centred = x[i]! - mean[c]!;
    dx[i] = (dy[i]! * s) / root;
    const terms = [
      -(dy[i]! * s) / root,
      -0.5 * dy[i]! * centred * s * root ** -3,
      (dy[i]! * centred) / root,
      dy[i]!,
    ];
    terms.forEach((term, k) => {
      params[k]![c]! += term;
      magnitudes[k]![c]! += Math.abs(term);
    });
  }
  return { x: dx, params, magnitudes };
}

/** The largest |actual − expected| / bound over the elements (≤ 1 when every one is within it). */
function worstRatio(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: (i: number) => number,
): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / bound(i));
  }
  return worst;
}

function batchNormValues(
  shape: number[],
): Record<'x' | 'dy' | 'mean' | 'variance' | 'scale' | 'offset', Float32Array> {
  const channels = shape.at(-1)!;
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    x: random(size).map((u) => 3 * u + 0.5),
    dy: random(size),
    mean: random(channels),
    variance: random(channels).map((u) => Math.abs(u) + 0.01),
    scale: random(channels).map((u) => 2 * u),
    offset: random(channels),
  };
}

// tfjs differentiates tf.batchNorm only with both scale and offset given (without either, its
// tape fails on the absent input), so the tf.grad cases have both; the addon is checked without
// scale directly.
describe('FusedBatchNorm gradients', () => {
  test.each([
    { shape: [3, 5, 4, 6], epsilon: 0.001 },
    { shape: [2, 9, 7, 16], epsilon: 1e-5 },
    { shape: [40, 3], epsilon: 0.1 }, // tf.batchNorm makes it 4D
    { shape: [16, 16, 16, 32], epsilon: 0.001 }, // eight row segments
  ])(
    'shape $shape: x’s gradient is tfjs’s, the parameters’ the float64 sums',
    ({ shape, epsilon }) => {
      const channels = shape.at(-1)!;
      const values = batchNormValues(shape);
      const compute = (): tf.Tensor[] => {
        const x = tf.tensor(values.x, shape);
        const dy = tf.tensor(values.dy, shape);
        const params = (['mean', 'variance', 'scale', 'offset'] as const).map((name) =>
          tf.tensor1d(values[name]),
        );
        const grads = tf.grads((...args: tf.Tensor[]) => {
          const [xi, mean, variance, scale, offset] = args as tf.Tensor1D[];
          return tf.sum(tf.mul(tf.batchNorm(xi!, mean!, variance!, offset, scale, epsilon), dy));
        })([x, ...params]);
        tf.dispose([x, dy, ...params]);
        return grads;
      };
      const { stock, native, calls } = bothWays(compute, [
        'batchNormInputBackward',
        'batchNormParamsBackward',
      ]);
      expect(calls).toBe(2);
      expectIdentical(native[0]!, stock[0]!, 'dx');
      const expected = batchNormGradients64(
        values.x,
        values.dy,
        values.mean,
        values.variance,
        values.scale,
        epsilon,
      );
      expect(
        worstRatio(native[0]!, expected.x, (i) => 1e-6 * Math.abs(expected.x[i]!) + 1e-30),
      ).toBeLessThanOrEqual(1);
      for (let k = 0; k < 4; k++) {
        const magnitude = (c: number): number => expected.magnitudes[k]![c]!;
        // Summed in double: float32 rounding of the inputs' products, not of the sum.
        expect(
          worstRatio(native[1 + k]!, expected.params[k]!, (c) => 1e-6 * magnitude(c)),
        ).toBeLessThanOrEqual(1);
        // tfjs sums its float32 products in float32.
        expect(
          worstRatio(native[1 + k]!, stock[1 + k]!, (c) => 1e-4 * magnitude(c)),
        ).toBeLessThanOrEqual(1);
        expect(native[1 + k]).toHaveLength(channels);
      }
    },
  );

  test('without scale (the addon): the float64 derivatives with scale 1', () => {
    const shape = [6, 5, 4, 10];
    const channels = 10;
    const values = batchNormValues(shape);
    const epsilon = 0.001;
    const dx = new Float32Array(values.x.length);
    addon.batchNormInputBackward(values.dy, channels, values.variance, null, epsilon, dx);
    const params = new Float32Array(4 * channels);
    addon.batchNormParamsBackward(
      values.x,
      values.dy,
      channels,
      values.mean,
      values.variance,
      null,
      epsilon,
      params,
    );
    const expected = batchNormGradients64(
      values.x,
      values.dy,
      values.mean,
      values.variance,
      null,
      epsilon,
    );
    expect(
      worstRatio(dx, expected.x, (i) => 1e-6 * Math.abs(expected.x[i]!) + 1e-30),
    ).toBeLessThanOrEqual(1);
    for (let k = 0; k < 4; k++) {
      const actual = params.subarray(k * channels, (k + 1) * channels);
      expect(
        worstRatio(actual, expected.params[k]!, (c) => 1e-6 * expected.magnitudes[k]![c]!),
      ).toBeLessThanOrEqual(1);
    }
  });

  test('only x’s gradient asked for: the parameter pass does not run', () => {
    const values = batchNormValues([2, 4, 4, 8]);
    const [x, dy] = [values.x, values.dy].map((v) => tf.tensor(v, [2, 4, 4, 8]));
    const [mean, variance, scale, offset] = [
      values.mean,
      values.variance,
      values.scale,
      values.offset,
    ].map((v) => tf.tensor1d(v));
    const dx = (): tf.Tensor =>
      gradientOf((input) => tf.batchNorm(input, mean!, variance!, offset, scale), x!, dy!);
    const { stock, native, calls } = bothWays(dx, ['batchNormInputBackward']);
    expect(calls).toBe(1);
    expectIdentical(native[0]!, stock[0]!, 'dx');
    const spy = jest.spyOn(addon, 'batchNormParamsBackward');
    expect(registerNativeKernels()).toBe(true);
    tf.dispose(dx());
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    unregisterNativeKernels();
    tf.dispose([x!, dy!, mean!, variance!, scale!, offset!]);
  });

  test('one-element parameters are left to tfjs’s gradient', () => {
    const x = tf.tensor(random(2 * 3 * 3 * 4), [2, 3, 3, 4]);
    const dy = tf.tensor(random(x.size), x.shape);
    const [mean, scale, offset] = [0, 1, 2].map(() => tf.tensor1d(random(1)));
    const variance = tf.tensor1d([0.7]);
    const { stock, native, calls } = bothWays(
      () => gradientOf((input) => tf.batchNorm(input, mean!, variance, offset, scale), x, dy),
      ['batchNormInputBackward', 'batchNormParamsBackward'],
    );
    expect(calls).toBe(0);
    expectIdentical(native[0]!, stock[0]!, 'dx');
    tf.dispose([x, dy, mean!, variance, scale!, offset!]);
  });

  test('the parameter sums are the same floats on one thread and on several', () => {
    const channels = 24;
    const rows = 5000; // 120 000 floats: seven segments
    const x = random(rows * channels).map((u) => u + 1);
    const dy = random(rows * channels);
    const mean = random(channels);
    const variance = random(channels).map((u) => Math.abs(u) + 0.1);
    const scale = random(channels);
    const run = (threads: number): Float32Array => {
      const before = addon.getThreads();
      addon.setThreads(threads);
      try {
        const out = new Float32Array(4 * channels);
        addon.batchNormParamsBackward(x, dy, channels, mean, variance, scale, 0.001, out);
        return out;
      } finally {
        addon.setThreads(before);
      }
    };
    const one = run(1);
    expectIdentical(run(2), one, 'two threads');
    expectIdentical(run(3), one, 'three threads');
  });
});

describe('registration', () => {
  test('unregisterNativeKernels() puts tfjs’s gradients back', () => {
    const stock = [tf.Relu, tf.ClipByValue, tf.FusedBatchNorm, tf.Mean].map((name) =>
      tf.getGradient(name),
    );
    expect(registerNativeKernels()).toBe(true);
    [tf.Relu, tf.ClipByValue, tf.FusedBatchNorm, tf.Mean].forEach((name, i) => {
      expect(tf.getGradient(name)).not.toBe(stock[i]);
      expect(tf.getGradient(name).inputsToSave).toEqual(stock[i]!.inputsToSave);
    });
    unregisterNativeKernels();
    [tf.Relu, tf.ClipByValue, tf.FusedBatchNorm, tf.Mean].forEach((name, i) => {
      expect(tf.getGradient(name)).toBe(stock[i]);
    });
  });

  test('on the wasm backend the gradients are tfjs’s, with the native kernels registered', async () => {
    const x = withSpecials(512);
    const dy = random(512);
    const mean = random(8);
    const variance = random(8).map((u) => Math.abs(u) + 0.1);
    const compute = (): Float32Array[] => {
      const xs = tf.tensor(x, [4, 4, 4, 8]);
      const dys = tf.tensor(dy, xs.shape);
      const m = tf.tensor1d(mean);
      const v = tf.tensor1d(variance);
      const s = tf.tensor1d(mean.map((u) => 1 - u));
      const dMean = tf.tensor(dy.subarray(0, 32), [4, 1, 1, 8]);
      const results = [
        gradientOf((input) => tf.relu(input), xs, dys),
        gradientOf((input) => tf.clipByValue(input, -1, 6), xs, dys),
        gradientOf((input) => tf.batchNorm(input, m, v, m, s), xs, dys),
        gradientOf((input) => tf.mean(input, [1, 2], true), xs, dMean),
      ];
      const arrays = results.map((t) => t.dataSync() as Float32Array);
      tf.dispose([xs, dys, m, v, s, dMean, ...results]);
      return arrays;
    };
    await tf.setBackend('wasm');
    try {
      const stock = compute();
      expect(registerNativeKernels()).toBe(true);
      const spies = [
        'reluBackward',
        'clipByValueBackward',
        'batchNormInputBackward',
        'meanBackward',
      ].map((name) => jest.spyOn(addon, name as 'reluBackward'));
      const withNative = compute();
      spies.forEach((spy) => {
        expect(spy).not.toHaveBeenCalled();
        spy.mockRestore();
      });
      withNative.forEach((array, i) => expectIdentical(array, stock[i]!, `gradient ${i}`));
    } finally {
      unregisterNativeKernels();
      await tf.setBackend('cpu');
    }
  });
});

describe('gradients of gradients', () => {
  test('are tfjs’s: a recorded backward pass uses tfjs’s composed gradients, which have gradients', () => {
    const shape = [2, 4, 4, 8];
    const values = batchNormValues(shape);
    const ops: ((x: tf.Tensor) => tf.Tensor)[] = [
      (x) => tf.relu(x), // (tfjs's own clipByValue gradient has no gradient: LogicalAnd has none)
      (x) => tf.mean(x, [0, 1, 2]),
      (x) =>
        tf.batchNorm(
          x,
          tf.tensor1d(values.mean),
          tf.tensor1d(values.variance),
          tf.tensor1d(values.offset),
          tf.tensor1d(values.scale),
        ),
    ];
    for (const f of ops) {
      // L(x) = Σ f(x) · x, so the inner gradient's dy depends on x; the outer one differentiates
      // Σ ∇L(x) · w, which goes through the gradient of f's gradient. Had the inner backward pass
      // run the native kernels, the outer one would fail: they have no gradients.
      const secondOrder = (): tf.Tensor =>
        tf.tidy(() => {
          const x = tf.tensor(values.x, shape);
          const w = tf.tensor(values.dy, shape);
          const inner = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(f(input), input)));
          return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(inner(input), w)))(x);
        });
      const { stock, native, calls } = bothWays(secondOrder, [
        'reluBackward',
        'batchNormInputBackward',
        'meanBackward',
      ]);
      expect(calls).toBe(1); // the outer backward pass through f itself
      const scale = Math.max(...Array.from(stock[0]!, Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(worstRatio(native[0]!, stock[0]!, () => 1e-5 * scale)).toBeLessThanOrEqual(1);
    }
  });
});

describe('addon gradient functions refuse bad arguments', () => {
  const eight = new Float32Array(8);
  const four = new Float32Array(4);

  test('lengths, overlaps and types', () => {
    expectNativeError(
      () => addon.reluBackward(eight, new Float32Array(7), new Float32Array(8)),
      'RangeError',
      "Expected dy.length to be 8 (the output's) but received 7",
    );
    expectNativeError(
      () => addon.reluBackward(eight, new Float32Array(8), eight),
      'RangeError',
      'Expected out not to overlap x',
    );
    expectNativeError(
      () =>
        addon.clipByValueBackward(eight, eight, '0' as unknown as number, 6, new Float32Array(8)),
      'TypeError',
      "Expected a number for min but received string '0'",
    );
    expectNativeError(
      () => addon.batchNormInputBackward(eight, 3, four, null, 0.001, new Float32Array(8)),
      'RangeError',
      /dy\.length.*multiple of channels/,
    );
    expectNativeError(
      () =>
        addon.batchNormInputBackward(
          eight,
          4,
          new Float32Array(1),
          null,
          0.001,
          new Float32Array(8),
        ),
      'RangeError',
      'Expected variance.length to be 4 (channels) but received 1',
    );
    expectNativeError(
      () => addon.batchNormInputBackward(eight, 4, four, null, 0.001, new Float32Array(4)),
      'RangeError',
      'Expected dx.length to be 8 (dy.length) but received 4',
    );
    expectNativeError(
      () =>
        addon.batchNormParamsBackward(
          eight,
          four,
          4,
          four,
          four,
          null,
          0.001,
          new Float32Array(16),
        ),
      'RangeError',
      'Expected dy.length to be 8 (x.length) but received 4',
    );
    expectNativeError(
      () =>
        addon.batchNormParamsBackward(
          eight,
          eight,
          4,
          four,
          four,
          null,
          0.001,
          new Float32Array(8),
        ),
      'RangeError',
      'Expected out.length to be 16 (4 · channels) but received 8',
    );
    const out = new Float32Array(16);
    expectNativeError(
      () =>
        addon.batchNormParamsBackward(eight, eight, 4, out.subarray(0, 4), four, null, 0.001, out),
      'RangeError',
      'Expected out not to overlap mean',
    );
  });

  test('meanBackward: shapes that do not broadcast, lengths, count', () => {
    const out = new Float32Array(24);
    expectNativeError(
      () => addon.meanBackward(four, [1, 4], [6, 4, 1], 6, out),
      'RangeError',
      "Expected dyShape to have xShape's rank 3 but it has 2",
    );
    expectNativeError(
      () => addon.meanBackward(four, [1, 2, 2], [6, 4, 1], 6, out),
      'RangeError',
      'Expected dyShape[2] to be 1 or 1 but received 2',
    );
    expectNativeError(
      () => addon.meanBackward(four, [1, 4, 1], [6, 4, 1], 0, out),
      'RangeError',
      /count/,
    );
    expectNativeError(
      () => addon.meanBackward(four, [1, 4, 1], [6, 4, 1], 6, new Float32Array(23)),
      'RangeError',
      'Expected out.length to be the size of xShape = 24 but received 23',
    );
    expectNativeError(
      () => addon.meanBackward(out.subarray(0, 4), [1, 4, 1], [6, 4, 1], 6, out),
      'RangeError',
      'Expected out not to overlap dy',
    );
  });

  test('reluBackward may write over dy', () => {
    const x = Float32Array.of(-1, 0, 2, NaN);
    const dy = Float32Array.of(3, -4, 5, 6);
    addon.reluBackward(x, dy, dy);
    expectIdentical(dy, Float32Array.of(0, -0, 5, NaN), 'in place');
  });
});
