/**
 * The parameters of a HF `ViTForImageClassification`: names, shapes and initialisation, in one
 * table so that the model, the file reader and writer and the adapter targets cannot disagree.
 */
import { SplitMix64 } from '../rng';
import { patchGrid, type ViTConfig } from './config';

/** How HF's `ViTPreTrainedModel._init_weights` initialises a parameter. */
export type WeightInit = 'normal' | 'zeros' | 'ones';

export interface WeightSpec {
  /** The HF state-dict name, `vit.`-prefixed except for the classifier. */
  name: string;
  shape: number[];
  init: WeightInit;
  /** Set for nn.Linear weights ([out, in]): the encoder block, or −1 for the classifier. */
  linearLayer?: number;
}

/** The prefix of everything but the classifier in a ViTForImageClassification checkpoint. */
export const VIT_PREFIX = 'vit.';
export const CLASSIFIER_WEIGHT = 'classifier.weight';
export const CLASSIFIER_BIAS = 'classifier.bias';

/** Whether two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The block parameter name, e.g. `blockWeightName(0, 'attention.attention.query.weight')`. */
export function blockWeightName(layer: number, suffix: string): string {
  return `${VIT_PREFIX}encoder.layer.${layer}.${suffix}`;
}

/** Every parameter in HF's module order (the order `state_dict()` lists them). */
export function vitWeightSpecs(config: ViTConfig): WeightSpec[] {
  const hidden = config.hiddenSize;
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[], init: WeightInit, linearLayer?: number): void => {
    specs.push(
      linearLayer === undefined ? { name, shape, init } : { name, shape, init, linearLayer },
    );
  };
  const linear = (prefix: string, out: number, input: number, layer: number, bias = true): void => {
    add(`${prefix}.weight`, [out, input], 'normal', layer);
    if (bias) add(`${prefix}.bias`, [out], 'zeros');
  };
  const layerNorm = (prefix: string): void => {
    add(`${prefix}.weight`, [hidden], 'ones');
    add(`${prefix}.bias`, [hidden], 'zeros');
  };

  const patch = config.patchSize;
  add(`${VIT_PREFIX}embeddings.cls_token`, [1, 1, hidden], 'normal');
  add(
    `${VIT_PREFIX}embeddings.position_embeddings`,
    [1, 1 + patchGrid(config).count, hidden],
    'normal',
  );
  add(
    `${VIT_PREFIX}embeddings.patch_embeddings.projection.weight`,
    [hidden, config.numChannels, patch, patch],
    'normal',
  );
  add(`${VIT_PREFIX}embeddings.patch_embeddings.projection.bias`, [hidden], 'zeros');
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const block = (suffix: string): string => blockWeightName(layer, suffix);
    for (const projection of ['query', 'key', 'value']) {
      linear(block(`attention.attention.${projection}`), hidden, hidden, layer, config.qkvBias);
    }
    linear(block('attention.output.dense'), hidden, hidden, layer);
    linear(block('intermediate.dense'), config.intermediateSize, hidden, layer);
    linear(block('output.dense'), hidden, config.intermediateSize, layer);
    layerNorm(block('layernorm_before'));
    layerNorm(block('layernorm_after'));
  }
  layerNorm(`${VIT_PREFIX}layernorm`);
  linear('classifier', config.numLabels, hidden, -1);
  return specs;
}

/**
 * A seeded stream per (seed, parameter name), so a parameter's initial value does not depend on
 * which other parameters exist: a fresh head on a loaded backbone equals the head `createViT`
 * would have made with the same seed and config.
 */
function streamFor(seed: number, name: string): SplitMix64 {
  // FNV-1a of the name as the stream tag; SplitMix64 decorrelates neighbouring tags.
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return new SplitMix64(seed, hash);
}

/**
 * The initial value of one parameter. "normal" is HF's `trunc_normal_(std=initializer_range)`,
 * which truncates at ±2 in absolute terms (not ±2σ), so with σ = 0.02 it is redrawn only in
 * pathological cases; kept for fidelity.
 */
export function initialWeight(spec: WeightSpec, config: ViTConfig, seed: number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  if (spec.init === 'ones') return values.fill(1);
  if (spec.init === 'zeros') return values;
  const stream = streamFor(seed, spec.name);
  const std = config.initializerRange;
  for (let i = 0; i < size; i++) {
    let value = std * stream.nextGaussian();
    while (value < -2 || value > 2) value = std * stream.nextGaussian();
    values[i] = value;
  }
  return values;
}
