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
