import { paramsToReach, paretoFrontier } from '../../src/sweep/pareto';

describe('paretoFrontier', () => {
  test('keeps exactly the non-dominated points of a hand-worked example, by parameters', () => {
    // params: accuracy
    //   100: 0.50  frontier (fewest parameters)
    //   200: 0.45  dominated by 100 (more params, lower accuracy)
    //   300: 0.60  frontier
    //   300: 0.55  dominated by 300/0.60 (same params, lower accuracy)
    //   400: 0.60  dominated by 300/0.60 (more params, same accuracy)
    //   800: 0.72  frontier
    //   500: 0.70  frontier (given out of order)
    //  1000: 0.71  dominated by 800/0.72
    const points = [
      { name: 'a', params: 100, accuracy: 0.5 },
      { name: 'b', params: 200, accuracy: 0.45 },
      { name: 'c', params: 300, accuracy: 0.6 },
      { name: 'd', params: 300, accuracy: 0.55 },
      { name: 'e', params: 400, accuracy: 0.6 },
      { name: 'f', params: 800, accuracy: 0.72 },
      { name: 'g', params: 500, accuracy: 0.7 },
      { name: 'h', params: 1000, accuracy: 0.71 },
    ];
    expect(paretoFrontier(points).map((p) => p.name)).toEqual(['a', 'c', 'g', 'f']);
  });

  test('of exact duplicates keeps the first; non-finite points are left out', () => {
    const points = [
      { name: 'x', params: 10, accuracy: 0.3 },
      { name: 'y', params: 10, accuracy: 0.3 },
      { name: 'z', params: 5, accuracy: Number.NaN },
    ];
    expect(paretoFrontier(points).map((p) => p.name)).toEqual(['x']);
    expect(paretoFrontier([])).toEqual([]);
  });

  test('paramsToReach: the fewest parameters reaching an accuracy', () => {
    const points = [
      { params: 100, accuracy: 0.5 },
      { params: 400, accuracy: 0.6 },
      { params: 300, accuracy: 0.62 },
    ];
    expect(paramsToReach(points, 0.6)).toBe(300);
    expect(paramsToReach(points, 0.5)).toBe(100);
    expect(paramsToReach(points, 0.63)).toBeNull();
  });
});
