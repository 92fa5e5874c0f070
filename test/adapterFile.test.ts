import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Target } from '../src/config';
import { createPlan } from '../src/createPlan';
import { AdapterFileError, loadAdapter, saveAdapter } from '../src/io/adapterFile';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/io/safetensors';
import { sinParams } from './conformance/suite';

const dir = mkdtempSync(join(tmpdir(), 'superlora-adapter-'));
const targets: Target[] = [
  { name: 'a', shape: [5, 8], layer: 0 },
  { name: 'b', shape: [9, 3], layer: 1 },
];
const config = {
  grouping: 3,
  rank: 2,
  projection: { ratio: 0.3 },
  shuffle: true,
  seed: 42,
} as const;

/** Rewrites a saved adapter with a change to its metadata or tensors. */
function tamper(
  source: string,
  change: (metadata: Record<string, string>, tensors: Map<string, SafeTensor>) => void,
): string {
  const { metadata, tensors } = decodeSafetensors(readFileSync(source));
  change(metadata, tensors);
  const out = join(dir, `tampered-${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(out, encodeSafetensors(tensors, metadata));
  return out;
}

describe('adapter file (SPEC §11)', () => {
  const path = join(dir, 'adapter.safetensors');
  const plan = createPlan(config, targets);
  const params = sinParams(plan.numParams);

  beforeAll(() => saveAdapter(path, plan, params));

  test('metadata and tensors follow SPEC §11', () => {
    const { metadata, tensors } = decodeSafetensors(readFileSync(path));
    expect(metadata.format).toBe('superlora');
    expect(metadata.version).toBe('1');
    expect(JSON.parse(metadata.targets!)).toEqual(targets);
    expect(JSON.parse(metadata.config!)).toMatchObject({
      grouping: 3,
      rank: [2],
      projection: { ratio: 0.3 },
      shuffle: true,
      seed: 42,
    });
    expect([...tensors.keys()]).toEqual(plan.paramLayout.map((p) => p.name));
    for (const entry of plan.paramLayout) {
      const tensor = tensors.get(entry.name)!;
      expect(tensor.dtype).toBe('F32');
      expect(tensor.shape).toEqual(entry.shape);
    }
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  test('the file holds the params as they were at the call, and non-finite params are refused', async () => {
    const snapshot = join(dir, 'snapshot.safetensors');
    const changing = params.slice();
    const saved = saveAdapter(snapshot, plan, changing);
    changing.fill(2); // a training step while the write is under way
    await saved;
    expect((await loadAdapter(snapshot)).params).toEqual(params);

    const broken = params.slice();
    const last = plan.paramLayout[plan.paramLayout.length - 1]!;
    broken[last.offset + 1] = NaN;
    const refused = join(dir, 'refused.safetensors');
    await expect(saveAdapter(refused, plan, broken)).rejects.toThrow(
      new RangeError(
        `Expected finite params but ${last.name}[1] (params[${last.offset + 1}]) is NaN`,
      ),
    );
    expect(readdirSync(dir)).not.toContain('refused.safetensors');
  });

  test('round trip gives the same plan, parameters and ΔW', async () => {
    const loaded = await loadAdapter(path);
    expect(loaded.plan.config).toEqual(plan.config);
    expect(loaded.plan.targets).toEqual(targets);
    expect(loaded.params).toEqual(params);
    expect(await loaded.plan.delta(loaded.params, { engine: 'tfjs' })).toEqual(
      await plan.delta(params, { engine: 'tfjs' }),
    );
  });

  test('embedded tables replace the seeded ones', async () => {
    const embedded = join(dir, 'embedded.safetensors');
    await saveAdapter(embedded, plan, params, { embedTables: true });
    const names = [...decodeSafetensors(readFileSync(embedded)).tensors.keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        'projection.L32.B',
        'projection.L32.perm',
        'projection.L32.G',
        'shuffle.perm',
      ]),
    );
    // A file whose shuffle is the identity: ΔW is then the unshuffled v.
    const identity = tamper(embedded, (_, tensors) => {
      tensors.set('shuffle.perm', {
        dtype: 'I64',
        shape: [67],
        data: BigInt64Array.from({ length: 67 }, (_, i) => BigInt(i)),
      });
    });
    const loaded = await loadAdapter(identity);
    expect(loaded.plan.tables.isFromFile('shuffle')).toBe(true);
    const unshuffled = createPlan({ ...config, shuffle: false }, targets);
    expect(await loaded.plan.delta(loaded.params, { engine: 'tfjs' })).toEqual(
      await unshuffled.delta(params, { engine: 'tfjs' }),
    );
    // Re-saving keeps the tables that came from the file.
    const resaved = join(dir, 'resaved.safetensors');
    await saveAdapter(resaved, loaded.plan, loaded.params);
    const again = await loadAdapter(resaved);
    expect(Array.from(again.plan.tables.shuffle())).toEqual(
      Array.from({ length: 67 }, (_, i) => i),
    );
  });

  test.each([
    ['wrong format', (m: Record<string, string>) => (m.format = 'gguf'), /"format" is "gguf"/],
    ['future version', (m: Record<string, string>) => (m.version = '2'), /"version" is "2"/],
    [
      'config not JSON',
      (m: Record<string, string>) => (m.config = '{rank:'),
      /"config" is not valid JSON/,
    ],
    ['invalid config', (m: Record<string, string>) => (m.config = '{"rank":0}'), /config.rank/],
    ['no targets', (m: Record<string, string>) => delete m.targets, /no "targets"/],
    [
      'targets that change the layout',
      (m: Record<string, string>) =>
        (m.targets = JSON.stringify([{ name: 'a', shape: [5, 9], layer: 0 }])),
      /shape \[3,3,2\].*imply \[3,4,2\]|imply/,
    ],
  ])('rejects metadata: %s', async (_, change, message) => {
    const bad = tamper(path, (metadata) => void change(metadata));
    await expect(loadAdapter(bad)).rejects.toThrow(AdapterFileError);
    await expect(loadAdapter(bad)).rejects.toThrow(message);
  });

  test.each([
    [
      'a missing tensor',
      (t: Map<string, SafeTensor>) => t.delete('b0.s0.f1'),
      /missing tensor "b0.s0.f1"/,
    ],
    [
      'an unknown tensor',
      (t: Map<string, SafeTensor>) =>
        t.set('lora_A', { dtype: 'F32', shape: [1], data: new Float32Array(1) }),
      /unexpected tensor "lora_A"/,
    ],
    [
      'a wrong shape',
      (t: Map<string, SafeTensor>) =>
        t.set('b0.s0.f0', { dtype: 'F32', shape: [3, 6], data: new Float32Array(18) }),
      /"b0.s0.f0" has shape \[3,6\]/,
    ],
    [
      'a wrong dtype',
      (t: Map<string, SafeTensor>) =>
        t.set('b0.s0.f0', { dtype: 'F64', shape: [3, 3, 2], data: new Float64Array(18) }),
      /b0.s0.f0 has dtype F64/,
    ],
    [
      'a NaN',
      (t: Map<string, SafeTensor>) =>
        t.set('b0.s0.f0', { dtype: 'F32', shape: [3, 3, 2], data: new Float32Array(18).fill(NaN) }),
      /non-finite/,
    ],
    [
      'a shuffle that is not a permutation',
      (t: Map<string, SafeTensor>) =>
        t.set('shuffle.perm', { dtype: 'I32', shape: [67], data: new Int32Array(67) }),
      /permutation.*shuffle.perm/,
    ],
    [
      'half a fastfood table',
      (t: Map<string, SafeTensor>) =>
        t.set('projection.L32.B', {
          dtype: 'F32',
          shape: [32],
          data: new Float32Array(32).fill(1),
        }),
      /needs all of B, perm and G/,
    ],
  ])('rejects tensors: %s', async (_, change, message) => {
    const bad = tamper(path, (_m, tensors) => void change(tensors));
    await expect(loadAdapter(bad)).rejects.toThrow(message);
  });

  test('rejects embedded fastfood gaussians that are all zero (F would divide by zero)', async () => {
    const embedded = join(dir, 'zero-gaussians.safetensors');
    await saveAdapter(embedded, plan, params, { embedTables: true });
    const bad = tamper(
      embedded,
      (_m, tensors) =>
        void tensors.set('projection.L32.G', {
          dtype: 'F32',
          shape: [32],
          data: new Float32Array(32),
        }),
    );
    await expect(loadAdapter(bad)).rejects.toThrow(AdapterFileError);
    await expect(loadAdapter(bad)).rejects.toThrow(
      /invalid tables: Expected projection\.L32\.G with a positive sum of squares/,
    );
  });

  test('rejects a truncated file and a file that is not safetensors', async () => {
    const bytes = readFileSync(path);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
    await expect(loadAdapter(truncated)).rejects.toThrow(/truncated/);
    const text = join(dir, 'text.safetensors');
    writeFileSync(text, 'not a tensor file at all');
    await expect(loadAdapter(text)).rejects.toThrow(/text.safetensors/);
  });
});
