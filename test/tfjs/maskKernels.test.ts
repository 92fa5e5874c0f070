/**
 * The native kernels of clipped activations and their gradients (native/ops/mask_ops.h,
 * src/tfjs/kernels/maskKernels.ts): comparisons, LogicalAnd, Select, ClipByValue and ZerosLike
 * against tfjs's own kernels, bit for bit, on special values (NaN, ±0, ±∞) and with an operand of
 * one element on either side; broadcasts they do not claim go to tfjs; bad arguments; and ReLU6's
 * forward and gradient through tf.layers.reLU.
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

const SPECIAL = [NaN, 0, -0, 6, -6, Infinity, -Infinity, 1e-30, 5.999999];

/** Values in [−9, 9) with every special value among them. */
function values(count: number): Float32Array {
  const array = random(count).map((u) => 9 * u);
  SPECIAL.forEach((value, i) => {
    if (i * 7 < count) array[i * 7] = value;
  });
  return array;
}

const MASK_FUNCTIONS = ['compare', 'logicalAnd', 'select', 'clipByValue'] as const;

/** `compute` both ways, with the calls that reached the addon's mask functions. */
function bothWays(compute: () => tf.Tensor | tf.Tensor[]): ReturnType<typeof bothWaysCounted> {
  return bothWaysCounted(compute, MASK_FUNCTIONS);
}

const COMPARISONS = [
  ['greater', tf.greater],
  ['greaterEqual', tf.greaterEqual],
  ['less', tf.less],
  ['lessEqual', tf.lessEqual],
  ['equal', tf.equal],
  ['notEqual', tf.notEqual],
] as const;

/** Operand shapes: equal, a scalar on either side, a one-element tensor of higher rank. */
const SHAPE_PAIRS: [number[], number[]][] = [
  [
    [3, 40],
    [3, 40],
  ],
  [[3, 40], []],
  [[], [3, 40]],
  [
    [2, 3, 20],
    [1, 1, 1],
  ],
  [[1], [5, 2]],
];

describe('comparisons', () => {
  test.each(COMPARISONS)('%s is bit-identical to tfjs', (name, op) => {
    for (const [aShape, bShape] of SHAPE_PAIRS) {
      const a = tf.tensor(values(aShape.reduce((x, y) => x * y, 1)), aShape);
      const b = tf.tensor(values(bShape.reduce((x, y) => x * y, 1)).reverse(), bShape);
      const { stock, native, calls } = bothWays(() => op(a, b));
      expect(calls).toBe(1);
      expectIdentical(native[0]!, stock[0]!, `${name} [${aShape}] [${bShape}]`);
      tf.dispose([a, b]);
    }
  });

  test('a broadcast of two larger shapes runs tfjs’s kernel', () => {
    const a = tf.tensor(values(3), [3, 1]);
    const b = tf.tensor(values(4), [1, 4]);
    const { stock, native, calls } = bothWays(() => tf.greaterEqual(a, b));
    expect(calls).toBe(0);
    expectIdentical(native[0]!, stock[0]!, 'greaterEqual [3, 1] [1, 4]');
    tf.dispose([a, b]);
  });
});

describe('LogicalAnd, Select, ClipByValue and ZerosLike', () => {
  test('logicalAnd and select of comparisons are bit-identical to tfjs', () => {
    const x = tf.tensor(values(600), [6, 100]);
    const y = tf.tensor(values(600).reverse(), [6, 100]);
    const { stock, native, calls } = bothWays(() => {
      const mask = tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(x, 6));
      return [mask, tf.where(mask, x, y), tf.logicalAnd(mask, tf.scalar(true, 'bool'))];
    });
    expect(calls).toBe(5);
    native.forEach((array, i) => expectIdentical(array, stock[i]!, `output ${i}`));
    tf.dispose([x, y]);
  });

  test('clipByValue and zerosLike are bit-identical to tfjs, infinite and equal bounds included', () => {
    const x = tf.tensor(values(3000), [30, 100]);
    for (const [min, max] of [
      [0, 6],
      [-Infinity, 1.1],
      [-2.5, Infinity],
      [0.1, 0.1],
    ] as const) {
      const { stock, native, calls } = bothWays(() => [
        tf.clipByValue(x, min, max),
        tf.zerosLike(x),
      ]);
      // tf.clipByValue fills instead of clipping when the bounds are equal.
      expect(calls).toBe(min === max ? 0 : 1);
      native.forEach((array, i) => expectIdentical(array, stock[i]!, `clip [${min}, ${max}] ${i}`));
    }
    x.dispose();
  });

  test('ReLU6 (tf.layers.reLU with maxValue 6): forward and gradient bit-identical to tfjs', () => {
    const layer = tf.layers.reLU({ maxValue: 6 });
    const x = tf.tensor(values(4096), [4, 32, 32]);
    const dy = tf.tensor(random(4096), [4, 32, 32]);
    const { stock, native, calls } = bothWays(() => {
      const { value, grads } = tf.valueAndGrads((input: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(input) as tf.Tensor, dy)),
      )([x]);
      return [layer.apply(x) as tf.Tensor, value, ...grads];
    });
    // The forward's clip twice (the output and the value); the gradient is nativeGradients.ts's.
    expect(calls).toBe(2);
    native.forEach((array, i) => expectIdentical(array, stock[i]!, `output ${i}`));
    tf.dispose([x, dy]);
  });
});

describe('addon mask functions refuse bad arguments', () => {
  const a = new Float32Array(8);
  const out = new Uint8Array(8);

  test('an unknown comparison, lengths that neither match nor broadcast, overlapping outputs', () => {
    expectNativeError(
      () => addon.compare('greatest' as 'greater', a, a, out),
      'RangeError',
      /Expected one of 'greater', .* for op but received string 'greatest'/,
    );
    expectNativeError(
      () => addon.compare('less', a, new Float32Array(3), out),
      'RangeError',
      "Expected b.length to be 8 (the output's) or 1 but received 3",
    );
    expectNativeError(
      () => addon.logicalAnd(out, new Uint8Array(8), out),
      'RangeError',
      'Expected out not to overlap a',
    );
    expectNativeError(
      () => addon.select(new Uint8Array(7), a, a, new Float32Array(8)),
      'RangeError',
      "Expected condition.length to be 8 (the output's) but received 7",
    );
    expectNativeError(
      () => addon.compare('less', a, a, new Float32Array(8) as unknown as Uint8Array),
      'TypeError',
      'Expected Uint8Array for out but received Float32Array',
    );
  });

  test('a NaN clip bound: the addon refuses it, the kernel leaves it to tfjs’s', () => {
    expectNativeError(
      () => addon.clipByValue(a, NaN, 1, new Float32Array(8)),
      'TypeError',
      'Expected a number for min but received number NaN',
    );
    // tf.clipByValue asserts min <= max, so only a direct runKernel call carries a NaN bound.
    const x = tf.tensor([1, -1, 3, NaN]);
    const { stock, native, calls } = bothWays(
      () =>
        tf
          .engine()
          .runKernel(tf.ClipByValue, { x }, { clipValueMin: NaN, clipValueMax: 2 }) as tf.Tensor,
    );
    expect(calls).toBe(0);
    expectIdentical(native[0]!, stock[0]!, 'clip [NaN, 2]');
    x.dispose();
  });
});
