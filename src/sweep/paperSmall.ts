/**
 * `paper-small`: the paper's parameter-efficiency study (SuperLoRA, Figure 4) cut down to the
 * shipped base model (hidden 64, 4 layers; query and value: 8 targets of 64×64, N = 32 768), so
 * that every family spans roughly 10^2 to a few 10^4 adapter parameters.
 */
import type { SuperLoraConfig } from '../config';
import type { GridEntry, SweepGrid } from './grid';

export const FAMILIES = {
  lora: 'LoRA',
  superlora2d: 'SuperLoRA (2D)',
  lorta: (order: number): string => `SuperLoRA (${order}D/LoRTA)`,
  lokr: 'LoKr',
  lonkr: 'LoNKr',
  fastfood2d: 'SuperLoRA (2D) + fastfood',
  fastfoodDense: 'Dense + fastfood',
  shuffle: 'SuperLoRA (2D) + shuffle',
} as const;

function entry(name: string, family: string, config: SuperLoraConfig): GridEntry {
  return { name, family, config };
}

function paperSmallConfigs(): GridEntry[] {
  const entries: GridEntry[] = [];
  // LoRA: one group per weight, the natural 64×64 matrix.
  for (const rank of [1, 2, 4, 8, 16]) {
    entries.push(
      entry(`lora-r${rank}`, FAMILIES.lora, {
        grouping: 'weight',
        reshape: 'natural',
        order: 2,
        splits: 1,
        rank,
        core: 'identity',
      }),
    );
  }
  // SuperLoRA 2D: ΔW_all cut into G groups, each folded square. G = 8 and "weight" fold each
  // 64×64 weight into itself, so they reproduce LoRA: a check that grouping alone changes nothing.
  const ranks2d: Record<string, number[]> = {
    '1': [1, 2, 4, 8, 16, 32, 64],
    '2': [1, 4, 16, 64],
    '4': [1, 4, 16],
    '8': [1, 4],
    weight: [2],
  };
  for (const [groups, ranks] of Object.entries(ranks2d)) {
    const grouping = groups === 'weight' ? 'weight' : Number(groups);
    for (const rank of ranks) {
      entries.push(
        entry(`2d-g${groups === 'weight' ? 'w' : groups}-r${rank}`, FAMILIES.superlora2d, {
          grouping,
          reshape: 'square',
          order: 2,
          splits: 1,
          rank,
          core: 'identity',
        }),
      );
    }
  }
  // LoRTA: one group per weight folded into an M-D tensor with a dense Tucker core.
  const lortaRanks: Record<number, number[]> = { 3: [1, 2, 4, 8], 4: [1, 2, 4], 5: [1, 2, 3] };
  for (const [order, ranks] of Object.entries(lortaRanks)) {
    for (const rank of ranks) {
      entries.push(
        entry(`lorta${order}d-r${rank}`, FAMILIES.lorta(Number(order)), {
          grouping: 'weight',
          order: Number(order),
          splits: 1,
          rank,
          core: 'dense',
        }),
      );
    }
  }
  // LoKr: a dense 8×8 factor ⊗ a rank-r 8×8 factor per weight (rank 8 is full there).
  for (const rank of [1, 2, 4]) {
    entries.push(
      entry(`lokr-r${rank}`, FAMILIES.lokr, {
        grouping: 'weight',
        reshape: 'natural',
        order: 2,
        splits: 2,
        rank: ['full', rank],
        core: 'identity',
      }),
    );
  }
  // LoNKr: G groups, each a Kronecker product of three rank-r 2D splits.
  for (const [groups, rank] of [
    [2, 1],
    [2, 2],
    [2, 4],
    [8, 2],
  ] as const) {
    entries.push(
      entry(`lonkr-g${groups}-r${rank}`, FAMILIES.lonkr, {
        grouping: groups,
        order: 2,
        splits: 3,
        rank,
        core: 'identity',
      }),
    );
  }
  // Fastfood: a fixed projection from ρ·N generated values, on 2D G = 1 and on dense ΔW.
  for (const ratio of [0.5, 0.25, 0.1]) {
    for (const rank of [4, 16]) {
      entries.push(
        entry(`2d-g1-ff${ratio}-r${rank}`, FAMILIES.fastfood2d, {
          grouping: 1,
          order: 2,
          splits: 1,
          rank,
          core: 'identity',
          projection: { ratio },
        }),
      );
    }
  }
  entries.push(
    entry('dense', FAMILIES.fastfoodDense, { grouping: 1, order: 1, splits: 1, rank: ['full'] }),
  );
  for (const ratio of [0.5, 0.25, 0.1]) {
    entries.push(
      entry(`dense-ff${ratio}`, FAMILIES.fastfoodDense, {
        grouping: 1,
        order: 1,
        splits: 1,
        rank: ['full'],
        projection: { ratio },
      }),
    );
  }
  // Shuffle: 2D G = 1 on a fixed permutation of ΔW_all.
  for (const rank of [4, 16]) {
    entries.push(
      entry(`2d-g1-shuffle-r${rank}`, FAMILIES.shuffle, {
        grouping: 1,
        order: 2,
        splits: 1,
        rank,
        core: 'identity',
        shuffle: true,
      }),
    );
  }
  return entries;
}

export function paperSmallGrid(): SweepGrid {
  return { name: 'paper-small', configs: paperSmallConfigs() };
}

/**
 * The configs the paper's headline rests on: LoRA against SuperLoRA 2D (G = 1), LoKr and LoRTA,
 * from a few hundred to 16 384 parameters. Each is the `paper-small` config of the same name; a
 * third of the runs, so it can be repeated over seeds.
 */
export const PAPER_CORE_NAMES: readonly string[] = [
  ...[1, 2, 4, 8, 16].map((rank) => `lora-r${rank}`),
  ...[1, 2, 4, 8, 16].map((rank) => `2d-g1-r${rank}`),
  ...[1, 2, 4].map((rank) => `lokr-r${rank}`),
  ...[1, 2, 4].map((rank) => `lorta3d-r${rank}`),
  ...[1, 2].map((rank) => `lorta4d-r${rank}`),
];

export function paperCoreGrid(): SweepGrid {
  const wanted = new Set(PAPER_CORE_NAMES);
  return { name: 'paper-core', configs: paperSmallConfigs().filter((e) => wanted.has(e.name)) };
}
