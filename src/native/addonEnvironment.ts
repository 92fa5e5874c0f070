/**
 * The native kernels' settings from the environment, checked by loadAddon before it loads a binary
 * (a malformed one is the user's to fix: the callers that fall back to tfjs fall back only on an
 * AddonLoadError, a binary that does not load, so this error reaches the user instead of a run 80×
 * slower):
 * SUPERLORA_NUM_THREADS, the threads a kernel runs on (the caller counts as one), and
 * SUPERLORA_POOL_SPIN_US, how long the pool's threads spin, watching for the next job or for their
 * helpers to finish, before they sleep (native/parallel/thread_pool.h), which loadAddon applies;
 * SUPERLORA_ISA, which the binary reads itself (native/simd/isa.h).
 */

export const POOL_THREADS_ENV = 'SUPERLORA_NUM_THREADS';
export const POOL_SPIN_ENV = 'SUPERLORA_POOL_SPIN_US';
export const ISA_ENV = 'SUPERLORA_ISA';
const ISA_NAMES = ['portable', 'avx2', 'avx512'];
/** The most threads the addon accepts: more is a typo, not a machine. */
export const MAX_POOL_THREADS = 1024;
/** The longest spin the addon accepts: a second. */
export const MAX_POOL_SPIN_MICROSECONDS = 1_000_000;

/** A malformed SUPERLORA_* setting of the native kernels; the message names it. */
export class AddonEnvironmentError extends RangeError {
  override name = 'AddonEnvironmentError';
}

/**
 * `env[name]` as an integer in [min, max]; undefined when unset or blank. An AddonEnvironmentError names the
 * variable, the range and the value for anything else.
 */
function integerFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  what: string,
  min: number,
  max: number,
): number | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new AddonEnvironmentError(
      `Expected an integer number of ${what} in [${min}, ${max}] for ${name} but received ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

/** The threads `env` asks for; undefined when unset (the addon uses every hardware thread). */
export function poolThreadsFromEnv(env: Record<string, string | undefined>): number | undefined {
  return integerFromEnv(env, POOL_THREADS_ENV, 'threads', 1, MAX_POOL_THREADS);
}

/** The spin `env` asks for, in microseconds; undefined when unset (the addon's 200 µs applies). */
export function poolSpinFromEnv(env: Record<string, string | undefined>): number | undefined {
  return integerFromEnv(env, POOL_SPIN_ENV, 'microseconds', 0, MAX_POOL_SPIN_MICROSECONDS);
}

/**
 * Checks SUPERLORA_ISA: unset, or one of portable, avx2, avx512 (a level the CPU lacks is lowered
 * to what it has). An AddonEnvironmentError names the variable for anything else.
 */
export function checkIsaEnv(env: Record<string, string | undefined>): void {
  const value = env[ISA_ENV];
  if (value === undefined || ISA_NAMES.includes(value)) return;
  throw new AddonEnvironmentError(
    `Expected one of ${ISA_NAMES.join(', ')} for ${ISA_ENV} but received ${JSON.stringify(value)}`,
  );
}

/** The pool settings `env` asks for (undefined: the addon's default), SUPERLORA_ISA checked. */
export function addonSettingsFromEnv(env: Record<string, string | undefined>): {
  threads: number | undefined;
  spinMicroseconds: number | undefined;
} {
  checkIsaEnv(env);
  return { threads: poolThreadsFromEnv(env), spinMicroseconds: poolSpinFromEnv(env) };
}
