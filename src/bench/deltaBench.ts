/**
 * `bench delta`: times the whole ΔW map, forward and backward, for workloads × engines × thread
 * counts, through the public plan API, and relates every time to the machine's own limits
 * (measured first, in the same run). It measures; it asserts nothing.
 */
import { createPlan, type Plan } from '../createPlan';
import { engineUnavailableReason } from '../engines/createEngine';
import type { DeltaEngine, EngineName } from '../engines/engine';
import { estimateFlops, type FlopEstimate } from './flops';
import {
  describeMachine,
  limitProbeBytes,
  measureDeviceLimits,
  measureMachineLimits,
  type BenchAddon,
  type DeviceBenchAddon,
  type DeviceLimits,
  type MachineDescription,
  type MachineLimits,
} from './machineLimits';
import type { Workload } from './workloads';
import { medianOf } from './median';

/** Timed calls after warm-up unless the caller asks otherwise. */
export const DEFAULT_REPEAT = 7;
/**
 * The tfjs reference engine takes seconds per call on the ViT-sized workloads (a fastfood or
 * shuffle backward, minutes), so it gets fewer calls: enough for a median, not a day.
 */
const TFJS_WARMUPS = 1;
const TFJS_MAX_REPEAT = 3;
const WARMUPS = 2;

/** Engines whose speed follows the kernel thread pool; the others are timed once per workload. */
function followsThreadPool(engine: EngineName): boolean {
  return engine === 'native';
}

export interface DeltaBenchRecord {
  /** Which benchmark wrote the line, for files that collect several (bench/run-all.sh). */
  bench: 'delta';
  workload: string;
  /** FLOP-model kind (flops.ts): 'lowrank', 'tucker', 'kron+lowrank', ... */
  kind: string;
  engine: EngineName;
  /** Kernel-pool threads; 1 for engines that do not use the pool (tfjs runs on the JS thread). */
  threads: number;
  deltaSize: number;
  numParams: number;
  /** Median and fastest of the timed calls, in milliseconds. */
  forwardMs: number;
  forwardMinMs: number;
  backwardMs: number;
  backwardMinMs: number;
  warmups: number;
  repetitions: number;
  /** Plan compilation for this engine (tables, scratch), not part of any call. */
  setupMs: number;
  /** (4·N ΔW written + 4·numParams params read) / forward median, 1e9 bytes per second. */
  forwardGBs: number;
  /** (4·N dΔ read + 4·numParams gradients written) / backward median. */
  backwardGBs: number;
  /** Machine limits at this thread count (machineLimits.ts). */
  fillGBs: number;
  memcpyGBs: number;
  fmaPeakGflops: number;
  addPeakGflops: number;
  /** Forward median ÷ the time to fill ΔW (4·N bytes) at fillGBs. */
  forwardVsFill: number;
  /** Forward median ÷ the time to copy ΔW (read 4·N + write 4·N bytes) at memcpyGBs. */
  forwardVsMemcpy: number;
  backwardVsForward: number;
  /** FLOP-model counts (flops.ts) and the rates they imply at the medians. */
  forwardFlops: number;
  backwardFlops: number;
  gflops: number;
  /** gflops ÷ fmaPeakGflops. */
  peakFraction: number;
  backwardGflops: number;
  backwardPeakFraction: number;
  /** Whether the engine wrote into preallocated arrays (deltaInto) or returned fresh ones. */
  calls: 'into' | 'allocating';
  machine: MachineDescription;
  note?: string;
  /**
   * cuda rows, when the device probe ran: the device's own fill and copy bandwidth (DeviceLimits)
   * and the forward median ÷ the time to fill / copy ΔW at them (the columns above are to the CPU).
   */
  deviceFillGBs?: number;
  deviceMemcpyGBs?: number;
  forwardVsDeviceFill?: number;
  forwardVsDeviceMemcpy?: number;
}

export interface DeltaBenchOptions {
  addon: BenchAddon & DeviceBenchAddon;
  workloads: readonly Workload[];
  engines: readonly EngineName[];
  threads: readonly number[];
  repeat: number;
  /** Buffer size of the fill and memcpy probes; default limitProbeBytes(largest ΔW). */
  limitBytes?: number;
  /** Whether the engines were named by the user: then no workload skips any of them. */
  enginesChosen: boolean;
  /**
   * Called once the limits are measured, before any workload runs; `device` is the CUDA device's,
   * measured when the cuda engine is timed, else why not.
   */
  onLimits?(
    limits: readonly MachineLimits[],
    machine: MachineDescription,
    device: DeviceLimits,
  ): void;
  /** Called with each result as soon as it is measured (long runs stream). */
  onRecord(record: DeltaBenchRecord): void;
  /** Called for each engine a workload leaves out by default (Workload.skipByDefault). */
  onSkip?(workload: Workload, engine: EngineName, reason: string): void;
  /** Progress for a human (what is running now); not results. */
  onProgress?(message: string): void;
}

interface Timing {
  medianMs: number;
  minMs: number;
}

/** Times `call` (sync or async) `repetitions` times after `warmups` untimed calls. */
async function timeCalls(
  call: () => unknown,
  warmups: number,
  repetitions: number,
): Promise<Timing> {
  for (let i = 0; i < warmups; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const start = process.hrtime.bigint();
    const result = call();
    // A synchronous call is timed without the microtask an unconditional await would add.
    if (result instanceof Promise) await result;
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: medianOf(samples), minMs: samples[0] as number };
}

/** The native engine's synchronous, non-allocating calls, when the engine has them. */
interface IntoEngine extends DeltaEngine {
  deltaInto(params: Float32Array, out: Float32Array): unknown;
  deltaBackwardInto(params: Float32Array, dDelta: Float32Array, dParams: Float32Array): unknown;
}

function hasIntoCalls(engine: DeltaEngine): engine is IntoEngine {
  const candidate = engine as Partial<IntoEngine>;
  return (
    typeof candidate.deltaInto === 'function' && typeof candidate.deltaBackwardInto === 'function'
  );
}

/** Deterministic, non-zero inputs (zeros could let an engine skip work). */
function inputs(plan: Plan): { params: Float32Array; dDelta: Float32Array } {
  const params = new Float32Array(plan.numParams);
  for (let i = 0; i < params.length; i++) params[i] = 0.1 * Math.sin(i + 1);
  const dDelta = new Float32Array(plan.deltaSize);
  for (let i = 0; i < dDelta.length; i++) dDelta[i] = Math.cos(i + 1);
  return { params, dDelta };
}

function record(
  workload: Workload,
  plan: Plan,
  flops: FlopEstimate,
  engine: EngineName,
  threads: number,
  limits: MachineLimits,
  machine: MachineDescription,
  forward: Timing,
  backward: Timing,
  extra: Pick<DeltaBenchRecord, 'warmups' | 'repetitions' | 'setupMs' | 'calls' | 'note'>,
): DeltaBenchRecord {
  const deltaBytes = 4 * plan.deltaSize;
  const paramBytes = 4 * plan.numParams;
  const fillMs = (deltaBytes / (limits.fill.gbs * 1e9)) * 1e3;
  const memcpyMs = ((2 * deltaBytes) / (limits.memcpy.gbs * 1e9)) * 1e3;
  const gflops = flops.forward / (forward.medianMs * 1e6);
  const backwardGflops = flops.backward / (backward.medianMs * 1e6);
  const result: DeltaBenchRecord = {
    bench: 'delta',
    workload: workload.name,
    kind: flops.kind,
    engine,
    threads,
    deltaSize: plan.deltaSize,
    numParams: plan.numParams,
    forwardMs: forward.medianMs,
    forwardMinMs: forward.minMs,
    backwardMs: backward.medianMs,
    backwardMinMs: backward.minMs,
    warmups: extra.warmups,
    repetitions: extra.repetitions,
    setupMs: extra.setupMs,
    forwardGBs: (deltaBytes + paramBytes) / (forward.medianMs * 1e6),
    backwardGBs: (deltaBytes + paramBytes) / (backward.medianMs * 1e6),
    fillGBs: limits.fill.gbs,
    memcpyGBs: limits.memcpy.gbs,
    fmaPeakGflops: limits.fma.gflops,
    addPeakGflops: limits.add.gflops,
    forwardVsFill: forward.medianMs / fillMs,
    forwardVsMemcpy: forward.medianMs / memcpyMs,
    backwardVsForward: backward.medianMs / forward.medianMs,
    forwardFlops: flops.forward,
    backwardFlops: flops.backward,
    gflops,
    peakFraction: gflops / limits.fma.gflops,
    backwardGflops,
    backwardPeakFraction: backwardGflops / limits.fma.gflops,
    calls: extra.calls,
    machine,
  };
  if (extra.note !== undefined) result.note = extra.note;
  return result;
}

/** The forward of a cuda row against the device's own fill and copy bandwidth. */
function addDeviceRatios(
  result: DeltaBenchRecord,
  device: Extract<DeviceLimits, { available: true }>,
  deltaSize: number,
): void {
  const deltaBytes = 4 * deltaSize;
  result.deviceFillGBs = device.fillGBs;
  result.deviceMemcpyGBs = device.memcpyGBs;
  result.forwardVsDeviceFill = result.forwardMs / ((deltaBytes / (device.fillGBs * 1e9)) * 1e3);
  result.forwardVsDeviceMemcpy =
    result.forwardMs / (((2 * deltaBytes) / (device.memcpyGBs * 1e9)) * 1e3);
}

/**
 * The thread counts to measure the limits at: every requested one (the table shows how the
 * machine scales even when only pool-less engines run), and 1 for the engines that ignore the pool.
 */
function limitThreadCounts(engines: readonly EngineName[], threads: readonly number[]): number[] {
  const counts = new Set<number>(threads);
  if (engines.some((engine) => !followsThreadPool(engine))) counts.add(1);
  return [...counts].sort((a, b) => a - b);
}

export async function runDeltaBench(options: DeltaBenchOptions): Promise<void> {
  const { addon, workloads, engines } = options;
  const progress = options.onProgress ?? (() => undefined);
  const plans = workloads.map((workload) => ({
    workload,
    plan: createPlan(workload.config, workload.targets),
  }));
  const largestDelta = Math.max(0, ...plans.map(({ plan }) => 4 * plan.deltaSize));
  const bytes = options.limitBytes ?? limitProbeBytes(largestDelta);
  const limitsByThreads = new Map<number, MachineLimits>();
  for (const threads of limitThreadCounts(engines, options.threads)) {
    progress(`measuring the machine's limits with ${threads} thread(s)`);
    limitsByThreads.set(threads, measureMachineLimits(addon, bytes, threads));
  }
  const anyLimits = limitsByThreads.values().next().value as MachineLimits;
  const machine = describeMachine(addon, anyLimits.fma.isa);
  let device: DeviceLimits;
  if (engines.includes('cuda')) {
    progress('measuring the CUDA device’s fill and copy bandwidth');
    device = measureDeviceLimits(addon, bytes);
  } else {
    const why = engineUnavailableReason('cuda');
    device = {
      available: false,
      reason: `the cuda engine is not timed in this run${why === null ? '' : ` (${why})`}`,
    };
  }
  options.onLimits?.([...limitsByThreads.values()], machine, device);

  const poolThreads = addon.getThreads();
  try {
    for (const { workload, plan } of plans) {
      const flops = estimateFlops(plan.layout);
      const { params, dDelta } = inputs(plan);
      for (const name of engines) {
        const skipReason = workload.skipByDefault?.[name];
        if (skipReason !== undefined && !options.enginesChosen) {
          options.onSkip?.(workload, name, skipReason);
          continue;
        }
        const setupStart = process.hrtime.bigint();
        progress(`${workload.name}: compiling the plan for the ${name} engine`);
        const engine = plan.engine(name);
        const setupMs = Number(process.hrtime.bigint() - setupStart) / 1e6;
        const isTfjs = name === 'tfjs';
        const warmups = isTfjs ? TFJS_WARMUPS : WARMUPS;
        const repetitions = isTfjs ? Math.min(options.repeat, TFJS_MAX_REPEAT) : options.repeat;
        const into = hasIntoCalls(engine);
        const out = into ? new Float32Array(plan.deltaSize) : null;
        const dParams = into ? new Float32Array(plan.numParams) : null;
        const forwardCall = into
          ? () => engine.deltaInto(params, out as Float32Array)
          : () => engine.delta(params);
        const backwardCall = into
          ? () => engine.deltaBackwardInto(params, dDelta, dParams as Float32Array)
          : () => engine.deltaBackward(params, dDelta);
        const threadCounts = followsThreadPool(name) ? options.threads : [1];
        for (const threads of threadCounts) {
          if (followsThreadPool(name)) addon.setThreads(threads);
          progress(
            `${workload.name}: ${name}, ${threads} thread(s), ${warmups} warm-up + ${repetitions} timed calls each way`,
          );
          const forward = await timeCalls(forwardCall, warmups, repetitions);
          const backward = await timeCalls(backwardCall, warmups, repetitions);
          const notes: string[] = [];
          if (isTfjs) {
            notes.push(
              `the cpu backend runs on the JS thread, so one row per workload, against the 1-thread limits; ${warmups} warm-up + ${repetitions} timed calls, as it takes seconds per call at ViT sizes`,
            );
          }
          if (name === 'cuda') {
            notes.push(
              device.available
                ? 'runs on the GPU; the ratio columns are to this CPU’s limits, the device’s own are in JSON (forwardVsDeviceFill, forwardVsDeviceMemcpy)'
                : 'runs on the GPU; the ratios are to this CPU’s limits',
            );
          }
          const result = record(
            workload,
            plan,
            flops,
            name,
            threads,
            limitsByThreads.get(threads) as MachineLimits,
            machine,
            forward,
            backward,
            {
              warmups,
              repetitions,
              setupMs,
              calls: into ? 'into' : 'allocating',
              note: notes.length > 0 ? notes.join('; ') : undefined,
            },
          );
          if (name === 'cuda' && device.available) addDeviceRatios(result, device, plan.deltaSize);
          options.onRecord(result);
        }
      }
      plan.dispose();
    }
  } finally {
    addon.setThreads(poolThreads);
    for (const { plan } of plans) plan.dispose();
  }
}
