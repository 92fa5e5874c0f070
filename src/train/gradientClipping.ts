/**
 * The gradients' global L2 norm, and clipping by it (PyTorch's `clip_grad_norm_`, Hugging Face's
 * `max_grad_norm`): when the norm exceeds maxNorm, every gradient is scaled by maxNorm/(norm + 1e-6).
 */
import * as tf from '@tensorflow/tfjs';

export interface ClippedGradients {
  /** The gradients to apply: the inputs themselves, or new scaled tensors the caller disposes. */
  gradients: Map<string, tf.Tensor>;
  /** The global norm before clipping. */
  norm: number;
}

/** The global norm of `gradients`; with maxNorm > 0, the gradients clipped to it. */
export function clipByGlobalNorm(
  gradients: Map<string, tf.Tensor>,
  maxNorm: number,
): ClippedGradients {
  if (!(maxNorm >= 0))
    throw new RangeError(`Expected a max gradient norm ≥ 0 but received ${maxNorm}`);
  const norm = tf.tidy(() =>
    tf
      .addN([...gradients.values()].map((gradient) => gradient.square().sum()))
      .sqrt()
      .dataSync(),
  )[0] as number;
  const scale = maxNorm / (norm + 1e-6);
  if (maxNorm === 0 || !(scale < 1)) return { gradients, norm };
  return {
    gradients: new Map([...gradients].map(([name, gradient]) => [name, gradient.mul(scale)])),
    norm,
  };
}
