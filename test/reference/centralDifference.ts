/**
 * (loss(v + step) − loss(v − step)) / (2·step) for v = values[index], with values[index] restored
 * afterwards: the numeric partial derivative that gradient tests compare against.
 */
export function centralDifference(
  values: Float64Array,
  index: number,
  step: number,
  loss: () => number,
): number {
  const original = values[index] as number;
  values[index] = original + step;
  const up = loss();
  values[index] = original - step;
  const down = loss();
  values[index] = original;
  return (up - down) / (2 * step);
}
