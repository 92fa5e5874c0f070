/**
 * The readable form of `bench delta`: the machine's limits, one aligned row per workload × engine
 * × threads (printed as each is measured, so the columns have fixed widths), and what each column
 * means.
 */
import type { DeltaBenchRecord } from './deltaBench';
import {
  machineLine,
  type DeviceLimits,
  type MachineDescription,
  type MachineLimits,
} from './machineLimits';

/** A number in `width` columns with about three significant digits. */
function num(value: number, width: number): string {
  if (!Number.isFinite(value)) return String(value).padStart(width);
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toFixed(digits).padStart(width);
}

function ratio(value: number, width: number): string {
  return `${num(value, width - 1)}×`;
}

function percent(value: number, width: number): string {
  return `${num(100 * value, width - 1)}%`;
}

function size(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 === 0 ? 0 : 1)} MiB`;
  return `${bytes} bytes`;
}

/** The CUDA device's line under the CPU limits: its fill and copy bandwidth, or why none. */
export function formatDeviceLimits(device: DeviceLimits): string[] {
  if (!device.available) return [`  device    not measured: ${device.reason}`];
  return [
    `  device    ${device.name}: fill ${num(device.fillGBs, 0)} GB/s, memcpy ${num(device.memcpyGBs, 0)} GB/s ` +
      `(read + written; ${size(device.bytes)}), host→device ${num(device.hostToDeviceGBs, 0)} GB/s, ` +
      `device→host ${num(device.deviceToHostGBs, 0)} GB/s (pageable)`,
  ];
}

export function formatLimits(
  limits: readonly MachineLimits[],
  machine: MachineDescription,
  device?: DeviceLimits,
): string[] {
  const first = limits[0];
  const lines = [machineLine(machine), '', 'machine limits, measured now (best timed round):'];
  if (first) {
    lines.push(
      `  fill    memset of ${size(first.fill.bytes)}; GB/s of bytes written`,
      `  memcpy  memcpy of ${size(first.memcpy.bytes)}; GB/s of bytes read + written (bytes copied/s in brackets)`,
      `  FMA     ${first.fma.isa} FMA, ${first.fma.chains} chains of ${first.fma.lanes} floats per thread; GFLOP/s, an FMA = 2 FLOP`,
      `  add     the same with adds; GFLOP/s`,
    );
  }
  lines.push('', '  threads   fill GB/s   memcpy GB/s (copied)   FMA GFLOP/s   add GFLOP/s');
  for (const limit of limits) {
    lines.push(
      `  ${String(limit.threads).padStart(7)}   ${num(limit.fill.gbs, 9)}   ${num(limit.memcpy.gbs, 11)} (${num(limit.memcpy.copyGBs ?? limit.memcpy.gbs / 2, 6)})   ${num(limit.fma.gflops, 11)}   ${num(limit.add.gflops, 11)}`,
    );
  }
  if (device !== undefined) lines.push('', ...formatDeviceLimits(device));
  return lines;
}

const COLUMNS: [string, number][] = [
  ['workload', 22],
  ['engine', 6],
  ['thr', 3],
  ['fwd ms', 9],
  ['(min)', 9],
  ['bwd ms', 9],
  ['(min)', 9],
  ['fwd GB/s', 8],
  ['bwd GB/s', 8],
  ['fwd/fill', 8],
  ['fwd/memcpy', 10],
  ['bwd/fwd', 7],
  ['fwd GFLOP/s', 11],
  ['of FMA', 7],
  ['bwd GFLOP/s', 11],
  ['of FMA', 7],
];

function row(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const width = (COLUMNS[i] as [string, number])[1];
      return i === 0 || i === 1 ? cell.padEnd(width) : cell.padStart(width);
    })
    .join('  ')
    .trimEnd();
}

export function tableHeader(): string[] {
  const header = row(COLUMNS.map(([title]) => title));
  return [header, '-'.repeat(header.length)];
}

export function tableRow(record: DeltaBenchRecord): string {
  const marked = record.note !== undefined ? '*' : '';
  return row([
    record.workload,
    `${record.engine}${marked}`,
    String(record.threads),
    num(record.forwardMs, 9),
    `(${num(record.forwardMinMs, 7)})`,
    num(record.backwardMs, 9),
    `(${num(record.backwardMinMs, 7)})`,
    num(record.forwardGBs, 8),
    num(record.backwardGBs, 8),
    ratio(record.forwardVsFill, 8),
    ratio(record.forwardVsMemcpy, 10),
    ratio(record.backwardVsForward, 7),
    num(record.gflops, 11),
    percent(record.peakFraction, 7),
    num(record.backwardGflops, 11),
    percent(record.backwardPeakFraction, 7),
  ]);
}

/** What the columns mean; `records` adds the notes of the engines that had any. */
export function tableFootnotes(records: readonly DeltaBenchRecord[]): string[] {
  const lines = [
    '',
    'fwd / bwd ms: median of the timed calls after warm-up (fastest in brackets). forward = ΔW_all from',
    '  the parameters; backward = the parameters’ gradient from dL/dΔW_all.',
    'fwd GB/s: (4·N bytes of ΔW written + 4·P bytes of parameters read) / forward time;',
    'bwd GB/s: (4·N bytes of dΔ read + 4·P bytes of gradients written) / backward time (N = ΔW size,',
    '  P = parameter count). Both count only the unavoidable traffic, not scratch.',
    'fwd/fill: forward time ÷ the time to write ΔW (4·N bytes) at the fill bandwidth of that thread',
    '  count; fwd/memcpy: ÷ the time to copy ΔW (read and write 4·N bytes) at the memcpy bandwidth.',
    '  1× means "as fast as writing ΔW can be"; below 1× the output fit in a cache.',
    'GFLOP/s: the FLOP model of src/bench/flops.ts (LoRA: 2·N·r forward, 4·N·r backward; a',
    '  multiply-add = 2 FLOP) ÷ the time; "of FMA": that ÷ the FMA peak at the same thread count.',
  ];
  const notes = new Map<string, string>();
  for (const record of records)
    if (record.note !== undefined) notes.set(record.engine, record.note);
  for (const [engine, note] of notes) lines.push(`* ${engine}: ${note}.`);
  return lines;
}
