/**
 * Draws a Vega-Lite spec without a browser: Vega-Lite → Vega → SVG in Node, and PNG from that SVG
 * with resvg. Shared by the sweep plot (src/sweep/) and the training curves (src/train/).
 */
import { extname } from 'path';
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../io/atomicWrite';

export async function renderSvg(spec: object): Promise<string> {
  // Loaded on first use: every CLI command imports this module, few of them draw.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  // Errors only: Vega-Lite's optimiser warns about its own passes ("Maximum optimization runs").
  const { spec: compiled } = compile(spec as TopLevelSpec, { logger: vega.logger(vega.Error) });
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
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

/** Whether `path` names a file the plots can be written to (.svg or .png). */
export function isPlotFile(path: string): boolean {
  const kind = extname(path).toLowerCase();
  return kind === '.svg' || kind === '.png';
}

/**
 * Writes the drawing of `spec` to `path`, as SVG or PNG (`pngWidth` pixels wide) by its
 * extension, atomically. The caller checks the extension with isPlotFile first.
 */
export async function writeSpecPlot(path: string, spec: object, pngWidth?: number): Promise<void> {
  if (!isPlotFile(path)) {
    throw new RangeError(`Expected a plot file ending in .svg or .png but received ${path}`);
  }
  const svg = await renderSvg(spec);
  await writeFileAtomic(
    path,
    extname(path).toLowerCase() === '.svg' ? svg : svgToPng(svg, pngWidth),
  );
}
