/**
 * Draws a Vega-Lite spec without a browser: Vega-Lite → Vega → SVG in Node, and PNG from that SVG
 * with resvg. Shared by the sweep plot (src/sweep/) and the training curves (src/train/).
 */
import { extname } from 'path';
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

/**
 * PNG output is unavailable: resvg's binary for this platform did not load (an install with
 * --omit=optional, or a platform resvg has no binary for). SVG output still works.
 */
export class PngUnavailableError extends Error {
  override name = 'PngUnavailableError';
}

type ResvgModule = typeof import('@resvg/resvg-js');

let resvgModule: Promise<ResvgModule> | undefined;

/**
 * resvg, loaded on first use: it is a native package with a binary per platform, and nothing but
 * PNG output needs it, so `require('superlora')` and every command that draws no PNG work where
 * it cannot load.
 */
function loadResvg(): Promise<ResvgModule> {
  resvgModule ??= import('@resvg/resvg-js').catch((error: unknown) => {
    resvgModule = undefined;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PngUnavailableError(
      `PNG plots need @resvg/resvg-js's binary for ${process.platform}-${process.arch}, which ` +
        `did not load (${reason}); install it (npm install @resvg/resvg-js) or write .svg instead`,
    );
  });
  return resvgModule;
}

/** Rasterises an SVG; `width` in pixels (default: the SVG's own width), height in proportion. */
export async function svgToPng(svg: string, width?: number): Promise<Buffer> {
  const { Resvg } = await loadResvg();
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
    extname(path).toLowerCase() === '.svg' ? svg : await svgToPng(svg, pngWidth),
  );
}

/**
 * `svg` as PNG, or, where PNG output is unavailable (resvg did not load), why not: for callers
 * that can do without the picture. Other errors are thrown.
 */
export async function pngIfAvailable(
  svg: string,
  width?: number,
): Promise<{ png: Buffer } | { unavailable: string }> {
  try {
    return { png: await svgToPng(svg, width) };
  } catch (error) {
    if (!(error instanceof PngUnavailableError)) throw error;
    return { unavailable: error.message };
  }
}

/**
 * Writes the drawing of `spec` to `pngPath` as PNG or, where PNG output is unavailable, as SVG
 * beside it (the same name ending in .svg). Returns the path written and, for the SVG, why.
 */
export async function writePngOrSvg(
  pngPath: string,
  spec: object,
  pngWidth?: number,
): Promise<{ path: string; pngUnavailable?: string }> {
  const svg = await renderSvg(spec);
  const drawn = await pngIfAvailable(svg, pngWidth);
  if ('png' in drawn) {
    await writeFileAtomic(pngPath, drawn.png);
    return { path: pngPath };
  }
  const svgPath = pngPath.replace(/\.png$/i, '.svg');
  await writeFileAtomic(svgPath, svg);
  return { path: svgPath, pngUnavailable: drawn.unavailable };
}
