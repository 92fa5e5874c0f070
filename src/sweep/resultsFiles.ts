/** Reading and writing a sweep's results files; every write is atomic. */
import { readFile } from 'fs/promises';
import { join } from 'path';
import { writeFileAtomic } from '../io/atomicWrite';
import { formatResultsJsonl, parseResultsJsonl, type SweepResult } from './results';
import { formatResultsCsv } from './resultsCsv';
import { SweepFormatError } from './sweepErrors';

export const RESULTS_JSONL = 'results.jsonl';
export const RESULTS_CSV = 'results.csv';

/** Reads a `results.jsonl`; a missing, unreadable or garbled file is an error that names it. */
export async function readResultsFile(path: string): Promise<SweepResult[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SweepFormatError(`Cannot read results file ${path}: ${(error as Error).message}`);
  }
  return parseResultsJsonl(text, path);
}

/** The rows already in `dir`, or none when the sweep has not written any yet. */
export async function readSweepResults(dir: string): Promise<SweepResult[]> {
  const path = join(dir, RESULTS_JSONL);
  try {
    return parseResultsJsonl(await readFile(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function writeSweepResults(
  dir: string,
  results: readonly SweepResult[],
): Promise<void> {
  await writeFileAtomic(join(dir, RESULTS_JSONL), formatResultsJsonl(results));
  await writeFileAtomic(join(dir, RESULTS_CSV), formatResultsCsv(results));
}
