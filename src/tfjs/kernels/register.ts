/**
 * Native kernels for tfjs's cpu backend: registerNativeKernels() replaces tfjs's own cpu kernels
 * for the operations listed here with ones that run in the superlora addon (saving tfjs's, so
 * that unregisterNativeKernels() puts them back), and adds the ViT's fused LayerNorm, GELU and row
 * softmax and Linear (src/vit/fusedOps.ts), which tfjs does not have, and the one-pass gradients of
 * Relu, ClipByValue, FusedBatchNorm and Mean (./nativeGradients.ts). Each native kernel computes exactly what
 * tfjs's kernel computes for the cases it claims (up to float32 rounding: sums run in a
 * different order) and hands every other case to tfjs's kernel. The registry is per process
 * and shared by every tfjs user in it; other backends (wasm, tensorflow) are not touched.
 *
 * Switched off per process with SUPERLORA_NATIVE_KERNELS=0, or at run time with
 * unregisterNativeKernels().
 */
import * as tf from '@tensorflow/tfjs';
import { AddonLoadError, loadAddon } from '../../native/loadAddon';
import { absConfig } from './abs';
import { addConfig } from './add';
import { batchMatMulConfig } from './batchMatMul';
import { batchNormConfig, batchNormInputGradConfig, batchNormParamsGradConfig } from './batchNorm';
import { concatConfig } from './concat';
import {
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  conv2dConfig,
  fusedConv2dConfig,
} from './conv2d';
import {
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  depthwiseConv2dConfig,
  fusedDepthwiseConv2dConfig,
} from './depthwiseConv2d';
import { erfConfig } from './erf';
import { expConfig } from './exp';
import { fusedMatMulConfig } from './fusedMatMul';
import { attentionConfig, attentionGradConfig } from './attention';
import { geluConfig, geluGradConfig } from './gelu';
import { linearConfig } from './linear';
import {
  clipByValueConfig,
  clipByValueGradConfig,
  equalConfig,
  greaterConfig,
  greaterEqualConfig,
  lessConfig,
  lessEqualConfig,
  logicalAndConfig,
  notEqualConfig,
  reluGradConfig,
  selectConfig,
  zerosLikeConfig,
} from './maskKernels';
import { registerNativeGradients, restoreStockGradients } from './nativeGradients';
import { layerNormConfig, layerNormGammaGradConfig, layerNormInputGradConfig } from './layerNorm';
import { maxConfig } from './max';
import { avgPoolConfig, avgPoolGradConfig, maxPoolConfig, maxPoolGradConfig } from './pool2d';
import { maximumConfig } from './maximum';
import { meanConfig, meanGradConfig } from './mean';
import { minConfig } from './min';
import { minimumConfig } from './minimum';
import { multiplyConfig } from './multiply';
import { negConfig } from './neg';
import { padV2Config } from './padV2';
import { powConfig } from './pow';
import { realDivConfig } from './realDiv';
import { reciprocalConfig } from './reciprocal';
import { reluConfig } from './relu';
import { rowSoftmaxConfig, rowSoftmaxGradConfig } from './rowSoftmax';
import { rsqrtConfig } from './rsqrt';
import { sigmoidConfig } from './sigmoid';
import { sliceConfig } from './slice';
import { softmaxConfig } from './softmax';
import { splitVConfig } from './splitV';
import { sqrtConfig } from './sqrt';
import { squareConfig } from './square';
import { squaredDifferenceConfig } from './squaredDifference';
import { stepConfig } from './step';
import { subConfig } from './sub';
import { sumConfig } from './sum';
import { tileConfig } from './tile';
import { transposeConfig } from './transpose';
import { clearOutputPool, configureOutputPool } from './outputPool';
import { CPU_BACKEND, saveStockKernel, takeStockKernel } from './stockKernels';

/** Every native kernel, one KernelConfig per file. */
export const nativeKernelConfigs: readonly tf.KernelConfig[] = [
  absConfig,
  addConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  attentionConfig,
  attentionGradConfig,
  batchMatMulConfig,
  batchNormConfig,
  batchNormInputGradConfig,
  batchNormParamsGradConfig,
  clipByValueConfig,
  clipByValueGradConfig,
  concatConfig,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  conv2dConfig,
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  depthwiseConv2dConfig,
  equalConfig,
  erfConfig,
  expConfig,
  fusedConv2dConfig,
  fusedDepthwiseConv2dConfig,
  fusedMatMulConfig,
  geluConfig,
  geluGradConfig,
  greaterConfig,
  greaterEqualConfig,
  layerNormConfig,
  layerNormGammaGradConfig,
  layerNormInputGradConfig,
  lessConfig,
  lessEqualConfig,
  linearConfig,
  logicalAndConfig,
  maxConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  maximumConfig,
  meanConfig,
  meanGradConfig,
  minConfig,
  minimumConfig,
  multiplyConfig,
  negConfig,
  notEqualConfig,
  padV2Config,
  powConfig,
  realDivConfig,
  reciprocalConfig,
  reluConfig,
  reluGradConfig,
  rowSoftmaxConfig,
  rowSoftmaxGradConfig,
  rsqrtConfig,
  selectConfig,
  sigmoidConfig,
  sliceConfig,
  softmaxConfig,
  splitVConfig,
  sqrtConfig,
  squareConfig,
  squaredDifferenceConfig,
  stepConfig,
  subConfig,
  sumConfig,
  tileConfig,
  transposeConfig,
  zerosLikeConfig,
];

/** What the kernels call in the addon; a binary without them keeps tfjs's kernels. */
const NATIVE_FUNCTIONS = [
  'gemm',
  'unaryOp',
  'binaryOp',
  'reduceOp',
  'transpose',
  'softmax',
  'copyBox',
  'layerNorm',
  'layerNormInputGrad',
  'layerNormGammaGrad',
  'gelu',
  'geluBackward',
  'softmaxBackward',
  'attention',
  'attentionBackward',
  'conv2d',
  'conv2dBackpropInput',
  'conv2dBackpropFilter',
  'depthwiseConv2d',
  'depthwiseConv2dBackpropInput',
  'depthwiseConv2dBackpropFilter',
  'maxPool',
  'maxPoolBackward',
  'avgPool',
  'avgPoolBackward',
  'compare',
  'logicalAnd',
  'select',
  'clipByValue',
  'clipByValueBackward',
  'reluBackward',
  'batchNorm',
  'batchNormInputBackward',
  'batchNormParamsBackward',
  'meanBackward',
] as const;

let registered = false;

/**
 * Blocks up to 32 MiB (glibc's ceiling) come from the heap, and up to 256 MiB of freed heap stays
 * mapped: a training step's kernel outputs then reuse warm pages. Measured on the main job's
 * model, 150 steps, two interleaved rounds: 1 756 / 1 916 → 1 772 / 2 013 images/s from the npm
 * dataset, 1 290 / 1 115 → 1 813 / 1 978 after decoding an image folder (whose allocations had left
 * glibc's self-adjusted thresholds faulting pages in every step).
 */
const MMAP_THRESHOLD = 32 << 20;
const TRIM_THRESHOLD = 256 << 20;
let allocatorTunedNow = false;

export interface RegisterNativeKernelsOptions {
  /** Environment to read SUPERLORA_NATIVE_KERNELS from; process.env by default. */
  env?: Record<string, string | undefined>;
}

/** Why the native kernels are not registered ('not registered yet', ...), or null when they are. */
export type NativeKernelsStatus = string | null;

let lastStatus: NativeKernelsStatus = 'not registered yet';

/**
 * Registers the native kernels for the cpu backend, unless SUPERLORA_NATIVE_KERNELS=0 or the addon
 * does not load (then tfjs's own kernels stay, and nativeKernelsStatus() says why). Idempotent.
 * @returns whether the native kernels are registered.
 * @throws AddonEnvironmentError when a SUPERLORA_* setting of the addon is malformed.
 */
export function registerNativeKernels(options: RegisterNativeKernelsOptions = {}): boolean {
  if (registered) return true;
  const env = options.env ?? process.env;
  configureOutputPool(env);
  if (env['SUPERLORA_NATIVE_KERNELS'] === '0') {
    lastStatus = 'disabled by SUPERLORA_NATIVE_KERNELS=0';
    return false;
  }
  // Only a binary that does not load falls back to tfjs's kernels, and only when the user did not
  // choose it (SUPERLORA_BINARY / SUPERLORA_BUILD); anything else (a malformed SUPERLORA_* setting)
  // is the caller's to see.
  let addon: ReturnType<typeof loadAddon>;
  try {
    addon = loadAddon();
  } catch (error) {
    if (!(error instanceof AddonLoadError) || error.requestedBy !== undefined) throw error;
    lastStatus = `addon unavailable: ${error.message.split('\n')[0] ?? ''}`;
    return false;
  }
  const missing = NATIVE_FUNCTIONS.filter((name) => typeof addon[name] !== 'function');
  if (missing.length > 0) {
    lastStatus = `addon unavailable: the binary predates the native kernels (it lacks ${missing.join(', ')})`;
    return false;
  }
  allocatorTunedNow =
    env['SUPERLORA_MALLOC_TUNING'] !== '0' &&
    (addon.tuneAllocator?.(MMAP_THRESHOLD, TRIM_THRESHOLD) ?? false);
  for (const config of nativeKernelConfigs) {
    const stock = tf.getKernel(config.kernelName, CPU_BACKEND) as tf.KernelConfig | undefined;
    if (stock !== undefined) {
      saveStockKernel(stock);
      tf.unregisterKernel(config.kernelName, CPU_BACKEND);
    }
    tf.registerKernel(config);
  }
  registerNativeGradients();
  registered = true;
  lastStatus = null;
  return true;
}

/** Puts tfjs's own cpu kernels back. Idempotent. */
export function unregisterNativeKernels(): void {
  if (!registered) return;
  for (const config of nativeKernelConfigs) {
    tf.unregisterKernel(config.kernelName, CPU_BACKEND);
    const stock = takeStockKernel(config.kernelName);
    if (stock !== undefined) tf.registerKernel(stock);
  }
  restoreStockGradients();
  clearOutputPool();
  registered = false;
  lastStatus = 'unregistered by unregisterNativeKernels()';
}

/**
 * Whether registerNativeKernels() raised glibc malloc's mmap and trim thresholds (not with
 * SUPERLORA_MALLOC_TUNING=0, nor on other C libraries).
 */
export function allocatorTuned(): boolean {
  return allocatorTunedNow;
}

/** Whether the native kernels are registered now. */
export function nativeKernelsRegistered(): boolean {
  return registered;
}

/** null when registered; otherwise why the last registerNativeKernels() call did not register. */
export function nativeKernelsStatus(): NativeKernelsStatus {
  return lastStatus;
}
