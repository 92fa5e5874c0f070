/**
 * An independent float64 HF ViTForImageClassification forward in plain loops, written from the
 * PyTorch modules (Conv2d patch embedding, CLS + position embeddings, pre-LN blocks, exact GELU,
 * final LayerNorm, classifier on the CLS token) without tfjs, to check the tfjs model against.
 */
import type { ViTConfig } from '../../src/vit/config';

type Weights = ReadonlyMap<string, ArrayLike<number>>;

function get(weights: Weights, name: string): ArrayLike<number> {
  const value = weights.get(name);
  if (value === undefined) throw new Error(`reference: missing ${name}`);
  return value;
}

/** erf by its Maclaurin series (converges everywhere; ≤1e-9 off for |x| ≤ 4), ±1 beyond. */
export function erf64(x: number): number {
  if (x > 4) return 1;
  if (x < -4) return -1;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const next = term / (2 * n + 1);
    sum += next;
    if (Math.abs(next) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** y[t][o] = Σ_i x[t][i]·W[o][i] + b[o], W in [out, in]. */
function linear64(
  x: Float64Array,
  rows: number,
  input: number,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  out: number,
): Float64Array {
  const y = new Float64Array(rows * out);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < out; o++) {
      let sum = bias === undefined ? 0 : (bias[o] as number);
      for (let i = 0; i < input; i++) {
        sum += (x[t * input + i] as number) * (weight[o * input + i] as number);
      }
      y[t * out + o] = sum;
    }
  }
  return y;
}

function layerNorm64(
  x: Float64Array,
  rows: number,
  width: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
): Float64Array {
  const y = new Float64Array(rows * width);
  for (let t = 0; t < rows; t++) {
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[t * width + i] as number;
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) variance += ((x[t * width + i] as number) - mean) ** 2;
    variance /= width;
    const scale = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < width; i++) {
      y[t * width + i] =
        ((x[t * width + i] as number) - mean) * scale * (gamma[i] as number) + (beta[i] as number);
    }
  }
  return y;
}

/** Logits [B, numLabels] for pixels [B, C, H, W]. */
export function vitForward64(
  config: ViTConfig,
  weights: Weights,
  pixels: ArrayLike<number>,
  batch: number,
): Float64Array {
  const { hiddenSize: D, patchSize: P, numChannels: C, imageSize: S } = config;
  const side = S / P;
  const T = 1 + side * side;
  const heads = config.numAttentionHeads;
  const d = D / heads;
  const eps = config.layerNormEps;
  const logits = new Float64Array(batch * config.numLabels);

  for (let b = 0; b < batch; b++) {
    // Conv2d(C → D, kernel P, stride P); token 0 is CLS, patch (r, c) is token 1 + r·side + c.
    const x = new Float64Array(T * D);
    const convW = get(weights, 'vit.embeddings.patch_embeddings.projection.weight');
    const convB = get(weights, 'vit.embeddings.patch_embeddings.projection.bias');
    const cls = get(weights, 'vit.embeddings.cls_token');
    const pos = get(weights, 'vit.embeddings.position_embeddings');
    for (let o = 0; o < D; o++) x[o] = (cls[o] as number) + (pos[o] as number);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const token = 1 + r * side + c;
        for (let o = 0; o < D; o++) {
          let sum = convB[o] as number;
          for (let ch = 0; ch < C; ch++) {
            for (let ky = 0; ky < P; ky++) {
              for (let kx = 0; kx < P; kx++) {
                const pixel = pixels[((b * C + ch) * S + r * P + ky) * S + c * P + kx] as number;
                sum += pixel * (convW[((o * C + ch) * P + ky) * P + kx] as number);
              }
            }
          }
          x[token * D + o] = sum + (pos[token * D + o] as number);
        }
      }
    }

    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const w = (suffix: string): ArrayLike<number> =>
        get(weights, `vit.encoder.layer.${layer}.${suffix}`);
      const optionalBias = (suffix: string): ArrayLike<number> | undefined =>
        config.qkvBias ? w(suffix) : undefined;
      const h = layerNorm64(x, T, D, w('layernorm_before.weight'), w('layernorm_before.bias'), eps);
      const q = linear64(
        h,
        T,
        D,
        w('attention.attention.query.weight'),
        optionalBias('attention.attention.query.bias'),
        D,
      );
      const k = linear64(
        h,
        T,
        D,
        w('attention.attention.key.weight'),
        optionalBias('attention.attention.key.bias'),
        D,
      );
      const v = linear64(
        h,
        T,
        D,
        w('attention.attention.value.weight'),
        optionalBias('attention.attention.value.bias'),
        D,
      );
      const context = new Float64Array(T * D);
      for (let head = 0; head < heads; head++) {
        for (let i = 0; i < T; i++) {
          const scores = new Float64Array(T);
          let max = -Infinity;
          for (let j = 0; j < T; j++) {
            let dot = 0;
            for (let e = 0; e < d; e++) {
              dot += (q[i * D + head * d + e] as number) * (k[j * D + head * d + e] as number);
            }
            scores[j] = dot / Math.sqrt(d);
            max = Math.max(max, scores[j] as number);
          }
          let total = 0;
          for (let j = 0; j < T; j++) {
            scores[j] = Math.exp((scores[j] as number) - max);
            total += scores[j] as number;
          }
          for (let e = 0; e < d; e++) {
            let sum = 0;
            for (let j = 0; j < T; j++) {
              sum += ((scores[j] as number) / total) * (v[j * D + head * d + e] as number);
            }
            context[i * D + head * d + e] = sum;
          }
        }
      }
      const attended = linear64(
        context,
        T,
        D,
        w('attention.output.dense.weight'),
        w('attention.output.dense.bias'),
        D,
      );
      for (let i = 0; i < T * D; i++) x[i] = (x[i] as number) + (attended[i] as number);
      const h2 = layerNorm64(x, T, D, w('layernorm_after.weight'), w('layernorm_after.bias'), eps);
      const M = config.intermediateSize;
      const inner = linear64(
        h2,
        T,
        D,
        w('intermediate.dense.weight'),
        w('intermediate.dense.bias'),
        M,
      );
      for (let i = 0; i < T * M; i++) {
        const value = inner[i] as number;
        inner[i] = 0.5 * value * (1 + erf64(value / Math.SQRT2));
      }
      const out = linear64(inner, T, M, w('output.dense.weight'), w('output.dense.bias'), D);
      for (let i = 0; i < T * D; i++) x[i] = (x[i] as number) + (out[i] as number);
    }

    const normed = layerNorm64(
      x,
      T,
      D,
      get(weights, 'vit.layernorm.weight'),
      get(weights, 'vit.layernorm.bias'),
      eps,
    );
    const head = linear64(
      normed.subarray(0, D),
      1,
      D,
      get(weights, 'classifier.weight'),
      get(weights, 'classifier.bias'),
      config.numLabels,
    );
    logits.set(head, b * config.numLabels);
  }
  return logits;
}
