import * as os from 'os';

import type { Capabilities } from '../../src/native/addonTypes';
import { addonInfo, loadAddon } from '../../src/native/loadAddon';

const CPU_FLAGS = [
  'sse41',
  'sse42',
  'popcnt',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'bmi2',
  'avx512f',
  'avx512dq',
  'avx512bw',
  'avx512vl',
  'avx512vnni',
  'avx512bf16',
] as const;

describe('capabilities()', () => {
  let capabilities: Capabilities;
  beforeAll(() => {
    capabilities = loadAddon().capabilities();
  });

  test('reports at least one hardware thread', () => {
    expect(Number.isInteger(capabilities.threads)).toBe(true);
    expect(capabilities.threads).toBeGreaterThanOrEqual(1);
  });

  test('reports every CPU flag as a boolean, for the architecture Node runs on', () => {
    for (const flag of CPU_FLAGS) expect(typeof capabilities.cpu[flag]).toBe('boolean');
    expect(capabilities.cpu.arch).toBe(os.arch());
    expect(typeof capabilities.cpu.vendor).toBe('string');
    expect(typeof capabilities.cpu.brand).toBe('string');
  });

  test('CPU flags are consistent with each other (OS support implied by the wider ones)', () => {
    const cpu = capabilities.cpu;
    if (cpu.avx2 || cpu.fma || cpu.f16c) expect(cpu.avx).toBe(true);
    for (const flag of ['avx512dq', 'avx512bw', 'avx512vl', 'avx512vnni', 'avx512bf16'] as const) {
      if (cpu[flag]) expect(cpu.avx512f).toBe(true);
    }
    if (cpu.arch === 'x64') {
      expect(cpu.vendor.length).toBeGreaterThan(0);
    } else {
      for (const flag of CPU_FLAGS) expect(cpu[flag]).toBe(false);
    }
  });

  test('CUDA: devices are listed, or the reason there are none is given', () => {
    expect(typeof capabilities.cudaCompiled).toBe('boolean');
    expect(Array.isArray(capabilities.cudaDevices)).toBe(true);
    if (capabilities.cudaDevices.length === 0) {
      expect(typeof capabilities.cudaError).toBe('string');
      expect(capabilities.cudaError?.length).toBeGreaterThan(0);
    } else {
      expect(capabilities.cudaError).toBeUndefined();
    }
    for (const device of capabilities.cudaDevices) {
      expect(device).toEqual({
        index: expect.any(Number),
        name: expect.any(String),
        computeCapability: expect.stringMatching(/^\d+\.\d+$/),
        totalMemory: expect.any(Number),
        multiProcessorCount: expect.any(Number),
      });
    }
  });

  test('the build is described, and only the cmake-js build can contain CUDA', () => {
    const build = capabilities.build;
    // mingw: the win32-x64 prebuilt binary (scripts/mingw-build.js).
    expect(['node-gyp', 'cmake-js', 'mingw']).toContain(build.variant);
    expect(build.compiler.length).toBeGreaterThan(0);
    expect(build.variant).toBe(addonInfo().variant);
    if (build.variant !== 'cmake-js') {
      expect(capabilities.cudaCompiled).toBe(false);
      expect(capabilities.cudaDevices).toEqual([]);
      expect(capabilities.cudaError).toMatch(/compiled without CUDA/);
    }
    if (capabilities.cudaCompiled) {
      expect(build.cudaArchitectures).toMatch(/\d+-(real|virtual)/);
      expect(capabilities.cudaRuntimeVersion).toBeGreaterThan(0);
    } else {
      expect(build.cudaArchitectures).toBeNull();
    }
  });

  test('is stable across calls (the CUDA query is cached, not repeated)', () => {
    expect(loadAddon().capabilities()).toEqual(capabilities);
  });
});
