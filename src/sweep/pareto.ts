/** Pareto frontier of accuracy against parameters: fewer parameters and higher accuracy are better. */

export interface ParetoPoint {
  params: number;
  accuracy: number;
}

/**
 * The non-dominated points, by increasing parameter count (and so increasing accuracy). A point is
 * dominated when another has at most as many parameters and at least its accuracy, one of them
 * strictly; of exact duplicates the first is kept.
 */
export function paretoFrontier<T extends ParetoPoint>(points: readonly T[]): T[] {
  const order = points
    .map((point, index) => ({ point, index }))
    .filter(({ point }) => Number.isFinite(point.params) && Number.isFinite(point.accuracy))
    .sort(
      (a, b) =>
        a.point.params - b.point.params || b.point.accuracy - a.point.accuracy || a.index - b.index,
    );
  const frontier: T[] = [];
  let best = -Infinity;
  for (const { point } of order) {
    if (point.accuracy > best) {
      frontier.push(point);
      best = point.accuracy;
    }
  }
  return frontier;
}

/**
 * The fewest parameters with which `points` reach at least `accuracy`, or null when none does.
 */
export function paramsToReach(points: readonly ParetoPoint[], accuracy: number): number | null {
  let fewest: number | null = null;
  for (const point of points) {
    if (point.accuracy >= accuracy && (fewest === null || point.params < fewest)) {
      fewest = point.params;
    }
  }
  return fewest;
}
