/**
 * The ViT building blocks as tfjs ops, each matching its PyTorch module in HF transformers.
 * Activations are kept 2-D ([tokens, features]) between blocks so every Linear is one matMul.
 */
import * as tf from '@tensorflow/tfjs';
import {
  fusedAttention,
  fusedGelu,
  fusedLayerNorm,
  fusedLinear,
  fusedRowSoftmax,
} from './fusedOps';
import { dropoutSeed } from '../rng';

/**
 * nn.Linear: x·Wᵀ + b with W in PyTorch's [out, in] layout, so an adapter's ΔW ([out, in]) adds
 * to W as is; transposeB is also the layout whose inner loop reads both operands contiguously on
 * the tfjs cpu backend. With a bias, one fused kernel where the backend has it (fusedOps.ts: the
 * native cpu GEMM adds the bias in its epilogue, and the backward pass computes no gradient of a
 * frozen weight); else tf.fused.matMul (tfjs's own cpu kernel: the same matMul and add), except on
 * wasm: tfjs-backend-wasm 4.22 broadcasts the bias wrongly when transposeB is set (rows after the
 * first get the last bias value).
 */
export function linear(
  x: tf.Tensor2D,
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor2D {
  const fused = bias === undefined ? null : fusedLinear(x, weight, bias);
  if (fused) return fused;
  if (bias !== undefined && tf.getBackend() !== 'wasm') {
    return tf.fused.matMul({ a: x, b: weight, transposeB: true, bias }) as tf.Tensor2D;
  }
  const product = tf.matMul(x, weight, false, true) as tf.Tensor2D;
  return bias === undefined ? product : (product.add(bias) as tf.Tensor2D);
}

/**
 * Broadcasts per-row values [N, 1] across `width` columns as an outer product with a row of ones.
 * The tfjs cpu backend's elementwise ops take a per-element index-arithmetic path for an [N, 1]
 * operand (~7× slower for a ViT LayerNorm) but a flat loop for equal shapes; this matMul is N·width
 * multiplies and keeps every later op on the flat loop.
 */
function spreadRows(column: tf.Tensor2D, width: number): tf.Tensor2D {
  return tf.matMul(column, tf.ones([1, width]));
}

/** Per-row mean of x [N, D] as [N, 1], as a matMul for the reason given at {@link spreadRows}. */
function rowMeans(x: tf.Tensor2D): tf.Tensor2D {
  const width = x.shape[1];
  return tf.matMul(x, tf.fill([width, 1], 1 / width));
}

/**
 * nn.LayerNorm over the last axis: biased variance, eps inside the square root, as PyTorch. One
 * fused kernel where the backend has it (src/vit/fusedOps.ts), else composed from tfjs ops.
 */
export function layerNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): tf.Tensor2D {
  return fusedLayerNorm(x, gamma, beta, eps) ?? composedLayerNorm(x, gamma, beta, eps);
}

/** layerNorm from tfjs ops, for backends without the fused kernel. */
export function composedLayerNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): tf.Tensor2D {
  const width = x.shape[1];
  const centered = x.sub(spreadRows(rowMeans(x), width));
  const inverseStd = tf.rsqrt(rowMeans(centered.square() as tf.Tensor2D).add(eps)) as tf.Tensor2D;
  // gamma and beta are [D], a trailing-axis broadcast, which is already a flat loop.
  return centered.mul(spreadRows(inverseStd, width)).mul(gamma).add(beta);
}

/**
 * Softmax over the last axis of scores [R, T]: one fused kernel each way where the backend has it
 * (src/vit/fusedOps.ts), else {@link composedRowSoftmax}.
 */
export function rowSoftmax(scores: tf.Tensor2D): tf.Tensor2D {
  return fusedRowSoftmax(scores) ?? composedRowSoftmax(scores);
}

/**
 * rowSoftmax from tfjs ops. tf.softmax on the cpu backend broadcasts [R, 1] (slow, see
 * {@link spreadRows}); its gradient here is the closed form y ⊙ (dy − Σ dy ⊙ y), so the max shift
 * (which cancels) costs nothing in the backward pass.
 */
export const composedRowSoftmax = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const logits = args[0] as tf.Tensor2D;
  const save = args[1] as tf.GradSaveFunc;
  const width = logits.shape[1];
  const shifted = logits.sub(spreadRows(logits.max(-1, true) as tf.Tensor2D, width));
  const exps = shifted.exp() as tf.Tensor2D;
  const probs = exps.div(spreadRows(exps.sum(-1, true) as tf.Tensor2D, width)) as tf.Tensor2D;
  save([probs]);
  return {
    value: probs,
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const y = saved[0] as tf.Tensor2D;
      const dot = dy.mul(y).sum(-1, true) as tf.Tensor2D;
      return y.mul(dy.sub(spreadRows(dot, width)));
    },
  };
}) as (scores: tf.Tensor2D) => tf.Tensor2D;

/**
 * The exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)): HF's "gelu" (tfjs's own gelu ops are tanh-based).
 * One fused kernel where the backend has it (src/vit/fusedOps.ts), else composed from tfjs ops.
 */
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  return fusedGelu(x) ?? composedGelu(x);
}

/** gelu from tfjs ops, for backends without the fused kernel. */
export function composedGelu(x: tf.Tensor2D): tf.Tensor2D {
  return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

/** Where dropout draws its masks: a seeded sequence of calls, or nothing when not training. */
export class Dropout {
  private calls = 0;

  constructor(
    private readonly training: boolean,
    private readonly seed: number | undefined,
  ) {}

  /** Whether apply(x, rate) returns x unchanged. */
  isIdentity(rate: number): boolean {
    return !this.training || rate === 0;
  }

  apply<T extends tf.Tensor>(x: T, rate: number): T {
    if (this.isIdentity(rate)) return x;
    this.calls += 1;
    const seed = this.seed === undefined ? undefined : dropoutSeed(this.seed, this.calls);
    return tf.dropout(x, rate, undefined, seed) as T;
  }
}

/**
 * Patch embedding (HF ViTPatchEmbeddings: Conv2d with kernel = stride = P) as patch extraction
 * plus one matMul. Pixels [B, C, H, W] become rows [B·N, C·P·P] in (c, ky, kx) order, which is
 * the conv weight [hidden, C, P, P] flattened, so the weight is used without a transpose and
 * the patches come out row-major over the grid as HF's `flatten(2)` orders them. Measured at
 * B 128, 28×28, P 7, hidden 64 on tfjs cpu: the forward ties with NHWC conv2d, forward+backward is
 * ~20× faster (conv2d's filter gradient is a naive loop); tfjs-backend-wasm has no conv2d filter
 * gradient at all.
 */
export function patchEmbed(
  pixels: tf.Tensor4D,
  weight: tf.Tensor,
  bias: tf.Tensor,
  patch: number,
): tf.Tensor2D {
  const [batch, channels, height, width] = pixels.shape;
  const rows = height / patch;
  const cols = width / patch;
  const patches = pixels
    .reshape([batch, channels, rows, patch, cols, patch])
    .transpose([0, 2, 4, 1, 3, 5])
    .reshape([batch * rows * cols, channels * patch * patch]) as tf.Tensor2D;
  const hidden = weight.shape[0] as number;
  return linear(patches, weight.reshape([hidden, channels * patch * patch]), bias);
}

/**
 * Multi-head self-attention core (HF ViTSelfAttention after the projections): softmax(QKᵀ/√d)·V
 * per head, with dropout on the attention probabilities. q, k, v are [B·T, hidden]. Without
 * dropout, one fused kernel each way when the backend has it (fusedOps.ts); else tfjs ops.
 */
export function attention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  batch: number,
  tokens: number,
  heads: number,
  dropout: Dropout,
  dropoutRate: number,
): tf.Tensor2D {
  const hidden = q.shape[1];
  const headSize = hidden / heads;
  if (dropout.isIdentity(dropoutRate)) {
    const fused = fusedAttention(q, k, v, tokens, heads, 1 / Math.sqrt(headSize));
    if (fused) return fused;
  }
  const split = (x: tf.Tensor2D): tf.Tensor4D =>
    x.reshape([batch, tokens, heads, headSize]).transpose([0, 2, 1, 3]);
  // Scaling q (T·d values) rather than the scores (T·T) is cheaper and equal up to rounding.
  const scores = tf.matMul(split(q).mul(1 / Math.sqrt(headSize)), split(k), false, true);
  const probs = dropout.apply(
    rowSoftmax(scores.reshape([-1, tokens]) as tf.Tensor2D).reshape(scores.shape),
    dropoutRate,
  );
  return tf
    .matMul(probs, split(v))
    .transpose([0, 2, 1, 3])
    .reshape([batch * tokens, hidden]) as tf.Tensor2D;
}
