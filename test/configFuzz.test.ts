/**
 * Config fuzz (fixed seed): random configs and targets, some fields replaced by wrong values, are
 * either accepted — and then the tfjs and native engines agree within SPEC §10b, forward and
 * backward — or rejected with a ConfigError that names a field (SPEC §2: nothing silently clamped).
 * A value that is wrong on its own (not only in combination) must never be accepted. Sizes stay
 * tiny so that tfjs is fast.
 */
import { ConfigError } from '../src/config';
import { createPlan, type Plan } from '../src/createPlan';
import { seededRandom } from './conformance/randomConfigs';
import { specTolerance } from './reference/spec64';

const SEED = 4242;
const CASES = 400;

type Random = () => number;
const integer = (random: Random, low: number, high: number): number =>
  low + Math.floor(random() * (high - low + 1));
const pick = <T>(random: Random, values: readonly T[]): T =>
  values[Math.floor(random() * values.length)] as T;

/** Values that SPEC §2 rejects for a field whatever the other fields are. */
const ALWAYS_WRONG: Record<string, readonly unknown[]> = {
  grouping: [0, -1, 1.5, 'weights', '', null, true, [], {}, NaN, Infinity],
  order: [0, -2, 1.5, '2', null, NaN, Infinity, [2]],
  splits: [0, -1, 2.5, '1', null, NaN, {}],
  rank: [0, -1, 1.5, 'full', '2', null, [], [0], ['half'], [NaN], {}],
  core: ['tucker', '', 1, null, true],
  reshape: ['round', '', 0, null],
  projection: [
    0,
    'half',
    [],
    { ratio: 0 },
    { ratio: 1.5 },
    { ratio: -0.5 },
    { ratio: NaN },
    {},
    { ratio: 0.5, extra: 1 },
  ],
  shuffle: [0, 1, 'yes', null],
  scale: [NaN, Infinity, -Infinity, '1', null, {}],
  seed: [-1, 2 ** 32, 0.5, NaN, '7', null],
};

interface FuzzCase {
  config: Record<string, unknown>;
  targets: unknown;
  /** Fields given a value that is wrong on its own: the config must be rejected. */
  alwaysWrong: string[];
}

function randomCase(random: Random): FuzzCase {
  const targetCount = integer(random, 1, 3);
  const sharedIn = integer(random, 1, 7);
  const targets: Record<string, unknown>[] = Array.from({ length: targetCount }, (_, t) => ({
    name: `t${t}`,
    shape: [integer(random, 1, 8), random() < 0.6 ? sharedIn : integer(random, 1, 8)],
    layer: pick(random, [0, 1, 'a']),
  }));
  const config: Record<string, unknown> = {};
  // Each field absent (default), valid-looking (possibly wrong in combination) or always wrong.
  const valid: Record<string, () => unknown> = {
    grouping: () => pick(random, ['weight', 'layer', 1, 2, 3, 5, 40, 1000]),
    order: () => integer(random, 1, 5),
    splits: () => integer(random, 1, 3),
    rank: () =>
      random() < 0.4
        ? integer(random, 1, 4)
        : Array.from({ length: integer(random, 1, 3) }, () =>
            random() < 0.3 ? 'full' : integer(random, 1, 3),
          ),
    core: () => pick(random, ['identity', 'dense']),
    reshape: () => pick(random, ['square', 'square', 'natural']),
    projection: () => ({ ratio: pick(random, [1, 0.5, 0.25, 0.01]) }),
    shuffle: () => random() < 0.5,
    scale: () => pick(random, [1, -2, 0.25, 0]),
    seed: () => integer(random, 0, 2 ** 32 - 1),
  };
  const alwaysWrong: string[] = [];
  for (const [field, make] of Object.entries(valid)) {
    const roll = random();
    if (roll < 0.35) continue;
    if (roll < 0.93) config[field] = make();
    else {
      config[field] = pick(random, ALWAYS_WRONG[field] as unknown[]);
      alwaysWrong.push(field);
    }
  }
  if (random() < 0.03) {
    config[pick(random, ['ranks', 'Order', 'dropout', 'alpha'])] = 1;
    alwaysWrong.push('unknown field');
  }
  // Now and then a wrong target list.
  let targetList: unknown = targets;
  if (random() < 0.06) {
    const t = targets[0] as Record<string, unknown>;
    const broken = pick(random, [
      () => (t['shape'] = [0, 3]),
      () => (t['shape'] = [2.5, 3]),
      () => (t['shape'] = [3]),
      () => (t['name'] = ''),
      () => (t['layer'] = null),
      () => (t['extra'] = 1),
      () => (targetList = []),
      () => (targetList = null),
      () => targets.push({ ...t }), // a repeated name
    ]);
    broken();
    alwaysWrong.push('targets');
  }
  return { config, targets: targetList, alwaysWrong };
}

function expectAgree(native: Float32Array, tfjs: Float32Array, what: string): void {
  const result = specTolerance(native, tfjs);
  if (!result.ok) {
    throw new Error(
      `${what}: native entry ${result.at} is ${native[result.at]} but tfjs gives ${tfjs[result.at]} ` +
        `(${result.worst.toFixed(2)}× the SPEC §10b tolerance; lengths ${native.length} vs ${tfjs.length})`,
    );
  }
}

test(`config fuzz: ${CASES} random configs (seed ${SEED}) are rejected by field or agree across engines`, async () => {
  const random = seededRandom(SEED);
  let accepted = 0;
  let compared = 0;
  const rejectedFields = new Set<string>();
  for (let index = 0; index < CASES; index++) {
    const fuzzCase = randomCase(random);
    const what = `case ${index}: ${JSON.stringify({ config: fuzzCase.config, targets: fuzzCase.targets })}`;
    let plan: Plan;
    try {
      plan = createPlan(fuzzCase.config as never, fuzzCase.targets as never);
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw new Error(`${what}\nthrew ${String(error)} instead of a ConfigError`, {
          cause: error,
        });
      }
      // The message names the field: config.<field>[…] or targets[…].
      const named = /(?:for|in) (config(?:\.[A-Za-z]+)?|targets)/.exec(error.message);
      if (!named) {
        throw new Error(`${what}\nConfigError names no field: ${error.message}`, { cause: error });
      }
      rejectedFields.add(named[1] as string);
      continue;
    }
    accepted++;
    try {
      if (fuzzCase.alwaysWrong.length > 0) {
        throw new Error(`${what}\nwas accepted despite a wrong ${fuzzCase.alwaysWrong.join(', ')}`);
      }
      // Tiny plans only: tfjs's backward is slow on its cpu backend.
      if (plan.deltaSize > 256 || plan.numParams > 4000) continue;
      const params = Float32Array.from({ length: plan.numParams }, () => 2 * random() - 1);
      const upstream = Float32Array.from({ length: plan.deltaSize }, () => 2 * random() - 1);
      expectAgree(
        await plan.delta(params, { engine: 'native' }),
        await plan.delta(params, { engine: 'tfjs' }),
        `${what} ΔW`,
      );
      expectAgree(
        await plan.deltaBackward(params, upstream, { engine: 'native' }),
        await plan.deltaBackward(params, upstream, { engine: 'tfjs' }),
        `${what} gradient`,
      );
      compared++;
    } finally {
      plan.dispose();
    }
  }
  // The fuzz means something only if it both accepted and compared enough, and hit many fields.
  expect(compared).toBeGreaterThanOrEqual(60);
  expect(accepted).toBeGreaterThanOrEqual(compared);
  expect(rejectedFields.size).toBeGreaterThanOrEqual(8);
}, 300_000);
