/**
 * The CPU kernels' thread pool (native/parallel/thread_pool.h): its spin-then-sleep waits give the
 * same results as sleeping at once and as one thread, through jobs that wake every helper and
 * jobs that leave most of them idle; the spin setting is checked.
 */
import { loadAddon } from '../../src/native/loadAddon';
import { MAX_POOL_SPIN_MICROSECONDS } from '../../src/native/addonEnvironment';
import { expectNativeError } from './expectNativeError';

const addon = loadAddon();

/** Runs body with the pool at `threads` threads spinning `spin` µs, then restores both. */
function withPool<T>(threads: number, spin: number, body: () => T): T {
  const [savedThreads, savedSpin] = [addon.getThreads(), addon.getSpinMicroseconds()];
  addon.setThreads(threads);
  addon.setSpinMicroseconds(spin);
  try {
    return body();
  } finally {
    addon.setThreads(savedThreads);
    addon.setSpinMicroseconds(savedSpin);
  }
}

function ramp(n: number, offset: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001 + offset) * 4);
}

describe('kernel thread pool', () => {
  test('spinning, sleeping and one thread give the same results through many jobs', () => {
    // GELU over 2^20 floats is 64 pool tasks (every helper of 32 threads works); over 2^18 it is
    // 16 (15 helpers work, the other 16 see the job go by and sleep again).
    const inputs = [1 << 20, 1 << 18, 1 << 20, 1 << 18].map((n, i) => ramp(n, i));
    const run = (): Float32Array[] => {
      const outputs: Float32Array[] = [];
      for (let round = 0; round < 12; round++) {
        for (const x of inputs) {
          const y = new Float32Array(x.length).fill(Number.NaN);
          addon.gelu(x, y);
          // A copy taken as the call returns: a pool that returned before its helpers finished
          // would leave NaNs in it.
          outputs.push(y.slice());
        }
      }
      return outputs;
    };
    const oneThread = withPool(1, 0, run);
    for (const spin of [0, 50, 1000]) {
      const pooled = withPool(32, spin, run);
      expect(pooled.length).toBe(oneThread.length);
      // Byte comparison: toEqual walks 2^20-element arrays element by element, for seconds each.
      const differing = pooled.filter(
        (y, i) => !Buffer.from(y.buffer).equals(Buffer.from(oneThread[i]!.buffer)),
      );
      expect(differing.length).toBe(0);
    }
  });

  test('the spin setting: default 200 µs, set and read back, bad values rejected', () => {
    const env = process.env['SUPERLORA_POOL_SPIN_US'];
    expect(addon.getSpinMicroseconds()).toBe(env === undefined ? 200 : Number(env));
    withPool(addon.getThreads(), 0, () => expect(addon.getSpinMicroseconds()).toBe(0));
    withPool(addon.getThreads(), MAX_POOL_SPIN_MICROSECONDS, () =>
      expect(addon.getSpinMicroseconds()).toBe(MAX_POOL_SPIN_MICROSECONDS),
    );
    for (const bad of [-1, 1.5, MAX_POOL_SPIN_MICROSECONDS + 1]) {
      expectNativeError(() => addon.setSpinMicroseconds(bad), 'RangeError', /microseconds/);
    }
    expectNativeError(
      () => addon.setSpinMicroseconds('5' as unknown as number),
      'TypeError',
      /microseconds/,
    );
  });
});
