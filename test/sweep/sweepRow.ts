/** A results row for the sweep and plot tests: what they vary, and fixed values for the rest. */
import type { SweepResult } from '../../src/sweep/results';

export function sweepRow(
  name: string,
  family: string,
  adapterParams: number,
  accuracy: number | null,
  rest: Partial<SweepResult> = {},
): SweepResult {
  return {
    name,
    family,
    config: { rank: 1 },
    adapterParams,
    headParams: 650,
    accuracy,
    validationAccuracy: null,
    wallSeconds: 1,
    trainSeconds: 1,
    steps: 3,
    engine: 'native',
    settings: {},
    ...rest,
  };
}
