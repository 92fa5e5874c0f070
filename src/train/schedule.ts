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

import { valueText } from '../valueText';
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

/**
 * Throws unless `value` is a number for which `fits` holds: a TypeError when it is no number at
 * all (a missing option), a RangeError naming `what` and `expected` otherwise. Schedules are plain
 * arithmetic, so an unchecked NaN or negative input comes out as a plausible-looking rate.
 */
function checkNumber(
  what: string,
  value: unknown,
  expected: string,
  fits: (value: number) => boolean,
): void {
  if (typeof value !== 'number') {
    throw new TypeError(`Expected ${what} to be ${expected} but received ${valueText(value)}`);
  }
  if (!fits(value)) {
    throw new RangeError(`Expected ${what} to be ${expected} but received ${valueText(value)}`);
  }
}

/** Throws unless totalSteps is a positive integer and maxLr a finite number ≥ 0. */
function checkRun(maxLr: unknown, totalSteps: unknown): void {
  checkNumber('maxLr', maxLr, 'a finite number ≥ 0', (x) => Number.isFinite(x) && x >= 0);
  checkNumber('totalSteps', totalSteps, 'a positive integer', (x) => Number.isInteger(x) && x >= 1);
}

/** Throws a TypeError unless `options` is an object (destructuring undefined names nothing). */
function checkOptions(options: unknown, expected: string): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected ${expected} but received ${valueText(options)}`);
  }
}

/** Throws unless OneCycle's optional pctStart is in [0, 1] and its divisors finite and > 0. */
function checkOneCycleShape(options: OneCycleOptions): void {
  if (options.pctStart !== undefined) {
    checkNumber('pctStart', options.pctStart, 'in [0, 1]', (x) => x >= 0 && x <= 1);
  }
  for (const what of ['divFactor', 'finalDivFactor'] as const) {
    if (options[what] === undefined) continue;
    checkNumber(what, options[what], 'a finite number > 0', (x) => Number.isFinite(x) && x > 0);
  }
}

function cosineBetween(start: number, end: number, fraction: number): number {
  return end + ((start - end) / 2) * (1 + Math.cos(Math.PI * fraction));
}

/**
 * The learning rate for 0-based `step` of `totalSteps`: any number from 0 to totalSteps (a
 * fraction reads the curve between steps). pctStart is a share in [0, 1]; the divisors are > 0.
 */
export function oneCycleLr(step: number, options: OneCycleOptions): number {
  checkOptions(options, 'oneCycleLr options { maxLr, totalSteps, … }');
  const { maxLr, totalSteps } = options;
  checkRun(maxLr, totalSteps);
  checkNumber('step', step, `a number in [0, ${totalSteps}]`, (x) => x >= 0 && x <= totalSteps);
  checkOneCycleShape(options);
  const pctStart = options.pctStart ?? 0.3;
  const initialLr = maxLr / (options.divFactor ?? 25);
  const finalLr = initialLr / (options.finalDivFactor ?? 1e4);
  const warmupEnd = Math.max(1, Math.floor(pctStart * totalSteps) - 1);
  const last = Math.max(warmupEnd + 1, totalSteps - 1);
  if (step <= warmupEnd) return cosineBetween(initialLr, maxLr, step / warmupEnd);
  return cosineBetween(maxLr, finalLr, Math.min(1, (step - warmupEnd) / (last - warmupEnd)));
}

/**
 * The learning rate of `options.schedule` for 0-based `step`, an integer in [0, totalSteps]: the
 * training loop asks for steps 0 … totalSteps − 1, and totalSteps is where the decay ends.
 */
export function learningRate(step: number, options: ScheduleOptions): number {
  checkOptions(
    options,
    'learning-rate options { schedule, maxLr, totalSteps, warmupRatio? } as an object',
  );
  const { schedule, maxLr, totalSteps, warmupRatio } = options;
  if (!scheduleNames.includes(schedule)) {
    throw new RangeError(
      `Expected one of ${scheduleNames.join(', ')} for schedule but received ${String(schedule)}`,
    );
  }
  if (
    warmupRatio !== undefined &&
    !(typeof warmupRatio === 'number' && warmupRatio >= 0 && warmupRatio <= 1)
  ) {
    throw new RangeError(
      `Expected a warm-up ratio in [0, 1] but received ${valueText(warmupRatio)}`,
    );
  }
  checkRun(maxLr, totalSteps);
  checkNumber(
    'step',
    step,
    `an integer in [0, ${totalSteps}] (steps count from 0)`,
    (x) => Number.isInteger(x) && x >= 0 && x <= totalSteps,
  );
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
