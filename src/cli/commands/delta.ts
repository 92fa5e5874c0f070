/**
 * `superlora delta ADAPTER --out FILE`: ΔW of every target, as a safetensors file (ADAPTER: an
 * adapter file, a run folder or a PEFT LoRA / LoKr folder).
 */
import type { Command } from 'commander';
import type { EngineChoice } from '../../engines/engine';
import { writeSafetensors, type SafeTensor } from '../../io/safetensors';
import { readAdapterSource } from '../../train/adapterSource';
import { refuseOverwritingInputs } from '../outputGuard';
import { engineFlag } from '../parseFlags';

async function delta(path: string, options: { out: string; engine: EngineChoice }): Promise<void> {
  await refuseOverwritingInputs('--out', [options.out], [{ flag: 'ADAPTER', path }]);
  const { plan, params } = await readAdapterSource(path);
  const started = process.hrtime.bigint();
  const values = await plan.delta(params, { engine: options.engine });
  const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;
  const tensors = new Map<string, SafeTensor>();
  for (const [name, view] of plan.splitByTarget(values)) {
    const target = plan.targets.find((t) => t.name === name);
    tensors.set(name, {
      dtype: 'F32',
      shape: target ? [...target.shape] : [view.length],
      data: view,
    });
  }
  await writeSafetensors(options.out, tensors, { format: 'superlora-delta', adapter: path });
  const engine = plan.engine(options.engine).name;
  console.log(
    `Wrote ${options.out}: ΔW of ${plan.targets.length} targets (${values.length} values) by the ${engine} engine in ${milliseconds.toFixed(1)} ms`,
  );
  plan.dispose();
}

export function registerDeltaCommand(program: Command): void {
  program
    .command('delta <adapter>')
    .description(
      'compute ΔW for every target of an adapter; writes one F32 [out, in] tensor per target',
    )
    .requiredOption('--out <file>', 'the .safetensors file to write')
    .option('--engine <engine>', 'auto, tfjs, native or cuda', engineFlag, 'auto')
    .action(delta);
}
