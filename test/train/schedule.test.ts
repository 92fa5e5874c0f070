import { learningRate, oneCycleLr, type ScheduleName } from '../../src/train/schedule';

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

describe('warm-up schedules (Hugging Face get_*_schedule_with_warmup)', () => {
  // 10 steps, warm-up ratio 0.15 → ⌈1.5⌉ = 2 warm-up steps, then 8 steps of decay.
  const at = (schedule: ScheduleName, step: number) =>
    learningRate(step, { schedule, maxLr: 2, totalSteps: 10, warmupRatio: 0.15 });
  test.each(['cosine', 'linear', 'constant'] as const)(
    '%s warms up linearly from 0',
    (schedule) => {
      expect(at(schedule, 0)).toBe(0);
      expect(at(schedule, 1)).toBeCloseTo(1, 12);
      expect(at(schedule, 2)).toBeCloseTo(2, 12);
    },
  );
  test('cosine: half a cosine from the peak to 0', () => {
    expect(at('cosine', 6)).toBeCloseTo(1, 12); // progress 4/8
    expect(at('cosine', 4)).toBeCloseTo(1 + Math.SQRT1_2, 12); // progress 1/4: (1 + cos π/4)
    expect(at('cosine', 10)).toBeCloseTo(0, 12);
  });
  test('linear: a straight line from the peak to 0; constant: the peak', () => {
    expect(at('linear', 6)).toBeCloseTo(1, 12);
    expect(at('linear', 9)).toBeCloseTo(0.25, 12);
    expect(at('constant', 9)).toBe(2);
  });
  test('without a warm-up ratio they start at the peak; onecycle keeps its own 0.3', () => {
    expect(learningRate(0, { schedule: 'cosine', maxLr: 2, totalSteps: 10 })).toBe(2);
    expect(learningRate(0, { schedule: 'linear', maxLr: 2, totalSteps: 10 })).toBe(2);
    for (const step of [0, 5, 50, 99]) {
      expect(learningRate(step, { schedule: 'onecycle', maxLr: 0.05, totalSteps: 100 })).toBe(
        oneCycleLr(step, { maxLr: 0.05, totalSteps: 100 }),
      );
    }
    expect(
      learningRate(9, { schedule: 'onecycle', maxLr: 1, totalSteps: 100, warmupRatio: 0.1 }),
    ).toBe(1);
  });
  test('bad names and ratios are refused by name', () => {
    expect(() =>
      learningRate(0, { schedule: 'step' as ScheduleName, maxLr: 1, totalSteps: 10 }),
    ).toThrow(/onecycle, cosine, linear, constant for schedule but received step/);
    expect(() =>
      learningRate(0, { schedule: 'cosine', maxLr: 1, totalSteps: 10, warmupRatio: 1.5 }),
    ).toThrow(/warm-up ratio in \[0, 1\] but received 1.5/);
  });
});
