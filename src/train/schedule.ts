/**
 * Learning-rate schedules, as a function of the 0-based step:
 *
 * - `onecycle` (Smith & Topin; PyTorch's OneCycleLR with cosine annealing): warm up from
 *   maxLr/divFactor to maxLr over the first pctStart of the steps, then anneal to
 *   maxLr/(divFactor·finalDivFactor).
 * - `cosine`, `linear`, `constant`: Hugging Face's `get_{cosine,linear,constant}_schedule_with_warmup`
 *   (the schedules PEFT recipes use): a linear warm-up from 0 over ⌈warmupRatio·totalSteps⌉ steps, then
 *   a half cosine to 0, a straight line to 0, or the peak held.
 */
export type ScheduleName = 'onecycle' | 'cosine' | 'linear' | 'constant';
export const scheduleNames: readonly ScheduleName[] = ['onecycle', 'cosine', 'linear', 'constant'];

export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
}

export interface ScheduleOptions {
  schedule: ScheduleName;
  maxLr: number;
  totalSteps: number;
  /** Share of the steps spent warming up; default 0.3 for onecycle (its pctStart), 0 for the others. */
  warmupRatio?: number;
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

/** The learning rate of `options.schedule` for 0-based `step`. */
export function learningRate(step: number, options: ScheduleOptions): number {
  const { schedule, maxLr, totalSteps, warmupRatio } = options;
  if (!scheduleNames.includes(schedule)) {
    throw new RangeError(
      `Expected one of ${scheduleNames.join(', ')} for schedule but received ${String(schedule)}`,
    );
  }
  if (warmupRatio !== undefined && !(warmupRatio >= 0 && warmupRatio <= 1)) {
    throw new RangeError(`Expected a warm-up ratio in [0, 1] but received ${warmupRatio}`);
  }
  if (schedule === 'onecycle') {
    return oneCycleLr(step, { maxLr, totalSteps, pctStart: warmupRatio ?? 0.3 });
  }
  const warmupSteps = Math.ceil((warmupRatio ?? 0) * totalSteps);
  if (step < warmupSteps) return (maxLr * step) / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  if (schedule === 'linear') return maxLr * Math.max(0, 1 - progress);
  if (schedule === 'cosine') return maxLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
  return maxLr;
}
