/**
 * PEFT's combinations on hand-worked ΔWs: linear, magnitude pruning (ties at the threshold), TIES's
 * sign election and disjoint mean (total and frequency, + on a tie), DARE's seeded drops and
 * rescaling, adapters without the weight, and the refusals.
 */
import { checkCombination, combineDeltas } from '../../src/train/combineDeltas';
import { loadAdaptedViT } from '../../src/train/loadAdaptedClassifier';

const f = (...values: number[]): Float32Array => Float32Array.from(values);
const list = (array: Float32Array): number[] => Array.from(array);

test('linear is the weighted sum; an adapter without the weight adds nothing', () => {
  const got = combineDeltas([f(1, 2, 3), null, f(-1, 0, 4)], [2, 7, 0.5], {
    combination: 'linear',
  });
  expect(list(got)).toEqual([1.5, 4, 8]);
});

test('magnitude_prune keeps the ⌊density·n⌋ largest entries of each ΔW, the first of equals', () => {
  const got = combineDeltas([f(3, -1, 2, -4)], [1], {
    combination: 'magnitude_prune',
    density: 0.5,
  });
  expect(list(got)).toEqual([3, 0, 0, -4]);
  const equal = combineDeltas([f(1, -1, 1, 1)], [1], {
    combination: 'magnitude_prune',
    density: 0.5,
  });
  expect(list(equal)).toEqual([1, -1, 0, 0]);
  expect(
    list(combineDeltas([f(1, 2)], [1], { combination: 'magnitude_prune', density: 0.4 })),
  ).toEqual([0, 0]);
});

test('ties: the sign of the sum is elected (+ on a tie), agreeing entries are averaged', () => {
  const a = f(1, -2, 3, 0.5);
  const b = f(-1, -1, 2, 0);
  // Sums 0, −3, 5, 0.5: signs +, −, +, +. Entry 0: only a agrees; 3: b has no vote.
  expect(list(combineDeltas([a, b], [1, 1], { combination: 'ties', density: 1 }))).toEqual([
    1, -1.5, 2.5, 0.5,
  ]);
  // Pruned to 2 of 4: a → (0, −2, 3, 0), b → (−1, 0, 2, 0). Sums −1, −2, 5, 0: −, −, +, +.
  // Entry 2: (2·3 + 1·2) / 2; entry 3: nobody agrees.
  expect(list(combineDeltas([a, b], [2, 1], { combination: 'ties', density: 0.5 }))).toEqual([
    -1, -4, 4, 0,
  ]);
});

test('ties with majoritySign frequency counts signs instead of summing values', () => {
  const deltas = [f(5), f(-1), f(-1)];
  expect(list(combineDeltas(deltas, [1, 1, 1], { combination: 'ties', density: 1 }))).toEqual([5]);
  const byCount = combineDeltas(deltas, [1, 1, 1], {
    combination: 'ties',
    density: 1,
    majoritySign: 'frequency',
  });
  expect(list(byCount)).toEqual([-1]);
});

test('dare: each entry kept with probability density and rescaled, seeded; density 1 is the plain combination', () => {
  const delta = Float32Array.from({ length: 20000 }, (_, i) => (i % 7) - 3 || 1);
  const options = { combination: 'dare_linear', density: 0.25, seed: 3 } as const;
  const once = combineDeltas([delta], [1], options);
  expect(list(combineDeltas([delta], [1], options))).toEqual(list(once));
  let kept = 0;
  once.forEach((value, i) => {
    if (value === 0) return;
    kept++;
    expect(value).toBe((delta[i] as number) * 4);
  });
  expect(kept / delta.length).toBeGreaterThan(0.24);
  expect(kept / delta.length).toBeLessThan(0.26);
  expect(list(combineDeltas([delta], [1], { ...options, seed: 4 }))).not.toEqual(list(once));
  const a = f(1, -2, 3);
  const b = f(-1, -1, 2);
  expect(list(combineDeltas([a, b], [1, 1], { combination: 'dare_ties', density: 1 }))).toEqual(
    list(combineDeltas([a, b], [1, 1], { combination: 'ties', density: 1 })),
  );
  expect(list(combineDeltas([a, b], [1, 2], { combination: 'dare_linear', density: 1 }))).toEqual([
    -1, -4, 7,
  ]);
});

test('bad combinations are refused, naming what is wrong', () => {
  expect(() => checkCombination({ combination: 'ties' })).toThrow(
    'Expected a density in (0, 1] for the ties combination but received undefined',
  );
  expect(() => checkCombination({ combination: 'dare_ties', density: 1.5 })).toThrow(
    'received 1.5',
  );
  expect(() => checkCombination({ combination: 'linear', density: 0.5 })).toThrow(
    'Expected no density with the linear combination',
  );
  expect(() => checkCombination({ combination: 'svd' as 'linear' })).toThrow(
    'Expected one of linear, magnitude_prune, ties, dare_linear, dare_ties for combination but received "svd"',
  );
  expect(() => combineDeltas([f(1, 2), f(1)], [1, 1], { combination: 'linear' })).toThrow(
    'Expected ΔWs of one length (2) but received 1',
  );
});

test('loadAdaptedViT refuses no adapters, a non-finite scale and a bad combination before reading anything', async () => {
  await expect(loadAdaptedViT('no-model', [])).rejects.toThrow(
    'Expected at least one adapter to merge but received none',
  );
  await expect(loadAdaptedViT('no-model', [{ path: 'a', scale: NaN }])).rejects.toThrow(
    'Expected a finite scale for a but received NaN',
  );
  await expect(
    loadAdaptedViT('no-model', [{ path: 'a' }], { combination: { combination: 'ties' } }),
  ).rejects.toThrow('Expected a density in (0, 1] for the ties combination');
});
