/** Draws the sweep plot: Vega-Lite → Vega → SVG in Node, and PNG from that SVG with resvg. */
import { extname, join } from 'path';
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../io/atomicWrite';
import { plotSpec, type PlotOptions } from './plotSpec';
import type { SweepResult } from './results';
import { SweepFormatError } from './sweepErrors';

export async function renderSvg(
  results: readonly SweepResult[],
  options: PlotOptions = {},
): Promise<string> {
  // Loaded on first use: every CLI command imports this module, few of them draw.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const { spec } = compile(plotSpec(results, options) as TopLevelSpec);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG; `width` in pixels (default: the SVG's own width), height in proportion. */
export function svgToPng(svg: string, width?: number): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: width === undefined ? { mode: 'original' } : { mode: 'width', value: width },
    background: 'white',
    font: {
      loadSystemFonts: true,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}

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
  const kind = extname(path).toLowerCase();
  if (kind !== '.svg' && kind !== '.png') {
    throw new SweepFormatError(`Expected a plot file ending in .svg or .png but received ${path}`);
  }
  const svg = await renderSvg(results, options);
  await writeFileAtomic(path, kind === '.svg' ? svg : svgToPng(svg, options.pngWidth));
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
  const svg = await renderSvg(results, { title });
  await writeFileAtomic(join(dir, PLOT_SVG), svg);
  await writeFileAtomic(join(dir, PLOT_PNG), svgToPng(svg, 1200));
}
