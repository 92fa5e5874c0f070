#!/usr/bin/env node
/**
 * Native kernels for the tfjs cpu backend, measured: GEMM GFLOP/s against the machine's FMA peak
 * (measured in the same run), a ViT training step (forward + backward + SGD update) with tfjs's
 * own cpu kernels and with superlora's, and where the step's time goes, kernel by kernel.
 *
 *   npm run build:ts && node bench/trainStep.js [--batch 128] [--steps 5] [--stock-steps 2]
 *       [--skip-stock] [--profile [--shapes]] [--threads N] [--json out.json]
 *
 * The ViT is the small one of the fine-tuning recipes: image 28, patch 7, 1 channel, hidden 64,
 * 4 layers, 4 heads, MLP 128, 10 classes; every weight is trained. Times are the best of the
 * timed steps (after one warm-up step): on a machine shared with other work the best is the
 * figure that is least disturbed.
 */
'use strict';

const path = require('path');
const tf = require('@tensorflow/tfjs');

const dist = path.join(__dirname, '..', 'dist');
const { loadAddon } = require(path.join(dist, 'native', 'loadAddon.js'));
const { createViT } = require(path.join(dist, 'vit', 'model.js'));
const { crossEntropy } = require(path.join(dist, 'train', 'trainLoop.js'));
const { SgdMomentum } = require(path.join(dist, 'train', 'sgdMomentum.js'));
const { registerNativeKernels, unregisterNativeKernels, nativeKernelsStatus } = require(
  path.join(dist, 'tfjs', 'kernels', 'register.js'),
);

function parseArgs(argv) {
  const options = {
    batch: 128,
    steps: 5,
    stockSteps: 2,
    skipStock: false,
    profile: false,
    shapes: false,
    threads: null,
    json: null,
  };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      return value;
    };
    if (flag === '--batch') options.batch = Number(next());
    else if (flag === '--steps') options.steps = Number(next());
    else if (flag === '--stock-steps') options.stockSteps = Number(next());
    else if (flag === '--skip-stock') options.skipStock = true;
    else if (flag === '--profile') options.profile = true;
    else if (flag === '--shapes') options.shapes = true;
    else if (flag === '--threads') options.threads = Number(next());
    else if (flag === '--json') options.json = next();
    else throw new Error(`unknown flag ${flag}`);
  }
  return options;
}

const VIT = {
  imageSize: 28,
  patchSize: 7,
  numChannels: 1,
  hiddenSize: 64,
  numHiddenLayers: 4,
  numAttentionHeads: 4,
  intermediateSize: 128,
  numLabels: 10,
};

/**
 * Best GFLOP/s of addon.gemm on one shape, with the pool at `threads`: by wall time, and per CPU
 * second of this process (all threads). On a machine shared with other processes the second is the
 * steadier figure for one thread: a round that is preempted loses wall time but not CPU time.
 */
function gemmGflops(addon, shape, threads) {
  const { batch = 1, m, n, k, transposeA = false, transposeB = false } = shape;
  const a = new Float32Array(batch * m * k).map(() => Math.random() - 0.5);
  const b = new Float32Array(batch * k * n).map(() => Math.random() - 0.5);
  const out = new Float32Array(batch * m * n);
  const options = { batch, m, n, k, transposeA, transposeB };
  const flop = 2 * batch * m * n * k;
  // Enough repetitions for ~20 ms per round.
  const started = performance.now();
  addon.gemm(a, b, out, options);
  const once = Math.max(performance.now() - started, 1e-3);
  const reps = Math.max(1, Math.min(2000, Math.round(20 / once)));
  const saved = addon.getThreads();
  addon.setThreads(threads);
  let best = Infinity;
  let bestCpu = Infinity;
  try {
    for (let round = 0; round < 9; round++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) addon.gemm(a, b, out, options);
      best = Math.min(best, (performance.now() - t0) / reps);
      const cpu = process.cpuUsage(cpu0);
      bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000 / reps);
    }
  } finally {
    addon.setThreads(saved);
  }
  return {
    gflops: flop / (best * 1e6),
    gflopsPerCpuSecond: flop / (bestCpu * 1e6),
    microseconds: best * 1000,
  };
}

const GEMM_SHAPES = [
  { name: '512³', m: 512, n: 512, k: 512 },
  { name: 'qkv/out fwd x·Wᵀ [2176,64]·[64,64]ᵀ', m: 2176, n: 64, k: 64, transposeB: true },
  { name: 'mlp up fwd [2176,64]·[128,64]ᵀ', m: 2176, n: 128, k: 64, transposeB: true },
  { name: 'mlp down fwd [2176,128]·[64,128]ᵀ', m: 2176, n: 64, k: 128, transposeB: true },
  { name: 'dX = dY·W [2176,64]·[64,64]', m: 2176, n: 64, k: 64 },
  { name: 'dW = dYᵀ·X [2176,64]ᵀ·[2176,64]', m: 64, n: 64, k: 2176, transposeA: true },
  { name: 'dW mlp [2176,128]ᵀ·[2176,64]', m: 128, n: 64, k: 2176, transposeA: true },
  { name: 'scores q·kᵀ 512×[17,16]·[17,16]ᵀ', batch: 512, m: 17, n: 17, k: 16, transposeB: true },
  { name: 'context p·v 512×[17,17]·[17,16]', batch: 512, m: 17, n: 16, k: 17 },
];

function makeStep(vit, batch) {
  const optimizer = new SgdMomentum({ momentum: 0.9, weightDecay: 0 });
  const variables = [...vit.weights.values()];
  const byTfName = new Map([...vit.weights].map(([name, variable]) => [variable.name, name]));
  const pixels = tf.randomNormal(
    [batch, VIT.numChannels, VIT.imageSize, VIT.imageSize],
    0,
    1,
    'float32',
    7,
  );
  const labels = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % VIT.numLabels),
    'int32',
  );
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(vit.forward(pixels, { training: true, seed: 1 }), labels),
      variables,
    );
    const named = new Map(Object.entries(grads).map(([name, grad]) => [byTfName.get(name), grad]));
    optimizer.apply(vit.weights, named, 0.01);
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };
  const dispose = () => {
    optimizer.dispose();
    tf.dispose([pixels, labels]);
  };
  return { step, dispose };
}

/**
 * Best wall time of `count` steps after a warm-up, and the garbage collector's share: every tfjs
 * cpu kernel allocates its output as a fresh typed array, so V8 collects often.
 */
async function timeSteps(step, count) {
  step(); // warm-up: first-use allocations, lazy kernel setup
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  let best = Infinity;
  const times = [];
  const began = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    step();
    const ms = performance.now() - t0;
    times.push(ms);
    best = Math.min(best, ms);
  }
  const totalMs = performance.now() - began;
  // The observer hears of collections on the event loop, after this synchronous loop.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return { bestMs: best, times, gcShare: gcMs / totalMs };
}

/**
 * Wraps every cpu kernel with a timer (wall time, and this process's CPU time, which other
 * processes on a shared machine disturb less); returns a function that restores them and reports.
 * With `shapes`, kernels are told apart by their input shapes too.
 */
function profileKernels(shapes) {
  const totals = new Map();
  const originals = tf.getKernelsForBackend('cpu');
  for (const config of originals) {
    const wrapped = {
      ...config,
      kernelFunc: (args) => {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const result = config.kernelFunc(args);
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const key = shapes
          ? `${config.kernelName} ${Object.values(args.inputs)
              .map((t) => (t ? `[${t.shape}]` : '-'))
              .join(' ')}`
          : config.kernelName;
        const entry = totals.get(key) ?? { ms: 0, cpuMs: 0, calls: 0 };
        entry.ms += ms;
        entry.cpuMs += (cpu.user + cpu.system) / 1000;
        entry.calls += 1;
        totals.set(key, entry);
        return result;
      },
    };
    tf.unregisterKernel(config.kernelName, 'cpu');
    tf.registerKernel(wrapped);
  }
  return () => {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, 'cpu');
      tf.registerKernel(config);
    }
    return [...totals.entries()]
      .map(([kernel, entry]) => ({ kernel, ...entry }))
      .sort((x, y) => y.ms - x.ms);
  };
}

async function main() {
  const options = parseArgs(process.argv);
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const addon = loadAddon();
  if (options.threads !== null) addon.setThreads(options.threads);
  const threads = addon.getThreads();
  const report = { threads, cpu: addon.capabilities().cpu.brand, peak: {}, gemm: [], step: {} };

  console.log(`superlora native kernels bench — ${report.cpu}, pool threads ${threads}`);
  for (const t of [1, 2]) {
    let best = 0;
    for (let i = 0; i < 5; i++) best = Math.max(best, addon.measureFmaPeak(t).gflops);
    report.peak[t] = best;
  }
  console.log(
    `FMA peak (independent chains, best of 5): 1 thread ${report.peak[1].toFixed(1)} GFLOP/s, 2 threads ${report.peak[2].toFixed(1)} GFLOP/s`,
  );
  console.log(
    '\nGEMM, best of 9 rounds (% of the FMA peak)      1 thread (wall)   1 thread (per CPU s)   2 threads (wall)',
  );
  for (const shape of GEMM_SHAPES) {
    const one = gemmGflops(addon, shape, 1);
    const two = gemmGflops(addon, shape, 2);
    report.gemm.push({ ...shape, threads1: one, threads2: two });
    const cell = (r, t) =>
      `${r.gflops.toFixed(1).padStart(6)} (${((100 * r.gflops) / report.peak[t]).toFixed(0).padStart(3)}%)`;
    const perCpu = `${one.gflopsPerCpuSecond.toFixed(1).padStart(6)} (${((100 * one.gflopsPerCpuSecond) / report.peak[1]).toFixed(0).padStart(3)}%)`;
    console.log(`${shape.name.padEnd(46)} ${cell(one, 1)}    ${perCpu}          ${cell(two, 2)}`);
  }

  const run = async (label, steps) => {
    const vit = createViT(VIT, { seed: 1 });
    const { step, dispose } = makeStep(vit, options.batch);
    const timing = await timeSteps(step, steps);
    let profile = null;
    if (options.profile) {
      const stop = profileKernels(options.shapes);
      step();
      profile = stop();
    }
    dispose();
    vit.dispose();
    const imagesPerSecond = (1000 * options.batch) / timing.bestMs;
    console.log(
      `\n${label}: train step (batch ${options.batch}) best ${timing.bestMs.toFixed(1)} ms of [${timing.times.map((t) => t.toFixed(0)).join(', ')}] → ${imagesPerSecond.toFixed(0)} images/s; garbage collection ${(100 * timing.gcShare).toFixed(0)}% of the time`,
    );
    if (profile) {
      const total = profile.reduce((sum, entry) => sum + entry.ms, 0);
      const totalCpu = profile.reduce((sum, entry) => sum + entry.cpuMs, 0);
      console.log(
        `  kernel time in one profiled step: ${total.toFixed(1)} ms wall, ${totalCpu.toFixed(1)} ms CPU (all threads); top kernels by wall time:`,
      );
      for (const entry of profile.slice(0, options.shapes ? 30 : 15)) {
        console.log(
          `  ${entry.kernel.padEnd(options.shapes ? 60 : 22)} ${entry.ms.toFixed(2).padStart(9)} ms ${((100 * entry.ms) / total).toFixed(1).padStart(5)}%  CPU ${entry.cpuMs.toFixed(1).padStart(7)} ms ${String(entry.calls).padStart(5)} calls`,
        );
      }
    }
    return {
      bestMs: timing.bestMs,
      times: timing.times,
      gcShare: timing.gcShare,
      imagesPerSecond,
      profile,
    };
  };

  if (!registerNativeKernels())
    throw new Error(`native kernels unavailable: ${nativeKernelsStatus()}`);
  report.step.native = await run('native kernels', options.steps);
  unregisterNativeKernels();
  if (!options.skipStock) {
    report.step.stock = await run('tfjs cpu kernels', options.stockSteps);
    const speedup = report.step.stock.bestMs / report.step.native.bestMs;
    report.step.speedup = speedup;
    console.log(`\nspeed-up of the train step: ×${speedup.toFixed(1)}`);
  }
  if (options.json) require('fs').writeFileSync(options.json, JSON.stringify(report, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
