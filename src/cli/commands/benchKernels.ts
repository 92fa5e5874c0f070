/** `superlora bench kernels`: each native kernel family alone, at sizes 2^10 … 2^24. */
import type { Command } from 'commander';
import { formatLimits } from '../../bench/deltaReport';
import {
  kernelFamilies,
  runKernelBench,
  type KernelBenchRecord,
  type KernelFamily,
} from '../../bench/kernelsBench';
import { kernelTableFooter, kernelTableHeader, kernelTableRow } from '../../bench/kernelsReport';
import { describeMachine, loadBenchAddon } from '../../bench/machineLimits';
import { checkOutputPath, writeFileAtomic } from '../../io/atomicWrite';
import type { IsaName } from '../../native/addonTypes';
import { CliUsageError } from '../errors';
import { collect, integerFlag } from '../parseFlags';

interface KernelFlags {
  kernel?: string[];
  sizes?: number[];
  threads?: number[];
  repeat: number;
  isa?: string;
  json?: boolean;
  jsonFile?: string;
}

const DEFAULT_LOG2_SIZES = [10, 12, 14, 16, 18, 20, 22, 24];
const ISAS: readonly IsaName[] = ['portable', 'avx2', 'avx512'];

function families(names: string[] | undefined): KernelFamily[] {
  if (names === undefined || names.includes('all')) return [...kernelFamilies];
  return [...new Set(names)].map((name) => {
    if (!(kernelFamilies as readonly string[]).includes(name)) {
      throw new CliUsageError(
        `Unknown kernel ${JSON.stringify(name)} for --kernel: expected one of ${kernelFamilies.join(', ')} or all`,
      );
    }
    return name as KernelFamily;
  });
}

async function benchKernels(flags: KernelFlags): Promise<void> {
  if (flags.isa !== undefined && !(ISAS as readonly string[]).includes(flags.isa)) {
    throw new CliUsageError(
      `Unknown --isa ${JSON.stringify(flags.isa)}: expected one of ${ISAS.join(', ')}`,
    );
  }
  const addon = loadBenchAddon();
  const hardware = addon.capabilities().threads;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  // --json-file is written once, complete, at the end: until then its old contents stay intact.
  if (flags.jsonFile !== undefined) await checkOutputPath(flags.jsonFile);
  const jsonLines: string[] = [];
  runKernelBench({
    families: families(flags.kernel),
    log2Sizes: [...new Set(flags.sizes ?? DEFAULT_LOG2_SIZES)].sort((a, b) => a - b),
    threads: [...new Set(flags.threads ?? [1, hardware])],
    repeat: flags.repeat,
    isa: flags.isa as IsaName | undefined,
    onLimits: (limits, isa) => {
      if (flags.json) return;
      for (const line of formatLimits(limits, describeMachine(addon, isa))) print(line);
      print('');
      for (const line of kernelTableHeader()) print(line);
    },
    onRecord: (record: KernelBenchRecord) => {
      const json = JSON.stringify(record);
      jsonLines.push(`${json}\n`);
      print(flags.json ? json : kernelTableRow(record));
    },
    onProgress: (message) => process.stderr.write(`bench: ${message}\n`),
  });
  if (flags.jsonFile !== undefined) await writeFileAtomic(flags.jsonFile, jsonLines.join(''));
  if (!flags.json) for (const line of kernelTableFooter()) print(line);
}

export function registerBenchKernels(bench: Command): void {
  bench
    .command('kernels')
    .description(
      'time each native kernel family alone (FWHT, rank-r product, Kronecker, fastfood), forward ' +
        'and backward, at sizes 2^10 … 2^24, as ratios to the machine’s limits measured in the same run',
    )
    .option(
      '--kernel <names...>',
      `kernel families: ${kernelFamilies.join(', ')}, or all (default)`,
    )
    .option(
      '--sizes <log2...>',
      'log2 of the sizes, 10 to 24 (default: 10 12 … 24)',
      collect(integerFlag(10, 24)),
    )
    .option(
      '--threads <counts...>',
      'kernel-pool thread counts (default: 1 and the hardware threads)',
      collect(integerFlag(1, 1024)),
    )
    .option(
      '--repeat <n>',
      'timed samples after warm-up, of which the median is reported',
      integerFlag(1, 1000),
      7,
    )
    .option(
      '--isa <level>',
      `instruction-set path: ${ISAS.join(', ')} (default: the best this CPU has)`,
    )
    .option('--json', 'print one JSON object per row instead of the table')
    .option(
      '--json-file <file>',
      'also write those JSON lines to a file, replaced only once the run completes',
    )
    .action((flags: KernelFlags) => benchKernels(flags));
}
