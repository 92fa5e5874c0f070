/**
 * OneCycle learning-rate schedule (Smith & Topin; PyTorch's OneCycleLR with cosine annealing): warm
 * up from maxLr/divFactor to maxLr over the first pctStart of the steps, then anneal to
 * maxLr/(divFactor·finalDivFactor).
 */
export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
}

function cosineBetween(start: number, end: number, fraction: number): number {
  return end + ((start - end) / 2) * (1 + Math.cos(Math.PI * fraction));
}

/** The learning rate for 0-based `step` of `totalSteps`. */
export function oneCycleLr(step: number, options: OneCycleOptions): number {
  const { maxLr, totalSteps } = options;
  const pctStart = options.pctStart ?? 0.3;
  const initialLr = maxLr / (options.divFactor ?? 25);
  const finalLr = initialLr / (options.finalDivFactor ?? 1e4);
  const warmupEnd = Math.max(1, Math.floor(pctStart * totalSteps) - 1);
  const last = Math.max(warmupEnd + 1, totalSteps - 1);
  if (step <= warmupEnd) return cosineBetween(initialLr, maxLr, step / warmupEnd);
  return cosineBetween(maxLr, finalLr, Math.min(1, (step - warmupEnd) / (last - warmupEnd)));
}
