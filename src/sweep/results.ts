/**
 * One row per finished config of a sweep: `results.jsonl` (everything, one JSON object a line)
 * and `results.csv` (the same rows for spreadsheets; the config as a JSON cell).
 */
import type { SuperLoraConfig } from '../config';
import { SweepFormatError } from './sweepErrors';

export interface SweepResult {
  name: string;
  family: string;
  config: SuperLoraConfig;
  adapterParams: number;
  headParams: number;
  /** Test accuracy in [0, 1], or null when the run had no evaluation. */
  accuracy: number | null;
  /**
   * Validation accuracy of the same weights with --validation-size (null without; rows written
   * before it existed read as null): the one to choose configs by.
   */
  validationAccuracy: number | null;
  /** Seconds from starting the config's job to its summary (data loading and evaluation included). */
  wallSeconds: number;
  /** Seconds of the training loop alone. */
  trainSeconds: number;
  steps: number;
  engine: string;
  /** The training settings the row was made with: a resumed sweep only reuses rows that match. */
  settings: Record<string, unknown>;
}

export const CSV_COLUMNS = [
  'name',
  'family',
  'config',
  'adapter_params',
  'head_params',
  'accuracy',
  'validation_accuracy',
  'wall_seconds',
  'train_seconds',
  'steps',
  'engine',
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one parsed row; `where` names the file and line in errors. */
export function checkResult(value: unknown, where: string): SweepResult {
  const fail = (field: string, expected: string, received: unknown): never => {
    throw new SweepFormatError(
      `${where}: expected ${expected} for ${field} but received ${JSON.stringify(received)}`,
    );
  };
  if (!isRecord(value)) return fail('the row', 'an object', value);
  for (const field of ['name', 'family', 'engine'] as const) {
    if (typeof value[field] !== 'string') fail(field, 'a string', value[field]);
  }
  if (!isRecord(value.config)) fail('config', 'an object', value.config);
  for (const field of ['adapterParams', 'headParams', 'steps'] as const) {
    const count = value[field];
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      fail(field, 'an integer ≥ 0', count);
    }
  }
  for (const field of ['wallSeconds', 'trainSeconds'] as const) {
    const seconds = value[field];
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      fail(field, 'a number ≥ 0', seconds);
    }
  }
  const accuracies = {
    accuracy: value.accuracy,
    validationAccuracy: value.validationAccuracy ?? null,
  };
  for (const [field, accuracy] of Object.entries(accuracies)) {
    if (accuracy !== null && (typeof accuracy !== 'number' || !(accuracy >= 0 && accuracy <= 1))) {
      fail(field, 'null or a number in [0, 1]', accuracy);
    }
  }
  const settings = value.settings ?? {};
  if (!isRecord(settings)) fail('settings', 'an object', settings);
  return {
    name: value.name as string,
    family: value.family as string,
    config: value.config as SuperLoraConfig,
    adapterParams: value.adapterParams as number,
    headParams: value.headParams as number,
    accuracy: accuracies.accuracy as number | null,
    validationAccuracy: accuracies.validationAccuracy as number | null,
    wallSeconds: value.wallSeconds as number,
    trainSeconds: value.trainSeconds as number,
    steps: value.steps as number,
    engine: value.engine as string,
    settings: settings as Record<string, unknown>,
  };
}

/**
 * The rows with each one's validation accuracy in place of its test accuracy, so that plots,
 * means and reductions over `accuracy` read the validation set (null where a row has none).
 */
export function onValidationAccuracy(results: readonly SweepResult[]): SweepResult[] {
  return results.map((row) => ({ ...row, accuracy: row.validationAccuracy }));
}

export function formatResultsJsonl(results: readonly SweepResult[]): string {
  return results.map((result) => `${JSON.stringify(result)}\n`).join('');
}

/** Parses `results.jsonl`; blank lines are skipped, anything else must be a valid row. */
export function parseResultsJsonl(text: string, source: string): SweepResult[] {
  const results: SweepResult[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${source} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new SweepFormatError(`${where} is not valid JSON: ${(error as Error).message}`);
    }
    results.push(checkResult(value, where));
  });
  return results;
}
