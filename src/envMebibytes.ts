/** Size limits read from environment variables in MiB. */

/**
 * `env[name]` as a number of bytes, given in MiB (fractions allowed); `defaultMebibytes` when the
 * variable is unset or blank. A RangeError names the variable for anything but a number ≥ 0.
 */
export function mebibytesFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  defaultMebibytes: number,
): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return defaultMebibytes * 2 ** 20;
  const mebibytes = Number(value);
  if (!Number.isFinite(mebibytes) || mebibytes < 0) {
    throw new RangeError(
      `Expected a number of MiB ≥ 0 for ${name} but received ${JSON.stringify(value)}`,
    );
  }
  return Math.floor(mebibytes * 2 ** 20);
}
