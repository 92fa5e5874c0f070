/** Draws the sweep plot (plotSpec.ts) as SVG, or PNG, with src/plot/renderVega.ts. */
import { join } from 'path';
import { writeFileAtomic } from '../io/atomicWrite';
import { isPlotFile, pngIfAvailable, renderSvg, writeSpecPlot } from '../plot/renderVega';
import { plotSpec, VALIDATION_Y_TITLE, type PlotOptions } from './plotSpec';
import { onValidationAccuracy, type SweepResult } from './results';
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
export const VALIDATION_PLOT_SVG = 'validation-accuracy-vs-params.svg';
export const VALIDATION_PLOT_PNG = 'validation-accuracy-vs-params.png';

/**
 * Draws `results` once and writes it as `svgName` and a 1200-px PNG `pngName` in `dir`. Where PNG
 * output is unavailable the SVG alone is written and `log` says why: the sweep's results stand
 * without the picture.
 */
async function writeSvgAndPng(
  dir: string,
  [svgName, pngName]: [string, string],
  results: readonly SweepResult[],
  options: PlotOptions,
  log: (line: string) => void,
): Promise<void> {
  const svg = await renderSvg(plotSpec(results, options));
  await writeFileAtomic(join(dir, svgName), svg);
  const drawn = await pngIfAvailable(svg, 1200);
  if ('png' in drawn) await writeFileAtomic(join(dir, pngName), drawn.png);
  else log(`${pngName} not drawn: ${drawn.unavailable}`);
}

/**
 * A sweep folder's plot, `accuracy-vs-params.svg` and a 1200-px `.png` of the same drawing
 * (rendered once); nothing when no row has an accuracy yet. When rows have validation
 * accuracies (`--validation-size`), the same plot of those, `validation-accuracy-vs-params.*`,
 * to choose configs by. Where PNG output is unavailable, the SVGs alone and a line to `log`.
 */
export async function writeSweepPlots(
  dir: string,
  results: readonly SweepResult[],
  title: string,
  log: (line: string) => void,
): Promise<void> {
  if (results.some((row) => row.accuracy !== null)) {
    await writeSvgAndPng(dir, [PLOT_SVG, PLOT_PNG], results, { title }, log);
  }
  if (results.some((row) => row.validationAccuracy !== null)) {
    await writeSvgAndPng(
      dir,
      [VALIDATION_PLOT_SVG, VALIDATION_PLOT_PNG],
      onValidationAccuracy(results),
      { title, yTitle: VALIDATION_Y_TITLE },
      log,
    );
  }
}
