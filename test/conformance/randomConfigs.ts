/** Seeded random configs and targets for the conformance suite and the config fuzz tests. */
import type { SuperLoraConfig, Target } from '../../src/config';

/** mulberry32: a tiny seeded generator, independent of the library's SplitMix64. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

function integer(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

export function randomConfigCase(random: () => number): {
  config: SuperLoraConfig;
  targets: Target[];
} {
  const targetCount = integer(random, 1, 3);
  const sharedIn = integer(random, 1, 8);
  const targets: Target[] = Array.from({ length: targetCount }, (_, t) => ({
    name: `t${t}`,
    shape: [integer(random, 1, 9), random() < 0.5 ? sharedIn : integer(random, 1, 9)],
    layer: integer(random, 0, 1),
  }));
  const splits = integer(random, 1, 3);
  const natural = random() < 0.3;
  const order = natural ? 2 : integer(random, 1, 4);
  const config: SuperLoraConfig = {
    grouping: natural
      ? pick(random, ['weight', 'layer'] as const)
      : pick(random, ['weight', 'layer', 1, 2, 3] as const),
    order,
    splits,
    rank: Array.from({ length: splits }, () => (random() < 0.25 ? 'full' : integer(random, 1, 3))),
    core: pick(random, ['identity', 'dense'] as const),
    reshape: natural ? 'natural' : 'square',
    shuffle: random() < 0.3,
    scale: pick(random, [1, 0.5, -3]),
    seed: integer(random, 0, 1000),
  };
  if (!natural && random() < 0.35) config.projection = { ratio: pick(random, [1, 0.6, 0.3, 0.1]) };
  return { config, targets };
}
