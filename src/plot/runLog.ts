/**
 * A training run's curves, read from its `log.jsonl` (src/train/jsonlLog.ts): the loss, accuracy,
 * learning rate and gradient norm of every training step, and the test loss and accuracy of every
 * evaluation. A resumed run's log already reads as one uninterrupted run.
 */
import { existsSync } from 'fs';
import { stat } from 'fs/promises';
import { basename, dirname, join, resolve } from 'path';
import { RESULTS_JSONL } from '../sweep/resultsFiles';
import { JsonlLog } from '../train/jsonlLog';
import { LOG_FILE } from '../train/outputFiles';

/** A run log that cannot be read; the message names the file and the fault. */
export class RunLogError extends Error {
  override name = 'RunLogError';
}

export interface TrainPoint {
  step: number;
  loss: number;
  lr: number | null;
  gradNorm: number | null;
}

export interface EvalPoint {
  step: number;
  /** Where the run evaluated: its test set, or a validation set held out of its training data. */
  split: 'test' | 'validation';
  loss: number;
  accuracy: number;
}

export interface RunCurves {
  /** The run's folder name (its path where two runs share one). */
  name: string;
  /** Training steps in order, 1-based as the CLI prints them. */
  train: TrainPoint[];
  evals: EvalPoint[];
}

/** The log file of a run folder or log path. */
function logFileOf(path: string, isDirectory: boolean): string {
  return isDirectory ? join(path, LOG_FILE) : path;
}

/**
 * Reads one run, as the training loop reads its log (JsonlLog: a partial last line is skipped,
 * another line that is not JSON is a LogFormatError). Throws a RunLogError for a folder without a
 * log or a log without training steps.
 */
export async function readRunCurves(path: string): Promise<Omit<RunCurves, 'name'>> {
  const isDirectory = (await stat(path)).isDirectory();
  const file = logFileOf(path, isDirectory);
  if (!existsSync(file)) {
    const sweep = isDirectory && existsSync(join(path, RESULTS_JSONL));
    throw new RunLogError(
      sweep
        ? `${path} is a sweep folder: give its ${RESULTS_JSONL} to plot accuracy against parameters`
        : `${path}: no ${LOG_FILE} (expected a finetune or pretrain output folder, or its ${LOG_FILE})`,
    );
  }
  const train: TrainPoint[] = [];
  const evals: EvalPoint[] = [];
  for (const record of await new JsonlLog(file).read()) {
    const number = (field: string): number | null =>
      typeof record[field] === 'number' && Number.isFinite(record[field])
        ? (record[field] as number)
        : null;
    const step = number('step');
    const loss = number('loss');
    if (step === null || loss === null) continue;
    if (record.kind === 'train') {
      train.push({ step: step + 1, loss, lr: number('lr'), gradNorm: number('gradNorm') });
    } else if (record.kind === 'eval' && number('accuracy') !== null) {
      const split = record.split === 'validation' ? 'validation' : 'test';
      evals.push({ step: step + 1, split, loss, accuracy: number('accuracy') as number });
    }
  }
  if (train.length === 0) throw new RunLogError(`${file}: no training steps logged`);
  return { train, evals };
}

/**
 * Reads every run, each named by its folder (by its path where two folder names collide); a log
 * under another name than log.jsonl (a copy, `a.jsonl`) by that file, since its folder need not
 * be the run's and several such logs may share one.
 */
export async function readRuns(paths: readonly string[]): Promise<RunCurves[]> {
  const folders = await Promise.all(
    paths.map(async (path) =>
      (await stat(path)).isDirectory() || basename(path) !== LOG_FILE ? path : dirname(path),
    ),
  );
  const names = folders.map((folder) => basename(resolve(folder)));
  const runs = await Promise.all(paths.map((path) => readRunCurves(path)));
  return runs.map((run, i) => ({
    name:
      names.filter((name) => name === names[i]).length > 1
        ? (folders[i] as string)
        : (names[i] as string),
    ...run,
  }));
}
