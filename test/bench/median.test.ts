/** medianOf (src/bench/median.ts), the benchmarks' median, on hand-worked lists. */
import { medianOf } from '../../src/bench/median';

test('the middle value of an odd count, the mean of the two middle ones of an even count, unsorted input left as it is', () => {
  const odd = [3, 1, 2];
  expect(medianOf(odd)).toBe(2);
  expect(odd).toEqual([3, 1, 2]);
  expect(medianOf([4, 1, 3, 2])).toBe(2.5);
  expect(medianOf([10, 2, 100])).toBe(10);
  expect(medianOf([7])).toBe(7);
  expect(medianOf([])).toBeNaN();
});
