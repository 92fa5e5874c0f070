import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { loadAddon } from '../../src/native/loadAddon';
import { thrownBy } from './expectNativeError';

const packageRoot = path.resolve(__dirname, '..', '..');
const cudaBuild = path.join(packageRoot, 'build-cuda', 'Release', 'superlora.node');
const addon = loadAddon();
const capabilities = addon.capabilities();

interface ProbeReport {
  capabilities: { cudaCompiled: boolean; cudaDevices: unknown[]; cudaError?: string };
  badSizeError: { name: string; message: string; isError: boolean } | null;
  noDeviceError?: { name: string; message: string; isError: boolean } | null;
  checks: { size: number; rows: number; mismatches: number }[];
}

/** Runs scripts/cuda-probe.js on a binary in a child process, so a crash fails only this test. */
function probe(binary: string): ProbeReport {
  const result = spawnSync(process.execPath, [path.join(packageRoot, 'scripts', 'cuda-probe.js')], {
    encoding: 'utf8',
    env: { ...process.env, SUPERLORA_BINARY: binary },
    timeout: 120_000,
  });
  expect({ status: result.status, signal: result.signal, stderr: result.stderr }).toEqual({
    status: 0,
    signal: null,
    stderr: '',
  });
  return JSON.parse(result.stdout) as ProbeReport;
}

describe('CUDA', () => {
  if (capabilities.cudaDevices.length === 0) {
    test('without a device, cudaFwht throws an Error that says why', () => {
      console.log(`skipped: no CUDA device (${capabilities.cudaError ?? 'no reason given'})`);
      const error = thrownBy(() => addon.cudaFwht(new Float32Array(8), 8));
      expect(error.name).toBe('Error');
      expect(error.message).toMatch(
        capabilities.cudaCompiled ? /needs a CUDA device/ : /compiled without CUDA/,
      );
    });
  } else {
    test('cudaFwht matches the CPU fwht exactly on integer data', () => {
      for (const [size, rows] of [
        [1, 3],
        [8, 5],
        [4096, 2],
        [1 << 15, 2],
      ] as const) {
        const expected = Float32Array.from({ length: size * rows }, (_, i) => ((i * 7) % 17) - 8);
        const actual = expected.slice();
        addon.fwht(expected, size);
        addon.cudaFwht(actual, size);
        expect(Array.from(actual)).toEqual(Array.from(expected));
      }
    });
  }

  const whenCudaBuilt = fs.existsSync(cudaBuild) ? test : test.skip;
  whenCudaBuilt(
    'the CUDA build (build-cuda/) loads and reports its devices without crashing',
    () => {
      const report = probe(cudaBuild);
      expect(report.capabilities.cudaCompiled).toBe(true);
      expect(report.badSizeError).toMatchObject({ name: 'RangeError', isError: true });
      if (report.capabilities.cudaDevices.length === 0) {
        console.log(`skipped: no CUDA device (${report.capabilities.cudaError ?? ''})`);
        expect(report.capabilities.cudaError).toEqual(expect.any(String));
        expect(report.noDeviceError).toMatchObject({ name: 'Error', isError: true });
        expect(report.noDeviceError?.message).toMatch(/needs a CUDA device/);
      } else {
        expect(report.checks.length).toBeGreaterThan(0);
        for (const check of report.checks) expect(check).toMatchObject({ mismatches: 0 });
      }
    },
  );
});
