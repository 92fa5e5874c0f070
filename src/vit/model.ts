/**
 * A Hugging Face `ViTForImageClassification` in tfjs: same parameter names and shapes, same
 * forward (pre-LayerNorm encoder, exact GELU, classifier on the CLS token).
 */
import * as tf from '@tensorflow/tfjs';
import { resolveViTConfig, patchGrid, type ViTConfig } from './config';
import { attention, Dropout, gelu, layerNorm, linear, patchEmbed } from './layers';
import { blockWeightName, initialWeight, sameShape, VIT_PREFIX, vitWeightSpecs } from './weights';

export interface ViTForwardOptions {
  /** Applies dropout (with the config's rates). Default false. */
  training?: boolean;
  /** Seeds the dropout masks, so a training forward is reproducible. */
  seed?: number;
  /**
   * Called with each Linear weight (HF name, the [out, in] variable) as it is used; the forward
   * uses the returned tensor instead. This is how an adapter applies W + ΔW without touching W.
   */
  weightOverride?: (name: string, weight: tf.Tensor) => tf.Tensor;
}

/** A Linear weight an adapter can target. */
export interface ViTLinearTarget {
  name: string;
  shape: [number, number];
  /** The encoder block, or −1 for the classifier. */
  layer: number;
}

export class ViT {
  readonly config: ViTConfig;
  /** Every parameter by its HF name (`vit.`-prefixed, classifier without), in HF's order. */
  readonly weights: Map<string, tf.Variable>;

  /** Takes ownership of `weights`, which must match `vitWeightSpecs(config)` (the loaders check). */
  constructor(config: ViTConfig, weights: Map<string, tf.Variable>) {
    this.config = config;
    this.weights = weights;
  }

  /** Logits [B, numLabels] for pixel values [B, C, H, W] (HF layout, already normalised). */
  forward(pixelValues: tf.Tensor4D, options: ViTForwardOptions = {}): tf.Tensor2D {
    this.checkInput(pixelValues);
    const { config } = this;
    const dropout = new Dropout(options.training === true, options.seed);
    const override = options.weightOverride;
    const param = (name: string): tf.Tensor => {
      const variable = this.weights.get(name);
      if (variable === undefined) throw new Error(`ViT: no parameter ${JSON.stringify(name)}`);
      return variable;
    };
    const dense = (x: tf.Tensor2D, prefix: string, hasBias = true): tf.Tensor2D => {
      const weightName = `${prefix}.weight`;
      const original = param(weightName);
      const weight = override ? override(weightName, original) : original;
      if (weight !== original && !sameShape(weight.shape, original.shape)) {
        // Caught here, or tfjs reports a matMul inner-dimension mismatch that names no weight.
        throw new RangeError(
          `Expected weightOverride to return shape [${original.shape.join(', ')}] for ${weightName} but received [${weight.shape.join(', ')}]`,
        );
      }
      return linear(x, weight, hasBias ? param(`${prefix}.bias`) : undefined);
    };
    const norm = (x: tf.Tensor2D, prefix: string): tf.Tensor2D =>
      layerNorm(x, param(`${prefix}.weight`), param(`${prefix}.bias`), config.layerNormEps);

    return tf.tidy(() => {
      const batch = pixelValues.shape[0];
      const hidden = config.hiddenSize;
      const tokens = 1 + patchGrid(config).count;
      const embed = `${VIT_PREFIX}embeddings`;
      const patches = patchEmbed(
        pixelValues,
        param(`${embed}.patch_embeddings.projection.weight`),
        param(`${embed}.patch_embeddings.projection.bias`),
        config.patchSize,
      ).reshape([batch, tokens - 1, hidden]);
      const cls = param(`${embed}.cls_token`).broadcastTo([batch, 1, hidden]);
      // [T, D] rather than HF's [1, T, D]: a trailing-axis broadcast is a flat loop on tfjs cpu.
      const positions = param(`${embed}.position_embeddings`).reshape([tokens, hidden]);
      const embedded = tf.concat([cls, patches], 1).add(positions);
      let x = dropout
        .apply(embedded, config.hiddenDropoutProb)
        .reshape([batch * tokens, hidden]) as tf.Tensor2D;

      for (let layer = 0; layer < config.numHiddenLayers; layer++) {
        const block = (suffix: string): string => blockWeightName(layer, suffix);
        const h = norm(x, block('layernorm_before'));
        const projection = (name: string): tf.Tensor2D =>
          dense(h, block(`attention.attention.${name}`), config.qkvBias);
        const context = attention(
          projection('query'),
          projection('key'),
          projection('value'),
          batch,
          tokens,
          config.numAttentionHeads,
          dropout,
          config.attentionProbsDropoutProb,
        );
        const attended = dense(context, block('attention.output.dense'));
        x = x.add(dropout.apply(attended, config.hiddenDropoutProb));
        const inner = gelu(dense(norm(x, block('layernorm_after')), block('intermediate.dense')));
        const out = dense(inner, block('output.dense'));
        x = x.add(dropout.apply(out, config.hiddenDropoutProb));
      }

      // Only the CLS row reaches the classifier, and LayerNorm is per row: normalise just it.
      const clsRows = x
        .reshape([batch, tokens, hidden])
        .slice([0, 0, 0], [batch, 1, hidden])
        .reshape([batch, hidden]) as tf.Tensor2D;
      return dense(norm(clsRows, `${VIT_PREFIX}layernorm`), 'classifier');
    });
  }

  /** Every nn.Linear weight, in HF order: the SuperLoRA target list for this model. */
  linearTargets(): ViTLinearTarget[] {
    const targets: ViTLinearTarget[] = [];
    for (const spec of vitWeightSpecs(this.config)) {
      if (spec.linearLayer === undefined) continue;
      const [out, input] = spec.shape as [number, number];
      targets.push({ name: spec.name, shape: [out, input], layer: spec.linearLayer });
    }
    return targets;
  }

  /** Parameter count (all weights, the head included). */
  get numParams(): number {
    let count = 0;
    for (const variable of this.weights.values()) count += variable.size;
    return count;
  }

  dispose(): void {
    for (const variable of this.weights.values()) variable.dispose();
    this.weights.clear();
  }

  private checkInput(pixelValues: tf.Tensor4D): void {
    const { numChannels, imageSize } = this.config;
    const shape = pixelValues.shape;
    if (
      shape.length !== 4 ||
      shape[1] !== numChannels ||
      shape[2] !== imageSize ||
      shape[3] !== imageSize
    ) {
      throw new RangeError(
        `Expected pixelValues of shape [B, ${numChannels}, ${imageSize}, ${imageSize}] (config num_channels, image_size) but received [${shape.join(', ')}]`,
      );
    }
    if (pixelValues.dtype !== 'float32') {
      throw new TypeError(`Expected float32 pixelValues but received ${pixelValues.dtype}`);
    }
  }
}

/** HF-initialised variables for every parameter (or those `only` accepts), from `seed`. */
export function initialVariables(
  config: ViTConfig,
  seed: number,
  only?: (name: string) => boolean,
): Map<string, tf.Variable> {
  const weights = new Map<string, tf.Variable>();
  for (const spec of vitWeightSpecs(config)) {
    if (only !== undefined && !only(spec.name)) continue;
    const initial = tf.tensor(initialWeight(spec, config, seed), spec.shape, 'float32');
    weights.set(spec.name, tf.variable(initial));
    // The variable holds its own reference to the data.
    initial.dispose();
  }
  return weights;
}

/** A freshly initialised ViT (HF `_init_weights`: truncated normals, zero biases, unit LayerNorm). */
export function createViT(config: Partial<ViTConfig>, options: { seed?: number } = {}): ViT {
  const resolved = resolveViTConfig(config);
  const seed = options.seed ?? 0;
  return new ViT(resolved, initialVariables(resolved, seed));
}
