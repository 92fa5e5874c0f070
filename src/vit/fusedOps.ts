/**
 * The ViT's Linear, LayerNorm, exact GELU, row softmax and attention core as single tfjs kernels,
 * by name. A backend that registers SuperloraLinear, SuperloraLayerNorm, SuperloraGelu,
 * SuperloraSoftmax and SuperloraAttention with their gradient kernels runs each as one kernel
 * forward and one or two backward: superlora's native cpu kernels do (src/tfjs/kernels/linear.ts,
 * layerNorm.ts, gelu.ts, rowSoftmax.ts and attention.ts). On any other backend layers.ts
 * composes them from tfjs ops (a LayerNorm is then about 11 kernels forward and 20 backward, each a
 * pass over memory and a fresh tensor). The gradients are registered here, for every backend, the
 * first time a fused kernel runs.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Inputs x [rows, width], gamma [width], beta [width]; attr eps; outputs y, mean [rows] and
 * rstd [rows].
 */
export const LAYER_NORM = 'SuperloraLayerNorm';
/** Inputs dy, x, gamma, mean, rstd; output dx. */
export const LAYER_NORM_INPUT_GRAD = 'SuperloraLayerNormInputGrad';
/** Inputs dy, x, mean, rstd; output dgamma [width]. */
export const LAYER_NORM_GAMMA_GRAD = 'SuperloraLayerNormGammaGrad';
/** Input x; output ½x(1 + erf(x/√2)). */
export const GELU = 'SuperloraGelu';
/** Inputs dy, x; output dy · GELU′(x). */
export const GELU_GRAD = 'SuperloraGeluGrad';
/** Input logits [rows, cols]; output the softmax of each row. */
export const SOFTMAX = 'SuperloraSoftmax';
/** Inputs dy, y (the softmax); output y · (dy − Σ_cols dy · y). */
export const SOFTMAX_GRAD = 'SuperloraSoftmaxGrad';

/**
 * Inputs q, k, v [batch·tokens, heads·headSize]; attrs tokens, heads, scale; outputs the attention
 * context [batch·tokens, heads·headSize] and the probabilities [batch·heads·tokens, tokens].
 */
export const ATTENTION = 'SuperloraAttention';
/** Inputs dy, q, k, v, probs; attrs as ATTENTION's; outputs dq, dk, dv. */
export const ATTENTION_GRAD = 'SuperloraAttentionGrad';

/**
 * Inputs x [rows, in], weight [out, in] (PyTorch's layout), bias [out]; output x·Wᵀ + b. Its
 * gradient computes only what the backward pass asks for: tf.fused.matMul's (a tf.customGrad)
 * computes the weight's and the bias's gradient even for frozen weights, which in fine-tuning is
 * every Linear but the adapted ones and the head.
 */
export const LINEAR = 'SuperloraLinear';

let gradientsRegistered = false;

function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  if (tf.getGradient(LINEAR) === undefined) {
    tf.registerGradient({
      kernelName: LINEAR,
      inputsToSave: ['x', 'weight'],
      gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor2D;
        const [x, weight] = saved as [tf.Tensor2D, tf.Tensor2D];
        return {
          x: () => tf.matMul(dy, weight),
          weight: () => tf.matMul(dy, x, true, false),
          bias: () => dy.sum(0),
        };
      },
    });
  }
  if (tf.getGradient(LAYER_NORM) === undefined) {
    tf.registerGradient({
      kernelName: LAYER_NORM,
      inputsToSave: ['x', 'gamma'],
      outputsToSave: [false, true, true],
      // mean and rstd are internal (fusedLayerNorm disposes them): only y's gradient flows.
      gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
        const [x, gamma, mean, rstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const engine = tf.engine();
        return {
          x: () =>
            engine.runKernel(LAYER_NORM_INPUT_GRAD, { dy, x, gamma, mean, rstd }) as tf.Tensor,
          gamma: () => engine.runKernel(LAYER_NORM_GAMMA_GRAD, { dy, x, mean, rstd }) as tf.Tensor,
          beta: () => dy.sum(0),
        };
      },
    });
  }
  if (tf.getGradient(GELU) === undefined) {
    tf.registerGradient({
      kernelName: GELU,
      inputsToSave: ['x'],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const x = saved[0] as tf.Tensor;
        return {
          x: () => tf.engine().runKernel(GELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor,
        };
      },
    });
  }
  if (tf.getGradient(SOFTMAX) === undefined) {
    tf.registerGradient({
      kernelName: SOFTMAX,
      outputsToSave: [true],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const y = saved[0] as tf.Tensor;
        return {
          logits: () =>
            tf.engine().runKernel(SOFTMAX_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor,
        };
      },
    });
  }
}

/** Whether the active backend has every one of the kernels (the native cpu kernels register them). */
export function backendHas(...kernelNames: string[]): boolean {
  const backend = tf.getBackend();
  return kernelNames.every((name) => tf.getKernel(name, backend) !== undefined);
}

/** nn.Linear, x [N, in] · weight [out, in]ᵀ + bias [out], by the fused kernel, or null without one. */
export function fusedLinear(
  x: tf.Tensor2D,
  weight: tf.Tensor,
  bias: tf.Tensor,
): tf.Tensor2D | null {
  if (!backendHas(LINEAR)) return null;
  registerGradients();
  return tf.engine().runKernel(LINEAR, { x, weight, bias }) as tf.Tensor2D;
}

/** nn.LayerNorm of x [N, D] by the fused kernel, or null when the active backend has none. */
export function fusedLayerNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): tf.Tensor2D | null {
  if (!backendHas(LAYER_NORM, LAYER_NORM_INPUT_GRAD, LAYER_NORM_GAMMA_GRAD)) return null;
  registerGradients();
  const [y, mean, rstd] = tf
    .engine()
    .runKernel(LAYER_NORM, { x, gamma, beta }, { eps }) as tf.Tensor[];
  // The tape keeps its own copies of the outputs it saves for the gradient.
  tf.dispose([mean as tf.Tensor, rstd as tf.Tensor]);
  return y as tf.Tensor2D;
}

/** The exact GELU of x by the fused kernel, or null when the active backend has none. */
export function fusedGelu<T extends tf.Tensor>(x: T): T | null {
  if (!backendHas(GELU, GELU_GRAD)) return null;
  registerGradients();
  return tf.engine().runKernel(GELU, { x }) as T;
}

/** The softmax of each row of logits [R, T] by the fused kernel, or null without one. */
export function fusedRowSoftmax(logits: tf.Tensor2D): tf.Tensor2D | null {
  if (!backendHas(SOFTMAX, SOFTMAX_GRAD)) return null;
  registerGradients();
  return tf.engine().runKernel(SOFTMAX, { logits }) as tf.Tensor2D;
}

/**
 * softmax(QKᵀ · scale)·V per head of q, k, v [B·T, heads·d] by the fused kernel (no dropout), as
 * [B·T, heads·d], or null when the active backend has none.
 */
export function fusedAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  tokens: number,
  heads: number,
  scale: number,
): tf.Tensor2D | null {
  if (!backendHas(ATTENTION, ATTENTION_GRAD)) return null;
  const attrs = { tokens, heads, scale };
  const engine = tf.engine();
  // A custom gradient rather than one registered for the kernel: the tape then sees one output.
  // With the kernel's two outputs on the tape, every backward pass materialised a zero gradient
  // for the probabilities (B·heads·T² floats per layer) that nothing uses.
  const attend = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [context, probs] = engine.runKernel(
      ATTENTION,
      { q: qIn, k: kIn, v: vIn },
      attrs,
    ) as tf.Tensor[];
    save([qIn, kIn, vIn, probs as tf.Tensor]);
    return {
      value: context as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sprobs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return engine.runKernel(
          ATTENTION_GRAD,
          { dy, q: sq, k: sk, v: sv, probs: sprobs },
          attrs,
        ) as tf.Tensor[];
      },
    };
  });
  return attend(q, k, v) as tf.Tensor2D;
}
