/**
 * The native FusedBatchNorm (native/ops/batch_norm.h, src/tfjs/kernels/batchNorm.ts): against the
 * definition written out in float64 here and against tfjs's own kernel bit for bit, with special
 * values, absent and one-element parameters and several ε; the shapes it leaves to tfjs; a
 * Layers batchNormalization's training-mode forward and gradients; and the addon's refusals.
 */
import * as tf from '@tensorflow/tfjs';
import { expectNativeError } from '../native/expectNativeError';
import {
  addon,
  bothWays as bothWaysCounted,
  expectIdentical,
  random,
  useCpuBackendWithPoisonedOutputs,
} from './kernelHarness';

useCpuBackendWithPoisonedOutputs();

function bothWays(compute: () => tf.Tensor | tf.Tensor[]): ReturnType<typeof bothWaysCounted> {
  return bothWaysCounted(compute, ['batchNorm']);
}

interface Params {
  mean: Float32Array;
  variance: Float32Array;
  scale?: Float32Array;
  offset?: Float32Array;
}

/** offset + (x − mean) · scale / √(variance + ε) per element, parameters indexed by channel. */
function definition(
  x: Float32Array,
  channels: number,
  params: Params,
  epsilon: number,
): Float32Array {
  const at = (values: Float32Array | undefined, c: number, absent: number): number =>
    values === undefined ? absent : values[values.length === 1 ? 0 : c]!;
  return x.map((value, i) => {
    const c = i % channels;
    const normalised =
      ((value - at(params.mean, c, 0)) * at(params.scale, c, 1)) /
      Math.sqrt(at(params.variance, c, 0) + epsilon);
    return at(params.offset, c, 0) + normalised;
  });
}

describe('FusedBatchNorm', () => {
  const SPECIAL = [NaN, 0, -0, Infinity, -Infinity, 1e-30, 3e38];

  test('tf.batchNorm equals the definition and tfjs’s kernel, every parameter combination', () => {
    const shape = [3, 5, 4, 6];
    const channels = 6;
    const xValues = random(360);
    SPECIAL.forEach((value, i) => (xValues[i * 11] = value));
    const x = tf.tensor(xValues, shape);
    const variances = random(channels).map((u) => Math.abs(u) * 2);
    variances[2] = 0; // ε alone keeps the root positive
    const full: Required<Params> = {
      mean: random(channels),
      variance: variances,
      scale: random(channels).map((u) => 3 * u),
      offset: random(channels),
    };
    const one: Params = {
      mean: random(1),
      variance: Float32Array.of(0.5),
      scale: random(1),
      offset: random(1),
    };
    const cases: { name: string; params: Params; epsilon: number }[] = [
      { name: 'all per channel', params: full, epsilon: 0.001 },
      {
        name: 'no scale, no offset',
        params: { mean: full.mean, variance: full.variance },
        epsilon: 1e-5,
      },
      {
        name: 'one-element mean and scale',
        params: { ...full, mean: one.mean, scale: one.scale },
        epsilon: 0.1,
      },
      { name: 'every parameter one element', params: one, epsilon: 0 },
    ];
    for (const { name, params, epsilon } of cases) {
      const tensor = (values: Float32Array | undefined): tf.Tensor1D | undefined =>
        values === undefined ? undefined : tf.tensor1d(values);
      const { stock, native, calls } = bothWays(() =>
        tf.batchNorm(
          x,
          tensor(params.mean)!,
          tensor(params.variance)!,
          tensor(params.offset),
          tensor(params.scale),
          epsilon,
        ),
      );
      expect(calls).toBe(1);
      expectIdentical(native[0]!, stock[0]!, name);
      const expected = definition(xValues, channels, params, epsilon);
      expectIdentical(native[0]!, expected, `${name} against the definition`);
    }
    x.dispose();
  });

  test('a negative variance gives NaN, as in tfjs; one channel and rank-2 inputs', () => {
    for (const shape of [
      [10, 1],
      [4, 7],
    ]) {
      const channels = shape[1]!;
      const x = tf.tensor(random(shape[0]! * channels), shape);
      const mean = tf.tensor1d(random(channels));
      const variance = tf.tensor1d(random(channels)); // about half negative
      const { stock, native, calls } = bothWays(() => tf.batchNorm(x, mean, variance));
      expect(calls).toBe(1);
      expectIdentical(native[0]!, stock[0]!, `shape ${shape.join('×')}`);
      tf.dispose([x, mean, variance]);
    }
  });

  test('parameters of another length or mixed ranks go to tfjs’s kernel', () => {
    const x = tf.tensor(random(48), [2, 4, 6]);
    const elementwise = tf.tensor(random(48).map(Math.abs), [2, 4, 6]);
    const perChannel = tf.tensor1d(random(6));
    const cycling = tf.tensor1d(random(4)); // tfjs cycles it through the flat index
    for (const [name, mean, variance] of [
      ['elementwise moments', elementwise, elementwise],
      ['a length that is not the channels', cycling, tf.abs(cycling)],
    ] as const) {
      const { stock, native, calls } = bothWays(() => tf.batchNorm(x, mean, variance));
      expect(calls).toBe(0);
      expectIdentical(native[0]!, stock[0]!, name);
    }
    const mixedRanks = (): tf.Tensor =>
      tf.batchNorm(x, perChannel, tf.abs(elementwise), perChannel, perChannel);
    expect(mixedRanks).toThrow(/equal ranks/);
    tf.dispose([x, elementwise, perChannel, cycling]);
  });

  test('Layers batchNormalization in training: output and moving statistics are tfjs’s, gradients to rounding', () => {
    const x = tf.tensor(
      random(4 * 6 * 6 * 8).map((u) => 2 * u + 0.5),
      [4, 6, 6, 8],
    );
    const dy = tf.tensor(random(4 * 6 * 6 * 8), [4, 6, 6, 8]);
    const step = (): tf.Tensor[] => {
      const layer = tf.layers.batchNormalization({ momentum: 0.9 });
      layer.build(x.shape);
      const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, dy)) as tf.Scalar,
        [gamma!, beta!],
      );
      const inference = layer.apply(x) as tf.Tensor;
      const moving = layer.nonTrainableWeights.map((w) => w.read().clone());
      const dx = tf.grad((input: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, dy)),
      )(x);
      const result = [value, ...Object.values(grads), inference, ...moving, dx];
      layer.weights.forEach((weight) => weight.dispose());
      return result;
    };
    const { stock, native, calls } = bothWays(step);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(native).toHaveLength(7);
    // The forward values are tfjs's bit for bit. The gradients of gamma and beta (and x's, through
    // the batch's mean and variance) are sums that native/ops/batch_norm.h runs in double
    // (test/tfjs/nativeGradients.test.ts): equal to tfjs's float32 sums to float32 rounding.
    const GRADIENTS = new Set([1, 2, 6]);
    native.forEach((array, i) => {
      if (!GRADIENTS.has(i)) {
        expectIdentical(array, stock[i]!, `output ${i}`);
        return;
      }
      const scale = Math.max(...Array.from(stock[i]!, Math.abs));
      array.forEach((value, j) => {
        expect(Math.abs(value - stock[i]![j]!)).toBeLessThanOrEqual(1e-5 * scale);
      });
    });
    tf.dispose([x, dy]);
  });
});

describe('addon.batchNorm refuses bad arguments', () => {
  const x = new Float32Array(12);
  const four = new Float32Array(4);
  const out = new Float32Array(12);

  test('channels, lengths, overlaps and epsilon', () => {
    expectNativeError(
      () => addon.batchNorm(x, 0, four, four, null, null, 0.001, out),
      'RangeError',
      /channels/,
    );
    expectNativeError(
      () => addon.batchNorm(x, 5, four, four, null, null, 0.001, out),
      'RangeError',
      /x\.length.*multiple of channels/,
    );
    expectNativeError(
      () => addon.batchNorm(x, 4, new Float32Array(3), four, null, null, 0.001, out),
      'RangeError',
      'Expected mean.length to be 4 (channels) or 1 but received 3',
    );
    expectNativeError(
      () => addon.batchNorm(x, 4, four, four, new Float32Array(2), null, 0.001, out),
      'RangeError',
      'Expected scale.length to be 4 (channels) or 1 but received 2',
    );
    expectNativeError(
      () => addon.batchNorm(x, 4, four, four, null, null, 0.001, new Float32Array(11)),
      'RangeError',
      'Expected out.length to be x.length = 12 but received 11',
    );
    expectNativeError(
      () => addon.batchNorm(x, 4, out.subarray(0, 4), four, null, null, 0.001, out),
      'RangeError',
      'Expected out not to overlap mean',
    );
    expectNativeError(
      () => addon.batchNorm(x, 4, four, four, null, null, '0.001' as unknown as number, out),
      'TypeError',
      "Expected a number for epsilon but received string '0.001'",
    );
    expectNativeError(
      () =>
        addon.batchNorm(x, 4, four, four, [1, 2, 3, 4] as unknown as Float32Array, null, 0, out),
      'TypeError',
      'Expected Float32Array for scale but received Array',
    );
  });

  test('in place: out may be x', () => {
    const values = Float32Array.of(1, 2, 3, 4, 5, 6);
    const expected = definition(
      values,
      2,
      { mean: Float32Array.of(1, 2), variance: Float32Array.of(4, 0.25) },
      0,
    );
    addon.batchNorm(
      values,
      2,
      Float32Array.of(1, 2),
      Float32Array.of(4, 0.25),
      null,
      null,
      0,
      values,
    );
    expectIdentical(values, expected, 'in place');
  });
});
