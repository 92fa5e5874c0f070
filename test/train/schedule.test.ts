import {
  learningRate,
  oneCycleLr,
  scheduleNames,
  type ScheduleName,
} from '../../src/train/schedule';

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

describe('refused inputs, by name, value and what was expected', () => {
  const good = { schedule: 'cosine' as ScheduleName, maxLr: 2, totalSteps: 10, warmupRatio: 0.2 };
  test.each(scheduleNames)(
    '%s accepts every step the training loop asks for (0 … totalSteps − 1) and totalSteps',
    (schedule) => {
      for (let step = 0; step <= 10; step++) {
        const lr = learningRate(step, { ...good, schedule });
        expect(lr).toBeGreaterThanOrEqual(0);
        expect(lr).toBeLessThanOrEqual(2);
      }
    },
  );
  test.each(scheduleNames)(
    '%s refuses steps outside [0, totalSteps] or not integers',
    (schedule) => {
      for (const step of [-1, 11, 2.5, NaN, Infinity]) {
        expect(() => learningRate(step, { ...good, schedule })).toThrow(
          new RangeError(
            `Expected step to be an integer in [0, 10] (steps count from 0) but received ${step}`,
          ),
        );
      }
      expect(() => learningRate(undefined as unknown as number, { ...good, schedule })).toThrow(
        TypeError,
      );
    },
  );
  test('totalSteps must be a positive integer and maxLr a finite number ≥ 0', () => {
    const unset = undefined as unknown as number;
    expect(() => learningRate(1, { ...good, totalSteps: unset })).toThrow(
      new TypeError('Expected totalSteps to be a positive integer but received undefined'),
    );
    for (const totalSteps of [0, -5, 2.5, NaN]) {
      expect(() => learningRate(0, { ...good, totalSteps })).toThrow(
        `Expected totalSteps to be a positive integer but received ${totalSteps}`,
      );
    }
    for (const maxLr of [-1, NaN, Infinity]) {
      expect(() => learningRate(1, { ...good, schedule: 'constant', maxLr })).toThrow(
        new RangeError(`Expected maxLr to be a finite number ≥ 0 but received ${maxLr}`),
      );
    }
    expect(() => learningRate(1, { ...good, maxLr: '0.1' as unknown as number })).toThrow(
      new TypeError('Expected maxLr to be a finite number ≥ 0 but received "0.1"'),
    );
  });
  test('options must be an object', () => {
    expect(() => (learningRate as (step: number) => number)(0)).toThrow(
      new TypeError(
        'Expected learning-rate options { schedule, maxLr, totalSteps, warmupRatio? } as an object but received undefined',
      ),
    );
  });
  test('oneCycleLr refuses what it cannot place on its curve', () => {
    const options = { maxLr: 0.05, totalSteps: 100 };
    expect(() => oneCycleLr(-1, options)).toThrow(/step to be a number in \[0, 100\].*-1/);
    expect(() => oneCycleLr(NaN, options)).toThrow(/received NaN/);
    expect(() => oneCycleLr(0, { ...options, maxLr: -1 })).toThrow(/maxLr.*-1/);
    expect(() => oneCycleLr(0, { ...options, pctStart: 2 })).toThrow(/pctStart.*in \[0, 1\].*2/);
    expect(() => oneCycleLr(0, { ...options, divFactor: 0 })).toThrow(/divFactor.*> 0.*0/);
  });
});
