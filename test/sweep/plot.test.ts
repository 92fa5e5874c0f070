/**
 * The sweep plot: SVG from Vega-Lite in Node (marks, axis titles, legend), PNG from that SVG at
 * the requested width, and `superlora plot` on a missing or garbled results file.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { plotRows, plotSpec } from '../../src/sweep/plotSpec';
import { renderSvg, svgToPng } from '../../src/plot/renderVega';
import { writePlot } from '../../src/sweep/renderPlot';
import { formatResultsJsonl } from '../../src/sweep/results';
import { sweepRow } from './sweepRow';
import { cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-plot-'));

const row = (name: string, family: string, adapterParams: number, accuracy: number) =>
  sweepRow(name, family, adapterParams, accuracy);

const results = [
  row('lora-r1', 'LoRA', 1024, 0.5),
  row('lora-r2', 'LoRA', 2048, 0.48),
  row('lora-r4', 'LoRA', 4096, 0.55),
  row('2d-g1-r1', 'SuperLoRA (2D)', 363, 0.52),
  row('2d-g1-r4', 'SuperLoRA (2D)', 1452, 0.57),
];

function pngSize(png: Buffer): { width: number; height: number } {
  // Signature, then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4), big-endian.
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const cli = cliIn(dir);

describe('sweep plot', () => {
  test('frontier flags: the dominated LoRA r2 point is off its frontier', () => {
    const frontier = plotRows(results)
      .filter((r) => r.frontier)
      .map((r) => r.name);
    expect(frontier).toEqual(['lora-r1', 'lora-r4', '2d-g1-r1', '2d-g1-r4']);
  });

  test('the SVG has one point per config, one frontier line per family, titles and legend', async () => {
    const svg = await renderSvg(plotSpec(results, { title: 'my sweep' }));
    expect(svg.startsWith('<svg')).toBe(true);
    // The points: one symbol mark group whose paths are the five configs.
    const symbols = svg.match(/class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/);
    expect(symbols).not.toBeNull();
    expect((symbols?.[1]?.match(/<path /g) ?? []).length).toBe(results.length);
    // One step line per family.
    expect((svg.match(/class="mark-line role-mark/g) ?? []).length).toBe(2);
    for (const text of [
      'adapter parameters (log scale)',
      'test accuracy',
      'my sweep',
      'LoRA',
      'SuperLoRA (2D)',
    ]) {
      expect(svg).toContain(`>${text}</text>`);
    }
    // Log x axis: tick labels at powers of ten in SI format.
    expect(svg).toContain('>1k</text>');
  });

  test('the PNG starts with the signature and has the requested width', async () => {
    const svg = await renderSvg(plotSpec(results));
    const natural = pngSize(await svgToPng(svg));
    const svgWidth = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const svgHeight = Number(/height="(\d+)"/.exec(svg)?.[1]);
    expect(natural).toEqual({ width: svgWidth, height: svgHeight });
    const sized = pngSize(await svgToPng(svg, 1000));
    expect(sized.width).toBe(1000);
    expect(sized.height).toBe(Math.round((1000 * svgHeight) / svgWidth));
    const path = join(dir, 'plot.png');
    await writePlot(path, results, { pngWidth: 640 });
    expect(pngSize(readFileSync(path)).width).toBe(640);
  });

  test('superlora plot redraws from a results.jsonl, and names a missing or garbled file', async () => {
    const resultsPath = join(dir, 'results.jsonl');
    writeFileSync(resultsPath, formatResultsJsonl(results));
    const ok = await cli('plot', resultsPath, '--out', join(dir, 'cli.png'), '--width', '500');
    expect(ok.code).toBe(0);
    expect(pngSize(readFileSync(join(dir, 'cli.png')))).toMatchObject({ width: 500 });
    // LoRA's frontier accuracies 50% and 55% are reached by SuperLoRA (2D) with 363 and 1452.
    expect(ok.stdout).toContain('SuperLoRA (2D): 2.82×, 2.82×');

    const missing = join(dir, 'nope', 'results.jsonl');
    const gone = await cli('plot', missing, '--out', join(dir, 'x.svg'));
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`Cannot read results file ${missing}`);

    const garbled = join(dir, 'garbled.jsonl');
    writeFileSync(garbled, `${formatResultsJsonl(results.slice(0, 1))}{"name": "x", oops\n`);
    const bad = await cli('plot', garbled, '--out', join(dir, 'x.svg'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${garbled} line 2 is not valid JSON`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  test('superlora plot --metric validation plots and compares the validation accuracies', async () => {
    // Validation accuracies that rank the configs differently from the test ones.
    const validated = results.map((result, i) => ({
      ...result,
      validationAccuracy: [0.4, 0.45, 0.6, 0.5, 0.62][i] as number,
    }));
    const resultsPath = join(dir, 'validated.jsonl');
    writeFileSync(resultsPath, formatResultsJsonl(validated));
    const out = join(dir, 'validation.svg');
    const ok = await cli('plot', resultsPath, '--metric', 'validation', '--out', out);
    expect(ok.stderr).toBe('');
    const svg = readFileSync(out, 'utf8');
    expect(svg).toContain('>validation accuracy</text>');
    expect(svg).not.toContain('>test accuracy</text>');
    // LoRA's validation frontier is 40 %, 45 %, 60 %: SuperLoRA (2D) reaches 40 % and 45 % with 363
    // parameters (2.82×, 5.64×) and never 60 %.
    expect(ok.stdout).toContain('SuperLoRA (2D): 2.82×, 5.64×');

    const testOnly = await cli(
      'plot',
      join(dir, 'results.jsonl'),
      '--metric',
      'validation',
      '--out',
      out,
    );
    expect(testOnly.code).toBe(1);
    expect(testOnly.stderr).toContain(
      'no row with a validation accuracy (run the sweep with --validation-size N)',
    );
  });
});
