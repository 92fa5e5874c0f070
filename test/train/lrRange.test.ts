/**
 * The learning-rate range test's reading: rates geometric from `from` to `to`; on a loss that falls
 * fastest around a known rate, the suggestion lands there; divergence, the minimum and a run cut
 * short by a non-finite loss are read as their rules say.
 */
import {
  analyseLrRange,
  DIVERGENCE_FACTOR,
  LR_RANGE_SMOOTHING,
  rangeLearningRate,
} from '../../src/train/lrRange';
import { smoothed } from '../../src/train/smoothing';

const range = { from: 1e-6, to: 10, steps: 400 };
const lrs = Array.from({ length: range.steps }, (_, i) => rangeLearningRate(i, range));

test('rates grow geometrically from `from` to `to`', () => {
  expect(lrs[0]).toBeCloseTo(1e-6, 18);
  expect(lrs[399]).toBeCloseTo(10, 9);
  // 7 decades over 399 intervals: a constant ratio.
  const ratio = 10 ** (7 / 399);
  for (let i = 1; i < 400; i++) expect(lrs[i]! / lrs[i - 1]!).toBeCloseTo(ratio, 9);
  expect(() => rangeLearningRate(0, { from: 1, to: 0.1, steps: 10 })).toThrow(
    'Expected 0 < from < to and at least 2 steps',
  );
});

test('a loss that falls fastest at lr 1e-3 and explodes past lr 1 is read as the rules say', () => {
  // 2 − tanh(2 · (log10 lr + 3)) falls fastest at lr 1e-3; past lr 1 it grows tenfold per decade.
  const losses = lrs.map((lr) => {
    const decade = Math.log10(lr);
    return 2 - Math.tanh(2 * (decade + 3)) + (decade > 0 ? 10 ** (decade + 1) : 0);
  });
  const result = analyseLrRange(lrs, losses);
  // The smoothing lags the curve by about 1 / (1 − 0.98) = 50 steps, 0.9 decade: the steepest
  // smoothed fall comes later than the curve's own, never before it.
  expect(result.steepest!).toBeGreaterThanOrEqual(1e-3);
  expect(result.steepest!).toBeLessThan(1e-3 * 10 ** 1.2);
  // Divergence and minimum, by their definitions on the smoothed loss.
  const smooth = smoothed(losses, LR_RANGE_SMOOTHING);
  let runningMin = Infinity;
  const diverged = smooth.findIndex((value) => {
    runningMin = Math.min(runningMin, value);
    return value > DIVERGENCE_FACTOR * runningMin;
  });
  expect(diverged).toBeGreaterThan(0);
  expect(result.divergedAt).toBe(lrs[diverged]);
  const before = smooth.slice(0, diverged);
  expect(result.minimumOver10).toBe(lrs[before.indexOf(Math.min(...before))]! / 10);
  expect(result.points).toHaveLength(400);
  expect(result.points[10]).toEqual({ lr: lrs[10], loss: losses[10], smoothed: smooth[10] });
});

test('a run cut short by a non-finite loss diverged at the first rate without one; a flat loss suggests nothing', () => {
  const losses = lrs.slice(0, 300).map((lr) => 2 - 0.1 * Math.log10(lr + 1e-9) * 0.01);
  expect(analyseLrRange(lrs, losses).divergedAt).toBe(lrs[300]);
  const flat = analyseLrRange(
    lrs,
    lrs.map(() => 1),
  );
  expect(flat).toMatchObject({ steepest: null, divergedAt: null });
});
