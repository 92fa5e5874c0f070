/**
 * `superlora plot`: redraws the accuracy-against-parameters plot from a sweep's results.jsonl, or
 * from several repeats of one sweep (other seeds), plotting each config's mean accuracy; or, given
 * training runs (finetune / pretrain output folders or their log.jsonl), draws their training
 * curves side by side.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { curvesSpec, DEFAULT_SMOOTHING } from '../../plot/curvesSpec';
import { isPlotFile, writeSpecPlot } from '../../plot/renderVega';
import { checkDistinctInputs, plotInputKind } from '../../plot/plotInputs';
import { readRuns, type RunCurves } from '../../plot/runLog';
import { smoothed } from '../../train/smoothing';
import { writePlot } from '../../sweep/renderPlot';
import { meanOverRuns } from '../../sweep/meanOverRuns';
import { VALIDATION_Y_TITLE } from '../../sweep/plotSpec';
import { onValidationAccuracy } from '../../sweep/results';
import { readResultsFile } from '../../sweep/resultsFiles';
import { CliUsageError } from '../errors';
import { choiceFlag, integerFlag } from '../parseFlags';
import { reductionLines, spreadLines } from '../sweepReport';

interface PlotFlags {
  out: string;
  metric: 'test' | 'validation';
  title?: string;
  width?: number;
  smoothing?: number;
}

async function run(paths: string[], flags: PlotFlags): Promise<void> {
  if (!isPlotFile(flags.out)) {
    throw new CliUsageError(
      `Expected a file ending in .svg or .png for --out but received ${JSON.stringify(flags.out)}`,
    );
  }
  // Each input is known by its content, not its name (plotInputs.ts), and must be given once.
  const kinds = await Promise.all(paths.map((path) => plotInputKind(path)));
  await checkDistinctInputs(paths, kinds);
  const runs = kinds.map((kind) => kind === 'run');
  if (runs.every(Boolean)) {
    if (flags.metric !== 'test') {
      throw new CliUsageError('--metric applies to sweep results only; curves show both splits');
    }
    return plotCurves(paths, flags);
  }
  if (runs.some(Boolean)) {
    throw new CliUsageError(
      `Expected sweep results files or training runs, not both: ${paths.filter((_, i) => runs[i]).join(', ')} ${runs.filter(Boolean).length === 1 ? 'is a run' : 'are runs'}`,
    );
  }
  if (flags.smoothing !== undefined) {
    throw new CliUsageError('--smoothing applies to training curves (run folders) only');
  }
  await plotSweeps(paths, flags);
}

/** One line per run: its steps, last smoothed training loss, last and best accuracies. */
function runLines(runs: readonly RunCurves[], smoothing: number): string[] {
  const percent = (value: number) => `${(value * 100).toFixed(2)} %`;
  return runs.map((run) => {
    const loss = smoothed(
      run.train.map((point) => point.loss),
      smoothing,
    ).at(-1) as number;
    const accuracies = (['test', 'validation'] as const).flatMap((split) => {
      const evals = run.evals.filter((point) => point.split === split);
      const last = evals.at(-1);
      if (!last) return [];
      const best = evals.reduce((top, point) => (point.accuracy > top.accuracy ? point : top));
      return [
        `${split} accuracy ${percent(last.accuracy)} at step ${last.step} (best ${percent(best.accuracy)} at step ${best.step})`,
      ];
    });
    const evals = accuracies.length > 0 ? `, ${accuracies.join(', ')}` : ', no evaluation logged';
    return `  ${run.name}: ${run.train.length} steps, training loss ${loss.toFixed(4)} (smoothed)${evals}`;
  });
}

async function plotCurves(paths: string[], flags: PlotFlags): Promise<void> {
  const runs = await readRuns(paths);
  const smoothing = flags.smoothing ?? DEFAULT_SMOOTHING;
  await writeSpecPlot(flags.out, curvesSpec(runs, { title: flags.title, smoothing }), flags.width);
  console.log(
    `wrote ${flags.out} (training curves of ${runs.length} run${runs.length > 1 ? 's' : ''})`,
  );
  for (const line of runLines(runs, smoothing)) console.log(line);
}

async function plotSweeps(resultsPaths: string[], flags: PlotFlags): Promise<void> {
  const validation = flags.metric === 'validation';
  // With --metric validation every row's accuracy is its validation accuracy, for the plot, the
  // means and the comparison with LoRA alike.
  const sweeps = (await Promise.all(resultsPaths.map((path) => readResultsFile(path)))).map(
    (rows) => (validation ? onValidationAccuracy(rows) : rows),
  );
  const { results, spreads } = meanOverRuns(sweeps, resultsPaths);
  if (!results.some((r) => r.accuracy !== null)) {
    const hint = validation
      ? ' validation accuracy (run the sweep with --validation-size N)'
      : 'n accuracy';
    throw new CliUsageError(`${resultsPaths.join(', ')}: no row with a${hint} to plot`);
  }
  await writePlot(flags.out, results, {
    title: flags.title,
    pngWidth: flags.width,
    ...(validation ? { yTitle: VALIDATION_Y_TITLE } : {}),
  });
  const repeats = resultsPaths.length > 1 ? `, mean of ${resultsPaths.length} sweeps` : '';
  console.log(`wrote ${flags.out} (${results.length} configs${repeats})`);
  if (resultsPaths.length > 1) for (const line of spreadLines(spreads)) console.log(line);
  for (const line of reductionLines(results)) console.log(line);
}

/**
 * `--smoothing`: a number in [0, 1), as its help says and as `smoothed` takes it. The upper end is
 * open (1 would hold the first value forever), so numberFlag's closed range does not fit.
 */
function smoothingFlag(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !(parsed >= 0 && parsed < 1)) {
    throw new InvalidArgumentError(
      `Expected a number in [0, 1) but received ${JSON.stringify(value)}.`,
    );
  }
  return parsed;
}

export function registerPlotCommand(program: Command): void {
  program
    .command('plot')
    .description(
      'draw accuracy against adapter parameters from a sweep results.jsonl, or the mean of several (one per seed); or the training curves of finetune / pretrain runs',
    )
    .argument(
      '<results...>',
      'results.jsonl written by superlora sweep (several: repeats of one sweep with other seeds, averaged per config); or run folders (or their log.jsonl) to compare their training curves',
    )
    .requiredOption('--out <file>', 'output file, .svg or .png')
    .option('--title <text>', 'plot title')
    .option(
      '--metric <split>',
      'sweep results: plot and compare the test accuracy, or the validation accuracy of sweeps run with --validation-size (to choose configs by)',
      choiceFlag(['test', 'validation'] as const),
      'test',
    )
    .option('--width <px>', 'PNG width in pixels (default: the SVG size)', integerFlag(16, 16384))
    .option(
      '--smoothing <x>',
      `training curves: TensorBoard-style smoothing of the training loss and gradient norm, in [0, 1) (default ${DEFAULT_SMOOTHING})`,
      smoothingFlag,
    )
    .action(run);
}
