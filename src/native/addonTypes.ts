/**
 * The native addon's whole surface, typed in one place. It mirrors what native/addon.cc
 * registers; nothing outside src/native/ touches the addon except through these types.
 */

/** How the binary was built: node-gyp (binding.gyp, CPU only) or cmake-js (CMakeLists.txt). */
export type BuildVariant = 'node-gyp' | 'cmake-js';

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

export interface Addon {
  /** The package version the binary was built from. */
  version(): string;
  /** What this binary and this machine can do. The CUDA part is queried once per process. */
  capabilities(): Capabilities;
  /**
   * In-place unnormalised Walsh–Hadamard transform (Sylvester order) of each of the
   * data.length / size consecutive rows of data, on the CPU.
   * @throws TypeError when data is not a Float32Array (or its buffer is detached) or size is not
   *   a number; RangeError when size is not a power of two or does not divide data.length.
   */
  fwht(data: Float32Array, size: number): void;
  /**
   * The same transform on the first CUDA device (copies in, transforms, copies back).
   * @throws Error when the binary was compiled without CUDA, when no device is usable, or with
   *   the CUDA runtime's message when a CUDA call fails; TypeError / RangeError as fwht.
   */
  cudaFwht(data: Float32Array, size: number): void;
}
