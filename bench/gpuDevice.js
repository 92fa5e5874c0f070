#!/usr/bin/env node
// Device-resident timing of the cuda engine on the built-in `bench delta` workloads: runForward
// and runBackward alone (parameters and ΔW stay on the device, no host copies), the kernel
// launches of each, the forward against the time to fill ΔW at the device's own measured fill
// bandwidth (cudaMeasureBandwidth in the same run), each kernel's time (CUDA events between
// launches), and, for the workloads without a projection, the forward again with each run length
// of GenerateKernel (SUPERLORA_CUDA_VALUES_PER_THREAD = 4 and 8), so that one run says which to
// keep; then the figures issue #8 sets, computed from all that, each marked pass or FAIL. Prints one
// JSON object. Needs dist/ (npm run build:ts) and a CUDA build
// (SUPERLORA_BINARY or SUPERLORA_BUILD=cuda). Used by bench/gpu.sh. GPU_BENCH_REPEAT: timed runs
// (default 20); GPU_BENCH_WORKLOADS: a comma-separated subset of the workloads (default all).
'use strict';

const { createPlan } = require('../dist/index.js');
const { builtinWorkload, workloadNames } = require('../dist/bench/workloads.js');
const { loadAddon } = require('../dist/native/loadAddon.js');
const { buildPlanDescriptor } = require('../dist/native/planDescriptor.js');

const repeat = Number(process.env.GPU_BENCH_REPEAT || 20);
const addon = loadAddon();
const capabilities = addon.capabilities();
const bandwidth = addon.cudaMeasureBandwidth(1 << 30, 5);
const fillBps = bandwidth.fillBytesPerSecond;
const copyBps = bandwidth.copyBytesPerSecond;
console.error(
  `device limits: copy ${(copyBps / 1e9).toFixed(0)} GB/s (read + write), fill ${(fillBps / 1e9).toFixed(0)} GB/s, ` +
    `host→device ${(bandwidth.hostToDeviceBytesPerSecond / 1e9).toFixed(1)} GB/s, ` +
    `device→host ${(bandwidth.deviceToHostBytesPerSecond / 1e9).toFixed(1)} GB/s (pageable)`,
);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(action) {
  action();
  action();
  const samples = [];
  for (let r = 0; r < repeat; r++) {
    const start = performance.now();
    action();
    samples.push(performance.now() - start);
  }
  return { medianMs: median(samples), minMs: Math.min(...samples) };
}

/**
 * Each kernel of `run` timed with CUDA events between launches (setProfiling), best of 5 runs:
 * where a pass's time goes, kernel by kernel.
 */
function profileKernels(device, run) {
  device.setProfiling(true);
  let best = null;
  for (let r = 0; r < 5; r++) {
    run();
    const kernels = device.info().kernels;
    best =
      best === null
        ? kernels
        : best.map((k, i) => ({
            name: k.name,
            milliseconds: Math.min(k.milliseconds, kernels[i].milliseconds),
          }));
  }
  device.setProfiling(false);
  return best;
}

/** The forward's times and GenerateKernel's, from a timing and a kernel profile of one plan. */
function forwardFigures(valuesPerThread, timing, kernels) {
  return {
    valuesPerThread,
    forwardMs: timing.medianMs,
    forwardMinMs: timing.minMs,
    generateMs: kernels.find((kernel) => kernel.name === 'GenerateKernel').milliseconds,
  };
}

/**
 * The forward with each GenerateKernel run length: the workload's own plan gives its run length's
 * figures (`measured`); a second CudaNativePlan of `plan`, built with the other length (the
 * variable is read when a plan is built), gives the other's.
 */
function forwardByValuesPerThread(plan, params, measured) {
  const results = { [measured.valuesPerThread]: measured };
  const other = measured.valuesPerThread === 4 ? 8 : 4;
  const previous = process.env.SUPERLORA_CUDA_VALUES_PER_THREAD;
  process.env.SUPERLORA_CUDA_VALUES_PER_THREAD = String(other);
  const variant = new addon.CudaNativePlan(buildPlanDescriptor(plan.layout, plan.tables));
  try {
    variant.setParams(params);
    const timing = time(() => variant.runForward());
    const kernels = profileKernels(variant, () => variant.runForward());
    results[other] = forwardFigures(variant.info().valuesPerThread, timing, kernels);
  } finally {
    variant.dispose();
    if (previous === undefined) delete process.env.SUPERLORA_CUDA_VALUES_PER_THREAD;
    else process.env.SUPERLORA_CUDA_VALUES_PER_THREAD = previous;
  }
  return results;
}

const records = [];
const chosen = process.env.GPU_BENCH_WORKLOADS ? process.env.GPU_BENCH_WORKLOADS.split(',') : null;
for (const name of chosen ?? workloadNames) {
  const workload = builtinWorkload(name);
  const plan = createPlan(workload.config, workload.targets);
  const setupStart = performance.now();
  const device = plan.engine('cuda').cudaPlan();
  const setupMs = performance.now() - setupStart;
  const params = Float32Array.from({ length: plan.numParams }, (_, i) => 0.01 * Math.sin(i + 1));
  const upstream = Float32Array.from({ length: plan.deltaSize }, (_, i) => Math.cos(i + 1));
  device.setParams(params);
  device.setDeltaGradient(upstream);
  const forward = time(() => device.runForward());
  const forwardLaunches = device.info().launches;
  const backward = time(() => device.runBackward());
  const backwardLaunches = device.info().launches;
  const fillMs = ((4 * plan.deltaSize) / fillBps) * 1e3;
  const forwardKernels = profileKernels(device, () => device.runForward());
  const backwardKernels = profileKernels(device, () => device.runBackward());
  const record = {
    workload: name,
    deltaSize: plan.deltaSize,
    numParams: plan.numParams,
    setupMs,
    forwardMs: forward.medianMs,
    forwardMinMs: forward.minMs,
    backwardMs: backward.medianMs,
    backwardMinMs: backward.minMs,
    forwardLaunches,
    backwardLaunches,
    forwardVsFill: forward.medianMs / fillMs,
    backwardVsFill: backward.medianMs / fillMs,
    deviceBytes: device.info().deviceBytes,
    fwhtLogTile: device.info().fwhtLogTile,
    forwardKernels,
    backwardKernels,
    // Not with a projection: there GenerateKernel fills the transform's input and the FWHTs
    // dominate, and rebuilding a 2^24-entry fastfood plan twice costs seconds of host time.
    forwardByValuesPerThread: workload.config.projection
      ? null
      : forwardByValuesPerThread(
          plan,
          params,
          forwardFigures(device.info().valuesPerThread, forward, forwardKernels),
        ),
  };
  records.push(record);
  console.error(
    `${name.padEnd(24)} fwd ${forward.medianMs.toFixed(3)} ms (${record.forwardVsFill.toFixed(1)}× fill, ` +
      `${forwardLaunches} launches)  bwd ${backward.medianMs.toFixed(3)} ms ` +
      `(${record.backwardVsFill.toFixed(1)}× fill, ${backwardLaunches} launches)`,
  );
  for (const [pass, kernels] of [
    ['fwd', forwardKernels],
    ['bwd', backwardKernels],
  ]) {
    const parts = kernels.map((k) => `${k.name} ${k.milliseconds.toFixed(3)}`).join(', ');
    console.error(`${''.padEnd(24)} ${pass} kernels (ms, best of 5): ${parts}`);
  }
  if (record.forwardByValuesPerThread !== null) {
    const runs = Object.entries(record.forwardByValuesPerThread)
      .map(
        ([run, r]) =>
          `${run}: fwd ${r.forwardMs.toFixed(3)} ms, GenerateKernel ${r.generateMs.toFixed(3)} ms`,
      )
      .join('; ');
    console.error(`${''.padEnd(24)} values per thread ${runs}`);
  }
  plan.dispose();
}
/**
 * The figures issue #8 sets for an H200, from this run's own measurements: the forward of lora-r8
 * as a share of the fill bandwidth, a plain FWHT of 2^24 floats (the first transform of the
 * fastfood workload's backward, whose one group has L = 2^24: its tile pass reads the N values of
 * dL/dΔW_all and zero-pads the rest; its forward transforms the input at L1 = 2^22 first) against
 * a device memcpy of the same buffer,
 * every forward against a memcpy of ΔW_all, and every backward against its forward. A figure whose
 * workload was not run is left out.
 */
function issueFigures() {
  const copyMs = (floats) => ((2 * 4 * floats) / copyBps) * 1e3; // copyBps counts read + write
  const figures = [];
  const add = (figure, value, target, pass) => figures.push({ figure, value, target, pass });
  const byName = new Map(records.map((record) => [record.workload, record]));
  const lora = byName.get('lora-r8');
  if (lora) {
    const share = 1 / lora.forwardVsFill;
    add('lora-r8 forward, share of fill bandwidth', share, '≥ 0.7', share >= 0.7);
  }
  const fastfood = byName.get('fastfood-2d-g1-rho0.1');
  if (fastfood) {
    const kernels = fastfood.backwardKernels;
    const names = kernels.map((kernel) => kernel.name);
    const tile = names.indexOf('FwhtTileKernel');
    const column = names.indexOf('FwhtColumnKernel');
    if (tile >= 0 && column === tile + 1) {
      const ms = kernels[tile].milliseconds + kernels[column].milliseconds;
      const ratio = ms / copyMs(2 ** 24);
      add('FWHT of 2^24 floats / device memcpy of them', ratio, '≤ 2.5', ratio <= 2.5);
    }
  }
  for (const record of records) {
    const forward = record.forwardMs / copyMs(record.deltaSize);
    add(`${record.workload} forward / memcpy of ΔW_all`, forward, '≤ 3', forward <= 3);
    const backward = record.backwardMs / record.forwardMs;
    add(`${record.workload} backward / forward`, backward, '≤ 3', backward <= 3);
  }
  return figures;
}

const figures = issueFigures();
const emulated = capabilities.cudaDevices.some((device) => /emulator/.test(device.name));
console.error(
  emulated
    ? 'issue #8 figures (this run, on the CPU emulator: its times say nothing about a GPU):'
    : 'issue #8 figures (this run):',
);
for (const { figure, value, target, pass } of figures) {
  console.error(
    `  ${pass ? 'pass' : 'FAIL'}  ${figure.padEnd(48)} ${value.toFixed(3).padStart(8)}  (${target})`,
  );
}
console.log(
  JSON.stringify(
    { devices: capabilities.cudaDevices, emulated, bandwidth, repeat, records, figures },
    null,
    2,
  ),
);
