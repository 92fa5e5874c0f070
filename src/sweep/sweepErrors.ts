/** A grid or results file that breaks its format: the message names the file, the entry and the field. */
export class SweepFormatError extends Error {
  override name = 'SweepFormatError';
}
