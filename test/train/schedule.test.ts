import { oneCycleLr } from '../../src/train/schedule';

describe('OneCycle schedule', () => {
  const options = { maxLr: 0.05, totalSteps: 100 };
  test('warms up from maxLr/25 to maxLr, then anneals to maxLr/25/1e4', () => {
    expect(oneCycleLr(0, options)).toBeCloseTo(0.05 / 25, 12);
    expect(oneCycleLr(29, options)).toBeCloseTo(0.05, 12);
    expect(oneCycleLr(99, options)).toBeCloseTo(0.05 / 25 / 1e4, 12);
    // Half-way through the warm-up (cosine) the rate is the mean of its ends.
    expect(oneCycleLr(14.5, options)).toBeCloseTo((0.05 + 0.002) / 2, 12);
  });
  test('rises then falls monotonically', () => {
    const rates = Array.from({ length: 100 }, (_, step) => oneCycleLr(step, options));
    for (let s = 1; s <= 29; s++) expect(rates[s]!).toBeGreaterThan(rates[s - 1]!);
    for (let s = 30; s < 100; s++) expect(rates[s]!).toBeLessThan(rates[s - 1]!);
  });
  test('works for very short runs', () => {
    for (const totalSteps of [1, 2, 3]) {
      for (let step = 0; step < totalSteps; step++) {
        const lr = oneCycleLr(step, { maxLr: 1, totalSteps });
        expect(lr).toBeGreaterThan(0);
        expect(lr).toBeLessThanOrEqual(1);
      }
    }
  });
});
