import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm } from '../../src/train/gradientClipping';

const gradients = () =>
  new Map<string, tf.Tensor>([
    ['a', tf.tensor1d([3, 0])],
    ['b', tf.tensor2d([[0, 4]])], // global norm √(9 + 16) = 5
  ]);

test('the global norm covers every gradient; above maxNorm they scale by maxNorm/(norm + 1e-6)', () => {
  const input = gradients();
  const { gradients: clipped, norm } = clipByGlobalNorm(input, 2);
  expect(norm).toBeCloseTo(5, 6);
  const scale = 2 / (5 + 1e-6);
  expect(Array.from(clipped.get('a')!.dataSync())).toEqual([Math.fround(3 * scale), 0]);
  expect(Array.from(clipped.get('b')!.dataSync())[1]).toBeCloseTo(4 * scale, 6);
  expect(clipped.get('b')!.shape).toEqual([1, 2]);
  tf.dispose([...input.values(), ...clipped.values()]);
});

test('below maxNorm, or with maxNorm 0, the gradients are returned as they are', () => {
  const input = gradients();
  for (const maxNorm of [0, 5.1, 1e9]) {
    const result = clipByGlobalNorm(input, maxNorm);
    expect(result.gradients).toBe(input);
    expect(result.norm).toBeCloseTo(5, 6);
  }
  expect(() => clipByGlobalNorm(input, -1)).toThrow(/max gradient norm ≥ 0 but received -1/);
  tf.dispose([...input.values()]);
});

test('no gradients: norm 0 and nothing to clip', () => {
  const none = new Map<string, tf.Tensor>();
  const result = clipByGlobalNorm(none, 1);
  expect(result.gradients).toBe(none);
  expect(result.norm).toBe(0);
});

test('a gradient that is not float32 is refused by name, before any norm is taken', () => {
  const input = new Map<string, tf.Tensor>([
    ['a', tf.tensor1d([3, 0])],
    ['counts', tf.tensor1d([1, 2], 'int32')],
  ]);
  expect(() => clipByGlobalNorm(input, 1)).toThrow(
    new TypeError('Expected the gradient "counts" to be float32 but received int32'),
  );
  expect(() => clipByGlobalNorm([] as unknown as Map<string, tf.Tensor>, 1)).toThrow(TypeError);
  expect(() => clipByGlobalNorm(input, NaN)).toThrow(/max gradient norm ≥ 0 but received NaN/);
  tf.dispose([...input.values()]);
});

test.each([
  ['an infinite', Infinity, Infinity],
  ['a NaN', NaN, NaN],
])(
  '%s gradient is returned unscaled with its non-finite norm, for the divergence check',
  (_, bad, norm) => {
    const input = new Map<string, tf.Tensor>([
      ['a', tf.tensor1d([bad, 1])],
      ['b', tf.tensor1d([2])],
    ]);
    for (const maxNorm of [0, 1]) {
      const result = clipByGlobalNorm(input, maxNorm);
      expect(result.norm).toBe(norm);
      expect(result.gradients).toBe(input);
      expect(Array.from(result.gradients.get('a')!.dataSync())).toEqual([bad, 1]);
    }
    tf.dispose([...input.values()]);
  },
);
