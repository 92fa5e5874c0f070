/**
 * `superlora bench train-step`: a ViT fine-tuning step with tfjs's own cpu kernels and with
 * superlora's native ones, the native GEMM against the FMA peak measured in the same run, and the
 * ViT's fused kernels alone at the models' shapes.
 */
import { join } from 'path';
import type { Command } from 'commander';
import { loadBenchAddon } from '../../bench/machineLimits';
import {
  DEFAULT_STEPS,
  DEFAULT_STOCK_STEPS,
  runTrainStepBench,
  trainStepModels,
  type TrainStepBenchAddon,
  type TrainStepRecord,
} from '../../bench/trainStepBench';
import {
  formatPeaks,
  gemmFootnotes,
  gemmHeader,
  gemmRow,
  opFootnotes,
  opHeader,
  opRow,
  stepFootnotes,
  stepHeader,
  stepRow,
} from '../../bench/trainStepReport';
import { checkOutputPath, writeFileAtomic } from '../../io/atomicWrite';
import { parseViTConfigJson } from '../../vit/config';
import { shippedModelDir } from '../../vit/shippedModel';
import { integerFlag } from '../parseFlags';
import { readJsonFile } from '../readJsonFile';

interface TrainStepFlags {
  steps: number;
  stockSteps: number;
  skipStock?: boolean;
  threads?: number;
  json?: boolean;
  jsonFile?: string;
}

async function benchTrainStep(flags: TrainStepFlags): Promise<void> {
  const configPath = join(shippedModelDir(), 'config.json');
  const base = parseViTConfigJson(await readJsonFile(configPath, 'the base model'), configPath);
  const models = trainStepModels(base);
  const addon = loadBenchAddon() as TrainStepBenchAddon;
  const threads = flags.threads ?? addon.getThreads();
  const print = (line: string) => process.stdout.write(`${line}\n`);
  // --json-file is written once, complete, at the end: until then its old contents stay intact.
  if (flags.jsonFile !== undefined) await checkOutputPath(flags.jsonFile);
  const jsonLines: string[] = [];
  // The sections in the order the records come, each ending with its footnotes.
  let section: TrainStepRecord['kind'] = 'gemm';
  await runTrainStepBench({
    addon,
    models,
    threads,
    steps: flags.steps,
    stockSteps: flags.stockSteps,
    skipStock: flags.skipStock === true,
    onPeaks: (peaks, machine) => {
      if (flags.json) return;
      for (const line of [...formatPeaks(peaks, machine), '', ...gemmHeader()]) print(line);
    },
    onRecord: (record) => {
      const json = JSON.stringify(record);
      jsonLines.push(`${json}\n`);
      if (flags.json) return print(json);
      if (record.kind !== section) {
        const footnotes = section === 'gemm' ? gemmFootnotes() : opFootnotes();
        const next = record.kind === 'op' ? opHeader() : stepHeader();
        for (const line of [...footnotes, '', ...next]) print(line);
        section = record.kind;
      }
      if (record.kind === 'gemm') return print(gemmRow(record));
      if (record.kind === 'op') return print(opRow(record));
      print(stepRow(record));
    },
    onProgress: (message) => process.stderr.write(`bench: ${message}\n`),
  });
  if (flags.jsonFile !== undefined) await writeFileAtomic(flags.jsonFile, jsonLines.join(''));
  if (flags.json) return;
  const footnotes = stepFootnotes(
    models,
    flags.steps,
    flags.skipStock === true ? null : flags.stockSteps,
  );
  for (const line of footnotes) print(line);
}

export function registerBenchTrainStep(bench: Command): void {
  bench
    .command('train-step')
    .description(
      'time a ViT fine-tuning step (forward, backward, SGD update) with tfjs’s own cpu kernels and ' +
        'with superlora’s native ones, the native GEMM against the FMA peak measured in the same run, ' +
        'and the fused attention, LayerNorm and GELU kernels alone at the models’ shapes',
    )
    .option(
      '--steps <n>',
      'timed steps with the native kernels, after one warm-up (the best is reported)',
      integerFlag(1, 10_000),
      DEFAULT_STEPS,
    )
    .option(
      '--stock-steps <n>',
      'timed steps with tfjs’s own kernels, after one warm-up (they take seconds each)',
      integerFlag(1, 10_000),
      DEFAULT_STOCK_STEPS,
    )
    .option('--skip-stock', 'time only the native kernels')
    .option(
      '--threads <n>',
      'kernel-pool threads for the native kernels (default: the pool’s current size); the GEMM also runs at 1',
      integerFlag(1, 1024),
    )
    .option(
      '--json',
      'print one JSON object per GEMM shape × threads, per fused op × threads and per model instead',
    )
    .option(
      '--json-file <file>',
      'also write those JSON lines to a file (with either output), replaced only once the run completes',
    )
    .action(benchTrainStep);
}
