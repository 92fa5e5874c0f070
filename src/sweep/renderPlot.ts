/** Draws the sweep plot (plotSpec.ts) as SVG, or PNG, with src/plot/renderVega.ts. */
import { join } from 'path';
import { writeFileAtomic } from '../io/atomicWrite';
import { isPlotFile, renderSvg, svgToPng, writeSpecPlot } from '../plot/renderVega';
import { plotSpec, type PlotOptions } from './plotSpec';
import type { SweepResult } from './results';
import { SweepFormatError } from './sweepErrors';

export interface WritePlotOptions extends PlotOptions {
  /** PNG width in pixels. */
  pngWidth?: number;
}

/** Writes the plot to `path`, as SVG or PNG by its extension. */
export async function writePlot(
  path: string,
  results: readonly SweepResult[],
  options: WritePlotOptions = {},
): Promise<void> {
  if (!isPlotFile(path)) {
    throw new SweepFormatError(`Expected a plot file ending in .svg or .png but received ${path}`);
  }
  await writeSpecPlot(path, plotSpec(results, options), options.pngWidth);
}

export const PLOT_SVG = 'accuracy-vs-params.svg';
export const PLOT_PNG = 'accuracy-vs-params.png';

/**
 * A sweep folder's plot, `accuracy-vs-params.svg` and a 1200-px `.png` of the same drawing
 * (rendered once); nothing when no row has an accuracy yet.
 */
export async function writeSweepPlots(
  dir: string,
  results: readonly SweepResult[],
  title: string,
): Promise<void> {
  if (!results.some((row) => row.accuracy !== null)) return;
  const svg = await renderSvg(plotSpec(results, { title }));
  await writeFileAtomic(join(dir, PLOT_SVG), svg);
  await writeFileAtomic(join(dir, PLOT_PNG), svgToPng(svg, 1200));
}
