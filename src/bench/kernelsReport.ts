/** The readable table of `bench kernels`: one row per kernel × variant × direction × size × threads. */
import type { KernelBenchRecord } from './kernelsBench';

const COLUMNS: [string, number][] = [
  ['kernel', 8],
  ['variant', 26],
  ['dir', 3],
  ['size', 5],
  ['thr', 3],
  ['ms', 9],
  ['(min)', 9],
  ['GFLOP/s', 8],
  ['of peak', 11],
  ['/memcpy', 8],
  ['/fill', 7],
  ['/FWHT', 6],
];

function row(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const width = (COLUMNS[i] as [string, number])[1];
      return i < 3 ? cell.padEnd(width) : cell.padStart(width);
    })
    .join('  ')
    .trimEnd();
}

function fixed(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function kernelTableHeader(): string[] {
  const header = row(COLUMNS.map(([name]) => name));
  return [header, '-'.repeat(header.length)];
}

export function kernelTableRow(record: KernelBenchRecord): string {
  const peak =
    record.ofPeak === null ? '' : `${(100 * record.ofPeak).toFixed(1)}% ${record.peak ?? ''}`;
  return row([
    record.kernel,
    record.variant,
    record.direction === 'forward' ? 'fwd' : 'bwd',
    `2^${record.log2Size}`,
    String(record.threads),
    fixed(record.medianMs),
    `(${fixed(record.minMs)})`,
    fixed(record.gflops),
    peak,
    `${fixed(record.vsMemcpy)}×`,
    record.vsFill === null ? '' : `${fixed(record.vsFill)}×`,
    record.vsFwht === null ? '' : `${fixed(record.vsFwht)}×`,
  ]);
}

export function kernelTableFooter(): string[] {
  return [
    '',
    'ms: median per call of the timed samples after a warm-up (fastest in brackets); a sample repeats',
    '  a fast call until it lasts 2 ms. Sizes below 2^16 run FWHTs as rows of one 2^16-float batch',
    '  (in cache) and report the whole batch.',
    'GFLOP/s: the FLOP model ÷ the median (FWHT: n·log2 n adds and subtracts per transform; fastfood:',
    '  two such transforms of L; rank r: 2·N·r forward, 4·N·r backward; Kronecker: one multiply per',
    '  output forward, two backward). "of peak": ÷ the add peak (FWHT, fastfood) or FMA peak (rank r)',
    '  at that thread count.',
    '/memcpy: the median ÷ the time to read and write the data once at the memcpy bandwidth;',
    '  /fill (forward): ÷ the time to write the output once at the fill bandwidth; /FWHT: fastfood ÷ one FWHT of',
    '  the same L in this run. The low-rank and Kronecker hooks run on the calling thread only (the',
    '  plan spreads them over the pool: see `bench delta`). The fastfood hook checks that π is a',
    '  permutation on every call (L random accesses), which dominates at large L: the fused kernel',
    '  inside a plan is `bench delta`’s fastfood-2d-g1-rho0.1 workload.',
  ];
}
