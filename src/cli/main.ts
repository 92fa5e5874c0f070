/**
 * The `superlora` command line: one command per file under `commands/`, registered here. User
 * errors print one line and exit 1; anything else is a bug and prints its stack.
 */
import { Command, CommanderError } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { version } from '../version';
import { registerAdapterCommand } from './commands/adapter';
import { registerBenchCommand } from './commands/bench';
import { registerCacheCommand } from './commands/cache';
import { registerDeltaCommand } from './commands/delta';
import { registerFinetuneCommand } from './commands/finetune';
import { registerEvaluateCommand } from './commands/evaluate';
import { registerInfoCommand } from './commands/info';
import { registerMergeCommand } from './commands/merge';
import { registerPeftCommand } from './commands/peft';
import { registerPlotCommand } from './commands/plot';
import { registerPredictCommand } from './commands/predict';
import { registerPresetsCommand } from './commands/presets';
import { registerPretrainCommand } from './commands/pretrain';
import { registerSweepCommand } from './commands/sweep';
import { isUserError } from './errors';

export function buildProgram(): Command {
  const program = new Command('superlora')
    .description('SuperLoRA parameter-efficient fine-tuning for Node.js')
    .version(version, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerFinetuneCommand(program);
  registerPretrainCommand(program);
  registerInfoCommand(program);
  registerAdapterCommand(program);
  registerDeltaCommand(program);
  registerPresetsCommand(program);
  registerBenchCommand(program);
  registerPredictCommand(program);
  registerMergeCommand(program);
  registerPeftCommand(program);
  registerEvaluateCommand(program);
  registerSweepCommand(program);
  registerPlotCommand(program);
  registerCacheCommand(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  // The cpu backend's "install tfjs-node" banner is noise on a command line.
  tf.enableProdMode();
  try {
    await buildProgram().parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (isUserError(error) && !process.env.SUPERLORA_DEBUG) {
      console.error(`superlora: ${error.message}`);
      return 1;
    }
    console.error(error);
    return 1;
  }
}
