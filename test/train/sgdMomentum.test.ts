import * as tf from '@tensorflow/tfjs';
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
