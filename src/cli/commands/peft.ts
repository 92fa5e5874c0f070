/**
 * `superlora peft export | import`: convert adapters to and from Hugging Face PEFT's LoRA and LoKr
 * folders (adapter_config.json + adapter_model.safetensors), so that an adapter trained here loads
 * with `PeftModel.from_pretrained`, and a PEFT adapter becomes a SuperLoRA adapter file. (merge,
 * evaluate, predict and finetune --init also take a PEFT folder as it is.) A `finetune` output
 * folder's classifier head travels as PEFT's `modules_to_save`.
 */
import { mkdir, rm } from 'fs/promises';
import { join } from 'path';
import type { Command } from 'commander';
import { canonicalConfig } from '../../config';
import type { EngineChoice } from '../../engines/engine';
import { saveAdapter } from '../../io/adapterFile';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, writePeftAdapter } from '../../io/peftFile';
import { DEFAULT_PEFT_TOLERANCE, peftFromAdapter, type PeftExportTarget } from '../../interop/peft';
import { PEFT_LABELS_METADATA, readAdapterSource, readPeftSource } from '../../train/adapterSource';
import { headTensors, writeHeadFile } from '../../train/headFile';
import { ADAPTER_FILE, HEAD_FILE } from '../../train/outputFiles';
import { CliUsageError } from '../errors';
import { refuseOverwritingInputs } from '../outputGuard';
import { engineFlag, integerFlag, numberFlag } from '../parseFlags';

interface ExportFlags {
  out: string;
  rank?: number;
  lora?: boolean;
  tolerance: number;
  uniformRank?: boolean;
  baseModel?: string;
  engine: EngineChoice;
}

/** --rank fixes every module's rank; --tolerance and --uniform-rank choose it: not both. */
function checkRankFlags(flags: ExportFlags, command: Command): void {
  if (flags.rank === undefined) return;
  const choosing =
    command.getOptionValueSource('tolerance') === 'cli'
      ? '--tolerance'
      : flags.uniformRank === true
        ? '--uniform-rank'
        : undefined;
  if (choosing !== undefined) {
    throw new CliUsageError(
      `Expected --rank or ${choosing}, not both: --rank fixes every module's rank, ${choosing} chooses it`,
    );
  }
}

async function exportPeft(source: string, flags: ExportFlags, command: Command): Promise<void> {
  checkRankFlags(flags, command);
  const outputs = [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE].map((file) => join(flags.out, file));
  await refuseOverwritingInputs('--out', outputs, [{ flag: 'ADAPTER', path: source }]);
  const { plan, params, head } = await readAdapterSource(source);
  try {
    const exported = await peftFromAdapter(plan, params, {
      rank: flags.rank,
      lora: flags.lora === true,
      tolerance: flags.tolerance,
      uniformRank: flags.uniformRank === true,
      engine: flags.engine,
    });
    const { r, rankPattern, parameters } = await writePeftAdapter(
      flags.out,
      exported.type,
      exported.modules,
      head ? headTensors(head) : new Map(),
      {
        baseModel: flags.baseModel ?? null,
        metadata: {
          superlora_config: JSON.stringify(canonicalConfig(plan.config)),
          ...(head?.labels ? { [PEFT_LABELS_METADATA]: JSON.stringify(head.labels) } : {}),
        },
      },
    );
    const worst = Math.max(...exported.targets.map((t) => t.relativeError));
    const how = exported.exact
      ? 'the adapter’s own factors'
      : `truncated SVD of each ΔW, ${rankChoice(flags)}`;
    const patterned = Object.keys(rankPattern).length;
    console.log(
      `Wrote ${flags.out}: ${exported.modules.length} ${exported.type} modules, r = ${r}` +
        `${patterned > 0 ? ` (${patterned} ${patterned === 1 ? 'other' : 'others'} in rank_pattern)` : ''} (${how}), ` +
        `${parameters} parameters` +
        `${head ? `, and the classifier head as modules_to_save` : ''}; largest relative error of ΔW ${worst.toExponential(2)}`,
    );
    exported.modules.forEach((module, t) => {
      const rank = exported.type === 'LORA' ? `  r ${module.factors[0]?.rank}` : '';
      const error = (exported.targets[t] as PeftExportTarget).relativeError;
      console.log(`  ${module.name}${rank}  ${error.toExponential(2)}`);
    });
  } finally {
    plan.dispose();
  }
}

function rankChoice(flags: ExportFlags): string {
  if (flags.rank !== undefined) return 'rank from --rank';
  return flags.uniformRank === true
    ? `the rank every module needs to be within --tolerance ${flags.tolerance}`
    : `each module's smallest rank within --tolerance ${flags.tolerance}`;
}

async function importPeft(source: string, flags: { out: string }): Promise<void> {
  const { plan, params, head, peftType } = await readPeftSource(source);
  try {
    await mkdir(flags.out, { recursive: true });
    await saveAdapter(join(flags.out, ADAPTER_FILE), plan, params);
    // A head left from an earlier run in --out would pair with this adapter when the folder is read.
    if (head) await writeHeadFile(join(flags.out, HEAD_FILE), head);
    else await rm(join(flags.out, HEAD_FILE), { force: true });
    console.log(
      `Wrote ${flags.out}: ${ADAPTER_FILE} (${peftType} on ${plan.targets.length} targets as ${JSON.stringify(canonicalConfig(plan.config))}, ${plan.numParams} parameters)` +
        `${head ? ` and ${HEAD_FILE}` : ''}`,
    );
  } finally {
    plan.dispose();
  }
}

export function registerPeftCommand(program: Command): void {
  const peft = program
    .command('peft')
    .description('convert adapters to and from Hugging Face PEFT LoRA and LoKr folders');
  peft
    .command('export <adapter>')
    .description(
      'write an adapter (file, finetune output folder with its head, or PEFT folder) as a PEFT folder: LoRA and LoKr configs exactly, any other as a LoRA from a truncated SVD of each ΔW',
    )
    .requiredOption(
      '--out <dir>',
      'the folder to write (adapter_config.json + adapter_model.safetensors)',
    )
    .option(
      '--rank <r>',
      'write a LoRA of this rank for every module (default: the adapter’s own LoRA or LoKr factors, else the rank --tolerance allows)',
      integerFlag(1, 65536),
    )
    .option('--lora', 'write a LoRA even for a LoKr adapter (a truncated SVD of each ΔW)')
    .option(
      '--tolerance <x>',
      'the largest relative Frobenius error of any target’s ΔW when the rank is chosen',
      numberFlag(1e-7, 0.5),
      DEFAULT_PEFT_TOLERANCE,
    )
    .option(
      '--uniform-rank',
      'with --tolerance: one rank for every module (the largest needed) instead of each its own in rank_pattern',
    )
    .option('--base-model <name>', 'base_model_name_or_path to record in adapter_config.json')
    .option('--engine <engine>', 'auto, tfjs, native or cuda', engineFlag, 'auto')
    .action(exportPeft);
  peft
    .command('import <dir>')
    .description(
      'convert a PEFT LoRA or LoKr folder into a SuperLoRA adapter with the same ΔW (and head, from modules_to_save) that merge, evaluate, predict and finetune --init take',
    )
    .requiredOption('--out <dir>', 'the folder to write (adapter.safetensors [+ head.safetensors])')
    .action(importPeft);
}
