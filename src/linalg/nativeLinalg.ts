/**
 * The addon's dense linear algebra (native/linalg/), when the addon loads and has it: the same
 * algorithm as symmetricEigen.ts and the Gram products of lowRankDecomposition.ts, several times
 * faster (test/linalg/nativeLinalg.test.ts prints the timings). Without the addon the TypeScript
 * versions run; they stay the reference the native ones are tested against.
 */
import type { Addon } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';

export type NativeLinalg = Required<
  Pick<Addon, 'symmetricEigen' | 'gramMatrix' | 'gramSpectrum' | 'gramSpectrumAsync'>
>;

let cached: NativeLinalg | null | undefined;

/** The native functions, or null when the addon does not load or predates them. */
export function nativeLinalg(): NativeLinalg | null {
  if (cached !== undefined) return cached;
  try {
    const addon = loadAddon();
    const { symmetricEigen, gramMatrix, gramSpectrum, gramSpectrumAsync } = addon;
    cached =
      typeof symmetricEigen === 'function' &&
      typeof gramMatrix === 'function' &&
      typeof gramSpectrum === 'function' &&
      typeof gramSpectrumAsync === 'function'
        ? {
            symmetricEigen: symmetricEigen.bind(addon),
            gramMatrix: gramMatrix.bind(addon),
            gramSpectrum: gramSpectrum.bind(addon),
            gramSpectrumAsync: gramSpectrumAsync.bind(addon),
          }
        : null;
  } catch {
    cached = null;
  }
  return cached;
}
