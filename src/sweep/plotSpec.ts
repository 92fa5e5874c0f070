/**
 * The sweep plot as a Vega-Lite spec: accuracy against adapter parameters (log x), one colour and
 * shape per family, and each family's Pareto frontier as a step line through its non-dominated points.
 */
import { paretoFrontier } from './pareto';
import type { SweepResult } from './results';

export interface PlotOptions {
  title?: string;
  /** The y axis's title (default 'test accuracy'). */
  yTitle?: string;
  /** Size of the plotting area in CSS pixels (axes and legend come on top). */
  width?: number;
  height?: number;
}

export const X_TITLE = 'adapter parameters (log scale)';
export const Y_TITLE = 'test accuracy';
/** The y axis's title for a plot of validation accuracies (onValidationAccuracy). */
export const VALIDATION_Y_TITLE = 'validation accuracy';

interface PlotRow {
  name: string;
  family: string;
  params: number;
  accuracy: number;
  frontier: boolean;
}

export function plotRows(results: readonly SweepResult[]): PlotRow[] {
  const rows: PlotRow[] = results
    .filter((r) => r.accuracy !== null && r.adapterParams > 0)
    .map((r) => ({
      name: r.name,
      family: r.family,
      params: r.adapterParams,
      accuracy: r.accuracy as number,
      frontier: false,
    }));
  for (const family of new Set(rows.map((row) => row.family))) {
    const frontier = paretoFrontier(
      rows.filter((row) => row.family === family).map((row) => ({ ...row, row })),
    );
    for (const point of frontier) point.row.frontier = true;
  }
  return rows;
}

export function plotSpec(results: readonly SweepResult[], options: PlotOptions = {}): object {
  const rows = plotRows(results);
  const families = [...new Set(rows.map((row) => row.family))];
  const color = {
    field: 'family',
    type: 'nominal',
    title: 'family',
    scale: { domain: families, scheme: 'tableau10' },
    legend: { labelLimit: 320 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title ?? 'Accuracy against adapter parameters',
    width: options.width ?? 560,
    height: options.height ?? 360,
    background: 'white',
    data: { values: rows },
    encoding: {
      x: {
        field: 'params',
        type: 'quantitative',
        title: X_TITLE,
        scale: { type: 'log', nice: true },
        axis: { format: '~s' },
      },
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: options.yTitle ?? Y_TITLE,
        scale: { zero: false },
        axis: { format: '.1~%' },
      },
      color,
    },
    layer: [
      {
        transform: [{ filter: 'datum.frontier' }],
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5, opacity: 0.8 },
        encoding: { order: { field: 'params', type: 'quantitative' } },
      },
      {
        mark: { type: 'point', filled: true, size: 50, opacity: 0.9 },
        encoding: {
          shape: { field: 'family', type: 'nominal', scale: { domain: families } },
          tooltip: [
            { field: 'name', type: 'nominal' },
            { field: 'params', type: 'quantitative' },
            { field: 'accuracy', type: 'quantitative', format: '.2%' },
          ],
        },
      },
    ],
  };
}
