import { ConfigError } from '../src/config';
import { layoutPlan, naturalFactors, squareFoldDims } from '../src/plan';

const vit = (layers: number) =>
  Array.from({ length: layers }, (_, l) =>
    ['query', 'value'].map((kind) => ({
      name: `l${l}.${kind}`,
      shape: [768, 768] as [number, number],
      layer: l,
    })),
  ).flat();

describe('folds (SPEC §4)', () => {
  test('worked examples', () => {
    expect(squareFoldDims(589824, 5, 1)).toEqual([[14, 14, 14, 15, 15]]);
    expect(naturalFactors(768, 2)).toEqual([24, 32]);
    expect(naturalFactors(768, 3)).toEqual([8, 8, 12]);
    expect(naturalFactors(7, 3)).toEqual([1, 1, 7]);
  });

  test('square fold covers m with digits b or b + 1, raised from the last', () => {
    // m = 10, M·K = 2: b = 3, 9 < 10 → (3, 4) = 12.
    expect(squareFoldDims(10, 2, 1)).toEqual([[3, 4]]);
    // m = 9: b = 3, exact.
    expect(squareFoldDims(9, 2, 1)).toEqual([[3, 3]]);
    // m = 7 into 2 splits × 2 modes: b = 1, digits (1,1,1,2) → (1,1,2,2) → (1,2,2,2) = 8.
    expect(squareFoldDims(7, 2, 2)).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(squareFoldDims(1, 3, 1)).toEqual([[1, 1, 1]]);
    for (let m = 1; m < 300; m += 7) {
      for (const [order, splits] of [
        [1, 1],
        [2, 1],
        [3, 2],
        [5, 1],
      ] as const) {
        const dims = squareFoldDims(m, order, splits).flat();
        const product = dims.reduce((a, b) => a * b, 1);
        expect(product).toBeGreaterThanOrEqual(m);
        expect(Math.max(...dims) - Math.min(...dims)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('groups and buckets (SPEC §3, §10)', () => {
  test('weight grouping of a ViT-base: one bucket of 24 groups, LoRA layout', () => {
    const layout = layoutPlan({ reshape: 'natural', rank: 8 }, vit(12));
    expect(layout.deltaSize).toBe(14155776);
    expect(layout.groups).toHaveLength(24);
    expect(layout.buckets).toHaveLength(1);
    expect(layout.paramLayout).toEqual([
      { name: 'b0.s0.f0', shape: [24, 768, 8], offset: 0 },
      { name: 'b0.s0.f1', shape: [24, 768, 8], offset: 24 * 768 * 8 },
    ]);
    expect(layout.numParams).toBe(2 * 24 * 768 * 8);
  });

  test('layer grouping stacks a layer’s targets in order of first appearance', () => {
    const layout = layoutPlan({ grouping: 'layer', reshape: 'natural' }, [
      { name: 'a', shape: [2, 3], layer: 'x' },
      { name: 'b', shape: [4, 3], layer: 'y' },
      { name: 'c', shape: [1, 3], layer: 'x' },
    ]);
    expect(layout.groups.map((g) => g.regions)).toEqual([
      [
        { start: 0, length: 6 },
        { start: 18, length: 3 },
      ],
      [{ start: 6, length: 12 }],
    ]);
    expect(layout.groups.map((g) => g.foldDims)).toEqual([[[3, 3]], [[4, 3]]]);
    expect(layout.groups.map((g) => g.virtualLength)).toEqual([9, 12]);
  });

  test('uniform grouping: c = ⌈N/G⌉, the last group writes the rest', () => {
    const layout = layoutPlan({ grouping: 3 }, [{ name: 'w', shape: [5, 5], layer: 0 }]);
    expect(layout.groups.map((g) => g.regions)).toEqual([
      [{ start: 0, length: 9 }],
      [{ start: 9, length: 9 }],
      [{ start: 18, length: 7 }],
    ]);
    expect(layout.groups.every((g) => g.virtualLength === 9)).toBe(true);
    expect(layout.buckets).toHaveLength(1);
  });

  test('projection: m = max(1, ⌈ρ n⌉), L = next power of two of n, shared per L', () => {
    const layout = layoutPlan({ grouping: 'weight', projection: { ratio: 0.3 } }, [
      { name: 'a', shape: [5, 8], layer: 0 },
      { name: 'b', shape: [3, 3], layer: 0 },
      { name: 'c', shape: [1, 1], layer: 0 },
    ]);
    expect(layout.groups.map((g) => g.generatedLength)).toEqual([12, 3, 1]);
    expect(layout.buckets.map((b) => b.projectionSize)).toEqual([64, 16, 1]);
    expect(layout.projectionSizes).toEqual([64, 16, 1]);
  });

  test('buckets group equal (n, m, d) and keep first-appearance order', () => {
    const layout = layoutPlan({ rank: 2 }, [
      { name: 'a', shape: [4, 4], layer: 0 },
      { name: 'b', shape: [2, 8], layer: 0 },
      { name: 'c', shape: [3, 3], layer: 0 },
      { name: 'd', shape: [4, 4], layer: 0 },
    ]);
    expect(layout.buckets.map((b) => b.groups)).toEqual([[0, 1, 3], [2]]);
    expect(layout.groups.map((g) => [g.bucket, g.slot])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [0, 2],
    ]);
  });

  test('invalid groupings and natural folds are rejected naming the field', () => {
    const one = [{ name: 'w', shape: [2, 3] as [number, number], layer: 0 }];
    expect(() => layoutPlan({ grouping: 7 }, one)).toThrow(ConfigError);
    expect(() => layoutPlan({ grouping: 7 }, one)).toThrow(/config.grouping.*7/);
    // N = 10, G = 4: c = 3, (G−1)·c = 9 < 10 is fine; G = 6: c = 2, 5·2 = 10 ≥ 10 leaves a group empty.
    const ten = [{ name: 'w', shape: [2, 5] as [number, number], layer: 0 }];
    expect(layoutPlan({ grouping: 4 }, ten).groups).toHaveLength(4);
    expect(() => layoutPlan({ grouping: 6 }, ten)).toThrow(/config.grouping.*6/);
    expect(() =>
      layoutPlan({ grouping: 'layer', reshape: 'natural' }, [
        { name: 'a', shape: [2, 3], layer: 0 },
        { name: 'b', shape: [2, 4], layer: 0 },
      ]),
    ).toThrow(/targets\[1\]\.shape/);
  });

  test('a parameter count beyond 2^31 − 1 is a ConfigError naming config.order, config.rank and the count', () => {
    const small = [
      { name: 'a', shape: [64, 64] as [number, number], layer: 0 },
      { name: 'b', shape: [192, 64] as [number, number], layer: 0 },
    ];
    // A dense core of rank 8 and order 12 alone has 8^12 = 68719476736 values.
    expect(() => layoutPlan({ order: 12, grouping: 1, rank: 8 }, small)).toThrow(ConfigError);
    expect(() => layoutPlan({ order: 12, grouping: 1, rank: 8 }, small)).toThrow(
      /at most 2\^31 − 1 adapter parameters for config\.order 12 and config\.rank 8 \(a dense core.*\) but received 68719476960/,
    );
    expect(() => layoutPlan({ order: 50 }, small)).toThrow(
      /config\.order 50 and config\.rank 4 .*but received 2\.535\d*e\+30/,
    );
    expect(() => layoutPlan({ order: 2, rank: [4, 'full'], splits: 2 }, small)).not.toThrow();
    // 8^10 + factors fits: the bound is on the count, not on the order.
    expect(layoutPlan({ order: 10, grouping: 1, rank: 8 }, small).numParams).toBeLessThan(2 ** 31);
  });
});
