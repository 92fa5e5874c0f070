/**
 * `superlora bench memory`: resident memory, V8 heap, external memory and live tfjs tensors over
 * a long tiny fine-tune on the real training loop; it should stay flat (src/bench/memoryBench.ts).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Command } from 'commander';
import { formatMemoryReport, runMemoryBench } from '../../bench/memoryBench';
import type { EngineChoice } from '../../engines/engine';
import { checkOutputPath, writeFileAtomic } from '../../io/atomicWrite';
import { engineFlag, integerFlag } from '../parseFlags';

interface MemoryFlags {
  steps: number;
  sampleEvery: number;
  engine: EngineChoice;
  json?: boolean;
  jsonFile?: string;
}

async function benchMemory(flags: MemoryFlags): Promise<void> {
  // A wrong --json-file path fails now, not after the whole run.
  if (flags.jsonFile !== undefined) await checkOutputPath(flags.jsonFile);
  const runDir = mkdtempSync(join(tmpdir(), 'superlora-memory-'));
  try {
    const report = await runMemoryBench({
      steps: flags.steps,
      sampleEvery: flags.sampleEvery,
      engine: flags.engine,
      runDir,
    });
    const json = JSON.stringify({ bench: 'memory', ...report });
    if (flags.jsonFile !== undefined) await writeFileAtomic(flags.jsonFile, `${json}\n`);
    process.stdout.write(`${flags.json ? json : formatMemoryReport(report)}\n`);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

export function registerBenchMemory(bench: Command): void {
  bench
    .command('memory')
    .description(
      'resident memory, heap and live tensors over a long tiny fine-tune (a leak shows as a slope)',
    )
    .option('--steps <n>', 'training steps', integerFlag(10, 1_000_000), 1000)
    .option('--sample-every <n>', 'steps between samples', integerFlag(1, 1_000_000), 50)
    .option('--engine <name>', 'ΔW engine: auto, tfjs, native or cuda', engineFlag, 'native')
    .option('--json', 'print the report as one JSON object instead of the table')
    .option('--json-file <file>', 'also write that JSON object to a file')
    .action(benchMemory);
}
