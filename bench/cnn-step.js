#!/usr/bin/env node
// Times convolutional models on tfjs's cpu backend at batch BATCH: the MNIST CNN's convolutions
// (conv 3×3×16 relu → max-pool → conv 3×3×32 relu → max-pool → dense 64 relu → dense 10), each
// pass alone in the addon, in GFLOP/s and as a share of the FMA peak measured in the same run,
// the pools after the first convolution and the MobileNet-style stack's first depthwise
// convolution alone, in GB/s;
// then a whole training step (forward, backward, SGD update) of that CNN and of a MobileNet-style
// stack (depthwise and pointwise convolutions, batch norm, ReLU6, average pools) with tfjs's own
// kernels, with superlora's native ones, and with the native kernels but tfjs's composed gradients
// of Relu, ClipByValue and FusedBatchNorm (src/tfjs/kernels/nativeGradients.ts), and each step's
// slowest kernels. Prints one JSON line per measurement. Not a test.
//   node bench/cnn-step.js [BATCH=64] [STEPS=5]
// The CLI's dist/ must be built (npm run build:ts).
'use strict';
const tf = require('@tensorflow/tfjs');
const { cpus } = require('os');
const { bestTimePerCall } = require('../dist/bench/bestTime');
const { loadBenchAddon } = require('../dist/bench/machineLimits');
const { convGeometry, geometryArray, poolInfo } = require('../dist/tfjs/kernels/convGeometry');
const { registerNativeKernels, unregisterNativeKernels } = require('../dist/tfjs/kernels/register');
const {
  registerNativeGradients,
  restoreStockGradients,
} = require('../dist/tfjs/kernels/nativeGradients');

const batch = Number(process.argv[2] ?? 64);
const steps = Number(process.argv[3] ?? 5);
const addon = loadBenchAddon();
const threads = addon.getThreads();
const machine = { cpu: cpus()[0]?.model ?? 'unknown', threads };
const print = (record) => console.log(JSON.stringify({ ...record, batch, ...machine }));

let state = 12345;
const uniform = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32 - 0.5;
};
const randomArray = (length) => Float32Array.from({ length }, uniform);

const fma = addon.measureFmaPeak(threads);
print({ measure: 'fma-peak', gflops: fma.gflops, isa: fma.isa });

// The model's two convolutions, at the shapes they see.
const convs = [
  { name: 'conv1', x: [batch, 28, 28, 1], filter: [3, 3, 1, 16] },
  { name: 'conv2', x: [batch, 14, 14, 16], filter: [3, 3, 16, 32] },
];
for (const conv of convs) {
  const attrs = { strides: 1, dilations: 1, pad: 'same', dimRoundingMode: undefined };
  const { geometry, outShape } = convGeometry(conv.x, conv.filter, attrs);
  const size = (shape) => shape.reduce((a, b) => a * b, 1);
  const x = randomArray(size(conv.x));
  const filter = randomArray(size(conv.filter));
  const out = new Float32Array(size(outShape));
  const dx = new Float32Array(x.length);
  const dfilter = new Float32Array(filter.length);
  const flop = 2 * size(outShape) * size(conv.filter.slice(0, 3));
  const calls = {
    forward: () => addon.conv2d(x, filter, null, out, geometry, 0),
    backpropInput: () => addon.conv2dBackpropInput(out, filter, dx, geometry),
    backpropFilter: () => addon.conv2dBackpropFilter(x, out, dfilter, geometry),
  };
  for (const [pass, call] of Object.entries(calls)) {
    const { ms } = bestTimePerCall(call);
    const gflops = flop / ms / 1e6;
    print({
      measure: 'conv-kernel',
      conv: conv.name,
      pass,
      ms,
      gflops,
      ofFmaPeak: gflops / fma.gflops,
    });
  }
}

// The 2×2 pools after the first convolution, each pass alone: GB/s over the bytes each must move
// (input read; output, or the input gradient, written; max pooling's backward also reads x),
// against the copy bandwidth of a buffer of the input's size measured in the same run.
{
  const shape = [batch, 28, 28, 16];
  const attrs = { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined };
  const geometry = geometryArray(poolInfo(shape, { attrs }));
  const x = randomArray(shape.reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.length / 4);
  const dx = new Float32Array(x.length);
  const memcpy = addon.measureMemcpy(4 * x.length, threads);
  print({ measure: 'memcpy', bytes: 4 * x.length, gbPerSecond: memcpy.gbs });
  const calls = {
    maxPool: [() => addon.maxPool(x, out, geometry), x.length + out.length],
    maxPoolBackward: [() => addon.maxPoolBackward(out, x, dx, geometry), 2 * x.length + out.length],
    avgPool: [() => addon.avgPool(x, out, geometry), x.length + out.length],
    avgPoolBackward: [() => addon.avgPoolBackward(out, dx, geometry), x.length + out.length],
  };
  for (const [pass, [call, floats]] of Object.entries(calls)) {
    const { ms } = bestTimePerCall(call);
    const gbPerSecond = (4 * floats) / ms / 1e6;
    print({
      measure: 'pool-kernel',
      pass,
      shape,
      ms,
      gbPerSecond,
      ofMemcpy: gbPerSecond / memcpy.gbs,
    });
  }
}

// The MobileNet-style stack's first depthwise 3×3 convolution, each pass alone, in GB/s over the
// bytes it must move (x or dy read, out or dx written; the filter gradient reads both), against
// the copy bandwidth of a buffer of the input's size.
{
  const shape = [batch, 16, 16, 16];
  const attrs = { strides: 1, dilations: 1, pad: 'same', dimRoundingMode: undefined };
  const { geometry } = convGeometry(shape, [3, 3, 16, 1], attrs, true);
  const x = randomArray(shape.reduce((a, b) => a * b, 1));
  const filter = randomArray(3 * 3 * 16);
  const out = new Float32Array(x.length);
  const dx = new Float32Array(x.length);
  const dfilter = new Float32Array(filter.length);
  const memcpy = addon.measureMemcpy(4 * x.length, threads);
  print({ measure: 'memcpy', bytes: 4 * x.length, gbPerSecond: memcpy.gbs });
  const calls = {
    forward: () => addon.depthwiseConv2d(x, filter, null, out, geometry, 0),
    backpropInput: () => addon.depthwiseConv2dBackpropInput(out, filter, dx, geometry),
    backpropFilter: () => addon.depthwiseConv2dBackpropFilter(x, out, dfilter, geometry),
  };
  for (const [pass, call] of Object.entries(calls)) {
    const { ms } = bestTimePerCall(call);
    const gbPerSecond = (8 * x.length) / ms / 1e6;
    print({
      measure: 'depthwise-kernel',
      pass,
      shape,
      ms,
      gbPerSecond,
      ofMemcpy: gbPerSecond / memcpy.gbs,
    });
  }
}

const init = (seed) => tf.initializers.glorotUniform({ seed });

/** The MNIST CNN of examples/train-cnn.js. */
function cnn() {
  const conv = { kernelSize: 3, padding: 'same', activation: 'relu' };
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        ...conv,
        inputShape: [28, 28, 1],
        filters: 16,
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ ...conv, filters: 32, kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(4) }),
    ],
  });
}

/**
 * MobileNet's pieces on 32×32 RGB: a strided convolution, then two blocks of depthwise 3×3 →
 * pointwise 1×1 (32, then 64 channels), each followed by batch norm and ReLU6, average pools, a
 * global average pool and a Dense head.
 */
function mobileNetStyle() {
  const normalized = (layer) => [
    layer,
    tf.layers.batchNormalization(),
    tf.layers.reLU({ maxValue: 6 }),
  ];
  const layers = normalized(
    tf.layers.conv2d({
      ...{ inputShape: [32, 32, 3], filters: 16, kernelSize: 3, strides: 2, padding: 'same' },
      ...{ useBias: false, kernelInitializer: init(5) },
    }),
  );
  for (const [i, filters] of [32, 64].entries()) {
    layers.push(
      ...normalized(
        tf.layers.depthwiseConv2d({
          ...{ kernelSize: 3, padding: 'same', useBias: false },
          depthwiseInitializer: init(6 + i),
        }),
      ),
      ...normalized(
        tf.layers.conv2d({
          filters,
          kernelSize: 1,
          useBias: false,
          kernelInitializer: init(8 + i),
        }),
      ),
      tf.layers.averagePooling2d({ poolSize: 2 }),
    );
  }
  layers.push(
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: 10, kernelInitializer: init(10) }),
  );
  return tf.sequential({ layers });
}

const MODELS = [
  { name: 'mnist-cnn', build: cnn, input: [28, 28, 1] },
  { name: 'mobilenet-style', build: mobileNetStyle, input: [32, 32, 3] },
];

async function timeSteps(spec, kernels) {
  const model = spec.build();
  const optimizer = tf.train.sgd(0.01);
  const x = tf.tensor4d(randomArray(batch * spec.input.reduce((a, b) => a * b)), [
    batch,
    ...spec.input,
  ]);
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const step = () =>
    optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true })),
      true,
    );
  tf.dispose(step()); // warm-up
  let best = Infinity;
  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    const loss = step();
    await loss.data();
    best = Math.min(best, performance.now() - started);
    loss.dispose();
  }
  const profile = await tf.profile(() => tf.dispose(step()));
  const byKernel = new Map();
  for (const kernel of profile.kernels) {
    byKernel.set(kernel.name, (byKernel.get(kernel.name) ?? 0) + kernel.kernelTimeMs);
  }
  const slowest = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 6);
  print({
    measure: 'cnn-step',
    model: spec.name,
    kernels,
    ms: best,
    imagesPerSecond: (batch * 1000) / best,
    slowestKernelsMs: Object.fromEntries(
      slowest.map(([name, ms]) => [name, Math.round(ms * 10) / 10]),
    ),
  });
  tf.dispose([x, labels]);
  model.dispose();
}

(async () => {
  await tf.setBackend('cpu');
  tf.enableProdMode();
  for (const spec of MODELS) {
    unregisterNativeKernels();
    await timeSteps(spec, 'tfjs');
    if (!registerNativeKernels()) throw new Error('the native kernels did not register');
    await timeSteps(spec, 'superlora');
    restoreStockGradients();
    await timeSteps(spec, 'superlora, tfjs gradients');
    registerNativeGradients();
  }
})();
