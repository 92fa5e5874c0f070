/**
 * Which errors are the user's (a bad flag, file or config: one clear line, no stack) and which are
 * ours (a bug: the stack, so it can be reported).
 */
import { ConfigError } from '../config';
import { EngineUnavailableError } from '../engines/engine';
import { AdapterFileError } from '../io/adapterFile';
import { PeftFormatError } from '../io/peftFile';
import { RunLogError } from '../plot/runLog';
import { PngUnavailableError } from '../plot/renderVega';
import { SafetensorsFormatError } from '../io/safetensors';
import { SweepFormatError, SweepJobError } from '../sweep/sweepErrors';
import { DatasetFormatError, DatasetUnavailableError } from '../data/datasetErrors';
import { BackendUnavailableError } from '../tfjs/backend';
import { CheckpointError } from '../train/checkpoint';
import { LogFormatError } from '../train/jsonlLog';
import { AddonLoadError } from '../native/loadAddon';
import { ViTFormatError } from '../vit/config';

/** A wrong command line: named flag, value received, what was expected. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

const USER_ERRORS = [
  CliUsageError,
  ConfigError,
  EngineUnavailableError,
  AdapterFileError,
  PeftFormatError,
  SafetensorsFormatError,
  ViTFormatError,
  DatasetUnavailableError,
  DatasetFormatError,
  CheckpointError,
  BackendUnavailableError,
  SweepFormatError,
  RunLogError,
  PngUnavailableError,
  LogFormatError,
  // Only reaches the user when SUPERLORA_BINARY / SUPERLORA_BUILD chose a binary that does not
  // load (otherwise the package runs on tfjs); its lines list every binary tried and every fix.
  AddonLoadError,
];
/**
 * Errno codes that mean a path the user gave cannot be used as asked (missing, a directory, no
 * permission, busy or locked by another program, too long, a symlink loop, a full or read-only
 * disk): the user can fix them, and the message names the path. EXDEV is left out on purpose: our
 * renames stay in one folder, so a cross-device rename would be our bug, worth its stack.
 */
const FILE_ERROR_CODES = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EISDIR',
  'ENOTDIR',
  'ENOTEMPTY',
  'EEXIST',
  'EBUSY',
  'ENAMETOOLONG',
  'ELOOP',
  'ENOSPC',
  'EROFS',
]);

export function isUserError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (USER_ERRORS.some((kind) => error instanceof kind)) return true;
  // A sweep config that failed in its worker process: the user's if the worker's error was.
  if (error instanceof SweepJobError) {
    return [...USER_ERRORS, TypeError, RangeError].some((kind) => kind.name === error.causeName);
  }
  if (error instanceof TypeError || error instanceof RangeError) return true;
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && FILE_ERROR_CODES.has(code);
}
