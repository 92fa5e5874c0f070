/** What `sweep` and `plot` print about a sweep's results: spreads over seeds, parameter savings. */
import { paramsToReach, paretoFrontier } from '../sweep/pareto';
import type { AccuracySpread } from '../sweep/meanOverRuns';
import type { SweepResult } from '../sweep/results';

/** Lines comparing each family with a baseline family at the baseline's frontier accuracies. */
export function reductionLines(results: readonly SweepResult[], baseline = 'LoRA'): string[] {
  const points = (family: string): { params: number; accuracy: number }[] =>
    results
      .filter((r) => r.family === family && r.accuracy !== null)
      .map((r) => ({ params: r.adapterParams, accuracy: r.accuracy as number }));
  const base = paretoFrontier(points(baseline));
  if (base.length === 0) return [];
  const lines: string[] = [];
  for (const family of new Set(results.map((r) => r.family))) {
    if (family === baseline) continue;
    const own = points(family);
    const cells = base.map((point) => {
      const needed = paramsToReach(own, point.accuracy);
      return needed === null ? 'not reached' : `${(point.params / needed).toFixed(2)}×`;
    });
    lines.push(`${family}: ${cells.join(', ')}`);
  }
  const header = base
    .map((p) => `${p.params} params @ ${(100 * p.accuracy).toFixed(2)}%`)
    .join(', ');
  return [`fewer parameters than ${baseline} (${header}):`, ...lines.map((l) => `  ${l}`)];
}

/** One line per config: its parameters and mean accuracy ± sample std over the runs. */
export function spreadLines(spreads: readonly AccuracySpread[]): string[] {
  return [
    'config                         parameters  accuracy mean ± std (runs)',
    ...spreads.map(
      (spread) =>
        `${spread.name.padEnd(30)} ${String(spread.adapterParams).padStart(10)}  ${(100 * spread.mean).toFixed(2)} ± ${(100 * spread.std).toFixed(2)} % (${spread.accuracies.length})`,
    ),
  ];
}
