/**
 * The conformance suite of DESIGN.md "Engines must agree": written once, run against every engine
 * that exists here. Each case checks one SPEC section against an independent computation.
 */
import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { createPlan, type Plan } from '../../src/createPlan';
import type { SuperLoraConfig, Target } from '../../src/config';
import type { EngineName } from '../../src/engines/engine';
import { delta64, gradient64, multiIndices, specTolerance } from '../reference/spec64';
import { randomConfigCase, seededRandom } from './randomConfigs';

/** A copy of shared/vectors (SPEC §12), so the suite runs from any checkout; see test/vectors.test.ts. */
const VECTOR_DIR = join(__dirname, '..', 'vectors');

interface KnownAnswer {
  name: string;
  config: SuperLoraConfig;
  targets: Target[];
  numParams: number;
  deltaSize: number;
  paramLayout: { name: string; shape: number[]; offset: number }[];
  foldDims: number[][][];
  buckets: number[][];
  delta: number[];
  grad: number[];
}

export function loadKnownAnswers(): KnownAnswer[] {
  return readdirSync(VECTOR_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(VECTOR_DIR, file), 'utf8')) as KnownAnswer);
}

/** The SPEC §12 inputs: params[i] = 0.5·sin(i+1), dDelta[i] = cos(i+1). */
export function sinParams(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => 0.5 * Math.sin(i + 1));
}
export function cosUpstream(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.cos(i + 1));
}

function expectWithinSpec(actual: Float32Array, reference: ArrayLike<number>, what: string): void {
  const result = specTolerance(actual, reference);
  if (!result.ok) {
    throw new Error(
      `${what}: entry ${result.at} is ${actual[result.at]} but the reference is ${reference[result.at]} ` +
        `(${result.worst.toFixed(2)}× the SPEC §10b tolerance; lengths ${actual.length} vs ${reference.length})`,
    );
  }
}

/** Forward and backward of an engine against the float64 reference, on the SPEC §12 inputs. */
async function checkAgainstReference(plan: Plan, engine: EngineName, what: string): Promise<void> {
  const params = sinParams(plan.numParams);
  const upstream = cosUpstream(plan.deltaSize);
  const delta = await plan.delta(params, { engine });
  expectWithinSpec(delta, delta64(plan.layout, plan.tables, params), `${what} ΔW`);
  const grad = await plan.deltaBackward(params, upstream, { engine });
  expectWithinSpec(
    grad,
    gradient64(plan.layout, plan.tables, params, upstream),
    `${what} gradient`,
  );
}

export function describeConformance(engine: EngineName): void {
  describe(`conformance: ${engine} engine`, () => {
    describe('SPEC §12 known-answer vectors', () => {
      for (const vector of loadKnownAnswers()) {
        test(vector.name, async () => {
          const plan = createPlan(vector.config, vector.targets);
          expect(plan.numParams).toBe(vector.numParams);
          expect(plan.deltaSize).toBe(vector.deltaSize);
          expect(plan.paramLayout).toEqual(vector.paramLayout);
          expect(plan.layout.groups.map((g) => g.foldDims)).toEqual(vector.foldDims);
          expect(plan.layout.buckets.map((b) => b.groups)).toEqual(vector.buckets);
          const params = sinParams(plan.numParams);
          expectWithinSpec(await plan.delta(params, { engine }), vector.delta, 'ΔW');
          const grad = await plan.deltaBackward(params, cosUpstream(plan.deltaSize), { engine });
          expectWithinSpec(grad, vector.grad, 'gradient');
          plan.dispose();
        });
      }
    });

    test('LoRA (§5, M = 2, identity core) is A0 · A1ᵀ per weight', async () => {
      const targets: Target[] = [
        { name: 'q', shape: [5, 3], layer: 0 },
        { name: 'v', shape: [4, 6], layer: 0 },
      ];
      const plan = createPlan({ grouping: 'weight', reshape: 'natural', rank: 3 }, targets);
      const params = sinParams(plan.numParams);
      const delta = await plan.delta(params, { engine });
      const expected: number[] = [];
      for (const target of targets) {
        const [rows, cols] = target.shape;
        const entry = (suffix: string) => {
          const group = plan.layout.groups[targets.indexOf(target)];
          const bucket = plan.layout.buckets[group!.bucket]!;
          const layout = plan.paramLayout.find((p) => p.name === `b${bucket.index}.s0.${suffix}`)!;
          return (row: number, j: number) =>
            params[layout.offset + (group!.slot * layout.shape[1]! + row) * 3 + j]!;
        };
        const a0 = entry('f0');
        const a1 = entry('f1');
        for (let i = 0; i < rows; i++) {
          for (let c = 0; c < cols; c++) {
            let sum = 0;
            for (let j = 0; j < 3; j++) sum += a0(i, j) * a1(c, j);
            expected.push(sum);
          }
        }
      }
      expectWithinSpec(delta, expected, 'LoRA ΔW');
      plan.dispose();
    });

    test('Tucker with a dense core (§5) equals the explicit sum over core indices', async () => {
      const plan = createPlan({ grouping: 1, order: 3, rank: 2, core: 'dense' }, [
        { name: 'w', shape: [4, 6], layer: 0 },
      ]);
      // By hand: b = 2 (2³ ≤ 24 < 3³), then digits raised from the last while the product is < 24:
      // (2,2,3) → (2,3,3) → (3,3,3) = 27 values, of which the first 24 are ΔW.
      expect(plan.layout.buckets[0]!.foldDims).toEqual([[3, 3, 3]]);
      const params = sinParams(plan.numParams);
      const [core, f0, f1, f2] = plan.paramLayout.map((p) => p.offset);
      const delta = await plan.delta(params, { engine });
      const expected: number[] = [];
      for (const [i0, i1, i2] of multiIndices([3, 3, 3])) {
        if (expected.length === 24) break;
        let sum = 0;
        for (const [j0, j1, j2] of multiIndices([2, 2, 2])) {
          sum +=
            params[core! + j0! * 4 + j1! * 2 + j2!]! *
            params[f0! + i0! * 2 + j0!]! *
            params[f1! + i1! * 2 + j1!]! *
            params[f2! + i2! * 2 + j2!]!;
        }
        expected.push(sum);
      }
      expectWithinSpec(delta, expected, 'Tucker ΔW');
      plan.dispose();
    });

    test('CP (identity core, M = 4) and Tucker (dense core, M = 2) against the reference', async () => {
      const targets: Target[] = [{ name: 'w', shape: [9, 10], layer: 0 }];
      for (const config of [
        { grouping: 1, order: 4, rank: 3, core: 'identity' },
        { grouping: 1, order: 2, rank: 3, core: 'dense' },
        { grouping: 1, order: 1, rank: 2, core: 'identity' },
      ] as const) {
        const plan = createPlan(config, targets);
        await checkAgainstReference(plan, engine, JSON.stringify(config));
        plan.dispose();
      }
    });

    test('Kronecker (§6) of three splits equals the explicit digit loop', async () => {
      const plan = createPlan({ grouping: 1, order: 2, splits: 3, rank: ['full', 1, 'full'] }, [
        { name: 'w', shape: [8, 8], layer: 0 },
      ]);
      const dims = plan.layout.buckets[0]!.foldDims;
      expect(dims).toEqual([
        [2, 2],
        [2, 2],
        [2, 2],
      ]);
      const params = sinParams(plan.numParams);
      const byName = new Map(plan.paramLayout.map((p) => [p.name, p.offset]));
      const split0 = (a: number, b: number) => params[byName.get('b0.s0.full')! + a * 2 + b]!;
      const split1 = (a: number, b: number) =>
        params[byName.get('b0.s1.f0')! + a]! * params[byName.get('b0.s1.f1')! + b]!;
      const split2 = (a: number, b: number) => params[byName.get('b0.s2.full')! + a * 2 + b]!;
      const delta = await plan.delta(params, { engine });
      const expected = new Array<number>(64);
      for (const [a0, b0, a1, b1, a2, b2] of multiIndices([2, 2, 2, 2, 2, 2])) {
        const row = a0! * 4 + a1! * 2 + a2!;
        const col = b0! * 4 + b1! * 2 + b2!;
        expected[row * 8 + col] = split0(a0!, b0!) * split1(a1!, b1!) * split2(a2!, b2!);
      }
      expectWithinSpec(delta, expected, 'Kronecker ΔW');
      plan.dispose();
    });

    test('fastfood projection (§7) equals multiplication by its dense matrix', async () => {
      for (const ratio of [1, 0.5, 0.13]) {
        const plan = createPlan(
          { grouping: 2, order: 2, rank: 2, projection: { ratio }, seed: 7 },
          [{ name: 'w', shape: [5, 9], layer: 0 }],
        );
        await checkAgainstReference(plan, engine, `fastfood ρ = ${ratio}`);
        plan.dispose();
      }
    });

    test('shuffle (§8) permutes the unshuffled ΔW by σ', async () => {
      const targets: Target[] = [
        { name: 'a', shape: [3, 7], layer: 0 },
        { name: 'b', shape: [2, 7], layer: 1 },
      ];
      const base = { grouping: 'layer', order: 2, rank: 2, seed: 3 } as const;
      const plain = createPlan(base, targets);
      const shuffled = createPlan({ ...base, shuffle: true }, targets);
      const params = sinParams(plain.numParams);
      const v = await plain.delta(params, { engine });
      const sigma = shuffled.tables.shuffle();
      expect(Array.from(sigma).sort((x, y) => x - y)).toEqual(Array.from(v.keys()));
      expect(Array.from(await shuffled.delta(params, { engine }))).toEqual(
        Array.from(sigma, (s) => v[s]),
      );
      await checkAgainstReference(shuffled, engine, 'shuffle');
      plain.dispose();
      shuffled.dispose();
    });

    test('scale (§8) multiplies ΔW and its gradient', async () => {
      const targets: Target[] = [{ name: 'w', shape: [6, 4], layer: 0 }];
      const one = createPlan({ rank: 2 }, targets);
      const scaled = createPlan({ rank: 2, scale: -2.5 }, targets);
      const params = sinParams(one.numParams);
      const base = await one.delta(params, { engine });
      expectWithinSpec(
        await scaled.delta(params, { engine }),
        Array.from(base, (x) => -2.5 * x),
        'scaled ΔW',
      );
      const upstream = cosUpstream(one.deltaSize);
      const grad = await one.deltaBackward(params, upstream, { engine });
      expectWithinSpec(
        await scaled.deltaBackward(params, upstream, { engine }),
        Array.from(grad, (x) => -2.5 * x),
        'scaled gradient',
      );
      one.dispose();
      scaled.dispose();
    });

    test('random configs (fixed seeds): forward and backward against the float64 reference', async () => {
      const random = seededRandom(20261129);
      let checked = 0;
      for (let attempt = 0; attempt < 200 && checked < 40; attempt++) {
        const { config, targets } = randomConfigCase(random);
        let plan: Plan;
        try {
          plan = createPlan(config, targets);
        } catch {
          continue; // invalid combinations are covered by the config tests
        }
        if (plan.numParams > 400 || plan.deltaSize > 400) {
          plan.dispose();
          continue;
        }
        await checkAgainstReference(
          plan,
          engine,
          `random case ${JSON.stringify({ config, targets })}`,
        );
        plan.dispose();
        checked++;
      }
      expect(checked).toBe(40);
    });
  });
}
