/** Shared fixtures for the ViT tests: a tiny config and weights far from HF's near-zero init. */
import * as tf from '@tensorflow/tfjs';
import type { ViTConfig } from '../../src/vit/config';
import { createViT, type ViT } from '../../src/vit/model';

export const TINY: Partial<ViTConfig> = {
  imageSize: 8,
  patchSize: 4,
  numChannels: 3,
  hiddenSize: 8,
  numAttentionHeads: 2,
  numHiddenLayers: 2,
  intermediateSize: 16,
  numLabels: 3,
  layerNormEps: 1e-6,
};

/** One-channel ViT, 16 wide, for tests that build several models or compare configs. */
export const SMALL_GRAY = {
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 32,
  imageSize: 8,
  patchSize: 4,
  numChannels: 1,
  numLabels: 3,
};

/** A small deterministic PRNG (mulberry32), so fixtures do not depend on tfjs's random ops. */
export function uniforms(seed: number, count: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return values;
}

/**
 * A ViT whose every parameter is O(1) noise (LayerNorm gains around 1): with HF's init (σ 0.02,
 * zero biases, unit gains) a wrong bias, gain or token order would barely move the logits.
 */
export function randomizedViT(config: Partial<ViTConfig> = TINY, seed = 1): ViT {
  const vit = createViT(config, { seed });
  let offset = seed * 7919;
  for (const [name, variable] of vit.weights) {
    const noise = uniforms(offset++, variable.size);
    const isGain = /layernorm[^.]*\.weight$/.test(name);
    const values = noise.map((u) => (isGain ? 1 + u : 1.5 * u));
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
  }
  return vit;
}

export function randomPixels(config: ViTConfig, batch: number, seed = 99): tf.Tensor4D {
  const { numChannels, imageSize } = config;
  const values = uniforms(seed, batch * numChannels * imageSize * imageSize).map((u) => 4 * u);
  return tf.tensor4d(values, [batch, numChannels, imageSize, imageSize]);
}

/** Every parameter as a Float32Array, by name. */
export function weightValues(vit: ViT): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const [name, variable] of vit.weights) values.set(name, variable.dataSync() as Float32Array);
  return values;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++)
    max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}
