/**
 * The Plan object's own checks: splitByTarget's per-target views of ΔW_all (and a clear error for
 * anything but ΔW_all), and createPlan's options.
 */
import { createPlan } from '../src/createPlan';
import { sinParams } from './conformance/suite';

const targets = [
  { name: 'a', shape: [6, 4] as [number, number], layer: 0 },
  { name: 'b', shape: [3, 5] as [number, number], layer: 0 },
  { name: 'c', shape: [2, 2] as [number, number], layer: 1 },
];

describe('plan.splitByTarget', () => {
  const plan = createPlan({ grouping: 'weight', order: 2, rank: 2 }, targets);
  afterAll(() => plan.dispose());

  test('views of ΔW_all at each target’s offset, [out · in] values each', async () => {
    const delta = await plan.delta(sinParams(plan.numParams), { engine: 'native' });
    expect(plan.deltaSize).toBe(24 + 15 + 4);
    const views = plan.splitByTarget(delta);
    expect([...views.keys()]).toEqual(['a', 'b', 'c']);
    // Independently: the targets lie back to back in their given order (SPEC §1).
    let offset = 0;
    for (const target of targets) {
      const size = target.shape[0] * target.shape[1];
      expect(Array.from(views.get(target.name)!)).toEqual(
        Array.from(delta.slice(offset, offset + size)),
      );
      offset += size;
    }
  });

  test.each([10, 42, 44, 0])(
    'a delta of %i values is a RangeError naming delta, the length and deltaSize',
    (length) => {
      const call = () => plan.splitByTarget(new Float32Array(length));
      expect(call).toThrow(RangeError);
      expect(call).toThrow(
        `splitByTarget: Expected plan.deltaSize = 43 values for delta but received ${length}`,
      );
    },
  );

  test('a delta that is not a Float32Array is a TypeError', () => {
    const call = () => plan.splitByTarget(new Float64Array(43) as never);
    expect(call).toThrow(TypeError);
    expect(call).toThrow('for delta but received Float64Array');
    expect(() => plan.splitByTarget(Array(43).fill(0) as never)).toThrow('received Array');
  });
});

describe('createPlan options', () => {
  test.each([
    [null, 'Expected an object { tables? } for options but received null'],
    [5, 'Expected an object { tables? } for options but received number'],
    [
      { tables: 5 },
      'Expected an object { fastfood?, shuffle? } for options.tables but received number',
    ],
    [
      { tables: { fastfood: [] } },
      'Expected a Map from size to table for options.tables.fastfood but received an array',
    ],
    [
      { tables: { shuffle: [2, 0, 1] } },
      'Expected an Int32Array for options.tables.shuffle but received an array',
    ],
  ])('%j is refused naming the field', (options, message) => {
    expect(() => createPlan({ rank: 2 }, targets, options as never)).toThrow(
      new TypeError(message),
    );
  });

  test('tables given properly replace the seeded ones', () => {
    const config = { rank: 2, shuffle: true };
    const size = 24 + 15 + 4;
    const reversed = Int32Array.from({ length: size }, (_, i) => size - 1 - i);
    const plan = createPlan(config, targets, { tables: { shuffle: reversed } });
    expect(plan.tables.shuffle()).toBe(reversed);
    plan.dispose();
  });
});
