/** Smoothing of noisy per-step series (training losses, gradient norms). */

/**
 * TensorBoard's smoothing: an exponential moving average with weight `smoothing` on the past,
 * debiased (divided by 1 − smoothing^t) so that the first points are not pulled towards zero.
 */
export function smoothed(values: readonly number[], smoothing: number): number[] {
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw new RangeError(`Expected a smoothing in [0, 1) but received ${smoothing}`);
  }
  let average = 0;
  let weight = 1;
  return values.map((value) => {
    average = smoothing * average + (1 - smoothing) * value;
    weight *= smoothing;
    return average / (1 - weight);
  });
}
