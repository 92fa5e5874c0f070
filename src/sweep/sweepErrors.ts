/** A grid or results file that breaks its format: the message names the file, the entry and the field. */
export class SweepFormatError extends Error {
  override name = 'SweepFormatError';
}

/** A config whose job failed in its worker; the sweep finishes the running jobs, then reports it. */
export class SweepJobError extends Error {
  override name = 'SweepJobError';
  constructor(
    message: string,
    readonly configName: string,
    /** The class name of the worker's error, e.g. "ConfigError". */
    readonly causeName: string,
  ) {
    super(message);
  }
}
