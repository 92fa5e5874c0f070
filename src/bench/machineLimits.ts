/**
 * The machine's own limits, measured by the native probes in the same run as a benchmark
 * (DESIGN.md "Conventions"): every time the benchmark reports is also a ratio to them.
 */
import * as os from 'os';
import type { Addon, BandwidthMeasurement, PeakMeasurement } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';

/** The probes and the thread-pool control the benchmark needs from the addon. */
export type BenchAddon = Pick<
  Addon,
  | 'capabilities'
  | 'setThreads'
  | 'getThreads'
  | 'getSpinMicroseconds'
  | 'measureFill'
  | 'measureMemcpy'
  | 'measureFmaPeak'
  | 'measureAddPeak'
>;

/** The device probe, present in every build from the CUDA engine on (it throws without CUDA). */
export type DeviceBenchAddon = Partial<Pick<Addon, 'cudaMeasureBandwidth'>>;

const BENCH_FUNCTIONS = [
  'setThreads',
  'getThreads',
  'getSpinMicroseconds',
  'measureFill',
  'measureMemcpy',
  'measureFmaPeak',
  'measureAddPeak',
] as const;

/**
 * The addon, checked for the probes: a binary built before they existed loads fine for
 * everything else, so say what to rebuild rather than fail with "not a function" later.
 */
export function loadBenchAddon(): BenchAddon {
  const addon = loadAddon();
  const missing = BENCH_FUNCTIONS.filter(
    (name) => typeof (addon as Partial<Addon>)[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new Error(
      `The loaded superlora native binary lacks ${missing.join(', ')} (it predates the benchmark ` +
        'probes); rebuild it with `npm run build:native`',
    );
  }
  return addon;
}

/**
 * Bytes the bandwidth probes move: at least 64 MiB, more than most last-level caches, so that
 * they measure main memory; and at least the largest ΔW benchmarked, so that they cover it.
 */
export function limitProbeBytes(largestDeltaBytes: number): number {
  return Math.max(64 * 2 ** 20, Math.ceil(largestDeltaBytes / 64) * 64);
}

export interface MachineLimits {
  threads: number;
  /** Bytes written per second (memset). */
  fill: BandwidthMeasurement;
  /** Bytes read + written per second (memcpy); memcpy.copyGBs is bytes copied per second. */
  memcpy: BandwidthMeasurement;
  fma: PeakMeasurement;
  add: PeakMeasurement;
}

export function measureMachineLimits(
  addon: BenchAddon,
  bytes: number,
  threads: number,
): MachineLimits {
  return {
    threads,
    fill: addon.measureFill(bytes, threads),
    memcpy: addon.measureMemcpy(bytes, threads),
    fma: addon.measureFmaPeak(threads),
    add: addon.measureAddPeak(threads),
  };
}

/**
 * The CUDA device's own memory limits, measured by cudaMeasureBandwidth in the same run when the
 * cuda engine is timed (the CPU limits above say nothing about a GPU), or why they were not.
 */
export type DeviceLimits =
  | {
      available: true;
      /** The device's name, from capabilities().cudaDevices[0]. */
      name: string;
      bytes: number;
      /** cudaMemset: 1e9 bytes written per second. */
      fillGBs: number;
      /** Device → device copy: 1e9 bytes read + written per second. */
      memcpyGBs: number;
      /** From / to pageable host memory, as the host-array calls copy. */
      hostToDeviceGBs: number;
      deviceToHostGBs: number;
    }
  | { available: false; reason: string };

/** Smallest buffer of the device probes: enough to run well past the GPU's caches. */
const DEVICE_PROBE_MIN_BYTES = 256 * 2 ** 20;
const DEVICE_PROBE_REPEATS = 5;

/** Measures the device limits; never throws (a failure becomes the reason). */
export function measureDeviceLimits(
  addon: BenchAddon & DeviceBenchAddon,
  bytes: number,
): DeviceLimits {
  if (typeof addon.cudaMeasureBandwidth !== 'function') {
    return { available: false, reason: 'the loaded binary predates cudaMeasureBandwidth' };
  }
  try {
    const result = addon.cudaMeasureBandwidth(
      Math.max(DEVICE_PROBE_MIN_BYTES, bytes),
      DEVICE_PROBE_REPEATS,
    );
    const device = addon.capabilities().cudaDevices[0];
    return {
      available: true,
      name: device?.name ?? 'CUDA device 0',
      bytes: result.bytes,
      fillGBs: result.fillBytesPerSecond / 1e9,
      memcpyGBs: result.copyBytesPerSecond / 1e9,
      hostToDeviceGBs: result.hostToDeviceBytesPerSecond / 1e9,
      deviceToHostGBs: result.deviceToHostBytesPerSecond / 1e9,
    };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}

export interface MachineDescription {
  /** The CPU's marketing name (or vendor / architecture when it reports none). */
  cpu: string;
  /** Hardware threads the OS offers this process. */
  cores: number;
  /** Instruction-set level the CPU kernels and the FLOP probes run at. */
  isa: string;
  /** How long the kernel pool's threads spin before they sleep (SUPERLORA_POOL_SPIN_US). */
  poolSpinMicroseconds: number;
}

/** The reports' first line: the CPU, its threads, the kernels' ISA and the pool's spin. */
export function machineLine(machine: MachineDescription): string {
  return `machine   ${machine.cpu}, ${machine.cores} hardware threads, kernels at ${machine.isa}, pool spins ${machine.poolSpinMicroseconds} µs`;
}

export function describeMachine(addon: BenchAddon, isa: string): MachineDescription {
  const capabilities = addon.capabilities();
  const cpu = capabilities.cpu;
  return {
    cpu: cpu.brand.trim() || cpu.vendor || cpu.arch,
    cores: capabilities.threads || os.cpus().length,
    isa,
    poolSpinMicroseconds: addon.getSpinMicroseconds(),
  };
}
