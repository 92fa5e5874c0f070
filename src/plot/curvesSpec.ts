/**
 * Training curves as a Vega-Lite spec: one panel each for the loss (training, faint as logged and
 * smoothed; test; validation), the accuracy (test; validation), the learning rate and the gradient
 * norm against the step, one colour per run. Panels without data (no evaluations, a log from
 * before gradNorm was logged) are left out.
 */
import { smoothed } from '../train/smoothing';
import type { RunCurves } from './runLog';

export const DEFAULT_SMOOTHING = 0.9;

export interface CurvesOptions {
  title?: string;
  /** TensorBoard-style smoothing of the training loss and gradient norm, in [0, 1) (default 0.9). */
  smoothing?: number;
  /** Size of each panel's plotting area in CSS pixels. */
  width?: number;
  height?: number;
}

export type CurveSeries = 'training' | 'training (smoothed)' | 'test' | 'validation';

export interface CurveRow {
  run: string;
  panel: string;
  series: CurveSeries;
  step: number;
  value: number;
}

export const PANELS = {
  loss: 'loss',
  accuracy: 'accuracy',
  lr: 'learning rate',
  gradNorm: 'gradient norm (before clipping)',
} as const;

/** The rows every panel draws, run by run. */
export function curveRows(runs: readonly RunCurves[], smoothing = DEFAULT_SMOOTHING): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const run of runs) {
    const push = (panel: string, series: CurveSeries, steps: number[], values: number[]) => {
      values.forEach((value, i) =>
        rows.push({ run: run.name, panel, series, step: steps[i] as number, value }),
      );
    };
    const steps = run.train.map((point) => point.step);
    const losses = run.train.map((point) => point.loss);
    push(PANELS.loss, 'training', steps, losses);
    push(PANELS.loss, 'training (smoothed)', steps, smoothed(losses, smoothing));
    for (const split of ['test', 'validation'] as const) {
      const evals = run.evals.filter((point) => point.split === split);
      const evalSteps = evals.map((point) => point.step);
      push(
        PANELS.loss,
        split,
        evalSteps,
        evals.map((point) => point.loss),
      );
      push(
        PANELS.accuracy,
        split,
        evalSteps,
        evals.map((point) => point.accuracy),
      );
    }
    const withLr = run.train.filter((point) => point.lr !== null);
    push(
      PANELS.lr,
      'training',
      withLr.map((point) => point.step),
      withLr.map((point) => point.lr as number),
    );
    const withNorm = run.train.filter((point) => point.gradNorm !== null);
    push(
      PANELS.gradNorm,
      'training (smoothed)',
      withNorm.map((point) => point.step),
      smoothed(
        withNorm.map((point) => point.gradNorm as number),
        smoothing,
      ),
    );
  }
  return rows;
}

export function curvesSpec(runs: readonly RunCurves[], options: CurvesOptions = {}): object {
  const rows = curveRows(runs, options.smoothing);
  const color = {
    field: 'run',
    type: 'nominal',
    title: 'run',
    scale: { domain: runs.map((run) => run.name), scheme: 'tableau10' },
    // The swatches drawn as solid lines, not as the faint layer's.
    legend: { labelLimit: 320, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 2 },
  };
  const x = { field: 'step', type: 'quantitative', title: 'step', scale: { domainMin: 0 } };
  const width = options.width ?? 560;
  const height = options.height ?? 180;
  const line = (series: CurveSeries, extra: object = {}) => ({
    transform: [{ filter: { field: 'series', equal: series } }],
    mark: { type: 'line', strokeWidth: 1.5, ...extra },
  });
  const panel = (name: string, y: object, layers: object[], title = name) => ({
    title,
    width,
    height,
    transform: [{ filter: { field: 'panel', equal: name } }],
    encoding: { x, y: { field: 'value', type: 'quantitative', title: null, ...y }, color },
    layer: layers,
  });
  const has = (name: string) => rows.some((row) => row.panel === name);
  const panels = [
    panel(
      PANELS.loss,
      { scale: { zero: false } },
      [
        line('training', { opacity: 0.2, strokeWidth: 1 }),
        line('training (smoothed)'),
        line('test', { strokeDash: [5, 3], point: true }),
        line('validation', { strokeDash: [1, 2], point: true }),
      ],
      'loss (faint: training, as logged; solid: smoothed; dashed: test; dotted: validation)',
    ),
    has(PANELS.accuracy) &&
      panel(
        PANELS.accuracy,
        { scale: { zero: false }, axis: { format: '.0%' } },
        [
          line('test', { strokeDash: [5, 3], point: true }),
          line('validation', { strokeDash: [1, 2], point: true }),
        ],
        'accuracy (dashed: test; dotted: validation)',
      ),
    has(PANELS.lr) && panel(PANELS.lr, { axis: { format: '.1~e' } }, [line('training')]),
    has(PANELS.gradNorm) &&
      panel(PANELS.gradNorm, { scale: { zero: false } }, [line('training (smoothed)')]),
  ].filter(Boolean);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title ?? 'Training curves',
    background: 'white',
    data: { values: rows },
    vconcat: panels,
  };
}
