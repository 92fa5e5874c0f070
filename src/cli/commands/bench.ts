/**
 * `superlora bench <what>`: micro-benchmarks that measure and report (DESIGN.md "Conventions"):
 * each run first measures the machine's own limits, so every figure is also a ratio. One
 * subcommand per thing measured; `delta` times the whole ΔW map.
 */
import * as path from 'path';
import type { Command } from 'commander';
import type { SuperLoraConfig, Target } from '../../config';
import { engineUnavailableReason, resolveEngineChoice } from '../../engines/createEngine';
import { engineNames, type EngineChoice, type EngineName } from '../../engines/engine';
import { DEFAULT_REPEAT, runDeltaBench, type DeltaBenchRecord } from '../../bench/deltaBench';
import { formatLimits, tableFootnotes, tableHeader, tableRow } from '../../bench/deltaReport';
import { loadBenchAddon } from '../../bench/machineLimits';
import { builtinWorkload, workloadNames, type Workload } from '../../bench/workloads';
import { checkOutputPath, writeFileAtomic } from '../../io/atomicWrite';
import { CliUsageError } from '../errors';
import { registerBenchKernels } from './benchKernels';
import { registerBenchMemory } from './benchMemory';
import { registerBenchTrainStep } from './benchTrainStep';
import { collect, engineFlag, integerFlag } from '../parseFlags';
import { readJsonFile } from '../readJsonFile';

interface DeltaFlags {
  workload?: string[];
  config?: string;
  targets?: string;
  engine?: EngineChoice[];
  threads?: number[];
  repeat: number;
  limitBytes?: number;
  json?: boolean;
  jsonFile?: string;
}

async function selectWorkloads(flags: DeltaFlags): Promise<Workload[]> {
  const custom = flags.config !== undefined || flags.targets !== undefined;
  if ((flags.workload !== undefined) === custom) {
    throw new CliUsageError('Expected either --workload NAME or --config FILE --targets FILE');
  }
  if (custom) {
    if (flags.config === undefined || flags.targets === undefined) {
      throw new CliUsageError('Expected both --config FILE and --targets FILE');
    }
    return [
      {
        name: path.basename(flags.config).replace(/\.json$/i, ''),
        description: `from ${flags.config}`,
        config: (await readJsonFile(flags.config, '--config')) as SuperLoraConfig,
        targets: (await readJsonFile(flags.targets, '--targets')) as Target[],
      },
    ];
  }
  const names = (flags.workload as string[]).includes('all')
    ? [...workloadNames]
    : (flags.workload as string[]);
  return [...new Set(names)].map((name) => {
    const workload = builtinWorkload(name);
    if (!workload) {
      throw new CliUsageError(
        `Unknown workload ${JSON.stringify(name)} for --workload: expected one of ${workloadNames.join(', ')} or all`,
      );
    }
    return workload;
  });
}

/** The engines asked for, or every engine available here; an unavailable one asked for is an error. */
function selectEngines(choices: EngineChoice[] | undefined): EngineName[] {
  if (choices === undefined) {
    return engineNames.filter((name) => engineUnavailableReason(name) === null);
  }
  return [...new Set(choices.map((choice) => resolveEngineChoice(choice)))];
}

function defaultThreads(hardwareThreads: number): number[] {
  return [...new Set([1, hardwareThreads])];
}

async function benchDelta(flags: DeltaFlags): Promise<void> {
  const workloads = await selectWorkloads(flags);
  const engines = selectEngines(flags.engine);
  const addon = loadBenchAddon();
  const threads = flags.threads ?? defaultThreads(addon.capabilities().threads);
  const records: DeltaBenchRecord[] = [];
  const skipped: string[] = [];
  // --json-file is written once, complete, at the end: until then its old contents stay intact.
  if (flags.jsonFile !== undefined) await checkOutputPath(flags.jsonFile);
  const jsonLines: string[] = [];
  const print = (line: string) => process.stdout.write(`${line}\n`);
  await runDeltaBench({
    addon,
    workloads,
    engines,
    threads: [...new Set(threads)],
    repeat: flags.repeat,
    limitBytes: flags.limitBytes,
    enginesChosen: flags.engine !== undefined,
    onLimits: (limits, machine, device) => {
      if (flags.json) return;
      for (const line of formatLimits(limits, machine, device)) print(line);
      print('');
      for (const line of tableHeader()) print(line);
    },
    onRecord: (record) => {
      records.push(record);
      const json = JSON.stringify(record);
      jsonLines.push(`${json}\n`);
      print(flags.json ? json : tableRow(record));
    },
    onSkip: (workload, engine, reason) => {
      const line = `skipped ${engine} on ${workload.name} (${reason}; name it with --engine to time it anyway)`;
      skipped.push(line);
      process.stderr.write(`bench: ${line}\n`);
    },
    onProgress: (message) => process.stderr.write(`bench: ${message}\n`),
  });
  if (flags.jsonFile !== undefined) await writeFileAtomic(flags.jsonFile, jsonLines.join(''));
  if (flags.json) return;
  const legend = workloads.map((workload) => {
    const measured = records.find((record) => record.workload === workload.name);
    const sizes = measured ? ` (N = ${measured.deltaSize}, P = ${measured.numParams})` : '';
    return `  ${workload.name.padEnd(22)} ${workload.description}${sizes}`;
  });
  for (const line of [...tableFootnotes(records), 'workloads:', ...legend, ...skipped]) print(line);
}

export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description(
      'micro-benchmarks: measure the machine’s limits, then time the map against them (not tests)',
    );
  bench
    .command('delta')
    .description(
      'time ΔW forward and backward for workloads × engines × thread counts, as ratios to the ' +
        'machine’s fill, memcpy and FMA limits measured in the same run',
    )
    .option(
      '--workload <names...>',
      `built-in workloads on ViT-base query/value (24 × [768, 768]): ${workloadNames.join(', ')}, or all`,
    )
    .option('--config <file>', 'a config JSON file to time instead of a built-in workload')
    .option('--targets <file>', 'the targets JSON file for --config')
    .option(
      '--engine <engines...>',
      'engines to time: tfjs, native, cuda or auto (default: every engine available here)',
      collect(engineFlag),
    )
    .option(
      '--threads <counts...>',
      'kernel-pool thread counts for the native engine (default: 1 and the hardware threads)',
      collect(integerFlag(1, 1024)),
    )
    .option(
      '--repeat <n>',
      'timed calls after warm-up, of which the median is reported (tfjs: at most 3)',
      integerFlag(1, 1000),
      DEFAULT_REPEAT,
    )
    .option(
      '--limit-bytes <n>',
      'buffer size of the fill and memcpy probes (default: the larger of 64 MiB and ΔW)',
      integerFlag(1, 2 ** 40),
    )
    .option('--json', 'print one JSON object per workload × engine × threads instead of the table')
    .option(
      '--json-file <file>',
      'also write those JSON lines to a file (with either output), replaced only once the run completes',
    )
    .action(benchDelta);
  registerBenchKernels(bench);
  registerBenchTrainStep(bench);
  registerBenchMemory(bench);
}
