/**
 * The readable form of `bench train-step`: the FMA peaks, one aligned row per GEMM shape × threads,
 * per fused op × threads and per model (printed as each is measured), and what the columns mean.
 */
import { machineLine, type MachineDescription } from './machineLimits';
import { medianOf } from './median';
import type { FusedOpRecord } from './fusedOpsBench';
import type { FmaPeak, GemmRecord, StepRecord, TrainStepModel } from './trainStepBench';

/** A number in `width` columns with about three significant digits. */
function num(value: number, width: number): string {
  if (!Number.isFinite(value)) return String(value).padStart(width);
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toFixed(digits).padStart(width);
}

function percent(value: number, width: number): string {
  return `${num(100 * value, width - 1)}%`;
}

export function formatPeaks(peaks: readonly FmaPeak[], machine: MachineDescription): string[] {
  return [
    machineLine(machine),
    '',
    `FMA peak, measured now (${peaks[0]?.isa ?? machine.isa}, independent chains, best of 5; an FMA = 2 FLOP):`,
    ...peaks.map(
      (peak) => `  ${String(peak.threads).padStart(2)} thread(s)  ${num(peak.gflops, 7)} GFLOP/s`,
    ),
  ];
}

const GEMM_COLUMNS: [string, number][] = [
  ['GEMM (native)', 22],
  ['m×n×k', 16],
  ['thr', 3],
  ['ms', 8],
  ['GFLOP/s', 8],
  ['of FMA', 7],
  ['per CPU s', 9],
];

const OP_COLUMNS: [string, number][] = [
  ['fused op (native)', 22],
  ['shape', 16],
  ['thr', 3],
  ['ms', 8],
  ['ns/elem', 8],
  ['GFLOP/s', 8],
  ['of FMA', 7],
];

const STEP_COLUMNS: [string, number][] = [
  ['model', 6],
  ['batch', 5],
  ['params', 9],
  ['thr', 3],
  ['stock ms', 9],
  ['native ms', 9],
  ['median', 7],
  ['speedup', 8],
  ['img/s', 7],
  ['GC', 5],
  ['reused', 6],
  ['GFLOP/s', 8],
  ['of FMA', 7],
  ['loss Δ', 8],
];

function row(columns: [string, number][], cells: string[]): string {
  return cells
    .map((cell, i) => {
      const width = (columns[i] as [string, number])[1];
      return i === 0 ? cell.padEnd(width) : cell.padStart(width);
    })
    .join('  ')
    .trimEnd();
}

function header(columns: [string, number][]): string[] {
  const names = row(
    columns,
    columns.map(([name]) => name),
  );
  return [names, '-'.repeat(names.length)];
}

export function gemmHeader(): string[] {
  return header(GEMM_COLUMNS);
}

export function gemmRow(record: GemmRecord): string {
  const transposed = `${record.transposeA ? 'ᵀ' : ''}${record.transposeB ? 'ᵀ' : ''}`;
  return row(GEMM_COLUMNS, [
    record.shape,
    `${record.m}×${record.n}×${record.k}${transposed}`,
    String(record.threads),
    num(record.ms, 8),
    num(record.gemmGflops, 8),
    percent(record.ofPeak, 7),
    num(record.gemmGflopsPerCpuSecond, 9),
  ]);
}

export function opHeader(): string[] {
  return header(OP_COLUMNS);
}

export function opRow(record: FusedOpRecord): string {
  return row(OP_COLUMNS, [
    `${record.model} ${record.op} ${record.direction === 'forward' ? 'fwd' : 'bwd'}`,
    record.shape,
    String(record.threads),
    num(record.ms, 8),
    num(record.nsPerElement, 8),
    record.gflops === null ? '-' : num(record.gflops, 8),
    record.ofPeak === null ? '-' : percent(record.ofPeak, 7),
  ]);
}

export function stepHeader(): string[] {
  return header(STEP_COLUMNS);
}

export function stepRow(record: StepRecord): string {
  const lossDifference =
    record.stockLossAfterStep === null
      ? '-'
      : Math.abs(record.stockLossAfterStep - record.nativeLossAfterStep).toExponential(1);
  return row(STEP_COLUMNS, [
    record.model,
    String(record.batch),
    String(record.params),
    String(record.threads),
    record.stockMs === null ? '-' : num(record.stockMs, 9),
    num(record.nativeMs, 9),
    num(medianOf(record.nativeTimesMs), 7),
    record.speedup === null ? '-' : `${num(record.speedup, 7)}×`,
    num(record.nativeImagesPerSecond, 7),
    percent(record.nativeGcShare, 5),
    percent(record.nativeOutputsReused, 6),
    num(record.nativeMatmulGflops, 8),
    percent(record.nativeOfPeak, 7),
    lossDifference,
  ]);
}

export function gemmFootnotes(): string[] {
  return [
    '',
    'GEMM: superlora’s native GEMM (addon.gemm, the kernel under the tfjs matMul / batchMatMul /',
    '  fusedMatMul kernels), best of 9 rounds; GFLOP/s = 2·m·n·k ÷ time; "of FMA" ÷ the FMA peak at',
    '  the same thread count; "per CPU s": the same per second of this process’s CPU time. ᵀ marks',
    '  a transposed operand (A, then B).',
  ];
}

export function opFootnotes(): string[] {
  return [
    '',
    'fused op: one of the ViT’s fused native kernels alone (native/ops/fused_ops.h) on inputs of a',
    '  training step’s size (one layer’s call), best of 9 rounds. shape: rows×width; attention:',
    '  batch·heads × tokens² × head size. ns/elem: time ÷ output elements (backward: of the input',
    '  gradient). Attention’s GFLOP/s counts its matrix products (forward 2, backward 4, each',
    '  2·batch·heads·tokens²·head size FLOP), "of FMA" ÷ the FMA peak at the same thread count.',
  ];
}

export function stepFootnotes(
  models: readonly TrainStepModel[],
  steps: number,
  stockSteps: number | null,
): string[] {
  return [
    '',
    'step: forward, backward and SGD-momentum update of every weight of a freshly seeded ViT on',
    '  random 1-channel images, on the tfjs cpu backend. Best wall time of the timed steps after one',
    `  warm-up: ${steps} with the native kernels${stockSteps === null ? '' : `, ${stockSteps} with tfjs’s own (stock)`}.`,
    '  median: the native steps’ median wall time (a collection lands in some steps, not the best).',
    '  speedup = stock ms ÷ native ms (tfjs’s kernels run on the JS thread; ours on the pool, thr).',
    '  GC: garbage collection’s share of the native steps’ wall time. reused: share of the native',
    '  kernels’ outputs that were recycled arrays (SUPERLORA_OUTPUT_POOL_MB). GFLOP/s: the step’s matrix-',
    '  product FLOP (forward × 3) ÷ native ms; "of FMA" ÷ the FMA peak at thr threads. loss Δ:',
    '  |stock − native| loss of the second step (after one update): float32 rounding only.',
    'models:',
    ...models.map((model) => `  ${model.name.padEnd(6)} ${model.description}`),
  ];
}
