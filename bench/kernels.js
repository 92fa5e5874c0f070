#!/usr/bin/env node
/**
 * The streaming kernels of native/kernels/lowrank.h and kron.h, measured on the ViT-base shape
 * (24 weights of 768 × 768, 56.6 MB of ΔW) against this machine's own limits measured in the same
 * run: fill bandwidth (memset of non-zero bytes) and FMA peak.
 *
 *   npm run build:ts && node bench/kernels.js [--reps 10] [--isa avx512] [--threads 1,2]
 *       [--ranks 1,8,64] [--json out.json]
 *
 * Low rank: forward writes T = scale · A · Y (2 · rank flops and 4 bytes per element); backward
 * reads dT once for dA and dY (4 · rank flops per element). Kronecker: LoKr [24, 32] ⊗ [24, 32]
 * and LoNKr [8, 8, 12]³ on each weight. Two threads split every weight's rows, each on a
 * worker_thread with its own dY / gradients, as the plan's thread pool does. Times are the best
 * of --reps runs: on a machine shared with other work the best is the least disturbed figure.
 */
'use strict';

const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const WEIGHTS = 24;
const SIDE = 768;
const PER_WEIGHT = SIDE * SIDE;
const KRON_CASES = [
  { name: 'kron LoKr [24,32]', dims: [24, 24, 32, 32] },
  { name: 'kron LoNKr [8,8,12]', dims: [8, 8, 8, 8, 12, 12] },
];

function loadAddon() {
  const { loadAddon: load } = require(path.join(__dirname, '..', 'dist', 'native', 'loadAddon.js'));
  return load();
}

function filled(length, seed) {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = ((((i + seed) * 2654435761) >>> 16) % 201) / 100 - 1;
  return data;
}

function splitSizes(dims) {
  return [0, 1, 2].slice(0, dims.length / 2).map((k) => dims[2 * k] * dims[2 * k + 1]);
}

/**
 * One thread's share of a job: rows [part / parts, (part + 1) / parts) of every weight.
 * Buffers are SharedArrayBuffers created by the main thread, so workers write the real outputs.
 */
function runShare(addon, job, part, parts) {
  const firstRow = Math.floor((part * SIDE) / parts);
  const lastRow = Math.floor(((part + 1) * SIDE) / parts);
  const begin = firstRow * SIDE;
  const end = lastRow * SIDE;
  const big = new Float32Array(job.big);
  for (let w = 0; w < WEIGHTS; w++) {
    const view = big.subarray(w * PER_WEIGHT + begin, w * PER_WEIGHT + end);
    if (job.kind === 'lowrank') {
      const a = new Float32Array(job.a, w * SIDE * job.rank * 4, SIDE * job.rank);
      const y = new Float32Array(job.y, w * job.rank * SIDE * 4, job.rank * SIDE);
      if (!job.backward) {
        addon.lowRankForward(a, y, SIDE, job.rank, 0.5, begin, end, view, job.isa);
      } else {
        const dA = new Float32Array(job.dA, w * SIDE * job.rank * 4, SIDE * job.rank);
        const dY = new Float32Array(job.dY[part]);
        addon.lowRankBackward(a, y, view, SIDE, job.rank, 0.5, begin, end, dA, dY, job.isa);
      }
    } else {
      const tensors = job.tensors.map((buffer) => new Float32Array(buffer));
      if (!job.backward) {
        addon.kronForward(tensors, job.dims, 2, 0.5, begin, end, view, job.isa);
      } else {
        const grads = job.grads[part].map((buffer) => new Float32Array(buffer));
        addon.kronBackward(tensors, job.dims, 2, view, 0.5, begin, end, grads, job.isa);
      }
    }
  }
}

if (!isMainThread) {
  const addon = loadAddon();
  parentPort.on('message', (message) => {
    runShare(addon, message.job, workerData.part, message.parts);
    parentPort.postMessage('done');
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

function parseArgs(argv) {
  const options = { reps: 10, isa: null, threads: [1, 2], ranks: [1, 8, 64], json: null };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--reps') options.reps = Number(value);
    else if (flag === '--isa') options.isa = value;
    else if (flag === '--threads') options.threads = value.split(',').map(Number);
    else if (flag === '--ranks') options.ranks = value.split(',').map(Number);
    else if (flag === '--json') options.json = value;
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv);
  const addon = loadAddon();
  const cpu = addon.capabilities().cpu;
  const isas = ['portable'];
  if (cpu.avx2 && cpu.fma) isas.push('avx2');
  if (cpu.avx2 && cpu.fma && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq) {
    isas.push('avx512');
  }
  const runIsas = options.isa ? [options.isa] : isas.slice(-1);
  const bytes = WEIGHTS * PER_WEIGHT * 4;
  const limits = {};
  for (const threads of options.threads) {
    limits[threads] = {
      fillGBs: addon.measureFill(bytes, threads).gbs,
      fmaGflops: addon.measureFmaPeak(threads).gflops,
    };
  }

  const workers = [];
  const maxThreads = Math.max(...options.threads);
  for (let part = 0; part < maxThreads; part++) {
    workers.push(new Worker(__filename, { workerData: { part } }));
  }
  const run = (job, threads) => {
    if (threads === 1) {
      runShare(addon, job, 0, 1);
      return Promise.resolve();
    }
    return Promise.all(
      workers.slice(0, threads).map(
        (worker) =>
          new Promise((resolve) => {
            worker.once('message', resolve);
            worker.postMessage({ job, parts: threads });
          }),
      ),
    );
  };
  const best = async (job, threads) => {
    await run(job, threads); // warm-up: page faults, worker start-up
    let bestMs = Infinity;
    for (let rep = 0; rep < options.reps; rep++) {
      const start = performance.now();
      await run(job, threads);
      bestMs = Math.min(bestMs, performance.now() - start);
    }
    return bestMs;
  };

  const shared = (length, seed) => {
    const buffer = new SharedArrayBuffer(length * 4);
    new Float32Array(buffer).set(filled(length, seed));
    return buffer;
  };
  const big = shared(WEIGHTS * PER_WEIGHT, 1);
  const rows = [];
  const report = (name, isa, threads, direction, ms, flops) => {
    const gbs = bytes / ms / 1e6;
    const gflops = flops / ms / 1e6;
    const limit = limits[threads];
    rows.push({ name, isa, threads, direction, ms, gbs, gflops, ...limit });
    const fill = ((100 * gbs) / limit.fillGBs).toFixed(0);
    const peak = ((100 * gflops) / limit.fmaGflops).toFixed(0);
    console.log(
      `${name.padEnd(22)} ${isa.padEnd(8)} ${threads}T ${direction.padEnd(8)} ` +
        `${ms.toFixed(3).padStart(8)} ms ${gbs.toFixed(1).padStart(6)} GB/s (${fill}% of fill) ` +
        `${gflops.toFixed(1).padStart(7)} GFLOP/s (${peak}% of FMA peak)`,
    );
  };

  for (const threads of options.threads) {
    const limit = limits[threads];
    console.log(
      `limits, ${threads} thread(s): fill ${limit.fillGBs.toFixed(1)} GB/s, ` +
        `FMA peak ${limit.fmaGflops.toFixed(1)} GFLOP/s`,
    );
  }
  for (const isa of runIsas) {
    for (const rank of options.ranks) {
      const a = shared(WEIGHTS * SIDE * rank, 2);
      const y = shared(WEIGHTS * rank * SIDE, 3);
      const dA = shared(WEIGHTS * SIDE * rank, 4);
      const dY = workers.map((_, part) => shared(rank * SIDE, 5 + part));
      if (dY.length === 0) dY.push(shared(rank * SIDE, 5));
      const flops = 2 * rank * WEIGHTS * PER_WEIGHT;
      for (const threads of options.threads) {
        const job = { kind: 'lowrank', big, a, y, dA, dY, rank, isa };
        const forward = await best({ ...job, backward: false }, threads);
        report(`lowrank r${rank}`, isa, threads, 'forward', forward, flops);
        const backward = await best({ ...job, backward: true }, threads);
        report(`lowrank r${rank}`, isa, threads, 'backward', backward, 2 * flops);
      }
    }
    for (const kron of KRON_CASES) {
      const sizes = splitSizes(kron.dims);
      const tensors = sizes.map((size, k) => shared(size, 10 + k));
      const grads = workers.map(() => sizes.map((size) => shared(size, 20)));
      if (grads.length === 0) grads.push(sizes.map((size) => shared(size, 20)));
      for (const threads of options.threads) {
        const job = { kind: 'kron', big, tensors, grads, dims: kron.dims, isa };
        report(
          kron.name,
          isa,
          threads,
          'forward',
          await best({ ...job, backward: false }, threads),
          0,
        );
        report(
          kron.name,
          isa,
          threads,
          'backward',
          await best({ ...job, backward: true }, threads),
          0,
        );
      }
    }
  }
  await Promise.all(workers.map((worker) => worker.terminate()));
  if (options.json) {
    require('fs').writeFileSync(options.json, JSON.stringify({ limits, rows }, null, 2));
  }
}
