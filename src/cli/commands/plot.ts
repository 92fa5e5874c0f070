/**
 * `superlora plot`: redraws the accuracy-against-parameters plot from a sweep's results.jsonl, or
 * from several repeats of one sweep (other seeds), plotting each config's mean accuracy.
 */
import type { Command } from 'commander';
import { writePlot } from '../../sweep/renderPlot';
import { meanOverRuns } from '../../sweep/meanOverRuns';
import { readResultsFile } from '../../sweep/resultsFiles';
import { CliUsageError } from '../errors';
import { integerFlag } from '../parseFlags';
import { reductionLines, spreadLines } from '../sweepReport';

interface PlotFlags {
  out: string;
  title?: string;
  width?: number;
}

async function run(resultsPaths: string[], flags: PlotFlags): Promise<void> {
  if (!/\.(svg|png)$/i.test(flags.out)) {
    throw new CliUsageError(
      `Expected a file ending in .svg or .png for --out but received ${JSON.stringify(flags.out)}`,
    );
  }
  const sweeps = await Promise.all(resultsPaths.map((path) => readResultsFile(path)));
  const { results, spreads } = meanOverRuns(sweeps, resultsPaths);
  if (!results.some((r) => r.accuracy !== null)) {
    throw new CliUsageError(`${resultsPaths.join(', ')}: no row with an accuracy to plot`);
  }
  await writePlot(flags.out, results, { title: flags.title, pngWidth: flags.width });
  const repeats = resultsPaths.length > 1 ? `, mean of ${resultsPaths.length} sweeps` : '';
  console.log(`wrote ${flags.out} (${results.length} configs${repeats})`);
  if (resultsPaths.length > 1) for (const line of spreadLines(spreads)) console.log(line);
  for (const line of reductionLines(results)) console.log(line);
}

export function registerPlotCommand(program: Command): void {
  program
    .command('plot')
    .description(
      'draw accuracy against adapter parameters from a sweep results.jsonl, or the mean of several (one per seed)',
    )
    .argument(
      '<results...>',
      'results.jsonl written by superlora sweep; several: repeats of one sweep with other seeds, averaged per config',
    )
    .requiredOption('--out <file>', 'output file, .svg or .png')
    .option('--title <text>', 'plot title')
    .option('--width <px>', 'PNG width in pixels (default: the SVG size)', integerFlag(16, 16384))
    .action(run);
}
