/**
 * The gradients' global L2 norm, and clipping by it (PyTorch's `clip_grad_norm_`, Hugging Face's
 * `max_grad_norm`): when the norm exceeds maxNorm, every gradient is scaled by maxNorm/(norm + 1e-6).
 *
 * A non-finite norm (a NaN or infinite gradient) is returned as it is, with the gradients
 * unscaled: scaling by maxNorm/∞ = 0 would turn an infinite entry into NaN (∞ · 0) and hide which
 * it was. The training loop logs the norm, and its divergence check reports the run.
 */
import * as tf from '@tensorflow/tfjs';
import { valueText } from '../valueText';

export interface ClippedGradients {
  /** The gradients to apply: the inputs themselves, or new scaled tensors the caller disposes. */
  gradients: Map<string, tf.Tensor>;
  /** The global norm before clipping: 0 for no gradients, NaN or Infinity for non-finite ones. */
  norm: number;
}

/** Throws unless maxNorm is a number ≥ 0 (0: no clipping; Infinity: none either). */
function checkMaxNorm(maxNorm: unknown): void {
  if (typeof maxNorm !== 'number') {
    throw new TypeError(`Expected a max gradient norm ≥ 0 but received ${valueText(maxNorm)}`);
  }
  if (!(maxNorm >= 0)) {
    throw new RangeError(`Expected a max gradient norm ≥ 0 but received ${valueText(maxNorm)}`);
  }
}

/**
 * Throws a TypeError unless `gradients` is a Map of live float32 tensors: a norm is a float, and
 * tfjs would refuse an int32 gradient deep inside sqrt with a message naming no gradient.
 */
function checkGradients(gradients: unknown): asserts gradients is Map<string, tf.Tensor> {
  if (!(gradients instanceof Map)) {
    throw new TypeError(
      `Expected the gradients to clip as a Map of name → tensor but received ${valueText(gradients)}`,
    );
  }
  for (const [name, gradient] of gradients as Map<string, tf.Tensor>) {
    if (gradient === null || typeof gradient !== 'object' || gradient.isDisposed) {
      throw new TypeError(
        `Expected the gradient ${valueText(name)} to be a live tensor but received ${gradient?.isDisposed ? 'a disposed tensor' : valueText(gradient)}`,
      );
    }
    if (gradient.dtype !== 'float32') {
      throw new TypeError(
        `Expected the gradient ${valueText(name)} to be float32 but received ${gradient.dtype}`,
      );
    }
  }
}

/** √(Σ g²) over every entry of every gradient (at least one gradient). */
function globalNorm(gradients: Map<string, tf.Tensor>): number {
  return tf.tidy(() =>
    tf
      .addN([...gradients.values()].map((gradient) => gradient.square().sum()))
      .sqrt()
      .dataSync(),
  )[0] as number;
}

/**
 * The global norm of `gradients`; with maxNorm > 0, the gradients clipped to it. No gradients
 * have norm 0 and nothing to clip; a non-finite norm leaves the gradients unscaled (see above).
 */
export function clipByGlobalNorm(
  gradients: Map<string, tf.Tensor>,
  maxNorm: number,
): ClippedGradients {
  checkMaxNorm(maxNorm);
  checkGradients(gradients);
  if (gradients.size === 0) return { gradients, norm: 0 };
  const norm = globalNorm(gradients);
  if (maxNorm === 0 || !Number.isFinite(norm)) return { gradients, norm };
  const scale = maxNorm / (norm + 1e-6);
  if (!(scale < 1)) return { gradients, norm };
  return {
    gradients: new Map([...gradients].map(([name, gradient]) => [name, gradient.mul(scale)])),
    norm,
  };
}
