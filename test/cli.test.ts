/**
 * The CLI as a user runs it: `node bin/superlora.js …` on the compiled package (`npm test` builds
 * it first). Checks the SPEC's ΔW through `adapter init` + `delta` for every config field.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { SuperLoraConfig, Target } from '../src/config';
import { loadAdapter, saveAdapter } from '../src/io/adapterFile';
import { decodeSafetensors } from '../src/io/safetensors';
import { delta64, specTolerance } from './reference/spec64';
import { sinParams } from './conformance/suite';
import { cliIn } from './cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-cli-'));

const cli = cliIn(dir);

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

const targets: Target[] = [
  { name: 'blocks.0.q', shape: [6, 4], layer: 0 },
  { name: 'blocks.0.v', shape: [6, 4], layer: 0 },
  { name: 'blocks.1.q', shape: [3, 4], layer: 1 },
];
const targetsFile = writeJson('targets.json', targets);

describe('superlora CLI', () => {
  test('info reports the version, the binary and where it came from', async () => {
    const { code, stdout } = await cli('info', '--json');
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info.version).toBe(
      JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version,
    );
    expect(info.binary.path).toMatch(/superlora\.node$/);
    expect(['local-build', 'prebuilt', 'env', 'cmake-build', 'cuda-build']).toContain(
      info.binary.source,
    );
    expect(info.capabilities.threads).toBeGreaterThanOrEqual(1);
    expect(info.pool.threads).toBeGreaterThanOrEqual(1);
    expect(info.pool.spinMicroseconds).toBe(Number(process.env['SUPERLORA_POOL_SPIN_US'] ?? 200));
    expect(info.tfjs).toMatchObject({
      nativeKernelsUnavailable: null,
      outputPoolBytes: 256 * 2 ** 20,
    });
    const text = await cli('info');
    expect(text.stdout).toMatch(/native binary\s+\S+superlora\.node/);
    expect(text.stdout).toMatch(
      /kernel pool {4}\d+ threads? \(SUPERLORA_NUM_THREADS\), spinning \d+ µs before sleeping \(SUPERLORA_POOL_SPIN_US\)/,
    );
    expect(text.stdout).toContain(
      'tfjs kernels   native, outputs recycled through a pool of up to 256 MiB (SUPERLORA_OUTPUT_POOL_MB)',
    );
  });

  test('a binary chosen by SUPERLORA_BINARY or SUPERLORA_BUILD that does not load is an error, never a fall back to tfjs', async () => {
    const missing = join(dir, 'nowhere', 'superlora.node');
    const chosen = cliIn(dir, { SUPERLORA_BINARY: missing });
    const made = await chosen(
      'adapter',
      'init',
      '--targets',
      targetsFile,
      '--preset',
      'lora',
      '--out',
      'a.safetensors',
    );
    expect(made.code).toBe(0); // needs no binary
    const computed = await chosen('delta', 'a.safetensors', '--out', 'd.safetensors');
    expect(computed.code).toBe(1);
    expect(computed.stderr.split('\n').slice(0, 3)).toEqual([
      'superlora: Could not load the superlora native addon.',
      'Tried:',
      `  - ${missing} (from SUPERLORA_BINARY): file not found`,
    ]);
    expect(computed.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'd.safetensors'))).toBe(false);
    // info still reports everything it can, then fails naming the variable.
    const info = await chosen('info', '--json');
    expect(info.code).toBe(1);
    expect(JSON.parse(info.stdout)).toMatchObject({
      binary: null,
      loadError: { requestedBy: 'SUPERLORA_BINARY' },
      engines: { tfjs: 'available' },
    });
    expect(info.stderr).toBe(
      'superlora: SUPERLORA_BINARY names a binary that does not load (see "native binary" above)\n',
    );
    const misnamed = await cliIn(dir, { SUPERLORA_BUILD: 'gpu' })(
      'delta',
      'a.safetensors',
      '--out',
      'd.safetensors',
    );
    expect(misnamed.code).toBe(1);
    expect(misnamed.stderr).toBe(
      `superlora: Expected 'cuda', 'cmake' or 'auto' (the default) for SUPERLORA_BUILD but received "gpu"\n`,
    );
  });

  test('every command has --help', async () => {
    for (const command of [
      [],
      ['info'],
      ['adapter'],
      ['adapter', 'init'],
      ['adapter', 'show'],
      ['delta'],
      ['presets'],
    ]) {
      const { code, stdout } = await cli(...command, '--help');
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: superlora/);
    }
  });

  const cases: [string, SuperLoraConfig][] = [
    ['defaults', {}],
    [
      'grouping layer, natural, splits 2, full rank',
      { grouping: 'layer', reshape: 'natural', splits: 2, rank: ['full', 2] },
    ],
    ['grouping G, order 3, dense core', { grouping: 2, order: 3, rank: 2, core: 'dense' }],
    ['order 4 CP', { grouping: 1, order: 4, rank: 3, core: 'identity' }],
    [
      'projection, shuffle, scale, seed',
      { grouping: 3, rank: 2, projection: { ratio: 0.4 }, shuffle: true, scale: 0.25, seed: 11 },
    ],
  ];
  test.each(cases)('adapter init + delta give the SPEC ΔW: %s', async (_, config) => {
    const adapterPath = join(dir, 'init.safetensors');
    const init = await cli(
      'adapter',
      'init',
      '--config',
      writeJson('config.json', config),
      '--targets',
      targetsFile,
      '--out',
      adapterPath,
    );
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    // A fresh adapter has ΔW = 0; give it the SPEC §12 parameters so that ΔW is non-trivial.
    const { plan } = await loadAdapter(adapterPath);
    const params = sinParams(plan.numParams);
    await saveAdapter(adapterPath, plan, params);
    const out = join(dir, 'delta.safetensors');
    const result = await cli('delta', adapterPath, '--out', out, '--engine', 'tfjs');
    expect(result.code).toBe(0);
    const { tensors } = decodeSafetensors(readFileSync(out));
    expect([...tensors.keys()]).toEqual(targets.map((t) => t.name));
    const reference = delta64(plan.layout, plan.tables, params);
    const joined: number[] = [];
    targets.forEach((target) => {
      const tensor = tensors.get(target.name)!;
      expect(tensor.dtype).toBe('F32');
      expect(tensor.shape).toEqual(target.shape);
      joined.push(...(tensor.data as Float32Array));
    });
    expect(specTolerance(joined, reference).ok).toBe(true);
  });

  test('a fresh adapter from a preset has ΔW = 0 and a seeded initialisation', async () => {
    const a = join(dir, 'a.safetensors');
    const b = join(dir, 'b.safetensors');
    expect(
      (
        await cli(
          'adapter',
          'init',
          '--preset',
          'lokr',
          '--targets',
          targetsFile,
          '--seed',
          '5',
          '--out',
          a,
        )
      ).code,
    ).toBe(0);
    expect(
      (
        await cli(
          'adapter',
          'init',
          '--preset',
          'lokr',
          '--targets',
          targetsFile,
          '--seed',
          '5',
          '--out',
          b,
        )
      ).code,
    ).toBe(0);
    expect(readFileSync(a)).toEqual(readFileSync(b));
    const loaded = await loadAdapter(a);
    expect(loaded.plan.config.seed).toBe(5);
    expect(loaded.params.some((v) => v !== 0)).toBe(true);
    expect((await loaded.plan.delta(loaded.params, { engine: 'tfjs' })).every((v) => v === 0)).toBe(
      true,
    );
    const shown = await cli('adapter', 'show', a, '--json');
    expect(JSON.parse(shown.stdout).numParams).toBe(loaded.plan.numParams);
  });

  test.each([
    [
      [
        'adapter',
        'init',
        '--preset',
        'qlora',
        '--targets',
        'targets.json',
        '--out',
        'x.safetensors',
      ],
      /preset.*"qlora"/,
    ],
    [
      ['adapter', 'init', '--targets', 'targets.json', '--out', 'x.safetensors'],
      /exactly one of --config FILE or --preset NAME/,
    ],
    [
      [
        'adapter',
        'init',
        '--preset',
        'lora',
        '--targets',
        'missing.json',
        '--out',
        'x.safetensors',
      ],
      /--targets missing.json/,
    ],
    [
      [
        'adapter',
        'init',
        '--preset',
        'lora',
        '--targets',
        'targets.json',
        '--seed',
        '-3',
        '--out',
        'x.safetensors',
      ],
      /seed/,
    ],
    [['delta', 'missing.safetensors', '--out', 'y.safetensors'], /missing.safetensors/],
    [['delta', 'targets.json', '--out', 'y.safetensors'], /targets.json/],
    [['delta', 'targets.json', '--out', 'y.safetensors', '--engine', 'gpu'], /engine.*"gpu"/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('user error %j exits 1 with one line', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  test('asking for an engine that is not built says so', async () => {
    const adapterPath = join(dir, 'engine.safetensors');
    await cli(
      'adapter',
      'init',
      '--preset',
      'lora',
      '--targets',
      targetsFile,
      '--out',
      adapterPath,
    );
    const { code, stderr } = await cli(
      'delta',
      adapterPath,
      '--out',
      'z.safetensors',
      '--engine',
      'cuda',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/Engine "cuda" is unavailable/);
  });
});
