/**
 * AdamW against PyTorch's algorithm written out in float64 (torch.optim.AdamW, amsgrad off), over
 * steps whose learning rate changes; and its state through a checkpoint round trip.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../src/train/adamW';
import { createOptimizer } from '../../src/train/optimizer';

interface Reference {
  w: number[];
  m: number[];
  v: number[];
}

/** One PyTorch AdamW step on plain numbers (update t ≥ 1). */
function referenceStep(
  state: Reference,
  g: number[],
  lr: number,
  t: number,
  { beta1, beta2, epsilon, weightDecay }: Record<string, number>,
): Reference {
  const m = state.m.map((mi, i) => beta1! * mi + (1 - beta1!) * g[i]!);
  const v = state.v.map((vi, i) => beta2! * vi + (1 - beta2!) * g[i]! ** 2);
  const w = state.w.map((wi, i) => {
    const decayed = wi * (1 - lr * weightDecay!);
    const mHat = m[i]! / (1 - beta1! ** t);
    const vHat = v[i]! / (1 - beta2! ** t);
    return decayed - (lr * mHat) / (Math.sqrt(vHat) + epsilon!);
  });
  return { w, m, v };
}

const hyper = { beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.05 };
const gradients = [
  [0.5, -0.25, 3],
  [-1, 2, 0],
  [0.125, 0, -4],
  [2, -0.5, 1e-3],
];
const rates = [0.1, 0.05, 0.2, 0.01];

test('AdamW follows PyTorch: decoupled decay, bias-corrected moments, ε outside the root', () => {
  const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
  const adam = new AdamW(hyper);
  let expected: Reference = { w: [1, -2, 0.5], m: [0, 0, 0], v: [0, 0, 0] };
  gradients.forEach((g, i) => {
    const gradient = tf.tensor1d(g);
    adam.apply(new Map([['w', w]]), new Map([['w', gradient]]), rates[i]!, i + 1);
    gradient.dispose();
    expected = referenceStep(expected, g, rates[i]!, i + 1, hyper);
    const slot = (name: string) => Array.from(adam.slots.get(name)!.get('w')!.dataSync());
    Array.from(w.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(expected.w[j]!, 6));
    slot('exp_avg').forEach((x, j) => expect(x).toBeCloseTo(expected.m[j]!, 6));
    slot('exp_avg_sq').forEach((x, j) => expect(x).toBeCloseTo(expected.v[j]!, 6));
  });
  adam.dispose();
  w.dispose();
});

test('AdamW restored from its slots continues exactly as the uninterrupted optimizer', () => {
  const run = (restoreAfter: number | null): number[] => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    let adam = createOptimizer({ optimizer: 'adamw', momentum: 0, ...hyper });
    gradients.forEach((g, i) => {
      if (i === restoreAfter) {
        const saved = new Map(
          [...adam.slots].map(([slot, buffers]) => [
            slot,
            new Map(
              [...buffers].map(([name, b]) => [
                name,
                { shape: b.shape, values: b.dataSync() as Float32Array },
              ]),
            ),
          ]),
        );
        adam.dispose();
        adam = createOptimizer({ optimizer: 'adamw', momentum: 0, ...hyper });
        adam.load(saved);
      }
      const gradient = tf.tensor1d(g);
      adam.apply(new Map([['w', w]]), new Map([['w', gradient]]), rates[i]!, i + 1);
      gradient.dispose();
    });
    const result = Array.from(w.dataSync());
    adam.dispose();
    w.dispose();
    return result;
  };
  expect(run(2)).toEqual(run(null));
});

test('AdamW refuses SGD state, bad hyper-parameters and a step count below 1', () => {
  const adam = new AdamW({ weightDecay: 0 });
  expect(() => adam.load(new Map([['momentum', new Map()]]))).toThrow(
    /Expected AdamW state \(exp_avg, exp_avg_sq\) but the checkpoint has momentum/,
  );
  expect(() => new AdamW({ weightDecay: 0, beta2: 1 })).toThrow(/beta2 in \[0, 1\)/);
  expect(() => new AdamW({ weightDecay: 0, epsilon: 0 })).toThrow(/epsilon/);
  const w = tf.variable(tf.tensor1d([1]));
  expect(() => adam.apply(new Map([['w', w]]), new Map([['w', tf.tensor1d([1])]]), 0.1, 0)).toThrow(
    /step count ≥ 1/,
  );
  w.dispose();
  expect(() =>
    createOptimizer({ optimizer: 'lion' as never, momentum: 0, weightDecay: 0 }),
  ).toThrow(/sgd, adamw for optimizer but received lion/);
});
