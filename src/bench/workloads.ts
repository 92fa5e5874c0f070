/**
 * The benchmark's built-in workloads: the paper's variants on the attention weights of ViT-base,
 * the model the paper fine-tunes, so that every engine is timed on the sizes it will really see.
 */
import type { SuperLoraConfig, Target } from '../config';
import type { EngineName } from '../engines/engine';

export interface Workload {
  name: string;
  /** One line for the table: what the config is. */
  description: string;
  config: SuperLoraConfig;
  targets: Target[];
  /**
   * Engines left out of this workload unless named with --engine, and why: the tfjs reference
   * gathers element by element in JavaScript, so a 14-million-entry shuffle or a 2^24-point
   * fastfood takes it from half a minute (forward) to many minutes (backward) per call.
   */
  skipByDefault?: Partial<Record<EngineName, string>>;
}

const TFJS_GATHER_TOO_SLOW =
  'tfjs gathers element by element in JavaScript: minutes per call at this size';

/** ViT-base's layers and hidden size. */
const VIT_BASE_LAYERS = 12;
const VIT_BASE_HIDDEN = 768;

/**
 * The query and value projections of every ViT-base encoder layer, Hugging Face names, in layer
 * order: 24 targets of [768, 768], N = 14 155 776 (56.6 MB of float32 ΔW).
 */
export function vitBaseTargets(): Target[] {
  const targets: Target[] = [];
  for (let layer = 0; layer < VIT_BASE_LAYERS; layer++) {
    for (const projection of ['query', 'value']) {
      targets.push({
        name: `vit.encoder.layer.${layer}.attention.attention.${projection}`,
        shape: [VIT_BASE_HIDDEN, VIT_BASE_HIDDEN],
        layer,
      });
    }
  }
  return targets;
}

function lora(rank: number): SuperLoraConfig {
  return { grouping: 'weight', reshape: 'natural', order: 2, splits: 1, rank, core: 'identity' };
}

const definitions: readonly Omit<Workload, 'targets'>[] = [
  { name: 'lora-r1', description: 'LoRA, rank 1', config: lora(1) },
  { name: 'lora-r8', description: 'LoRA, rank 8', config: lora(8) },
  { name: 'lora-r64', description: 'LoRA, rank 64', config: lora(64) },
  {
    name: 'square2d-g1-r64',
    description: 'one group, square 2D fold, rank 64',
    config: { grouping: 1, order: 2, splits: 1, rank: 64, core: 'identity' },
  },
  {
    name: 'lorta3d-g1-r16',
    description: 'one group, 3D fold, dense Tucker core, rank 16',
    config: { grouping: 1, order: 3, splits: 1, rank: 16, core: 'dense' },
  },
  {
    name: 'lokr',
    description: 'LoKr: full ⊗ rank 8, natural fold',
    config: {
      grouping: 'weight',
      reshape: 'natural',
      order: 2,
      splits: 2,
      rank: ['full', 8],
      core: 'identity',
    },
  },
  {
    name: 'fastfood-2d-g1-rho0.1',
    description: 'one group, 2D rank 16, fastfood from 10%',
    config: {
      grouping: 1,
      order: 2,
      splits: 1,
      rank: 16,
      core: 'identity',
      projection: { ratio: 0.1 },
    },
    skipByDefault: { tfjs: TFJS_GATHER_TOO_SLOW },
  },
  {
    name: 'shuffle-2d-g1',
    description: 'one group, 2D rank 16, shuffled',
    config: { grouping: 1, order: 2, splits: 1, rank: 16, core: 'identity', shuffle: true },
    skipByDefault: { tfjs: TFJS_GATHER_TOO_SLOW },
  },
];

export const workloadNames: readonly string[] = definitions.map((definition) => definition.name);

/** A fresh copy of a built-in workload (callers may edit it), or undefined for an unknown name. */
export function builtinWorkload(name: string): Workload | undefined {
  const definition = definitions.find((candidate) => candidate.name === name);
  if (!definition) return undefined;
  return {
    ...definition,
    config: JSON.parse(JSON.stringify(definition.config)) as SuperLoraConfig,
    targets: vitBaseTargets(),
  };
}
