/** `superlora plot`: redraws the accuracy-against-parameters plot from a sweep's results.jsonl. */
import type { Command } from 'commander';
import { writePlot } from '../../sweep/renderPlot';
import { readResultsFile } from '../../sweep/resultsFiles';
import { CliUsageError } from '../errors';
import { integerFlag } from '../parseFlags';
import { reductionLines } from './sweep';

interface PlotFlags {
  out: string;
  title?: string;
  width?: number;
}

async function run(resultsPath: string, flags: PlotFlags): Promise<void> {
  if (!/\.(svg|png)$/i.test(flags.out)) {
    throw new CliUsageError(
      `Expected a file ending in .svg or .png for --out but received ${JSON.stringify(flags.out)}`,
    );
  }
  const results = await readResultsFile(resultsPath);
  if (!results.some((r) => r.accuracy !== null)) {
    throw new CliUsageError(`${resultsPath} has no row with an accuracy to plot`);
  }
  await writePlot(flags.out, results, { title: flags.title, pngWidth: flags.width });
  console.log(`wrote ${flags.out} (${results.length} configs)`);
  for (const line of reductionLines(results)) console.log(line);
}

export function registerPlotCommand(program: Command): void {
  program
    .command('plot')
    .description('draw accuracy against adapter parameters from a sweep results.jsonl')
    .argument('<results>', 'results.jsonl written by superlora sweep')
    .requiredOption('--out <file>', 'output file, .svg or .png')
    .option('--title <text>', 'plot title')
    .option('--width <px>', 'PNG width in pixels (default: the SVG size)', integerFlag(16, 16384))
    .action(run);
}
