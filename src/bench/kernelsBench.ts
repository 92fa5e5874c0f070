/**
 * `bench kernels`: the native kernel families one by one (FWHT, the rank-r streaming product at
 * the end of every Tucker / CP / LoRA reconstruction, Kronecker materialisation, fused fastfood),
 * forward and backward, at sizes 2^10 … 2^24, as ratios to the machine's limits measured in the
 * same run (DESIGN.md "Conventions"). The kernels are called through the addon's test hooks, so
 * what is timed is the kernel alone, without the plan around it.
 */
import type { Addon, IsaName } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';
import { measureMachineLimits, type MachineLimits, limitProbeBytes } from './machineLimits';
import { medianOf } from './median';
import { benchValues } from './benchValues';

export type KernelFamily = 'fwht' | 'lowrank' | 'kron' | 'fastfood';
export const kernelFamilies: readonly KernelFamily[] = ['fwht', 'lowrank', 'kron', 'fastfood'];

/** The rank of the rank-r product measured at every size. */
export const LOWRANK_RANKS = [1, 8, 64] as const;
/** Fraction of the fastfood input that is generated (m = ρ · n), as the fastfood workload. */
export const FASTFOOD_RATIO = 0.1;

export interface KernelBenchRecord {
  kernel: KernelFamily;
  /** What distinguishes rows of one family at one size (rank, splits, ρ). */
  variant: string;
  direction: 'forward' | 'backward';
  /** Floats of one transform (FWHT, fastfood: L) or of the output (low rank, Kronecker). */
  size: number;
  log2Size: number;
  /** Transforms per call: small FWHTs run as rows of a 2^16-float batch, in cache. */
  batch: number;
  /** Kernel-pool threads; the low-rank and Kronecker hooks run on the calling thread only. */
  threads: number;
  isa: string;
  medianMs: number;
  minMs: number;
  /** Model FLOPs of the call (FWHT: n·log2 n adds per transform; rank r: 2·N·r forward). */
  flops: number;
  gflops: number;
  /** gflops ÷ the add peak (FWHT, fastfood) or the FMA peak (low rank) at that thread count. */
  ofPeak: number | null;
  peak: 'add' | 'fma' | null;
  /** Bytes that must move: the data read and written once (4 bytes per float each way). */
  bytes: number;
  /** medianMs ÷ the time of a memcpy of the same buffer (read and write it once). */
  vsMemcpy: number;
  /** Forward only: medianMs ÷ the time to write the output once at the fill bandwidth. */
  vsFill: number | null;
  /** fastfood only: medianMs ÷ the median FWHT of the same L in this run. */
  vsFwht: number | null;
}

export interface KernelBenchOptions {
  families: readonly KernelFamily[];
  /** log2 of the sizes, each in [10, 24]. */
  log2Sizes: readonly number[];
  threads: readonly number[];
  repeat: number;
  isa?: IsaName;
  onLimits: (limits: MachineLimits[], isa: string) => void;
  onRecord: (record: KernelBenchRecord) => void;
  onProgress: (message: string) => void;
}

/** Floats a batch of small FWHTs covers: 256 KiB, in L2, so that they measure the arithmetic. */
const CACHE_BATCH_FLOATS = 2 ** 16;
/** A timed sample repeats a fast call until it lasts this long, so the clock's grain is noise-free. */
const MIN_SAMPLE_MS = 2;

/** Median and fastest per-call time of `repeat` samples after a warm-up call. */
export function timeKernel(call: () => void, repeat: number): { medianMs: number; minMs: number } {
  const clock = () => Number(process.hrtime.bigint()) / 1e6;
  let start = clock();
  call();
  const once = Math.max(clock() - start, 1e-4);
  const inner = Math.max(1, Math.ceil(MIN_SAMPLE_MS / once));
  const samples: number[] = [];
  for (let s = 0; s < repeat; s++) {
    start = clock();
    for (let i = 0; i < inner; i++) call();
    samples.push((clock() - start) / inner);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: medianOf(samples), minMs: samples[0] as number };
}

/** A fixed permutation of [0, length) (Fisher–Yates on a 32-bit LCG). */
function permutation(length: number, seed: number): Int32Array {
  const perm = Int32Array.from({ length }, (_, i) => i);
  let state = seed >>> 0;
  for (let i = length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  return perm;
}

interface Measured {
  variant: string;
  direction: 'forward' | 'backward';
  batch: number;
  flops: number;
  peak: 'add' | 'fma' | null;
  /** Floats read + written once by the call, and floats of its output. */
  movedFloats: number;
  outputFloats: number;
  call: () => void;
}

function fwhtCases(addon: Addon, size: number, isa: IsaName | undefined): Measured[] {
  const batch = Math.max(1, CACHE_BATCH_FLOATS / size);
  const data = benchValues(size * batch, 1);
  const flops = batch * size * Math.log2(size);
  return [
    {
      variant: batch > 1 ? `${batch} rows` : '1 row',
      direction: 'forward',
      batch,
      flops,
      peak: 'add',
      movedFloats: 2 * size * batch,
      outputFloats: size * batch,
      // Repeated calls scale the data by about √n each (H·H = n·I) until it overflows; infinities
      // and NaNs cost x86 vector adds nothing extra (only subnormals would, and values only grow).
      call: () => addon.fwht(data, size, isa),
    },
  ];
}

function lowRankCases(addon: Addon, log2Size: number, isa: IsaName | undefined): Measured[] {
  const cols = 2 ** Math.ceil(log2Size / 2);
  const rows = 2 ** Math.floor(log2Size / 2);
  const size = rows * cols;
  return LOWRANK_RANKS.flatMap((rank): Measured[] => {
    const a = benchValues(rows * rank, 2);
    const y = benchValues(rank * cols, 3);
    const out = new Float32Array(size);
    const dOut = benchValues(size, 4);
    const dA = new Float32Array(rows * rank);
    const dY = new Float32Array(rank * cols);
    const variant = `rank ${rank}, ${rows}×${cols}`;
    return [
      {
        variant,
        direction: 'forward',
        batch: 1,
        flops: 2 * size * rank,
        peak: 'fma',
        movedFloats: size + (rows + cols) * rank,
        outputFloats: size,
        call: () => addon.lowRankForward(a, y, cols, rank, 1, 0, size, out, isa),
      },
      {
        variant,
        direction: 'backward',
        batch: 1,
        flops: 4 * size * rank,
        peak: 'fma',
        movedFloats: size + 2 * (rows + cols) * rank,
        outputFloats: (rows + cols) * rank,
        call: () => addon.lowRankBackward(a, y, dOut, cols, rank, 1, 0, size, dA, dY, isa),
      },
    ];
  });
}

/** Two splits of order 2 whose Kronecker product is 2^a × 2^b: the LoKr shape. */
function kronCases(addon: Addon, log2Size: number, isa: IsaName | undefined): Measured[] {
  const logRows = Math.floor(log2Size / 2);
  const logCols = log2Size - logRows;
  const dims = [
    2 ** Math.floor(logRows / 2),
    2 ** Math.floor(logCols / 2),
    2 ** Math.ceil(logRows / 2),
    2 ** Math.ceil(logCols / 2),
  ];
  const sizes = [
    (dims[0] as number) * (dims[1] as number),
    (dims[2] as number) * (dims[3] as number),
  ];
  const tensors = sizes.map((n, k) => benchValues(n, 5 + k));
  const grads = sizes.map((n) => new Float32Array(n));
  const size = 2 ** log2Size;
  const out = new Float32Array(size);
  const dOut = benchValues(size, 7);
  const small = (sizes[0] as number) + (sizes[1] as number);
  const variant = `[${dims[0]},${dims[1]}]⊗[${dims[2]},${dims[3]}]`;
  return [
    {
      variant,
      direction: 'forward',
      batch: 1,
      flops: size,
      peak: null,
      movedFloats: size + small,
      outputFloats: size,
      call: () => addon.kronForward(tensors, dims, 2, 1, 0, size, out, isa),
    },
    {
      variant,
      direction: 'backward',
      batch: 1,
      flops: 2 * size,
      peak: null,
      movedFloats: size + 2 * small,
      outputFloats: small,
      call: () => addon.kronBackward(tensors, dims, 2, dOut, 1, 0, size, grads, isa),
    },
  ];
}

function fastfoodCases(addon: Addon, size: number, isa: IsaName | undefined): Measured[] {
  const n = size;
  const m = Math.max(1, Math.ceil(FASTFOOD_RATIO * n));
  const signs = Float32Array.from(benchValues(size, 8), (v) => (v < 0 ? -1 : 1));
  const perm = permutation(size, 9);
  const gaussians = benchValues(size, 10);
  const z = benchValues(m, 11);
  const y = new Float32Array(n);
  const dy = benchValues(n, 12);
  const dz = new Float32Array(m);
  const variant = `ρ = ${FASTFOOD_RATIO}, m = ${m}`;
  // Two transforms of L, the first on nextpow2(m) only, tiled: the model counts both at full size.
  const flops = 2 * size * Math.log2(size);
  return [
    {
      variant,
      direction: 'forward',
      batch: 1,
      flops,
      peak: 'add',
      movedFloats: m + n,
      outputFloats: n,
      call: () => addon.fastfoodForward(signs, perm, gaussians, z, m, n, 1, y, isa),
    },
    {
      variant,
      direction: 'backward',
      batch: 1,
      flops,
      peak: 'add',
      movedFloats: m + n,
      outputFloats: m,
      call: () => addon.fastfoodBackward(signs, perm, gaussians, dy, n, m, 1, dz, isa),
    },
  ];
}

/** The families that use the kernel pool; the others' hooks run on the calling thread. */
const POOLED: ReadonlySet<KernelFamily> = new Set(['fwht', 'fastfood']);

export function runKernelBench(options: KernelBenchOptions): void {
  const addon = loadAddon();
  const largest = 4 * 2 ** Math.max(...options.log2Sizes);
  // The single-threaded hooks are compared with the 1-thread limits, so those are always measured.
  const threadCounts = [...new Set([1, ...options.threads])];
  const limits = threadCounts.map((threads) =>
    measureMachineLimits(addon, limitProbeBytes(largest), threads),
  );
  // The FMA probe runs at the level the kernels dispatch to.
  const isa = options.isa ?? (limits[0] as MachineLimits).fma.isa;
  options.onLimits(limits, isa);
  const savedThreads = addon.getThreads();
  try {
    for (const family of options.families) {
      for (const log2Size of options.log2Sizes) {
        const size = 2 ** log2Size;
        const fwhtMedian = new Map<number, number>();
        for (const [index, threads] of threadCounts.entries()) {
          if (POOLED.has(family) ? !options.threads.includes(threads) : threads !== 1) continue;
          const limit = limits[index] as MachineLimits;
          addon.setThreads(threads);
          options.onProgress(`${family} 2^${log2Size}, ${threads} thread(s)`);
          const cases =
            family === 'fwht'
              ? fwhtCases(addon, size, options.isa)
              : family === 'lowrank'
                ? lowRankCases(addon, log2Size, options.isa)
                : family === 'kron'
                  ? kronCases(addon, log2Size, options.isa)
                  : fastfoodCases(addon, size, options.isa);
          if (family === 'fastfood') {
            const data = benchValues(size, 1);
            fwhtMedian.set(
              threads,
              timeKernel(() => addon.fwht(data, size, options.isa), options.repeat).medianMs,
            );
          }
          for (const measured of cases) {
            const timing = timeKernel(measured.call, options.repeat);
            const peakGflops =
              measured.peak === 'add'
                ? limit.add.gflops
                : measured.peak === 'fma'
                  ? limit.fma.gflops
                  : null;
            const gflops = measured.flops / (timing.medianMs * 1e6);
            const movedBytes = 4 * measured.movedFloats;
            const memcpyMs = (movedBytes / (limit.memcpy.gbs * 1e9)) * 1e3;
            const fillMs = ((4 * measured.outputFloats) / (limit.fill.gbs * 1e9)) * 1e3;
            const fwht = fwhtMedian.get(threads);
            options.onRecord({
              kernel: family,
              variant: measured.variant,
              direction: measured.direction,
              size,
              log2Size,
              batch: measured.batch,
              threads,
              isa,
              medianMs: timing.medianMs,
              minMs: timing.minMs,
              flops: measured.flops,
              gflops,
              ofPeak: peakGflops === null ? null : gflops / peakGflops,
              peak: measured.peak,
              bytes: movedBytes,
              vsMemcpy: timing.medianMs / memcpyMs,
              vsFill: measured.direction === 'forward' ? timing.medianMs / fillMs : null,
              vsFwht: family === 'fastfood' && fwht !== undefined ? timing.medianMs / fwht : null,
            });
          }
        }
      }
    }
  } finally {
    addon.setThreads(savedThreads);
  }
}
