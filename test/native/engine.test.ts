/**
 * The native engine against the tfjs reference on configs bigger than the conformance suite's
 * (several buckets, every grouping, projection, shuffle, K ≤ 3, M ≤ 5, groups run whole and groups
 * spread over the pool), a ViT-sized LoRA, the boundary checks of DESIGN.md "Native boundary",
 * async against sync, concurrency on one plan, and the plan's tables against src/tables.ts.
 */
import { createPlan, type Plan } from '../../src/createPlan';
import type { SuperLoraConfig, Target } from '../../src/config';
import type { NativeEngine } from '../../src/engines/native';
import type { NativePlan, NativePlanDescriptor } from '../../src/native/addonTypes';
import { loadAddon } from '../../src/native/loadAddon';
import { buildPlanDescriptor } from '../../src/native/planDescriptor';
import type { FastfoodTable } from '../../src/tables';
import { specTolerance } from '../reference/spec64';
import { seededRandom } from '../conformance/randomConfigs';
import { expectNativeError, thrownBy } from './expectNativeError';

const addon = loadAddon();

// The tfjs reference is slow on its cpu backend (and the gradient of its gather is quadratic), so
// the comparisons with it get more than jest's default time.
const HEAVY_TIMEOUT_MS = 600_000;

function randomVector(length: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => 2 * random() - 1);
}

function expectWithinSpec(actual: Float32Array, reference: Float32Array, what: string): void {
  const result = specTolerance(actual, reference);
  if (!result.ok) {
    throw new Error(
      `${what}: entry ${result.at} is ${actual[result.at]} but tfjs gives ${reference[result.at]} ` +
        `(${result.worst.toFixed(2)}× the SPEC §10b tolerance; lengths ${actual.length} vs ${reference.length})`,
    );
  }
}

function nativeEngine(plan: Plan): NativeEngine {
  return plan.engine('native') as NativeEngine;
}

/** Forward and backward of native against tfjs on seeded inputs. */
async function expectAgreesWithTfjs(plan: Plan, what: string, seed = 1): Promise<void> {
  const params = randomVector(plan.numParams, seed);
  const upstream = randomVector(plan.deltaSize, seed + 1);
  const tfjs = plan.engine('tfjs');
  const native = nativeEngine(plan);
  expectWithinSpec(await native.delta(params), await tfjs.delta(params), `${what} ΔW`);
  expectWithinSpec(
    await native.deltaBackward(params, upstream),
    await tfjs.deltaBackward(params, upstream),
    `${what} gradient`,
  );
}

/**
 * The native gradient against the native forward, for plans too big for tfjs's backward: ΔW_all is
 * linear in each parameter tensor on its own (SPEC §5–§8: a tensor enters every product at most
 * once), so ⟨u, ΔW(p + v) − ΔW(p)⟩ = ⟨∇, v⟩ exactly for v supported on one tensor.
 */
async function expectGradientMatchesForward(plan: Plan, what: string, seed = 1): Promise<void> {
  const engine = nativeEngine(plan);
  const params = randomVector(plan.numParams, seed);
  const upstream = randomVector(plan.deltaSize, seed + 1);
  const base = await engine.delta(params);
  const gradient = await engine.deltaBackward(params, upstream);
  for (const entry of plan.paramLayout) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const direction = randomVector(count, seed + entry.offset + 2);
    const moved = params.slice();
    for (let i = 0; i < count; i++) moved[entry.offset + i]! += direction[i]!;
    const delta = await engine.delta(moved);
    let change = 0;
    let magnitude = 0;
    for (let i = 0; i < delta.length; i++) {
      change += upstream[i]! * (delta[i]! - base[i]!);
      magnitude += Math.abs(upstream[i]!) * (Math.abs(delta[i]!) + Math.abs(base[i]!));
    }
    let predicted = 0;
    for (let i = 0; i < count; i++) predicted += gradient[entry.offset + i]! * direction[i]!;
    // float32 rounding of ΔW_all bounds the error of `change` by a small multiple of 2^-24 per term.
    const tolerance = 1e-5 * magnitude + 1e-6;
    if (!(Math.abs(change - predicted) <= tolerance)) {
      throw new Error(
        `${what}: ⟨u, ΔW(p + v) − ΔW(p)⟩ = ${change} but ⟨∇, v⟩ = ${predicted} for ${entry.name} ` +
          `(tolerance ${tolerance})`,
      );
    }
  }
}

function integer(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** A random config and targets of up to a few thousand values. */
function largerRandomCase(random: () => number): { config: SuperLoraConfig; targets: Target[] } {
  const targetCount = integer(random, 2, 6);
  const sharedIn = integer(random, 4, 40);
  const targets: Target[] = Array.from({ length: targetCount }, (_, t) => ({
    name: `t${t}`,
    shape: [integer(random, 1, 40), random() < 0.6 ? sharedIn : integer(random, 1, 40)],
    layer: integer(random, 0, 2),
  }));
  const splits = integer(random, 1, 3);
  const natural = random() < 0.2;
  const order = natural ? 2 : integer(random, 1, 5);
  const config: SuperLoraConfig = {
    grouping: natural
      ? pick(random, ['weight', 'layer'] as const)
      : pick(random, ['weight', 'layer', 1, 2, 3, 5, 8] as const),
    order,
    splits,
    rank: Array.from({ length: splits }, () => (random() < 0.25 ? 'full' : integer(random, 1, 4))),
    core: pick(random, ['identity', 'dense'] as const),
    reshape: natural ? 'natural' : 'square',
    shuffle: random() < 0.35,
    scale: pick(random, [1, 0.5, -3]),
    seed: integer(random, 0, 100000),
  };
  if (!natural && random() < 0.4) config.projection = { ratio: pick(random, [1, 0.7, 0.3, 0.05]) };
  return { config, targets };
}

describe('native engine against tfjs', () => {
  test(
    'random configs (fixed seeds) of up to a few thousand values, forward and backward',
    async () => {
      const random = seededRandom(771);
      const seen = new Set<string>();
      let checked = 0;
      for (let attempt = 0; attempt < 400 && checked < 40; attempt++) {
        const { config, targets } = largerRandomCase(random);
        let plan: Plan;
        try {
          plan = createPlan(config, targets);
        } catch {
          continue; // invalid combinations are covered by the config tests
        }
        if (plan.numParams > 20000 || plan.deltaSize > 3000) {
          plan.dispose();
          continue;
        }
        const resolved = plan.config;
        seen.add(
          `grouping:${typeof resolved.grouping === 'number' ? 'uniform' : resolved.grouping}`,
        );
        seen.add(`order:${resolved.order}`);
        seen.add(`splits:${resolved.splits}`);
        if (resolved.projection) seen.add('projection');
        if (resolved.shuffle) seen.add('shuffle');
        if (plan.layout.buckets.length > 1) seen.add('buckets>1');
        await expectAgreesWithTfjs(plan, JSON.stringify({ config, targets }), attempt);
        plan.dispose();
        checked++;
      }
      expect(checked).toBe(40);
      for (const feature of [
        'grouping:weight',
        'grouping:layer',
        'grouping:uniform',
        'order:1',
        'order:5',
        'splits:3',
        'projection',
        'shuffle',
        'buckets>1',
      ]) {
        expect(seen).toContain(feature);
      }
    },
    HEAVY_TIMEOUT_MS,
  );

  // tfjs differentiates its gathers (the shuffle, the placement of staged regions, π) through
  // unsortedSegmentSum, which is quadratic on its cpu backend, so the big cases compare with tfjs
  // only where its backward has no such gather, and check the rest by exact identities.
  test.each([
    [
      'G = 1, LoRA-like rank 4, projection',
      { grouping: 1, order: 2, rank: 4, projection: { ratio: 0.5 }, scale: 0.5 },
    ],
    ['G = 1, Tucker M = 3', { grouping: 1, order: 3, rank: 3, core: 'dense' }],
    ['G = 1, CP M = 4', { grouping: 1, order: 4, rank: 3 }],
    ['G = 1, LoKr', { grouping: 1, order: 2, splits: 2, rank: ['full', 3] }],
    [
      'G = 1, K = 3 with a Tucker split, projection',
      {
        grouping: 1,
        order: 2,
        splits: 3,
        rank: [2, 'full', 2],
        core: 'dense',
        projection: { ratio: 0.3 },
      },
    ],
    ['G = 1, dense', { grouping: 1, order: 1, rank: ['full'], scale: -2 }],
  ] as [string, SuperLoraConfig][])(
    'groups spread over the pool (%s)',
    async (what, config) => {
      // G = 1 over 2^16 values: the smallest group the engine spreads over the pool.
      const targets: Target[] = [
        { name: 'a', shape: [160, 256], layer: 0 },
        { name: 'b', shape: [96, 256], layer: 1 },
      ];
      const plan = createPlan(config, targets);
      const info = nativeEngine(plan).nativePlan().info();
      expect(info.splitGroups).toBeGreaterThan(0);
      if (config.projection) {
        // tfjs differentiates the gather by π quadratically in L (65 536 here): forward only.
        const params = randomVector(plan.numParams, 1);
        expectWithinSpec(
          await nativeEngine(plan).delta(params),
          await plan.engine('tfjs').delta(params),
          `${what} ΔW`,
        );
        await expectGradientMatchesForward(plan, what);
      } else {
        await expectAgreesWithTfjs(plan, what);
      }
      plan.dispose();
    },
    HEAVY_TIMEOUT_MS,
  );

  test('a big shuffled plan is the unshuffled one permuted by σ, forward and backward, exactly', async () => {
    const targets: Target[] = [{ name: 'w', shape: [700, 600], layer: 0 }];
    const base: SuperLoraConfig = { grouping: 1, order: 3, rank: 3, projection: { ratio: 0.5 } };
    const plain = createPlan(base, targets);
    const shuffled = createPlan({ ...base, shuffle: true }, targets);
    const sigma = shuffled.tables.shuffle();
    const params = randomVector(plain.numParams, 8);
    const v = await nativeEngine(plain).delta(params);
    expect(await nativeEngine(shuffled).delta(params)).toEqual(
      Float32Array.from(sigma, (s) => v[s] as number),
    );
    const upstream = randomVector(plain.deltaSize, 9);
    const unshuffledUpstream = new Float32Array(plain.deltaSize);
    sigma.forEach((s, i) => (unshuffledUpstream[s] = upstream[i] as number));
    expect(await nativeEngine(shuffled).deltaBackward(params, upstream)).toEqual(
      await nativeEngine(plain).deltaBackward(params, unshuffledUpstream),
    );
    plain.dispose();
    shuffled.dispose();
  });

  test(
    'layer groups whose targets are not adjacent (staged output) against tfjs',
    async () => {
      const targets: Target[] = [
        { name: 'q0', shape: [6, 64], layer: 0 },
        { name: 'q1', shape: [6, 64], layer: 1 },
        { name: 'v0', shape: [6, 64], layer: 0 },
        { name: 'v1', shape: [6, 64], layer: 1 },
      ];
      for (const config of [
        { grouping: 'layer', reshape: 'natural', rank: 2 },
        { grouping: 'layer', order: 3, rank: 2, projection: { ratio: 0.4 }, shuffle: true },
        { grouping: 'layer', order: 2, splits: 2, rank: [2, 'full'] },
      ] as SuperLoraConfig[]) {
        const plan = createPlan(config, targets);
        await expectAgreesWithTfjs(plan, JSON.stringify(config));
        plan.dispose();
      }
    },
    HEAVY_TIMEOUT_MS,
  );

  test('big staged layer groups equal the same groups written in place, reordered', async () => {
    const rows = 300;
    const interleaved: Target[] = [
      { name: 'q0', shape: [rows, 256], layer: 0 },
      { name: 'q1', shape: [rows, 256], layer: 1 },
      { name: 'v0', shape: [rows, 256], layer: 0 },
      { name: 'v1', shape: [rows, 256], layer: 1 },
    ];
    // The same layers with their targets adjacent: identical groups, parameters and outputs,
    // only the order of the target blocks in ΔW_all differs.
    const adjacent = [0, 2, 1, 3].map((t) => interleaved[t] as Target);
    const block = rows * 256;
    for (const config of [
      { grouping: 'layer', reshape: 'natural', rank: 2 },
      { grouping: 'layer', order: 3, rank: 2, projection: { ratio: 0.4 } },
      { grouping: 'layer', order: 2, splits: 2, rank: [2, 'full'] },
    ] as SuperLoraConfig[]) {
      const staged = createPlan(config, interleaved);
      const inPlace = createPlan(config, adjacent);
      expect(nativeEngine(staged).nativePlan().info().splitGroups).toBe(2);
      const params = randomVector(staged.numParams, 4);
      const stagedDelta = await nativeEngine(staged).delta(params);
      const inPlaceDelta = await nativeEngine(inPlace).delta(params);
      const reorder = (values: Float32Array, order: number[]): Float32Array => {
        const out = new Float32Array(values.length);
        order.forEach((from, to) =>
          out.set(values.subarray(from * block, (from + 1) * block), to * block),
        );
        return out;
      };
      expect(stagedDelta).toEqual(reorder(inPlaceDelta, [0, 2, 1, 3]));
      const upstream = randomVector(staged.deltaSize, 5);
      expect(await nativeEngine(staged).deltaBackward(params, upstream)).toEqual(
        await nativeEngine(inPlace).deltaBackward(params, reorder(upstream, [0, 2, 1, 3])),
      );
      staged.dispose();
      inPlace.dispose();
    }
  });

  test(
    'ViT-sized LoRA (24 × 768×768, rank 8): forward and backward within SPEC §10b',
    async () => {
      const targets: Target[] = Array.from({ length: 24 }, (_, t) => ({
        name: `layer${t >> 1}.${t % 2 === 0 ? 'query' : 'value'}`,
        shape: [768, 768],
        layer: t >> 1,
      }));
      const plan = createPlan(
        { grouping: 'weight', reshape: 'natural', order: 2, rank: 8 },
        targets,
      );
      expect(plan.deltaSize).toBe(24 * 768 * 768);
      await expectAgreesWithTfjs(plan, 'ViT LoRA r8');
      plan.dispose();
    },
    HEAVY_TIMEOUT_MS,
  );
});

describe('native plan boundary', () => {
  const targets: Target[] = [{ name: 'w', shape: [6, 5], layer: 0 }];
  let plan: Plan;
  let native: NativePlan;
  beforeEach(() => {
    plan = createPlan({ grouping: 1, order: 2, rank: 2, shuffle: true }, targets);
    native = nativeEngine(plan).nativePlan();
  });
  afterEach(() => plan.dispose());

  test.each([
    [
      'an Array',
      () => [1, 2, 3],
      'TypeError',
      /Expected Float32Array for params but received Array/,
    ],
    [
      'a Float64Array',
      (n: number) => new Float64Array(n),
      'TypeError',
      /for params but received Float64Array/,
    ],
    ['undefined', () => undefined, 'TypeError', /for params but received undefined/],
    [
      'too short',
      (n: number) => new Float32Array(n - 1),
      'RangeError',
      /Expected \d+ values for params but received/,
    ],
  ] as const)('params as %s is rejected naming params', (_, make, name, message) => {
    const params = make(plan.numParams) as unknown as Float32Array;
    const out = new Float32Array(plan.deltaSize);
    expectNativeError(() => native.forward(params, out), name, message);
    expectNativeError(
      () =>
        native.backward(params, new Float32Array(plan.deltaSize), new Float32Array(plan.numParams)),
      name,
      message,
    );
  });

  test('outputs and upstream gradients are named', () => {
    const params = new Float32Array(plan.numParams);
    expectNativeError(() => native.forward(params, new Float32Array(3)), 'RangeError', /for out/);
    expectNativeError(
      () => native.backward(params, new Float32Array(3), new Float32Array(plan.numParams)),
      'RangeError',
      /for dOut/,
    );
    expectNativeError(
      () =>
        native.backward(params, new Float32Array(plan.deltaSize), 'x' as unknown as Float32Array),
      'TypeError',
      /for dParams but received string 'x'/,
    );
  });

  test('a detached buffer is a TypeError naming the argument', () => {
    const params = new Float32Array(plan.numParams);
    structuredClone(params.buffer, { transfer: [params.buffer] });
    expectNativeError(
      () => native.forward(params, new Float32Array(plan.deltaSize)),
      'TypeError',
      /for params .*detached/,
    );
    const out = new Float32Array(plan.deltaSize);
    structuredClone(out.buffer, { transfer: [out.buffer] });
    expectNativeError(
      () => native.forward(new Float32Array(plan.numParams), out),
      'TypeError',
      /for out .*detached/,
    );
  });

  test('an output overlapping an input is a RangeError', () => {
    const shared = new Float32Array(plan.numParams + plan.deltaSize);
    const params = shared.subarray(0, plan.numParams);
    const out = shared.subarray(1, 1 + plan.deltaSize);
    expectNativeError(
      () => native.forward(params, out),
      'RangeError',
      /out not to share memory with params/,
    );
    const disjoint = shared.subarray(plan.numParams, plan.numParams + plan.deltaSize);
    expect(() => native.forward(params, disjoint)).not.toThrow();
  });

  test('a disposed plan throws Error "plan disposed" from every method; dispose is idempotent', async () => {
    const params = new Float32Array(plan.numParams);
    native.dispose();
    native.dispose();
    expect(native.disposed).toBe(true);
    expectNativeError(
      () => native.forward(params, new Float32Array(plan.deltaSize)),
      'Error',
      'plan disposed',
    );
    expectNativeError(() => native.info(), 'Error', 'plan disposed');
    expectNativeError(() => native.shuffleTable(), 'Error', 'plan disposed');
    const error = thrownBy(() => native.forwardAsync(params, new Float32Array(plan.deltaSize)));
    expect(error.message).toBe('plan disposed');
  });

  test('async calls queued before dispose settle without crashing', async () => {
    const params = randomVector(plan.numParams, 3);
    const pending = Array.from({ length: 8 }, () =>
      native.forwardAsync(params, new Float32Array(plan.deltaSize)).then(
        () => 'resolved',
        (error: Error) => error.message,
      ),
    );
    native.dispose();
    for (const outcome of await Promise.all(pending))
      expect(['resolved', 'plan disposed']).toContain(outcome);
  });

  test('the engine checks its arguments in TypeScript with the engine API names', async () => {
    const engine = nativeEngine(plan);
    await expect(
      engine.deltaBackward(new Float32Array(plan.numParams), new Float32Array(2)),
    ).rejects.toThrow(/for dDelta/);
    expect(() => engine.deltaInto(new Float32Array(plan.numParams), new Float32Array(2))).toThrow(
      /for out/,
    );
    engine.dispose();
    await expect(engine.delta(new Float32Array(plan.numParams))).rejects.toThrow(/disposed/);
  });
});

describe('native plan descriptor checks', () => {
  const plan = createPlan(
    { grouping: 'layer', order: 3, rank: 2, core: 'dense', projection: { ratio: 0.5 } },
    [
      { name: 'a', shape: [4, 8], layer: 0 },
      { name: 'b', shape: [3, 8], layer: 1 },
      { name: 'c', shape: [2, 8], layer: 0 },
    ],
  );
  const good = (): NativePlanDescriptor => buildPlanDescriptor(plan.layout, plan.tables);
  afterAll(() => plan.dispose());

  test('a valid descriptor builds; the NativePlan constructor needs new', () => {
    expect(new addon.NativePlan(good()).deltaSize).toBe(plan.deltaSize);
    const call = addon.NativePlan as unknown as (descriptor: unknown) => unknown;
    expect(thrownBy(() => call(good())).name).toBe('TypeError');
  });

  test.each([
    [
      'not an object',
      () => 3 as unknown as NativePlanDescriptor,
      'TypeError',
      /for descriptor but received number 3/,
    ],
    [
      'a missing field',
      () => ({ ...good(), deltaSize: undefined }) as unknown as NativePlanDescriptor,
      'TypeError',
      /descriptor\.deltaSize/,
    ],
    ['another format', () => ({ ...good(), format: 2 }), 'RangeError', /descriptor\.format/],
    [
      'a typed array of the wrong type',
      () => ({ ...good(), ranks: new Float64Array([2]) }) as unknown as NativePlanDescriptor,
      'TypeError',
      /Expected Int32Array for descriptor\.ranks/,
    ],
    [
      'a typed array of the wrong length',
      () => ({ ...good(), bucketFoldDims: new Int32Array(2) }),
      'RangeError',
      /values for descriptor\.bucketFoldDims/,
    ],
    [
      'a zero fold dim',
      () => {
        const d = good();
        d.bucketFoldDims[0] = 0;
        return d;
      },
      'RangeError',
      /descriptor\.bucketFoldDims\[0\]/,
    ],
    [
      'a fold too small for the group',
      () => {
        const d = good();
        d.bucketFoldDims.fill(1);
        return d;
      },
      'RangeError',
      /fold/,
    ],
    [
      'a parameter offset outside the vector',
      () => {
        const d = good();
        d.splitFactorOffset[0] = d.numParams - 1;
        return d;
      },
      'RangeError',
      /inside the \d+ parameters/,
    ],
    [
      'overlapping parameter tensors',
      () => {
        const d = good();
        d.splitFactorOffset[1] = d.splitFactorOffset[0]!;
        return d;
      },
      'RangeError',
      /parameter tensors to cover/,
    ],
    [
      'a region past ΔW_all',
      () => {
        const d = good();
        d.regionStart[0] = d.deltaSize;
        return d;
      },
      'RangeError',
      /descriptor\.regionStart\[0\]/,
    ],
    [
      'regions that leave a gap',
      () => {
        const d = good();
        d.regionLength[0] = 1;
        return d;
      },
      'RangeError',
      /group regions to cover/,
    ],
    [
      'a slot used twice',
      () => {
        const d = good();
        d.groupBucket.fill(0);
        return d;
      },
      'RangeError',
      /slot 0/,
    ],
    [
      'a projection size that is not nextpow2(n)',
      () => {
        const d = good();
        d.bucketProjectionSize[0] = 1024;
        return d;
      },
      'RangeError',
      /bucketProjectionSize\[0\]/,
    ],
    [
      'a shuffle table without a shuffle',
      () => ({ ...good(), fileShuffle: new Int32Array(plan.deltaSize) }),
      'RangeError',
      /fileShuffle/,
    ],
    [
      'a non-permutation table',
      () => {
        const d = good();
        const size = plan.layout.projectionSizes[0]!;
        return {
          ...d,
          fileTableSizes: new Float64Array([size]),
          fileTableSigns: new Float32Array(size).fill(1),
          fileTablePerm: new Int32Array(size),
          fileTableGaussians: new Float32Array(size).fill(1),
        };
      },
      'RangeError',
      /permutation/,
    ],
    [
      'a detached array',
      () => {
        const d = good();
        structuredClone(d.groupSlot.buffer, { transfer: [d.groupSlot.buffer as ArrayBuffer] });
        return d;
      },
      'TypeError',
      /descriptor\.groupSlot .*detached/,
    ],
  ] as [string, () => NativePlanDescriptor, 'TypeError' | 'RangeError', RegExp][])(
    '%s is rejected naming the field',
    (_, make, name, message) => {
      expectNativeError(() => new addon.NativePlan(make()), name, message);
    },
  );
});

describe('native plan: async, concurrency, tables', () => {
  const targets: Target[] = [
    { name: 'a', shape: [40, 64], layer: 0 },
    { name: 'b', shape: [24, 64], layer: 1 },
  ];
  const config: SuperLoraConfig = {
    grouping: 3,
    order: 3,
    splits: 2,
    rank: [2, 3],
    core: 'dense',
    projection: { ratio: 0.6 },
    shuffle: true,
    scale: 1.5,
    seed: 42,
  };

  test('sync (into caller buffers) and async forms agree exactly', async () => {
    const plan = createPlan(config, targets);
    const engine = nativeEngine(plan);
    const params = randomVector(plan.numParams, 11);
    const upstream = randomVector(plan.deltaSize, 12);
    const out = new Float32Array(plan.deltaSize);
    expect(engine.deltaInto(params, out)).toBe(out);
    expect(await engine.delta(params)).toEqual(out);
    const dParams = new Float32Array(plan.numParams).fill(NaN);
    expect(engine.deltaBackwardInto(params, upstream, dParams)).toBe(dParams);
    expect(await engine.deltaBackward(params, upstream)).toEqual(dParams);
    plan.dispose();
  });

  test('the promise forms compute from the values passed, even when the caller changes its arrays before they settle', async () => {
    // Big enough that the pool is still at work when the arrays change (milliseconds, not µs).
    const big: Target[] = [
      { name: 'q', shape: [512, 512], layer: 0 },
      { name: 'v', shape: [512, 512], layer: 0 },
    ];
    const plan = createPlan({ grouping: 1, order: 3, rank: 8, core: 'dense' }, big);
    const engine = nativeEngine(plan);
    const params = randomVector(plan.numParams, 21);
    const upstream = randomVector(plan.deltaSize, 22);
    const expectedDelta = engine.deltaInto(params, new Float32Array(plan.deltaSize)).slice();
    const expectedGrad = engine
      .deltaBackwardInto(params, upstream, new Float32Array(plan.numParams))
      .slice();
    const delta = engine.delta(params);
    const grad = engine.deltaBackward(params, upstream);
    params.fill(7); // an optimizer step in place, say, while the calls run on the pool
    upstream.fill(-3);
    // The index of the first difference, not toEqual: jest's diff of 2^19 floats would hang.
    const firstDifference = (a: Float32Array, b: Float32Array): number =>
      a.length !== b.length ? -2 : a.findIndex((value, i) => !Object.is(value, b[i]));
    expect(firstDifference(await delta, expectedDelta)).toBe(-1);
    expect(firstDifference(await grad, expectedGrad)).toBe(-1);
    plan.dispose();
  });

  test('50 concurrent async calls on one plan are all correct', async () => {
    const plan = createPlan(config, targets);
    const native = nativeEngine(plan).nativePlan();
    const inputs = Array.from({ length: 50 }, (_, i) => randomVector(plan.numParams, 100 + i));
    const upstream = randomVector(plan.deltaSize, 99);
    const expectedDelta = inputs.map((params) => {
      const out = new Float32Array(plan.deltaSize);
      native.forward(params, out);
      return out;
    });
    const expectedGrad = inputs.map((params) => {
      const grad = new Float32Array(plan.numParams);
      native.backward(params, upstream, grad);
      return grad;
    });
    const outs = inputs.map(() => new Float32Array(plan.deltaSize));
    const grads = inputs.map(() => new Float32Array(plan.numParams));
    await Promise.all(
      inputs.flatMap((params, i) => [
        native.forwardAsync(params, outs[i] as Float32Array),
        native.backwardAsync(params, upstream, grads[i] as Float32Array),
      ]),
    );
    outs.forEach((out, i) => expect(out).toEqual(expectedDelta[i]));
    grads.forEach((grad, i) => expect(grad).toEqual(expectedGrad[i]));
    plan.dispose();
  });

  test('the plan generates the same tables as src/tables.ts', () => {
    const plan = createPlan(config, targets);
    const native = nativeEngine(plan).nativePlan();
    const info = native.info();
    expect(info.fastfoodSizes).toEqual(plan.layout.projectionSizes);
    expect(info.fastfoodFromFile).toEqual([]);
    expect(info.shuffleFromFile).toBe(false);
    for (const size of plan.layout.projectionSizes) {
      const table = native.fastfoodTable(size);
      const reference = plan.tables.fastfood(size);
      expect(table.signs).toEqual(reference.signs);
      expect(table.perm).toEqual(reference.perm);
      for (let i = 0; i < size; i++) {
        expect(
          Math.abs((table.gaussians[i] as number) - (reference.gaussians[i] as number)),
        ).toBeLessThanOrEqual(Math.abs(reference.gaussians[i] as number) * 2 ** -23);
      }
    }
    expect(native.shuffleTable()).toEqual(plan.tables.shuffle());
    expectNativeError(() => native.fastfoodTable(3), 'RangeError', /fastfood size this plan uses/);
    plan.dispose();
  });

  test('tables from an adapter file replace the seeded ones', async () => {
    const seeded = createPlan(config, targets);
    const size = seeded.layout.projectionSizes[0] as number;
    const random = seededRandom(5);
    const perm = Int32Array.from({ length: size }, (_, i) => (i * 7 + 3) % size);
    const table: FastfoodTable = {
      size,
      signs: Float32Array.from({ length: size }, () => (random() < 0.5 ? -1 : 1)),
      perm: size % 7 === 0 ? Int32Array.from({ length: size }, (_, i) => size - 1 - i) : perm,
      gaussians: Float32Array.from({ length: size }, () => 2 * random() - 1),
    };
    const shuffle = Int32Array.from(
      { length: seeded.deltaSize },
      (_, i) => seeded.deltaSize - 1 - i,
    );
    const fromFile = createPlan(config, targets, {
      tables: { fastfood: new Map([[size, table]]), shuffle },
    });
    const native = nativeEngine(fromFile).nativePlan();
    expect(native.info().fastfoodFromFile).toEqual([size]);
    expect(native.info().shuffleFromFile).toBe(true);
    expect(native.fastfoodTable(size).perm).toEqual(table.perm);
    expect(native.shuffleTable()).toEqual(shuffle);
    await expectAgreesWithTfjs(fromFile, 'tables from a file');
    seeded.dispose();
    fromFile.dispose();
  });
});
