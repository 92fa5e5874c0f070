/**
 * The learning-rate range test (Smith, "Cyclical Learning Rates", 2017; fastai's lr_find, PyTorch
 * Lightning's Tuner.lr_find): a short run whose learning rate grows exponentially from `from` to
 * `to`, one step each, recording the loss. The loss falls while the rate is useful and explodes
 * once it is too large; the suggested rate is where the smoothed loss falls fastest.
 */
import { smoothed } from './smoothing';

export interface LrRange {
  from: number;
  to: number;
  steps: number;
}

/** The smoothing of the loss before it is read (fastai's β). */
export const LR_RANGE_SMOOTHING = 0.98;
/** The loss has diverged once its smoothed value exceeds this multiple of its minimum (fastai). */
export const DIVERGENCE_FACTOR = 4;
/** Falls slower than this share of the loss per e-fold of the rate are flat. */
const FLAT_SLOPE = 1e-6;
/** Points skipped at the start when looking for the steepest fall (Lightning's skip_begin, as a share). */
const SKIP_START = 0.1;

/** The rate of step `step`: from · (to / from)^(step / (steps − 1)). */
export function rangeLearningRate(step: number, range: LrRange): number {
  if (!(range.from > 0 && range.to > range.from && range.steps >= 2)) {
    throw new RangeError(
      `Expected 0 < from < to and at least 2 steps for the learning-rate range but received from ${range.from}, to ${range.to}, ${range.steps} steps`,
    );
  }
  return range.from * (range.to / range.from) ** (step / (range.steps - 1));
}

export interface LrRangeResult {
  /** Every step's rate, loss as logged and smoothed loss. */
  points: { lr: number; loss: number; smoothed: number }[];
  /** The rate at which the smoothed loss passed DIVERGENCE_FACTOR × its minimum (or the loss stopped being finite); null if it never did. */
  divergedAt: number | null;
  /** The rate where the smoothed loss falls fastest against log(lr), before divergence. */
  steepest: number | null;
  /** The rate of the smallest smoothed loss, divided by 10 (fastai's other rule). */
  minimumOver10: number | null;
}

/**
 * Reads a range test: `losses[i]` was the loss of the step at `lrs[i]` (rates growing
 * geometrically); a run that stopped when its loss stopped being finite has fewer losses than rates.
 */
export function analyseLrRange(lrs: readonly number[], losses: readonly number[]): LrRangeResult {
  const finite = losses.length;
  const smooth = smoothed(losses, LR_RANGE_SMOOTHING);
  const points = smooth.map((value, i) => ({
    lr: lrs[i] as number,
    loss: losses[i] as number,
    smoothed: value,
  }));
  let usable = finite;
  let minimum = Infinity;
  for (let i = 0; i < finite; i++) {
    minimum = Math.min(minimum, smooth[i] as number);
    if ((smooth[i] as number) > DIVERGENCE_FACTOR * minimum) {
      usable = i;
      break;
    }
  }
  const divergedAt = usable < lrs.length ? (lrs[usable] as number) : null;
  // The slope against log(lr) by central differences (one-sided at the ends), as numpy.gradient.
  const first = Math.floor(SKIP_START * usable);
  let steepest: number | null = null;
  let steepestSlope = Infinity;
  for (let i = first; i < usable; i++) {
    const lo = Math.max(i - 1, 0);
    const hi = Math.min(i + 1, usable - 1);
    if (hi === lo) continue;
    const slope =
      ((smooth[hi] as number) - (smooth[lo] as number)) /
      (Math.log(lrs[hi] as number) - Math.log(lrs[lo] as number));
    if (slope < steepestSlope) {
      steepestSlope = slope;
      steepest = lrs[i] as number;
    }
  }
  let best = -1;
  for (let i = 0; i < usable; i++) {
    if (best < 0 || (smooth[i] as number) < (smooth[best] as number)) best = i;
  }
  return {
    points,
    divergedAt,
    // A loss that hardly falls (rounding noise on a flat curve) suggests nothing.
    steepest: steepestSlope < -FLAT_SLOPE * Math.abs(smooth[0] ?? 0) ? steepest : null,
    minimumOver10: best < 0 ? null : (lrs[best] as number) / 10,
  };
}
