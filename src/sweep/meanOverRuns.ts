/**
 * Several sweeps of one grid that differ only in their seed, read as one: each config's accuracy
 * is the mean over the sweeps that finished it, with its spread. The plot and the parameter
 * reductions are then drawn from the means, so one lucky seed does not make a frontier point.
 */
import type { SweepResult } from './results';
import { SweepFormatError } from './sweepErrors';

export interface AccuracySpread {
  name: string;
  family: string;
  adapterParams: number;
  /** Accuracies of the runs that evaluated this config, in the order of the sweeps given. */
  accuracies: number[];
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  std: number;
}

export interface MeanOverRuns {
  /**
   * One row per config, in the first sweep's order, with `accuracy` and `validationAccuracy` the
   * means over the runs that have them (null if none has).
   */
  results: SweepResult[];
  spreads: AccuracySpread[];
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Settings without the seed: what every sweep averaged together must share. */
function withoutSeed(settings: Record<string, unknown>): Record<string, unknown> {
  const { seed: _seed, ...rest } = settings;
  return rest;
}

function present(values: readonly (number | null)[]): number[] {
  return values.filter((value): value is number => value !== null);
}

function meanOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Merges sweeps (`sources` names each one for errors). A config that appears in several must have
 * the same config, parameter count and settings apart from the seed; otherwise the sweeps are not
 * repeats of one experiment and averaging them would be meaningless.
 */
export function meanOverRuns(
  sweeps: readonly (readonly SweepResult[])[],
  sources: readonly string[],
): MeanOverRuns {
  const byName = new Map<string, { first: SweepResult; source: string; rows: SweepResult[] }>();
  sweeps.forEach((rows, index) => {
    const source = sources[index] ?? `results #${index + 1}`;
    for (const row of rows) {
      const seen = byName.get(row.name);
      if (seen === undefined) {
        byName.set(row.name, { first: row, source, rows: [row] });
        continue;
      }
      const { first } = seen;
      if (
        !sameJson(first.config, row.config) ||
        first.family !== row.family ||
        first.adapterParams !== row.adapterParams ||
        !sameJson(withoutSeed(first.settings), withoutSeed(row.settings))
      ) {
        throw new SweepFormatError(
          `${source}: config ${row.name} differs from the one in ${seen.source} in more than the seed ` +
            `(config, family, parameters or training settings); only repeats of one sweep can be averaged`,
        );
      }
      seen.rows.push(row);
    }
  });
  const results: SweepResult[] = [];
  const spreads: AccuracySpread[] = [];
  for (const { first, rows } of byName.values()) {
    const accuracies = present(rows.map((row) => row.accuracy));
    const n = accuracies.length;
    const mean = meanOf(accuracies);
    const validationAccuracy = meanOf(present(rows.map((row) => row.validationAccuracy)));
    results.push({ ...first, accuracy: mean, validationAccuracy });
    if (mean === null) continue;
    const variance = n < 2 ? 0 : accuracies.reduce((s, a) => s + (a - mean) ** 2, 0) / (n - 1);
    spreads.push({
      name: first.name,
      family: first.family,
      adapterParams: first.adapterParams,
      accuracies,
      mean,
      std: Math.sqrt(variance),
    });
  }
  return { results, spreads };
}
