/**
 * Named presets for the paper's variants (SuperLoRA, Table 1). Each is a plain config the user can
 * print (`superlora adapter init --preset NAME --print`), edit and pass back as a file.
 */
import { ConfigError, type SuperLoraConfig } from './config';

export const presets = {
  /** Dense fine-tuning: ΔW itself is the trainable tensor. */
  dense: { grouping: 'weight', order: 1, splits: 1, rank: ['full'] },
  /** LoRA: one group per weight, natural 2D fold, ΔW = A0 · A1ᵀ. */
  lora: { grouping: 'weight', reshape: 'natural', order: 2, splits: 1, rank: 8, core: 'identity' },
  /** LoKr: LoRA with two Kronecker splits, a dense small factor and a rank-r large one. */
  lokr: {
    grouping: 'weight',
    reshape: 'natural',
    order: 2,
    splits: 2,
    rank: ['full', 8],
    core: 'identity',
  },
  /** LoTR: every weight in one group, folded into a 3D tensor with a Tucker core. */
  lotr: { grouping: 1, order: 3, splits: 1, rank: 8, core: 'dense' },
  /** LoNKr: a few groups, each a Kronecker product of three rank-r 2D splits. */
  lonkr: { grouping: 2, order: 2, splits: 3, rank: 2, core: 'identity' },
  /** LoRTA (the paper's Tucker variant): one group per weight, 3D folds, dense core. */
  lorta: { grouping: 'weight', order: 3, splits: 1, rank: 8, core: 'dense' },
  /** SuperLoRA 2D: weights concatenated into G square-folded groups of rank r. */
  'superlora-2d': { grouping: 4, order: 2, splits: 1, rank: 8, core: 'identity' },
  /** SuperLoRA 2D with a fixed fastfood projection from 10% of the values. */
  'superlora-2d-fastfood': {
    grouping: 1,
    order: 2,
    splits: 1,
    rank: 16,
    core: 'identity',
    projection: { ratio: 0.1 },
  },
} as const satisfies Record<string, SuperLoraConfig>;

export type PresetName = keyof typeof presets;

export const presetNames = Object.keys(presets) as PresetName[];

/** A fresh, editable copy of a preset's config. */
export function presetConfig(name: string): SuperLoraConfig {
  if (!Object.prototype.hasOwnProperty.call(presets, name)) {
    throw new ConfigError(
      `Expected one of ${presetNames.join(', ')} for preset but received ${JSON.stringify(name)}`,
    );
  }
  return JSON.parse(JSON.stringify(presets[name as PresetName])) as SuperLoraConfig;
}
