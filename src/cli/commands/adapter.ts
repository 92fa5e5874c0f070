/**
 * `superlora adapter init | show`: create an adapter file from a config, or describe one (an adapter
 * file, a run folder or a PEFT LoRA / LoKr folder, as the SuperLoRA config it is).
 */
import type { Command } from 'commander';
import type { SuperLoraConfig } from '../../config';
import { createPlan } from '../../createPlan';
import { saveAdapter } from '../../io/adapterFile';
import { presetConfig, presetNames } from '../../presets';
import { readAdapterSource } from '../../train/adapterSource';
import { CliUsageError } from '../errors';
import { refuseOverwritingInputs } from '../outputGuard';
import { integerFlag } from '../parseFlags';
import { readJsonFile } from '../readJsonFile';

interface InitOptions {
  config?: string;
  preset?: string;
  targets: string;
  seed?: number;
  out: string;
  embedTables?: boolean;
}

async function init(options: InitOptions): Promise<void> {
  if ((options.config === undefined) === (options.preset === undefined)) {
    throw new CliUsageError('Expected exactly one of --config FILE or --preset NAME');
  }
  const config = (
    options.preset !== undefined
      ? presetConfig(options.preset)
      : await readJsonFile(options.config as string, '--config')
  ) as SuperLoraConfig;
  if (options.seed !== undefined) config.seed = options.seed;
  await refuseOverwritingInputs(
    '--out',
    [options.out],
    [
      { flag: '--targets', path: options.targets },
      ...(options.config === undefined ? [] : [{ flag: '--config', path: options.config }]),
    ],
  );
  const targets = await readJsonFile(options.targets, '--targets');
  const plan = createPlan(config, targets as never);
  await saveAdapter(options.out, plan, plan.initParams(), {
    embedTables: options.embedTables === true,
  });
  console.log(
    `Wrote ${options.out}: ${plan.numParams} parameters in ${plan.paramLayout.length} tensors, ` +
      `${plan.layout.groups.length} groups in ${plan.layout.buckets.length} buckets, ΔW of ${plan.deltaSize} values`,
  );
  plan.dispose();
}

async function show(path: string, options: { json?: boolean }): Promise<void> {
  const { plan } = await readAdapterSource(path);
  const summary = {
    config: plan.config,
    targets: plan.targets,
    numParams: plan.numParams,
    deltaSize: plan.deltaSize,
    groups: plan.layout.groups.length,
    buckets: plan.layout.buckets.map((b) => ({
      groups: b.groups,
      foldDims: b.foldDims,
      virtualLength: b.virtualLength,
      generatedLength: b.generatedLength,
    })),
    paramLayout: plan.paramLayout,
  };
  if (options.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(`config      ${JSON.stringify(plan.config)}`);
    console.log(
      `targets     ${plan.targets.length} (${plan.targets.map((t) => `${t.name} [${t.shape}]`).join(', ')})`,
    );
    console.log(`parameters  ${plan.numParams}`);
    console.log(
      `ΔW size     ${plan.deltaSize} (${(plan.deltaSize / plan.numParams).toFixed(1)}× the parameters)`,
    );
    console.log(`groups      ${summary.groups} in ${summary.buckets.length} buckets`);
    for (const entry of plan.paramLayout)
      console.log(`  ${entry.name.padEnd(16)} [${entry.shape.join(', ')}]`);
  }
  plan.dispose();
}

export function registerAdapterCommand(program: Command): void {
  const adapter = program.command('adapter').description('create or describe adapter files');
  adapter
    .command('init')
    .description('write a freshly initialised adapter (ΔW = 0) for a config and target list')
    .option('--config <file>', 'config JSON file (SPEC §2)')
    .option('--preset <name>', `a named preset: ${presetNames.join(', ')}`)
    .requiredOption('--targets <file>', 'JSON array of { name, shape: [out, in], layer }')
    .option(
      '--seed <s>',
      'overrides config.seed (tables and initialisation)',
      integerFlag(0, 2 ** 32 - 1),
    )
    .option('--embed-tables', 'also store the fastfood and shuffle tables in the file')
    .requiredOption('--out <file>', 'the adapter .safetensors file to write')
    .action(init);
  adapter
    .command('show <adapter>')
    .description(
      'print an adapter’s config, targets, groups and parameter layout (an adapter file, run folder or PEFT folder)',
    )
    .option('--json', 'print JSON')
    .action(show);
}
