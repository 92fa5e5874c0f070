/**
 * The native addon's whole surface, typed in one place. It mirrors what native/addon.cc
 * registers; nothing outside src/native/ touches the addon except through these types.
 */

/**
 * How the binary was built: node-gyp (binding.gyp, CPU only), cmake-js (CMakeLists.txt), or mingw
 * (binding.gyp's sources cross-compiled for Windows by scripts/mingw-build.js: the win32-x64
 * prebuilt binary, CPU only).
 */
export type BuildVariant = 'node-gyp' | 'cmake-js' | 'mingw';

/**
 * CPU features detected at run time (cpuid). Each AVX flag is true only when the OS also saves
 * the wider registers, so a true flag means the instructions are usable. All false off x86.
 */
export interface CpuCapabilities {
  /** Node.js spelling of the architecture the binary was compiled for: 'x64', 'arm64', ... */
  arch: string;
  /** e.g. 'GenuineIntel', 'AuthenticAMD'; empty off x86. */
  vendor: string;
  /** Marketing name, e.g. 'Intel(R) Xeon(R) ...'; empty when the CPU reports none. */
  brand: string;
  sse41: boolean;
  sse42: boolean;
  popcnt: boolean;
  avx: boolean;
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  bmi2: boolean;
  avx512f: boolean;
  avx512dq: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
}

export interface CudaDeviceInfo {
  index: number;
  name: string;
  /** 'major.minor', e.g. '9.0' for an H100. */
  computeCapability: string;
  /** Bytes of device memory. */
  totalMemory: number;
  multiProcessorCount: number;
}

export interface BuildInfo {
  variant: BuildVariant;
  /** e.g. 'gcc 12.2.0'. */
  compiler: string;
  napiVersion: number;
  /** CMake CUDA architectures compiled in, space separated ('90-real 120-virtual'); null without CUDA. */
  cudaArchitectures: string | null;
}

export interface Capabilities {
  /** package.json version the binary was built from. */
  version: string;
  cpu: CpuCapabilities;
  /** Hardware threads (std::thread::hardware_concurrency), at least 1. */
  threads: number;
  /** Whether this binary contains the CUDA kernels (the cmake-js build with SUPERLORA_CUDA=ON). */
  cudaCompiled: boolean;
  /** Usable CUDA devices; empty without CUDA, without a driver or without a device. */
  cudaDevices: CudaDeviceInfo[];
  /** Why cudaDevices is empty; present exactly when it is. */
  cudaError?: string;
  /** CUDART_VERSION compiled against (e.g. 13000); only when cudaCompiled. */
  cudaRuntimeVersion?: number;
  /** CUDA version the installed driver supports, 0 without a driver; only when cudaCompiled. */
  cudaDriverVersion?: number;
  build: BuildInfo;
}

/** One bandwidth probe (measureFill, measureMemcpy): the best of several timed rounds. */
export interface BandwidthMeasurement {
  /**
   * GB/s (1e9 bytes per second) under the probe's counting convention: measureFill counts the
   * bytes written; measureMemcpy counts the bytes read plus the bytes written, 2 per byte copied
   * (STREAM's Copy convention).
   */
  gbs: number;
  /** measureMemcpy only: bytes copied per second / 1e9, i.e. gbs / 2. */
  copyGBs?: number;
  /** Size of the buffer (each of the two, for memcpy). */
  bytes: number;
  /** Bytes counted per round: bytes for fill, 2 · bytes for memcpy. */
  countedBytes: number;
  /** Wall time of the fastest round. */
  bestSeconds: number;
  /** Timed rounds run (after one untimed round). */
  rounds: number;
  threads: number;
}

/** One FLOP-peak probe (measureFmaPeak, measureAddPeak): the best of several timed rounds. */
export interface PeakMeasurement {
  /** GFLOP/s (1e9 floating-point operations per second); an FMA counts as 2. */
  gflops: number;
  /** Instruction-set level the loop ran at: 'avx512', 'avx2' or 'portable'. */
  isa: string;
  /** Floats per vector at that level. */
  lanes: number;
  /** Independent accumulator chains per thread. */
  chains: number;
  flopPerRound: number;
  bestSeconds: number;
  rounds: number;
  threads: number;
}

/** Instruction-set levels of the CPU kernels. */
export type IsaName = 'portable' | 'avx2' | 'avx512';
/** The elementwise unary ops of `unaryOp`, in the addon's order. */
export const UNARY_OP_NAMES = [
  'neg',
  'abs',
  'square',
  'relu',
  'reciprocal',
  'sqrt',
  'rsqrt',
  'exp',
  'erf',
  'sigmoid',
  'step',
] as const;
export type UnaryOpName = (typeof UNARY_OP_NAMES)[number];
export type BinaryOpName =
  'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'squaredDifference' | 'pow';
export type ReduceOpName = 'sum' | 'mean' | 'max' | 'min';

/** The sizes and options of one Addon.gemm call. */
export interface GemmOptions {
  /** Rows of op(A) and of each output matrix. */
  m: number;
  /** Columns of op(B) and of each output matrix. */
  n: number;
  /** The shared inner size; 0 gives act(bias) (0 without a bias). */
  k: number;
  /** Output matrices (out.length = batch · m · n). Default 1. */
  batch?: number;
  /** Matrices in a (a.length = batchA · m · k). Default batch. */
  batchA?: number;
  /** Matrices in b (b.length = batchB · k · n). Default batch. */
  batchB?: number;
  /** A is stored k × m (op(A) = Aᵀ). Default false. */
  transposeA?: boolean;
  /** B is stored n × k (op(B) = Bᵀ). Default false. */
  transposeB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Added after scaling: bias_i(r, c) = bias[i · biasBatchStride + r · biasRowStride + c · biasColStride]. */
  bias?: Float32Array | null;
  /** Default 0. */
  biasBatchStride?: number;
  /** Default 0 (one row broadcast to every row). */
  biasRowStride?: number;
  /** 0 or 1. Default 1. */
  biasColStride?: number;
  /** Applied last. 'relu' is Math.max(0, x): NaN stays NaN. Default 'linear'. */
  activation?: 'linear' | 'relu';
  /** Instruction set to use, lowered to what the CPU supports (tests, benchmarks). Default: the active one. */
  isa?: IsaName;
}

/**
 * What `new NativePlan(descriptor)` reads: a plan (src/plan.ts) flattened into numbers and typed
 * arrays by src/native/planDescriptor.ts. Offsets are those of slot 0 of each bucket tensor
 * (SPEC §10), −1 where a tensor does not exist. The addon checks every field and rejects an
 * inconsistent descriptor with a TypeError / RangeError naming it.
 */
export interface NativePlanDescriptor {
  /** Descriptor format; the addon accepts only the one it was built with (1). */
  format: number;
  /** N, the length of ΔW_all. */
  deltaSize: number;
  numParams: number;
  /** M. */
  order: number;
  /** K. */
  splits: number;
  /** 1 for a dense (trainable) core, 0 for the identity core. */
  denseCore: number;
  scale: number;
  seed: number;
  /** 1 when ΔW_all is shuffled (SPEC §8). */
  shuffle: number;
  /** r_k per split, 0 for a "full" split. [K] */
  ranks: Int32Array;
  /** n_g of each bucket. [B] */
  bucketVirtualLength: Float64Array;
  /** m_g of each bucket. [B] */
  bucketGeneratedLength: Float64Array;
  /** L of each bucket, 0 without a projection. [B] */
  bucketProjectionSize: Float64Array;
  /** Groups in each bucket. [B] */
  bucketGroupCount: Int32Array;
  /** d_{k,m} of bucket b at (b·K + k)·M + m. [B·K·M] */
  bucketFoldDims: Int32Array;
  /** Offset of b{b}.s{k}.core at b·K + k, or −1. [B·K] */
  splitCoreOffset: Float64Array;
  /** Offset of b{b}.s{k}.full at b·K + k, or −1. [B·K] */
  splitFullOffset: Float64Array;
  /** Offset of b{b}.s{k}.f{m} at (b·K + k)·M + m, or −1. [B·K·M] */
  splitFactorOffset: Float64Array;
  /** Bucket of each group. [G] */
  groupBucket: Int32Array;
  /** Position of each group in its bucket. [G] */
  groupSlot: Int32Array;
  /** How many regions each group writes. [G] */
  groupRegionCount: Int32Array;
  /** Every group's regions of ΔW_all (before the shuffle), group after group. [R] */
  regionStart: Float64Array;
  regionLength: Float64Array;
  /** Fastfood sizes whose tables came from an adapter file (SPEC §11); the rest are seeded. */
  fileTableSizes: Float64Array;
  /** Those tables' B, π and Gv, concatenated in the order of fileTableSizes. */
  fileTableSigns: Float32Array;
  fileTablePerm: Int32Array;
  fileTableGaussians: Float32Array;
  /** σ from an adapter file, or empty when it is generated from the seed (or there is none). */
  fileShuffle: Int32Array;
}

/** What a NativePlan holds, for tests and diagnostics. */
export interface NativePlanInfo {
  deltaSize: number;
  numParams: number;
  buckets: number;
  groups: number;
  /** Groups run whole, one per pool task. */
  wholeGroups: number;
  /** Groups large enough to run alone with their rows spread over the pool. */
  splitGroups: number;
  /** Per-worker scratch arenas allocated so far. */
  workers: number;
  /** Bytes of scratch (and the shuffle buffer) the plan holds; reported to V8. */
  scratchBytes: number;
  fastfoodSizes: number[];
  /** Fastfood sizes whose tables were supplied by the descriptor rather than generated. */
  fastfoodFromFile: number[];
  shuffle: boolean;
  shuffleFromFile: boolean;
}

export interface NativeFastfoodTable {
  signs: Float32Array;
  perm: Int32Array;
  gaussians: Float32Array;
  /** Σ Gv[i]² in double. */
  gaussianSumSq: number;
}

/**
 * What NativePlan and CudaNativePlan share, and all an engine needs of them
 * (src/engines/compiledPlanEngine.ts).
 */
export interface CompiledPlan {
  readonly deltaSize: number;
  readonly numParams: number;
  readonly disposed: boolean;
  /** out (deltaSize values) = ΔW_all for params (numParams values), on this thread. */
  forward(params: Float32Array, out: Float32Array): void;
  /** dParams (numParams values, all overwritten) = dL/dparams for dOut = dL/dΔW_all. */
  backward(params: Float32Array, dOut: Float32Array, dParams: Float32Array): void;
  /**
   * forward on the libuv pool; the arrays are kept alive until it settles and must not be
   * changed (or transferred) meanwhile. Rejects when the plan is disposed before it runs.
   */
  forwardAsync(params: Float32Array, out: Float32Array): Promise<void>;
  backwardAsync(params: Float32Array, dOut: Float32Array, dParams: Float32Array): Promise<void>;
  /** Frees tables and scratch now (waiting for a running call); idempotent. */
  dispose(): void;
}

/**
 * A plan compiled into the addon (DESIGN.md "Native boundary"): it owns its tables and scratch;
 * forward and backward write into caller-owned arrays without copies. Calls on one plan are
 * serialised, so concurrent async calls are safe. Every method throws TypeError / RangeError
 * naming the argument (wrong type, wrong length, detached buffer, an output overlapping an input)
 * and Error "plan disposed" after dispose().
 */
export interface NativePlan extends CompiledPlan {
  info(): NativePlanInfo;
  /** Copies of the fastfood table for size L. @throws RangeError when the plan has no such L. */
  fastfoodTable(size: number): NativeFastfoodTable;
  /** A copy of σ. @throws Error when the plan has no shuffle. */
  shuffleTable(): Int32Array;
}

export type NativePlanConstructor = new (descriptor: NativePlanDescriptor) => NativePlan;

/** What a CudaNativePlan holds, for tests, diagnostics and benchmarks. */
export interface CudaNativePlanInfo {
  deltaSize: number;
  numParams: number;
  /** Bytes of device memory the plan holds (parameters, ΔW_all, gradients, tables, scratch). */
  deviceBytes: number;
  /**
   * Kernel launches of the last forward or backward: a function of the config (order, splits,
   * core, projection) only, never of the number of groups or targets (see cuda/plan.cuh).
   */
  launches: number;
  /** log2 of the FWHT tile held in shared memory on this device (15 on sm_80 / sm_90). */
  fwhtLogTile: number;
  /**
   * Consecutive ΔW values each thread of the forward's GenerateKernel computes: 4, or 8 when the
   * plan was built with SUPERLORA_CUDA_VALUES_PER_THREAD=8 (a tuning knob; ΔW is the same bit for
   * bit either way).
   */
  valuesPerThread: number;
  /**
   * The kernels of the last forward or backward, in launch order, with the milliseconds between
   * the events recorded around each while profiling was on (`setProfiling(true)`), else null.
   */
  kernels: { name: string; milliseconds: number | null }[];
}

/**
 * A plan compiled for the first CUDA device (cuda/plan.cuh): the CUDA twin of NativePlan, built
 * from the same descriptor. Parameters, ΔW_all, gradients, tables and scratch live on the device.
 * `forward` / `backward` (and their Promise forms) copy host arrays in, run and copy out. For
 * repeated steps the device-resident calls avoid copies that are not needed:
 * `setParams` → `runForward` → `readDelta`, and `setDeltaGradient` → `runBackward` →
 * `readParamsGradient` (runBackward uses the parameters last set). Calls are serialised; argument
 * errors are TypeError / RangeError naming the argument, CUDA failures are Errors carrying the CUDA
 * runtime's message, and every call after dispose() throws Error "plan disposed".
 */
export interface CudaNativePlan extends CompiledPlan {
  /** Host → device parameters (numParams values). */
  setParams(params: Float32Array): void;
  /** ΔW_all on the device from the device parameters. */
  runForward(): void;
  /** Device ΔW_all → out (deltaSize values). */
  readDelta(out: Float32Array): void;
  /** Host → device dL/dΔW_all (deltaSize values). */
  setDeltaGradient(dOut: Float32Array): void;
  /** dL/dparams on the device from the device parameters and dL/dΔW_all. */
  runBackward(): void;
  /** Device dL/dparams → dParams (numParams values). */
  readParamsGradient(dParams: Float32Array): void;
  info(): CudaNativePlanInfo;
  /** Times each kernel of later runs with CUDA events (info().kernels); off by default. */
  setProfiling(enabled: boolean): void;
}

/**
 * Every build exports it; without CUDA compiled in (or without a usable device) `new` throws an
 * Error that says why.
 */
export type CudaNativePlanConstructor = new (descriptor: NativePlanDescriptor) => CudaNativePlan;

/** The device's memory bandwidths in bytes per second (best of `repeats`). */
export interface CudaBandwidth {
  bytes: number;
  repeats: number;
  /** Device → device copy, counting the read and the write. */
  copyBytesPerSecond: number;
  /** cudaMemset, bytes written. */
  fillBytesPerSecond: number;
  /** From / to pageable host memory (what the host-array calls do), up to 256 MiB. */
  hostToDeviceBytesPerSecond: number;
  deviceToHostBytesPerSecond: number;
}

export interface Addon {
  /** The package version the binary was built from. */
  version(): string;
  /** What this binary and this machine can do. The CUDA part is queried once per process. */
  capabilities(): Capabilities;
  /**
   * In-place unnormalised Walsh–Hadamard transform (Sylvester order) of each of the
   * data.length / size consecutive rows of data, on the CPU (the thread pool for large inputs).
   * `isa` picks the instruction-set path, lowered to what the CPU supports (tests, benchmarks);
   * default: the active one.
   * @throws TypeError when data is not a Float32Array (or its buffer is detached), size is not
   *   a number or isa is not a string; RangeError when size is not a power of two or does not
   *   divide data.length, or isa is not a known name.
   */
  fwht(data: Float32Array, size: number, isa?: IsaName): void;
  /**
   * Test hook for the fused fastfood projection of SPEC §7 (native/kernels/fastfood.h), with the
   * tables passed in (B = signs, π = perm, Gv = gaussians, all of length L, a power of two):
   * y = scale · F(z), i.e. y[0 .. n) = scale · (H (Gv ⊙ (H (B ⊙ z padded to L))[π]))[0 .. n) /
   * sqrt(n · Σ Gv²), for 1 ≤ m ≤ n and L/2 < n ≤ L, with z.length = m and y.length = n.
   * `isa` as in fwht.
   * @throws TypeError when an array has the wrong type or is detached, or a size or scale is not
   *   a number; RangeError when signs.length is not a power of two, perm or gaussians does not
   *   have its length, perm is not a permutation of [0, L), m or n is out of range, z or y does
   *   not have its length, scale is not finite, or isa is not a known name.
   */
  fastfoodForward(
    signs: Float32Array,
    perm: Int32Array,
    gaussians: Float32Array,
    z: Float32Array,
    m: number,
    n: number,
    scale: number,
    y: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * The transpose of fastfoodForward: dz = scale · Fᵀ dy with dy.length = n and dz.length = m
   * (overwritten). Same tables, ranges and errors.
   */
  fastfoodBackward(
    signs: Float32Array,
    perm: Int32Array,
    gaussians: Float32Array,
    dy: Float32Array,
    n: number,
    m: number,
    scale: number,
    dz: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * The same transform on the first CUDA device (copies in, transforms, copies back).
   * @throws Error when the binary was compiled without CUDA, when no device is usable, or with
   *   the CUDA runtime's message when a CUDA call fails; TypeError / RangeError as fwht.
   */
  cudaFwht(data: Float32Array, size: number): void;
  /**
   * Measures the first CUDA device's copy and fill bandwidth with buffers of `bytes` (default
   * 1 GiB, lowered to a quarter of the free memory), best of `repeats` (default 5).
   * @throws Error when the binary was compiled without CUDA or no device is usable;
   *   TypeError / RangeError for a bad argument.
   */
  cudaMeasureBandwidth(bytes?: number, repeats?: number): CudaBandwidth;
  /**
   * Threads the CPU kernels' process-wide pool uses from the next call on (the caller counts as
   * one). Waits for a running kernel. Default: SUPERLORA_NUM_THREADS (applied by loadAddon), else
   * the hardware threads.
   * @throws TypeError when threads is not a number; RangeError unless an integer in [1, 1024].
   */
  setThreads(threads: number): void;
  /** Threads the CPU kernels' pool uses. */
  getThreads(): number;
  /**
   * How long, in microseconds, the pool's threads spin before they sleep: a helper after a job,
   * watching for the next, and the caller watching for its helpers to finish. Back-to-back kernels
   * (a training step) then skip two system calls and a wake-up each; 0 sleeps at once. A pool
   * set to more threads than the hardware has never spins. Default: SUPERLORA_POOL_SPIN_US
   * (applied by loadAddon), else 200.
   * @throws TypeError when microseconds is not a number; RangeError unless an integer in
   *   [0, 1 000 000].
   */
  setSpinMicroseconds(microseconds: number): void;
  /** How long the pool's threads spin before they sleep, in microseconds. */
  getSpinMicroseconds(): number;
  /**
   * Write bandwidth: std::memset over a 64-byte aligned buffer of `bytes`, split over `threads`
   * threads that each first-touch their slice. Synchronous: it measures the whole machine, so it
   * blocks (about a second for 64 MiB, mostly page faults of the first touch).
   * @throws TypeError when an argument is not a number; RangeError when bytes is not an integer
   *   in [1, a quarter of physical memory] or threads is not an integer in [1, 1024].
   */
  measureFill(bytes: number, threads: number): BandwidthMeasurement;
  /** Copy bandwidth: std::memcpy between two such buffers of `bytes` each. Checks as measureFill. */
  measureMemcpy(bytes: number, threads: number): BandwidthMeasurement;
  /**
   * Peak FMA throughput of `threads` threads at the widest instruction set allowed here
   * (SUPERLORA_ISA can lower it). Synchronous; a fraction of a second.
   * @throws TypeError / RangeError unless threads is an integer in [1, 1024].
   */
  measureFmaPeak(threads: number): PeakMeasurement;
  /** Peak add throughput, measured like measureFmaPeak (an add is 1 FLOP). */
  measureAddPeak(threads: number): PeakMeasurement;
  /**
   * Batched single-precision GEMM on the CPU thread pool, into a caller-owned array:
   * out matrix i (of options.batch, each m × n) = act(alpha · op(A_{i mod batchA}) ·
   * op(B_{i mod batchB}) + bias_i), all matrices row-major and contiguous. The modulo indexing is
   * tfjs BatchMatMul's broadcast of the flattened batch dimensions.
   * @throws TypeError when an array is not a Float32Array (or is detached) or an option has the
   *   wrong type; RangeError when a size or stride is not an integer in range, an array's length
   *   does not match the sizes, or out overlaps an input.
   */
  gemm(a: Float32Array, b: Float32Array, out: Float32Array, options: GemmOptions): void;
  /**
   * out[i] = op(x[i]) on the CPU (x and out may be the same array). Float32-exact operations
   * (neg, abs, square, relu, reciprocal) are bit-identical to tfjs's cpu kernels; sqrt, rsqrt,
   * exp, erf (tfjs's Abramowitz–Stegun formula) and sigmoid are evaluated in double and rounded
   * once, as tfjs's Math.* calls are.
   * @throws TypeError / RangeError for a wrong op name, array or length, or a partial overlap.
   */
  unaryOp(op: UnaryOpName, x: Float32Array, out: Float32Array, isa?: IsaName): void;
  /**
   * out = op(a, b) with NumPy / tfjs broadcasting of aShape against bShape; out has the broadcast
   * shape. Bit-identical to tfjs's cpu kernels (squaredDifference and pow: in double, as tfjs;
   * pow with JavaScript's Math.pow special cases).
   * @throws RangeError when the shapes do not broadcast or a length does not match its shape.
   */
  binaryOp(
    op: BinaryOpName,
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * Mean's gradient: dy (dyShape, xShape's rank with 1 on the averaged axes) broadcast to xShape
   * and divided by count in float32, tfjs's gradient bit for bit.
   */
  meanBackward(
    dy: Float32Array,
    dyShape: number[],
    xShape: number[],
    count: number,
    out: Float32Array,
  ): void;
  /**
   * x viewed as [outer, size, inner] (size ≥ 1) reduced over its middle axis into out
   * [outer, inner]: sums in double; mean as tfjs (Σ of x / size rounded to float32 each); max and
   * min NaN-propagating, keeping the first of equal elements.
   */
  reduceOp(
    op: ReduceOpName,
    x: Float32Array,
    out: Float32Array,
    outer: number,
    size: number,
    inner: number,
    isa?: IsaName,
  ): void;
  /** out = x (of `shape`) with dimension d of out being dimension perm[d] of x. */
  transpose(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  /** Softmax over the last axis of x [rows, cols], as tfjs's cpu Softmax kernel composes it. */
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number, isa?: IsaName): void;
  /**
   * LayerNorm over the last axis of x [rows, width] (rows = mean.length, width = gamma.length), as
   * PyTorch's nn.LayerNorm (biased variance, eps inside the square root; statistics in double):
   * y = (x − mean) · rstd · gamma + beta, with each row's mean and rstd = 1/√(var + eps) written
   * for the backward (native/ops/fused_ops.h).
   * @throws TypeError / RangeError for a wrong array, length or eps, or an output overlapping an
   *   input.
   */
  layerNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
  ): void;
  /** dx of layerNorm for the upstream gradient dy, from its saved mean and rstd. */
  layerNormInputGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
  ): void;
  /** dgamma = Σ_rows dy · (x − mean) · rstd of layerNorm (width = dgamma.length). */
  layerNormGammaGrad(
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dgamma: Float32Array,
  ): void;
  /**
   * The exact GELU y = ½x(1 + erf(x/√2)), as the ViT composes it from tfjs ops on the native
   * kernels, bit for bit. y may be x.
   */
  gelu(x: Float32Array, y: Float32Array, isa?: IsaName): void;
  /** dx = dy · GELU′(x). dx may be dy or x. */
  geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, isa?: IsaName): void;
  /**
   * The gradient of softmax over the last axis, from its output y [rows, cols]:
   * dx = y · (dy − Σ_cols dy · y), the row sum in double. dx may be dy.
   */
  softmaxBackward(
    dy: Float32Array,
    y: Float32Array,
    dx: Float32Array,
    rows: number,
    cols: number,
  ): void;
  /**
   * Multi-head attention without dropout on q, k, v [batch·tokens, heads·headSize] (the
   * projections' layout, no head transposes): per batch and head, P = softmax((Q·scale) Kᵀ) by
   * rows into probs [batch·heads, tokens, tokens], and out = P V.
   * @throws RangeError for a length that does not match the shape, or outputs that overlap inputs.
   */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    batch: number,
    tokens: number,
    heads: number,
    headSize: number,
    scale: number,
    out: Float32Array,
    probs: Float32Array,
    isa?: IsaName,
  ): void;
  /** The gradients of attention for the upstream gradient dy of out, from its probs. */
  attentionBackward(
    dy: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    probs: Float32Array,
    batch: number,
    tokens: number,
    heads: number,
    headSize: number,
    scale: number,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * 2-D convolution of NHWC x [batch, inH, inW, inC] with filter [fh, fw, inC, outC] into out
   * [batch, outH, outW, outC], + bias [outC] (or null), then activation 0 linear / 1 relu.
   * geometry: the 15 integers of src/tfjs/kernels/convGeometry.ts's geometryArray.
   * @throws TypeError / RangeError naming the argument: a length that does not match the
   *   geometry, a non-integer or out-of-range geometry value, an output that overlaps an input.
   */
  conv2d(
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    geometry: Float64Array,
    activation: 0 | 1,
  ): void;
  /** dx [batch, inH, inW, inC] of conv2d for the upstream gradient dy [batch, outH, outW, outC]. */
  conv2dBackpropInput(
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    geometry: Float64Array,
  ): void;
  /**
   * dfilter [fh, fw, inC, outC] of conv2d for dy, summed over pixels in a fixed order (the same
   * floats whatever the thread count).
   */
  conv2dBackpropFilter(
    x: Float32Array,
    dy: Float32Array,
    dfilter: Float32Array,
    geometry: Float64Array,
  ): void;
  /**
   * 2-D max pooling of NHWC x into out, tfjs's semantics (each window's first strictly greatest
   * element, from −∞; NaN never chosen); geometry as conv2d's with outChannels = inChannels.
   */
  maxPool(x: Float32Array, out: Float32Array, geometry: Float64Array): void;
  /** dx of maxPool: each window's dy added at its maximum's input element. */
  maxPoolBackward(
    dy: Float32Array,
    x: Float32Array,
    dx: Float32Array,
    geometry: Float64Array,
  ): void;
  /** Average pooling over each window's inside taps (summed in double), as tfjs's AvgPool. */
  avgPool(x: Float32Array, out: Float32Array, geometry: Float64Array): void;
  /**
   * dx of avgPool as tfjs's AvgPoolGrad computes it: Σ over the windows holding an element of dy,
   * times 1 / (filterHeight · filterWidth) (not the forward's inside-tap count at the borders).
   */
  avgPoolBackward(dy: Float32Array, dx: Float32Array, geometry: Float64Array): void;
  /**
   * Depthwise 2-D convolution (tf.depthwiseConv2d) of NHWC x [batch, inH, inW, inC] with filter
   * [fh, fw, inC, multiplier] into out [batch, outH, outW, inC · multiplier], + bias
   * [outChannels] (or null), then activation 0 linear / 1 relu; geometry as conv2d's with
   * outChannels = inC · multiplier.
   */
  depthwiseConv2d(
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    geometry: Float64Array,
    activation: 0 | 1,
  ): void;
  /** dx of depthwiseConv2d for the upstream gradient dy. */
  depthwiseConv2dBackpropInput(
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    geometry: Float64Array,
  ): void;
  /** dfilter of depthwiseConv2d for dy, summed in a fixed order (the same on any thread count). */
  depthwiseConv2dBackpropFilter(
    x: Float32Array,
    dy: Float32Array,
    dfilter: Float32Array,
    geometry: Float64Array,
  ): void;
  /**
   * out[i] = a[i] op b[i] ? 1 : 0 (tfjs's bool), JavaScript's comparisons; a and b have out's
   * length or one element (which broadcasts).
   */
  compare(
    op: 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual',
    a: Float32Array,
    b: Float32Array,
    out: Uint8Array,
  ): void;
  /** out[i] = a[i] && b[i] of bool bytes; a and b have out's length or one element. */
  logicalAnd(a: Uint8Array, b: Uint8Array, out: Uint8Array): void;
  /** out[i] = condition[i] === 1 ? a[i] : b[i]; every array of out's length. */
  select(condition: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** tfjs's ClipByValue: x > max ? max : x < min ? min : x (NaN stays). out may be x. */
  clipByValue(x: Float32Array, min: number, max: number, out: Float32Array): void;
  /**
   * tfjs's ClipByValue gradient: out[i] = min ≤ x[i] ≤ max ? dy[i] : 0, min and max rounded to
   * float32. out may be dy.
   */
  clipByValueBackward(
    x: Float32Array,
    dy: Float32Array,
    min: number,
    max: number,
    out: Float32Array,
  ): void;
  /** tfjs's Relu gradient dy · step(x) (NaN where x is NaN). out may be dy. */
  reluBackward(x: Float32Array, dy: Float32Array, out: Float32Array): void;
  /**
   * tfjs's FusedBatchNorm over x's last axis of `channels`: out = offset + (x − mean) · scale /
   * √(variance + epsilon) in double, rounded to float32. Each parameter has `channels` values or
   * one; scale null means 1, offset null 0. out may be x.
   */
  batchNorm(
    x: Float32Array,
    channels: number,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    epsilon: number,
    out: Float32Array,
  ): void;
  /**
   * FusedBatchNorm's gradient for x: dx = dy · r · scale with r = 1/√(variance + epsilon) rounded
   * as tfjs rounds it, in tfjs's float32 order (its gradient bit for bit). variance and scale have
   * `channels` values; scale null means 1.
   */
  batchNormInputBackward(
    dy: Float32Array,
    channels: number,
    variance: Float32Array,
    scale: Float32Array | null,
    epsilon: number,
    dx: Float32Array,
  ): void;
  /**
   * FusedBatchNorm's gradients for mean, variance, scale and offset, `channels` values each, in
   * out [4 · channels]: −r·s·Σdy, −½r³·s·Σ(x − mean)·dy, r·Σ(x − mean)·dy and Σdy over the rows,
   * summed in double, the same on any thread count.
   */
  batchNormParamsBackward(
    x: Float32Array,
    dy: Float32Array,
    channels: number,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    epsilon: number,
    out: Float32Array,
  ): void;
  /**
   * Copies the box of extent `size` at srcBegin of src (row-major, srcShape) to dstBegin of dst
   * (dstShape): slices, pads and concatenations.
   * @throws RangeError when the ranks differ, the box does not fit, a length does not match its
   *   shape, or dst overlaps src.
   */
  copyBox(
    src: Float32Array,
    srcShape: number[],
    srcBegin: number[],
    dst: Float32Array,
    dstShape: number[],
    dstBegin: number[],
    size: number[],
  ): void;
  /**
   * Sets glibc malloc's mmap and trim thresholds (mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) in
   * bytes, so that the tfjs cpu backend's many short-lived output buffers reuse heap pages instead
   * of being mapped, faulted in and unmapped each time.
   * @returns whether glibc accepted both (false on other C libraries, where nothing changes).
   * @throws RangeError unless mmapThreshold is an integer in [0, 32 MiB] and trimThreshold in
   *   [0, 2³¹ − 1].
   */
  tuneAllocator?(mmapThreshold: number, trimThreshold: number): boolean;
  /**
   * Eigen-decomposition of a symmetric [n, n] matrix (lower triangle read) in double, as
   * src/linalg/symmetricEigen.ts computes it: values largest first, row i of `vectors` the unit
   * eigenvector of values[i]. Absent from binaries built before it.
   * The matrix is scaled by a power of two first, so entries near the double range cannot
   * overflow.
   * @throws TypeError / RangeError for a wrong type, size or a non-finite entry (and, never seen, a
   *   QR iteration that does not converge).
   */
  symmetricEigen?(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array };
  /** MᵀM ([cols, cols]) when byColumns, else M Mᵀ ([rows, rows]), of row-major M, in double. */
  gramMatrix?(matrix: Float32Array, rows: number, cols: number, byColumns: boolean): Float64Array;
  /**
   * The Gram matrix of M's smaller side (side = min(rows, cols)) and its eigen-decomposition:
   * values [side] largest first, vectors [side, side] by rows; the Gram matrix stays native.
   * @throws TypeError / RangeError for a wrong type or size or a non-finite entry.
   */
  gramSpectrum?(
    matrix: Float32Array,
    rows: number,
    cols: number,
    values: Float64Array,
    vectors: Float64Array,
  ): void;
  /**
   * gramSpectrum on the libuv pool. The arrays are checked before it starts and must not be
   * touched until it settles.
   * @throws TypeError / RangeError (synchronously) for a wrong type or size or a non-finite entry.
   */
  gramSpectrumAsync?(
    matrix: Float32Array,
    rows: number,
    cols: number,
    values: Float64Array,
    vectors: Float64Array,
  ): Promise<void>;
  /** Compiles a plan descriptor (src/native/planDescriptor.ts) into a native plan. */
  NativePlan: NativePlanConstructor;
  /** Compiles a plan descriptor into a plan on the first CUDA device (CUDA builds only). */
  CudaNativePlan: CudaNativePlanConstructor;
  /** Test hook: the first `count` draws of the SplitMix64 stream (seed, tag) of SPEC §9. */
  nativeDraws(seed: number, tag: number, count: number): BigUint64Array;
  /** Test hook: B, π and Gv of SPEC §9 for fastfood size `size`, generated by native/rng.h. */
  nativeTables(
    seed: number,
    size: number,
  ): { signs: Float32Array; perm: Int32Array; gaussians: Float32Array };
  /** Test hook: the seeded permutation of SPEC §9 (tag 2: π, tag 4: σ), by native/rng.h. */
  nativePermutation(seed: number, tag: number, length: number): Int32Array;
  /**
   * Test hook for the streaming rank-r product T = A · Y (native/kernels/lowrank.h), with A
   * [rows × rank] and Y [rank × cols] row-major: out[e − begin] = scale · T[e] for begin ≤ e < end
   * (flat, row-major). begin must be a multiple of cols; end may cut a row.
   * @throws TypeError / RangeError naming the argument: arrays too short for the range, begin not
   *   on a row, end < begin, non-integer sizes, a non-finite scale, an unknown isa.
   */
  lowRankForward(
    a: Float32Array,
    y: Float32Array,
    cols: number,
    rank: number,
    scale: number,
    begin: number,
    end: number,
    out: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * Backward of lowRankForward for the same range, dOut[e − begin] = dL/dT[e]: overwrites the
   * rows of dA that the range touches (ceil(end / cols) rows of rank values) with
   * scale · dOut · Yᵀ and adds scale · Aᵀ · dOut to dY [rank × cols].
   */
  lowRankBackward(
    a: Float32Array,
    y: Float32Array,
    dOut: Float32Array,
    cols: number,
    rank: number,
    scale: number,
    begin: number,
    end: number,
    dA: Float32Array,
    dY: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * Test hook for the Kronecker materialisation of SPEC §6 (native/kernels/kron.h):
   * out[e − begin] = scale · (T_0 ⊗ … ⊗ T_{K−1})[e] for begin ≤ e < end, with
   * K = tensors.length ≤ 64, dims[k · order + m] the size of mode m of tensors[k] (order ≤ 64).
   */
  kronForward(
    tensors: Float32Array[],
    dims: number[],
    order: number,
    scale: number,
    begin: number,
    end: number,
    out: Float32Array,
    isa?: IsaName,
  ): void;
  /**
   * Backward of kronForward for the same range, dOut[e − begin] = dL/dT[e] (the rest of T has
   * zero gradient): adds scale · dL/dT_k to grads[k] for every split.
   */
  kronBackward(
    tensors: Float32Array[],
    dims: number[],
    order: number,
    dOut: Float32Array,
    scale: number,
    begin: number,
    end: number,
    grads: Float32Array[],
    isa?: IsaName,
  ): void;
}
