/**
 * The native kernels' SUPERLORA_* settings (src/native/addonEnvironment.ts): parsed strictly,
 * applied when the addon loads, and a malformed one stops training with its message instead of
 * quietly falling back to tfjs's own kernels and engine.
 */
import * as path from 'path';

import {
  AddonEnvironmentError,
  checkIsaEnv,
  poolSpinFromEnv,
  poolThreadsFromEnv,
} from '../../src/native/addonEnvironment';
import { engineUnavailableReason } from '../../src/engines/createEngine';
import { loadAddon, loadAddonUncached } from '../../src/native/loadAddon';
import { nativeKernelsStatus, registerNativeKernels } from '../../src/tfjs/kernels/register';

const packageRoot = path.resolve(__dirname, '..', '..');

describe('SUPERLORA_* settings of the native kernels', () => {
  // First in this file: nothing has loaded the addon yet in this module registry.
  test('a malformed one is thrown by the kernels and the engine, not turned into a fallback', () => {
    const saved = process.env['SUPERLORA_NUM_THREADS'];
    process.env['SUPERLORA_NUM_THREADS'] = 'many';
    try {
      expect(() => registerNativeKernels()).toThrow(AddonEnvironmentError);
      expect(() => engineUnavailableReason('native')).toThrow(
        /for SUPERLORA_NUM_THREADS but received "many"/,
      );
      expect(nativeKernelsStatus()).toBe('not registered yet');
    } finally {
      if (saved === undefined) delete process.env['SUPERLORA_NUM_THREADS'];
      else process.env['SUPERLORA_NUM_THREADS'] = saved;
    }
    expect(engineUnavailableReason('native')).toBeNull();
  });

  test('parsed strictly, each error naming the variable, the range and the value', () => {
    expect(poolThreadsFromEnv({})).toBeUndefined();
    expect(poolThreadsFromEnv({ SUPERLORA_NUM_THREADS: '' })).toBeUndefined();
    expect(poolThreadsFromEnv({ SUPERLORA_NUM_THREADS: '3' })).toBe(3);
    for (const bad of ['two', '0', '2.5', '1025']) {
      expect(() => poolThreadsFromEnv({ SUPERLORA_NUM_THREADS: bad })).toThrow(
        new AddonEnvironmentError(
          `Expected an integer number of threads in [1, 1024] for SUPERLORA_NUM_THREADS but received ${JSON.stringify(bad)}`,
        ),
      );
    }
    expect(poolSpinFromEnv({})).toBeUndefined();
    expect(poolSpinFromEnv({ SUPERLORA_POOL_SPIN_US: ' ' })).toBeUndefined();
    expect(poolSpinFromEnv({ SUPERLORA_POOL_SPIN_US: '0' })).toBe(0);
    expect(poolSpinFromEnv({ SUPERLORA_POOL_SPIN_US: '750' })).toBe(750);
    for (const bad of ['abc', '-1', '1.5', '1000001']) {
      expect(() => poolSpinFromEnv({ SUPERLORA_POOL_SPIN_US: bad })).toThrow(
        new AddonEnvironmentError(
          `Expected an integer number of microseconds in [0, 1000000] for SUPERLORA_POOL_SPIN_US but received ${JSON.stringify(bad)}`,
        ),
      );
    }
    for (const isa of ['portable', 'avx2', 'avx512']) {
      expect(() => checkIsaEnv({ SUPERLORA_ISA: isa })).not.toThrow();
    }
    expect(() => checkIsaEnv({ SUPERLORA_ISA: 'avx3' })).toThrow(
      new AddonEnvironmentError(
        'Expected one of portable, avx2, avx512 for SUPERLORA_ISA but received "avx3"',
      ),
    );
    expect(new AddonEnvironmentError('x')).toBeInstanceOf(RangeError);
  });

  test('checked before a binary loads, and the pool settings applied to it', () => {
    for (const env of [
      { SUPERLORA_POOL_SPIN_US: 'x' },
      { SUPERLORA_NUM_THREADS: '0' },
      { SUPERLORA_ISA: 'sse' },
    ]) {
      expect(() => loadAddonUncached({ packageRoot, env })).toThrow(AddonEnvironmentError);
    }
    const addon = loadAddon();
    const saved = [addon.getThreads(), addon.getSpinMicroseconds()] as const;
    try {
      // The same binary (this process's SUPERLORA_BINARY / SUPERLORA_BUILD, if any), so the same
      // process-wide pool.
      loadAddonUncached({
        packageRoot,
        env: { ...process.env, SUPERLORA_NUM_THREADS: '3', SUPERLORA_POOL_SPIN_US: '750' },
      });
      expect([addon.getThreads(), addon.getSpinMicroseconds()]).toEqual([3, 750]);
    } finally {
      addon.setThreads(saved[0]);
      addon.setSpinMicroseconds(saved[1]);
    }
  });
});
