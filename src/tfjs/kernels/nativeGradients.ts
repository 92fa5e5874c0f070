/**
 * Gradients of tfjs's own Relu, ClipByValue (ReLU6 is relu then a clip), FusedBatchNorm and Mean
 * as native kernels. tfjs-core composes each from tensor operations: ReLU6's backward was eight
 * kernels (step, cast, multiply; two comparisons, logicalAnd, zerosLike, select), batch norm's
 * about a dozen passes over the activations plus the broadcasts between them, together a third
 * of a MobileNet-style training step once the forward kernels were native; Mean's (a Layers batch
 * norm's moments, global average pooling, losses) a fill of ones, a broadcast multiply and a
 * divide. Here each is one pass (batch norm: one for x's gradient, one for the four parameters'
 * gradients, computed only when the backward pass asks for one of them).
 *
 * registerNativeGradients() replaces tfjs's registered gradient of each with one that runs the
 * native kernel when the active backend has it (the cpu backend with the native kernels
 * registered) and the case is one it claims, and tfjs's own gradient otherwise (another backend,
 * another dtype, parameters that broadcast) and while the backward pass is itself being recorded
 * (a gradient of a gradient: the native kernels have no gradients of their own, tfjs's composed
 * ones do); restoreStockGradients() puts tfjs's back. x's gradients are tfjs's bit for bit; the
 * parameters' are sums, accurate to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs';
import { backendHas } from '../../vit/fusedOps';

/** Input dy; attrs xShape, dyShape (1 on the averaged axes), count; output dy broadcast to xShape / count. */
export const MEAN_GRAD = 'SuperloraMeanGrad';
/** Inputs dy, x; output dy · step(x). */
export const RELU_GRAD = 'SuperloraReluGrad';
/** Inputs dy, x; attrs clipValueMin, clipValueMax; output dy where min ≤ x ≤ max, else 0. */
export const CLIP_BY_VALUE_GRAD = 'SuperloraClipByValueGrad';
/** Inputs dy, variance, scale (optional); attr varianceEpsilon; output dx = dy · scale / √(variance + ε). */
export const BATCH_NORM_INPUT_GRAD = 'SuperloraBatchNormInputGrad';
/**
 * Inputs x, dy, mean, variance, scale (optional); attr varianceEpsilon; output [4, channels]: the
 * gradients of mean, variance, scale and offset.
 */
export const BATCH_NORM_PARAMS_GRAD = 'SuperloraBatchNormParamsGrad';

type GradFunc = tf.GradConfig['gradFunc'];
type Gradients = ReturnType<GradFunc>;

const isFloat32 = (tensor: tf.Tensor | undefined): tensor is tf.Tensor =>
  tensor !== undefined && tensor !== null && tensor.dtype === 'float32';

const isBound = (value: unknown): value is number =>
  typeof value === 'number' && !Number.isNaN(value);

function singleDy(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(dy) ? (dy[0] as tf.Tensor) : dy;
}

/** dy · step(x) where the native kernel runs; null for tfjs's gradient. */
function reluGradients(dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Gradients | null {
  const dy = singleDy(dys);
  const [x] = saved;
  if (!backendHas(RELU_GRAD) || !isFloat32(dy) || !isFloat32(x) || dy.size !== x.size) return null;
  return { x: () => tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor };
}

function clipByValueGradients(
  dys: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Gradients | null {
  const dy = singleDy(dys);
  const [x] = saved;
  const { clipValueMin, clipValueMax } = attrs;
  if (
    !backendHas(CLIP_BY_VALUE_GRAD) ||
    !isFloat32(dy) ||
    !isFloat32(x) ||
    dy.size !== x.size ||
    !isBound(clipValueMin) ||
    !isBound(clipValueMax)
  ) {
    return null;
  }
  const attributes = { clipValueMin, clipValueMax };
  return {
    x: () => tf.engine().runKernel(CLIP_BY_VALUE_GRAD, { dy, x }, attributes) as tf.Tensor,
  };
}

function batchNormGradients(
  dys: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Gradients | null {
  const dy = singleDy(dys);
  const [x, mean, variance, scale] = saved;
  const { varianceEpsilon } = attrs;
  const channels = x?.shape.at(-1);
  const isChannelVector = (tensor: tf.Tensor | undefined): boolean =>
    isFloat32(tensor) && tensor.rank === 1 && tensor.shape[0] === channels;
  if (
    !backendHas(BATCH_NORM_INPUT_GRAD, BATCH_NORM_PARAMS_GRAD) ||
    !isFloat32(x) ||
    !isFloat32(dy) ||
    dy.size !== x.size ||
    channels === undefined ||
    channels === 0 ||
    !isChannelVector(mean) ||
    !isChannelVector(variance) ||
    (scale !== undefined && scale !== null && !isChannelVector(scale)) ||
    !isBound(varianceEpsilon)
  ) {
    return null;
  }
  const engine = tf.engine();
  const attributes = { varianceEpsilon };
  const scaleInput: tf.NamedTensorMap = scale === undefined || scale === null ? {} : { scale };
  // The four parameters' gradients come from one pass over x and dy, run by whichever of them the
  // backward pass asks for first. tfjs calls each input's gradient in a scope of its own that
  // disposes what it made, so the values are kept here and each becomes its own small tensor.
  let parameterValues: Float32Array | undefined;
  const parameterGradient = (index: number) => (): tf.Tensor => {
    if (parameterValues === undefined) {
      const all = engine.runKernel(
        BATCH_NORM_PARAMS_GRAD,
        {
          x,
          dy,
          mean: mean as tf.Tensor,
          variance: variance as tf.Tensor,
          ...scaleInput,
        },
        attributes,
      ) as tf.Tensor;
      parameterValues = all.dataSync() as Float32Array;
    }
    const values = parameterValues.slice(index * channels, (index + 1) * channels);
    return tf.tensor(values, [channels], 'float32');
  };
  return {
    x: () =>
      engine.runKernel(
        BATCH_NORM_INPUT_GRAD,
        { dy, variance: variance as tf.Tensor, ...scaleInput },
        attributes,
      ) as tf.Tensor,
    mean: parameterGradient(0),
    variance: parameterGradient(1),
    scale: parameterGradient(2),
    offset: parameterGradient(3),
  };
}

/** dy spread evenly over the averaged elements, in one pass; null for tfjs's gradient. */
function meanGradients(
  dys: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Gradients | null {
  const dy = singleDy(dys);
  const [x] = saved;
  if (!backendHas(MEAN_GRAD) || !isFloat32(dy) || x === undefined || x.rank === 0) return null;
  const axes = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
  const count = axes.reduce((product, axis) => product * (x.shape[axis] as number), 1);
  if (count === 0) return null;
  const dyShape = x.shape.map((dim, axis) => (axes.includes(axis) ? 1 : dim));
  const attributes = { xShape: x.shape, dyShape, count };
  return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy }, attributes) as tf.Tensor };
}

/** Each overridden kernel's native gradients, or null to leave the case to tfjs's gradient. */
const NATIVE_GRADIENTS: ReadonlyMap<
  string,
  (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Gradients | null
> = new Map([
  [tf.Mean, meanGradients],
  [tf.Relu, reluGradients],
  [tf.ClipByValue, clipByValueGradients],
  [tf.FusedBatchNorm, batchNormGradients],
]);

/** tfjs's gradients, saved while ours replace them. */
const stockGradients = new Map<string, tf.GradConfig>();

/**
 * Whether the operations run now are recorded for a gradient: inside tf.grad's function, and so
 * in the backward pass of a tf.grad nested in another.
 */
function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** Replaces tfjs's gradients of Relu, ClipByValue, FusedBatchNorm and Mean with ours. Idempotent. */
export function registerNativeGradients(): void {
  for (const [kernelName, nativeGradients] of NATIVE_GRADIENTS) {
    if (stockGradients.has(kernelName)) continue;
    const stock = tf.getGradient(kernelName);
    if (stock === undefined) continue;
    stockGradients.set(kernelName, stock);
    tf.registerGradient({
      ...stock,
      gradFunc: (dy, saved, attrs) =>
        (recordingGradients() ? null : nativeGradients(dy, saved, attrs)) ??
        stock.gradFunc(dy, saved, attrs),
    });
  }
}

/** Puts tfjs's own gradients back. Idempotent. */
export function restoreStockGradients(): void {
  for (const stock of stockGradients.values()) tf.registerGradient(stock);
  stockGradients.clear();
}
