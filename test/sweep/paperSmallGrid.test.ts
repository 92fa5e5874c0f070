/**
 * Every config of the built-in `paper-small` grid is valid on the shipped base model's default
 * targets (attention query and value), and the families span the parameter range they should.
 */
import { join } from 'path';
import { createPlan } from '../../src/createPlan';
import { parseGrid } from '../../src/sweep/grid';
import { gridNames, namedGrid } from '../../src/sweep/namedGrids';
import { FAMILIES, PAPER_CORE_NAMES, paperSmallGrid } from '../../src/sweep/paperSmall';
import { DEFAULT_TARGET_PATTERNS, selectTargets } from '../../src/tfjs/modelAdapter';
import { loadViT } from '../../src/vit/io';
import type { Target } from '../../src/config';

const MODEL_DIR = join(__dirname, '..', '..', 'models', 'vit-tiny-fashion-mnist');

let targets: Target[];

beforeAll(async () => {
  const vit = await loadViT(MODEL_DIR);
  try {
    targets = selectTargets(vit, DEFAULT_TARGET_PATTERNS);
  } finally {
    vit.dispose();
  }
});

function paramsByName(): Map<string, { family: string; params: number }> {
  const counts = new Map<string, { family: string; params: number }>();
  for (const entry of paperSmallGrid().configs) {
    const plan = createPlan(entry.config, targets);
    counts.set(entry.name, { family: entry.family, params: plan.numParams });
  }
  return counts;
}

describe('paper-small grid', () => {
  test('the targets are the 8 query/value weights of 64×64', () => {
    expect(targets).toHaveLength(8);
    expect(targets.every((t) => t.shape[0] === 64 && t.shape[1] === 64)).toBe(true);
    expect(targets.filter((t) => /query/.test(t.name))).toHaveLength(4);
  });

  test('is a built-in grid and passes the grid file validation', () => {
    expect(gridNames).toContain('paper-small');
    const grid = namedGrid('paper-small');
    expect(grid?.name).toBe('paper-small');
    // A grid file is the same shape: the JSON round trip validates.
    expect(parseGrid(JSON.parse(JSON.stringify(grid)), 'paper-small.json')).toEqual(grid);
  });

  test('every config resolves into a plan on the model targets, with the expected counts', () => {
    const counts = paramsByName();
    expect(counts.size).toBe(paperSmallGrid().configs.length);
    // LoRA on 8 weights of 64×64: 8 · (64 + 64) · r.
    for (const rank of [1, 2, 4, 8, 16])
      expect(counts.get(`lora-r${rank}`)?.params).toBe(1024 * rank);
    // One group of N = 32 768 folded square: 181 × 182, so (181 + 182) · r.
    expect(counts.get('2d-g1-r1')?.params).toBe(363);
    expect(counts.get('2d-g1-r64')?.params).toBe(363 * 64);
    // Two groups of 16 384 = 128 × 128.
    expect(counts.get('2d-g2-r4')?.params).toBe(2 * 256 * 4);
    // G = 8 and "weight" fold each weight into its own 64×64: the LoRA counts.
    expect(counts.get('2d-g8-r4')?.params).toBe(counts.get('lora-r4')?.params);
    expect(counts.get('2d-gw-r2')?.params).toBe(counts.get('lora-r2')?.params);
    // LoRTA 3D: 4096 = 16³ per weight, dense core r³ + 3 factors 16 × r.
    expect(counts.get('lorta3d-r2')?.params).toBe(8 * (2 ** 3 + 3 * 16 * 2));
    // LoKr: a full 8×8 split and a rank-r 8×8 split per weight.
    expect(counts.get('lokr-r2')?.params).toBe(8 * (64 + 16 * 2));
    // Fastfood: dense ΔW generated from ⌈ρ·N⌉ values.
    expect(counts.get('dense')?.params).toBe(32768);
    expect(counts.get('dense-ff0.1')?.params).toBe(Math.ceil(0.1 * 32768));
    // 2D G = 1 on m = 16 384 = 128 × 128 generated values.
    expect(counts.get('2d-g1-ff0.5-r4')?.params).toBe(256 * 4);
  });

  test('covers the paper families over roughly 10^2 to 10^4+ parameters', () => {
    const counts = [...paramsByName().values()];
    const families = new Set(counts.map((c) => c.family));
    for (const family of [
      FAMILIES.lora,
      FAMILIES.superlora2d,
      FAMILIES.lorta(3),
      FAMILIES.lorta(4),
      FAMILIES.lorta(5),
      FAMILIES.lokr,
      FAMILIES.lonkr,
      FAMILIES.fastfood2d,
      FAMILIES.fastfoodDense,
      FAMILIES.shuffle,
    ]) {
      expect(families).toContain(family);
    }
    const params = counts.map((c) => c.params);
    expect(Math.min(...params)).toBeLessThan(200);
    expect(Math.max(...params)).toBeGreaterThanOrEqual(32768);
    const superlora2d = counts
      .filter((c) => c.family === FAMILIES.superlora2d)
      .map((c) => c.params);
    expect(Math.min(...superlora2d)).toBeLessThan(500);
    expect(Math.max(...superlora2d)).toBeGreaterThan(20000);
  });

  test('a grid file with a bad config names the file, the entry and the field', () => {
    expect(() =>
      parseGrid(
        { name: 'g', configs: [{ name: 'a', family: 'LoRA', config: { rank: 0 } }] },
        'my-grid.json',
      ),
    ).toThrow(/my-grid\.json: configs\[0\] \(a\): Expected .* for config\.rank but received 0/);
    expect(() =>
      parseGrid(
        {
          name: 'g',
          configs: [
            { name: 'a', family: 'LoRA', config: {} },
            { name: 'a', family: 'LoRA', config: {} },
          ],
        },
        'dup.json',
      ),
    ).toThrow(/dup\.json: expected a name not used by an earlier entry for configs\[1\]\.name/);
    expect(() => parseGrid({ name: 'g', configs: [] }, 'empty.json')).toThrow(/empty\.json/);
    expect(() =>
      parseGrid(
        { name: 'g', configs: [{ name: 'a', family: 'LoRA', config: {} }], steps: 9 },
        'extra.json',
      ),
    ).toThrow('extra.json: expected a known field (name, configs) for steps but received 9');
  });
});

describe('paper-core grid', () => {
  test('is the paper-small configs it names, in paper-small order', () => {
    const core = namedGrid('paper-core');
    expect(core?.name).toBe('paper-core');
    expect(core?.configs.map((e) => e.name)).toEqual(
      paperSmallGrid()
        .configs.map((e) => e.name)
        .filter((name) => PAPER_CORE_NAMES.includes(name)),
    );
    expect(core?.configs).toHaveLength(PAPER_CORE_NAMES.length);
    const small = new Map(paperSmallGrid().configs.map((e) => [e.name, e]));
    for (const entry of core?.configs ?? []) expect(entry).toEqual(small.get(entry.name));
  });
});
