import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../src/train/adamW';
import { createOptimizer } from '../../src/train/optimizer';
import { SgdMomentum } from '../../src/train/sgdMomentum';

test('SGD with momentum and weight decay follows buf = μ·buf + g + λw, w −= lr·buf', () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const variables = new Map([['w', w]]);
  const sgd = new SgdMomentum({ momentum: 0.9, weightDecay: 0.1 });
  let expectedW = [1, -2];
  let buffer = [0, 0];
  const gradients = [
    [0.5, 0.25],
    [-1, 2],
    [0.125, 0],
  ];
  gradients.forEach((g, step) => {
    sgd.apply(variables, new Map([['w', tf.tensor1d(g)]]), 0.1);
    buffer = buffer.map((b, i) => (step === 0 ? 0 : 0.9 * b) + g[i]! + 0.1 * expectedW[i]!);
    expectedW = expectedW.map((v, i) => v - 0.1 * buffer[i]!);
    const actual = Array.from(w.dataSync());
    actual.forEach((v, i) => expect(v).toBeCloseTo(expectedW[i]!, 6));
  });
  sgd.dispose();
  w.dispose();
});

test('createOptimizer fills in momentum 0.9 and weight decay 0, and refuses settings that are not numbers in range', () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const variables = new Map([['w', w]]);
  const sgd = createOptimizer({});
  const gradients = [
    [0.5, 0.25],
    [-1, 2],
  ];
  let expectedW = [1, -2];
  let buffer = [0, 0];
  gradients.forEach((g, step) => {
    sgd.apply(variables, new Map([['w', tf.tensor1d(g)]]), 0.1, step + 1);
    buffer = buffer.map((b, i) => (step === 0 ? 0 : 0.9 * b) + g[i]!);
    expectedW = expectedW.map((v, i) => v - 0.1 * buffer[i]!);
  });
  Array.from(w.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expectedW[i]!, 6));
  sgd.dispose();
  w.dispose();

  const unset = undefined as unknown as number; // what plain JavaScript can pass
  expect(() => new SgdMomentum({ momentum: unset, weightDecay: 0 })).toThrow(
    'Expected SGD momentum in [0, 1] but received undefined',
  );
  expect(() => createOptimizer({ momentum: 1.5 })).toThrow(/SGD momentum in \[0, 1\].*1\.5/);
  expect(() => createOptimizer({ weightDecay: -0.1 })).toThrow(/SGD weightDecay in \[0, ∞\)/);
  expect(() => createOptimizer({ optimizer: 'adamw', weightDecay: NaN })).toThrow(
    'Expected AdamW weightDecay in [0, ∞) but received NaN',
  );
  expect(() => new AdamW({ weightDecay: Infinity })).toThrow(/AdamW weightDecay.*Infinity/);
});
