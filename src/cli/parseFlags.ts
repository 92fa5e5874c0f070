import { statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { datasetNames, isDatasetName, type DatasetSource } from '../data/dataset';
import type { EngineChoice } from '../engines/engine';

/** Commander parser for an integer flag in [min, max]. */
export function integerFlag(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (
      !/^\s*-?\d+\s*$/.test(value) ||
      !Number.isSafeInteger(parsed) ||
      parsed < min ||
      parsed > max
    ) {
      throw new InvalidArgumentError(
        `Expected an integer in [${min}, ${max}] but received ${JSON.stringify(value)}.`,
      );
    }
    return parsed;
  };
}

/** Commander parser for a finite number in [min, max]. */
export function numberFlag(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(
        `Expected a number in [${min}, ${max}] but received ${JSON.stringify(value)}.`,
      );
    }
    return parsed;
  };
}

/** Commander parser for 1 to `maxCount` comma-separated numbers, each in [min, max]. */
export function numberListFlag(
  min: number,
  max: number,
  maxCount: number,
): (value: string) => number[] {
  const parseOne = numberFlag(min, max);
  return (value) => {
    const parts = value.split(',');
    if (parts.length > maxCount) {
      throw new InvalidArgumentError(
        `Expected at most ${maxCount} comma-separated numbers but received ${JSON.stringify(value)}.`,
      );
    }
    return parts.map(parseOne);
  };
}

/** Commander parser for one of a fixed set of strings. */
export function choiceFlag<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(
        `Expected one of ${choices.join(', ')} but received ${JSON.stringify(value)}.`,
      );
    }
    return value as T;
  };
}

const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'tfjs', 'native', 'cuda'];

export function engineFlag(value: string): EngineChoice {
  if (!(ENGINE_CHOICES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `Expected one of ${ENGINE_CHOICES.join(', ')} but received ${JSON.stringify(value)}.`,
    );
  }
  return value as EngineChoice;
}

/** Commander parser for a repeatable flag: each value parsed and appended. */
export function collect<T>(parse: (value: string) => T): (value: string, previous?: T[]) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** Commander parser for `--dataset`: a built-in dataset's name, or an existing folder of images. */
export function datasetFlag(value: string): DatasetSource {
  if (isDatasetName(value) || statSync(value, { throwIfNoEntry: false })?.isDirectory()) {
    return value;
  }
  throw new InvalidArgumentError(
    `Expected ${datasetNames.join(', ')} or a folder of images but received ${JSON.stringify(value)}.`,
  );
}
