/**
 * What `superlora plot` was given: training runs (a finetune / pretrain folder, or its log) or sweep
 * results files. Both are JSON lines, so a file's name is not enough (a log copied to `a.jsonl`
 * would be read as sweep results and fail on a missing field that means nothing to its reader):
 * a file is known by its first record. Each input must also be a different file, since a repeat
 * would be averaged as another seed or drawn as another run.
 */
import { readFile, realpath, stat } from 'fs/promises';
import { basename, join, resolve } from 'path';
import { LOG_FILE } from '../train/outputFiles';
import { RunLogError } from './runLog';

/** A plot input that is neither kind, or one given twice; the message names the path(s). */
export class PlotInputError extends RunLogError {
  override name = 'PlotInputError';
}

export type PlotInputKind = 'run' | 'results';

const EXPECTED =
  `a training run (a finetune or pretrain folder, or its ${LOG_FILE}: records with "kind") ` +
  'or sweep results (results.jsonl: rows with "name", "params" and "accuracy")';

/**
 * The kind of `path`: a folder or a file named log.jsonl is a run; another file is a run when its
 * first record is a log record (it has "kind"), and sweep results when it is a results row (it has
 * "name"). An empty or missing file is left to the results reader, which names it.
 */
export async function plotInputKind(path: string): Promise<PlotInputKind> {
  const info = await stat(path).catch(() => null);
  if (info === null) return 'results';
  if (info.isDirectory() || basename(path) === LOG_FILE) return 'run';
  const first = (await readFile(path, 'utf8')).split('\n').find((line) => line.trim() !== '');
  if (first === undefined) return 'results';
  let record: unknown;
  try {
    record = JSON.parse(first);
  } catch {
    throw new PlotInputError(`Expected ${EXPECTED} for ${path}, but its first line is not JSON`);
  }
  if (isObject(record) && 'kind' in record) return 'run';
  if (isObject(record) && 'name' in record) return 'results';
  throw new PlotInputError(
    `Expected ${EXPECTED} for ${path}, but its first line is ${describe(record)}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short account of a JSON value, for the error: an object's first keys, or its type. */
function describe(value: unknown): string {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an empty object';
    const shown = keys.slice(0, 5).map((key) => JSON.stringify(key));
    return `an object with ${shown.join(', ')}${keys.length > 5 ? ', …' : ''}`;
  }
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : `a ${typeof value}`;
}

/**
 * Refuses an input given twice: the same path, another spelling of it, a link to it, or a run
 * folder and its own log. Compared by real path, of the log for a run folder.
 */
export async function checkDistinctInputs(
  paths: readonly string[],
  kinds: readonly PlotInputKind[],
): Promise<void> {
  const seen = new Map<string, string>();
  for (const [i, path] of paths.entries()) {
    const real = await realFileOf(path, kinds[i] as PlotInputKind);
    const earlier = seen.get(real);
    if (earlier !== undefined) {
      const what = kinds[i] === 'run' ? 'run' : 'results file';
      throw new PlotInputError(
        `${earlier} and ${path} are the same ${what} (${real}): give each ${what} once`,
      );
    }
    seen.set(real, path);
  }
}

/** The real path of the file `path` stands for; its absolute path where it does not exist. */
async function realFileOf(path: string, kind: PlotInputKind): Promise<string> {
  const isDirectory = (await stat(path).catch(() => null))?.isDirectory() ?? false;
  const file = kind === 'run' && isDirectory ? join(path, LOG_FILE) : path;
  return realpath(file).catch(() => realpath(path).catch(() => resolve(path)));
}
