/**
 * The benchmark's plumbing, not its timings (benchmarks are not tests): the machine-limit probes
 * return sane numbers and reject bad arguments, and `bench delta` prints complete JSON lines and
 * one-line errors. The CLI runs as a user runs it, `node bin/superlora.js` on the compiled package.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { formatDeviceLimits } from '../src/bench/deltaReport';
import { estimateFlops } from '../src/bench/flops';
import { measureDeviceLimits } from '../src/bench/machineLimits';
import { builtinWorkload, workloadNames } from '../src/bench/workloads';
import { createPlan } from '../src/createPlan';
import { loadAddon } from '../src/native/loadAddon';
import { expectNativeError } from './native/expectNativeError';
import { cliIn } from './cliRunner';

const addon = loadAddon();
const dir = mkdtempSync(join(tmpdir(), 'superlora-bench-'));

const cli = cliIn(dir);

function expectPositiveFinite(value: unknown): void {
  expect(typeof value).toBe('number');
  expect(Number.isFinite(value)).toBe(true);
  expect(value as number).toBeGreaterThan(0);
}

describe('machine-limit probes', () => {
  test.each([1, 2])('measureFill and measureMemcpy with %i thread(s)', (threads) => {
    const bytes = 1 << 20;
    const fill = addon.measureFill(bytes, threads);
    expectPositiveFinite(fill.gbs);
    expect(fill).toMatchObject({ bytes, countedBytes: bytes, threads });
    expect(fill.rounds).toBeGreaterThanOrEqual(1);
    const copy = addon.measureMemcpy(bytes, threads);
    expectPositiveFinite(copy.gbs);
    // memcpy counts every byte twice (read + written); copyGBs is the other convention.
    expect(copy).toMatchObject({ bytes, countedBytes: 2 * bytes, threads });
    expect(copy.copyGBs).toBeCloseTo(copy.gbs / 2, 6);
  });

  test('an odd size (not a multiple of the cache line) and more threads than bytes work', () => {
    expectPositiveFinite(addon.measureFill(1000, 3).gbs);
    expectPositiveFinite(addon.measureMemcpy(3, 4).gbs);
  });

  test.each([1, 2])('measureFmaPeak and measureAddPeak with %i thread(s)', (threads) => {
    for (const peak of [addon.measureFmaPeak(threads), addon.measureAddPeak(threads)]) {
      expectPositiveFinite(peak.gflops);
      expect(['avx512', 'avx2', 'portable']).toContain(peak.isa);
      expect(peak.threads).toBe(threads);
      expect(peak.lanes).toBeGreaterThanOrEqual(4);
      expect(peak.chains).toBeGreaterThanOrEqual(8);
    }
  });

  test('setThreads changes what getThreads reports', () => {
    const before = addon.getThreads();
    expect(Number.isInteger(before)).toBe(true);
    try {
      addon.setThreads(1);
      expect(addon.getThreads()).toBe(1);
      addon.setThreads(3);
      expect(addon.getThreads()).toBe(3);
    } finally {
      addon.setThreads(before);
    }
  });

  test.each([
    ['measureFill bytes', () => addon.measureFill('1024' as unknown as number, 1), /for bytes/],
    [
      'measureFill threads',
      () => addon.measureFill(1024, undefined as unknown as number),
      /for threads/,
    ],
    ['measureMemcpy bytes', () => addon.measureMemcpy(null as unknown as number, 1), /for bytes/],
    ['measureFmaPeak threads', () => addon.measureFmaPeak('2' as unknown as number), /for threads/],
    ['measureAddPeak threads', () => addon.measureAddPeak({} as unknown as number), /for threads/],
    ['setThreads threads', () => addon.setThreads([2] as unknown as number), /for threads/],
  ])('%s of the wrong type throws a TypeError naming it', (_, call, message) => {
    expectNativeError(call, 'TypeError', message);
  });

  test.each([
    ['measureFill bytes 0', () => addon.measureFill(0, 1), /for bytes but received number 0/],
    ['measureFill bytes 1.5', () => addon.measureFill(1.5, 1), /for bytes/],
    ['measureFill bytes 2^60', () => addon.measureFill(2 ** 60, 1), /for bytes/],
    ['measureMemcpy bytes -1', () => addon.measureMemcpy(-1, 1), /for bytes/],
    ['measureMemcpy threads 0', () => addon.measureMemcpy(1024, 0), /for threads/],
    ['measureFill threads NaN', () => addon.measureFill(1024, NaN), /for threads/],
    ['measureFmaPeak threads 5000', () => addon.measureFmaPeak(5000), /\[1, 1024\] for threads/],
    ['measureAddPeak threads Infinity', () => addon.measureAddPeak(Infinity), /for threads/],
    ['setThreads threads 0', () => addon.setThreads(0), /for threads/],
  ])('%s throws a RangeError naming the argument', (_, call, message) => {
    expectNativeError(call, 'RangeError', message);
  });
});

describe('FLOP model', () => {
  test('LoRA of rank r is 2·N·r forward and 4·N·r backward', () => {
    for (const name of ['lora-r1', 'lora-r8', 'lora-r64']) {
      const workload = builtinWorkload(name);
      if (!workload) throw new Error(`no workload ${name}`);
      const plan = createPlan(workload.config, workload.targets);
      const rank = Number(name.slice('lora-r'.length));
      expect(estimateFlops(plan.layout)).toEqual({
        forward: 2 * plan.deltaSize * rank,
        backward: 4 * plan.deltaSize * rank,
        kind: 'lowrank',
      });
      plan.dispose();
    }
  });

  test('every built-in workload is a valid plan on ViT-base (N = 14 155 776) with a positive count', () => {
    for (const name of workloadNames) {
      const workload = builtinWorkload(name);
      if (!workload) throw new Error(`no workload ${name}`);
      const plan = createPlan(workload.config, workload.targets);
      expect(plan.deltaSize).toBe(14_155_776);
      const flops = estimateFlops(plan.layout);
      expect(flops.forward).toBeGreaterThan(0);
      expect(flops.backward).toBeGreaterThan(0);
      plan.dispose();
    }
  });
});

describe('CUDA device limits for bench delta', () => {
  test('measureDeviceLimits never throws: without a device it says why', () => {
    const device = measureDeviceLimits(addon, 1 << 20);
    if (addon.capabilities().cudaDevices.length === 0) {
      expect(device.available).toBe(false);
      if (!device.available) expect(device.reason).toMatch(/CUDA/);
      expect(formatDeviceLimits(device)).toEqual([
        `  device    not measured: ${device.available ? '' : device.reason}`,
      ]);
    } else {
      expect(device.available).toBe(true);
      if (device.available) expectPositiveFinite(device.fillGBs);
    }
  });

  test('a measured device prints its name, fill and copy bandwidth on one line', () => {
    const lines = formatDeviceLimits({
      available: true,
      name: 'NVIDIA H200',
      bytes: 256 * 2 ** 20,
      fillGBs: 3987.4,
      memcpyGBs: 4012.6,
      hostToDeviceGBs: 12.34,
      deviceToHostGBs: 9.87,
    });
    expect(lines).toEqual([
      '  device    NVIDIA H200: fill 3987 GB/s, memcpy 4013 GB/s (read + written; 256 MiB), ' +
        'host→device 12.3 GB/s, device→host 9.87 GB/s (pageable)',
    ]);
  });

  test('a probe that throws becomes the reason', () => {
    const failing = {
      ...addon,
      cudaMeasureBandwidth: () => {
        throw new Error('out of memory');
      },
    };
    expect(measureDeviceLimits(failing, 1 << 20)).toEqual({
      available: false,
      reason: 'out of memory',
    });
  });
});

describe('superlora bench delta', () => {
  const config = join(dir, 'tiny.json');
  const targets = join(dir, 'targets.json');
  writeFileSync(config, JSON.stringify({ grouping: 'weight', reshape: 'natural', rank: 2 }));
  writeFileSync(
    targets,
    JSON.stringify([
      { name: 'a', shape: [16, 8], layer: 0 },
      { name: 'b', shape: [16, 8], layer: 1 },
    ]),
  );

  test('--json prints one well-formed line per engine × threads with every field', async () => {
    const { code, stdout, stderr } = await cli(
      'bench',
      'delta',
      '--config',
      config,
      '--targets',
      targets,
      '--json',
      '--repeat',
      '1',
      '--threads',
      '1',
      // Small probe buffers: this checks the output, not the machine.
      '--limit-bytes',
      String(1 << 20),
    );
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const engines = new Set<string>();
    for (const line of lines) {
      const record = JSON.parse(line);
      engines.add(record.engine);
      expect(record).toMatchObject({ workload: 'tiny', threads: 1, deltaSize: 256, numParams: 96 });
      for (const field of [
        'forwardMs',
        'backwardMs',
        'forwardGBs',
        'backwardGBs',
        'fillGBs',
        'memcpyGBs',
        'fmaPeakGflops',
        'forwardVsFill',
        'backwardVsForward',
        'gflops',
        'peakFraction',
      ]) {
        expectPositiveFinite(record[field]);
      }
      expect(typeof record.machine.cpu).toBe('string');
      expect(record.machine.cores).toBeGreaterThanOrEqual(1);
      expect(['avx512', 'avx2', 'portable']).toContain(record.machine.isa);
      expect(record.machine.poolSpinMicroseconds).toBe(
        Number(process.env['SUPERLORA_POOL_SPIN_US'] ?? 200),
      );
      // forward = 2·N·r for this LoRA, so gflops is that over the median time.
      expect(record.forwardFlops).toBe(2 * 256 * 2);
      expect(record.gflops).toBeCloseTo(record.forwardFlops / (record.forwardMs * 1e6), 6);
    }
    expect(engines.has('tfjs')).toBe(true);
  });

  test('the table names the limits and has one row per engine', async () => {
    const { code, stdout } = await cli(
      'bench',
      'delta',
      '--config',
      config,
      '--targets',
      targets,
      '--engine',
      'tfjs',
      '--repeat',
      '1',
      '--limit-bytes',
      String(1 << 20),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^machine {3}.+ hardware threads, kernels at \w+, pool spins \d+ µs$/m);
    expect(stdout).toMatch(/threads\s+fill GB\/s\s+memcpy GB\/s/);
    expect(stdout).toMatch(/^tiny\s+tfjs\*?\s+1\s+\d/m);
    // The CUDA device's line: not measured when the cuda engine is not timed, saying why.
    expect(stdout).toMatch(
      /^ {2}device {4}not measured: the cuda engine is not timed in this run/m,
    );
  });

  test('an unknown workload exits 1 with one line naming it', async () => {
    const { code, stdout, stderr } = await cli('bench', 'delta', '--workload', 'lora-r9');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/"lora-r9".*--workload.*lora-r8/);
  });

  test('--workload together with --config is a one-line usage error', async () => {
    const { code, stderr } = await cli(
      'bench',
      'delta',
      '--workload',
      'lora-r8',
      '--config',
      config,
      '--targets',
      targets,
    );
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/either --workload/);
  });
});

describe('superlora bench … --json-file', () => {
  const config = join(dir, 'tiny-json.json');
  const targets = join(dir, 'targets-json.json');
  writeFileSync(config, JSON.stringify({ grouping: 'weight', reshape: 'natural', rank: 2 }));
  writeFileSync(targets, JSON.stringify([{ name: 'a', shape: [16, 8], layer: 0 }]));
  const quickDelta = ['--repeat', '1', '--threads', '1', '--limit-bytes', String(1 << 20)];

  test('delta replaces the file with exactly the JSON lines it printed', async () => {
    const file = join(dir, 'delta.jsonl');
    writeFileSync(file, 'previous run\n');
    const args = ['--config', config, '--targets', targets, '--engine', 'tfjs', ...quickDelta];
    const { code, stdout } = await cli('bench', 'delta', ...args, '--json', '--json-file', file);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(file, 'utf8')).toBe(stdout);
  });

  test('a delta run that fails part-way leaves the previous file intact', async () => {
    const bad = join(dir, 'bad-rank.json');
    writeFileSync(bad, JSON.stringify({ grouping: 'weight', reshape: 'natural', rank: -1 }));
    const file = join(dir, 'kept.jsonl');
    writeFileSync(file, 'previous run\n');
    const args = ['--config', bad, '--targets', targets, ...quickDelta, '--json-file', file];
    const { code, stderr } = await cli('bench', 'delta', ...args);
    expect(code).toBe(1);
    expect(stderr).toMatch(/config\.rank/);
    expect(readFileSync(file, 'utf8')).toBe('previous run\n');
    expect(readdirSync(dir).filter((name) => name.startsWith('kept.jsonl'))).toEqual([
      'kept.jsonl',
    ]);
  });

  test('kernels replaces the file with exactly the JSON lines it printed', async () => {
    const file = join(dir, 'kernels.jsonl');
    writeFileSync(file, 'previous run\n');
    const args = ['--kernel', 'fwht', '--sizes', '10', '--threads', '1', '--repeat', '1'];
    const { code, stdout } = await cli('bench', 'kernels', ...args, '--json', '--json-file', file);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').length).toBeGreaterThanOrEqual(1);
    expect(readFileSync(file, 'utf8')).toBe(stdout);
  });

  test.each([
    ['delta', '--config', config, '--targets', targets, ...quickDelta],
    ['kernels', '--kernel', 'fwht', '--sizes', '10'],
    ['train-step', '--skip-stock'],
    ['memory', '--steps', '10'],
  ])('%s with a directory as --json-file fails at once, in one line naming it', async (...args) => {
    const folder = join(dir, `folder-${args[0]}`);
    mkdirSync(folder);
    const { code, stdout, stderr } = await cli('bench', ...args, '--json-file', folder);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr.trim().split('\n')).toEqual([
      `superlora: Cannot write ${folder}: it is a directory, expected a file name`,
    ]);
    expect(readdirSync(folder)).toEqual([]);
  });
});
