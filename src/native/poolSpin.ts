/**
 * SUPERLORA_POOL_SPIN_US: how long the CPU kernels' pool threads spin, watching for the next job
 * or for their helpers to finish, before they sleep (native/parallel/thread_pool.h).
 */

export const POOL_SPIN_ENV = 'SUPERLORA_POOL_SPIN_US';
/** The longest spin the addon accepts: a second. */
export const MAX_POOL_SPIN_MICROSECONDS = 1_000_000;

/**
 * The spin `env` asks for, in microseconds; undefined when the variable is unset or blank (the
 * addon's default, 200 µs, applies). A RangeError names the variable for anything but an integer
 * in [0, 1 000 000].
 */
export function poolSpinFromEnv(env: Record<string, string | undefined>): number | undefined {
  const value = env[POOL_SPIN_ENV];
  if (value === undefined || value.trim() === '') return undefined;
  const microseconds = Number(value);
  if (
    !Number.isInteger(microseconds) ||
    microseconds < 0 ||
    microseconds > MAX_POOL_SPIN_MICROSECONDS
  ) {
    throw new RangeError(
      `Expected an integer number of microseconds in [0, ${MAX_POOL_SPIN_MICROSECONDS}] for ${POOL_SPIN_ENV} but received ${JSON.stringify(value)}`,
    );
  }
  return microseconds;
}
