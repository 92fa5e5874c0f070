/**
 * PEFT LoRA conversions. Export: a LoRA config's own factors reproduce ΔW from the tfjs engine;
 * any other config's truncated factors stay within the tolerance, or at a given rank leave the
 * error of the best rank-r approximation. Import: for files written here in PEFT's layout (key
 * names, lora_alpha / r scaling, rsLoRA, rank_pattern and alpha_pattern, BF16), ΔW of the plan
 * equals scaling · lora_B · lora_A computed directly. Anything PEFT-specific that cannot be
 * converted (DoRA, trained biases, Conv1D layout, other PEFT types, stray tensors) is refused.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { createPlan } from '../../src/createPlan';
import {
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  readPeftLora,
  writePeftLora,
} from '../../src/io/peftLoraFile';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/io/safetensors';
import { adapterFromPeftLora, peftLoraFromAdapter } from '../../src/interop/peftLora';
import { lowRankDecomposition } from '../../src/linalg/lowRankDecomposition';
import type { Target } from '../../src/config';
import { uniforms } from '../vit/tinyVit';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const dir = mkdtempSync(join(tmpdir(), 'superlora-peft-'));
const targets: Target[] = [
  { name: 'encoder.layer.0.attention.query.weight', shape: [12, 8], layer: 0 },
  { name: 'encoder.layer.0.attention.value.weight', shape: [12, 8], layer: 0 },
  { name: 'encoder.layer.1.output.dense.weight', shape: [8, 20], layer: 1 },
];

/** up [rows, r] · down [r, cols], times scaling, in float64. */
function product(
  up: ArrayLike<number>,
  down: ArrayLike<number>,
  rows: number,
  cols: number,
  rank: number,
  scaling = 1,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let j = 0; j < rank; j++) sum += up[r * rank + j]! * down[j * cols + c]!;
      out[r * cols + c] = sum * scaling;
    }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function relativeFrobenius(approx: ArrayLike<number>, exact: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < exact.length; i++) {
    diff += (approx[i]! - exact[i]!) ** 2;
    norm += exact[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

describe('export', () => {
  test('a LoRA config is exported exactly: scale · f0 · f1ᵀ as lora_B · lora_A, written and read back', async () => {
    const plan = createPlan(
      { grouping: 'weight', reshape: 'natural', rank: 3, scale: 0.5 },
      targets,
    );
    const params = uniforms(3, plan.numParams);
    const exported = await peftLoraFromAdapter(plan, params, { engine: 'tfjs' });
    expect(exported.exact).toBe(true);
    expect(exported.rank).toBe(3);
    const delta = await plan.delta(params, { engine: 'tfjs' });
    const views = [...plan.splitByTarget(delta).values()];
    exported.modules.forEach((module, t) => {
      const [rows, cols] = targets[t]!.shape;
      expect(module.name).toBe(targets[t]!.name.replace(/\.weight$/, ''));
      expect(maxAbsDiff(product(module.up, module.down, rows, cols, 3), views[t]!)).toBeLessThan(
        1e-6,
      );
      expect(exported.targets[t]!.relativeError).toBeLessThan(1e-6);
    });

    const out = join(dir, 'exact');
    mkdirSync(out);
    const head = new Map<string, SafeTensor>([
      ['classifier.weight', { dtype: 'F32', shape: [2, 8], data: uniforms(4, 16) }],
      ['classifier.bias', { dtype: 'F32', shape: [2], data: uniforms(5, 2) }],
    ]);
    await writePeftLora(out, exported.modules, head, { baseModel: 'my/vit' });
    const config = JSON.parse(readFileSync(join(out, PEFT_CONFIG_FILE), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 3,
      lora_alpha: 3,
      bias: 'none',
      use_dora: false,
      fan_in_fan_out: false,
      base_model_name_or_path: 'my/vit',
      target_modules: targets.map((t) => t.name.replace(/\.weight$/, '')),
      modules_to_save: ['classifier'],
    });
    const file = await readSafetensors(join(out, PEFT_WEIGHTS_FILE));
    expect(file.metadata.format).toBe('pt');
    expect(
      file.tensors.get('base_model.model.encoder.layer.1.output.dense.lora_A.weight')?.shape,
    ).toEqual([3, 20]);
    expect(
      file.tensors.get('base_model.model.encoder.layer.1.output.dense.lora_B.weight')?.shape,
    ).toEqual([8, 3]);
    expect(file.tensors.get('base_model.model.classifier.bias')?.data).toEqual(uniforms(5, 2));

    const read = await readPeftLora(out);
    expect(read.baseModel).toBe('my/vit');
    expect([...read.savedModules.keys()]).toEqual(['classifier.weight', 'classifier.bias']);
    read.modules.forEach((module, t) => {
      expect(module.scaling).toBe(1);
      expect(module.up).toEqual(exported.modules[t]!.up);
      expect(module.down).toEqual(exported.modules[t]!.down);
    });
    plan.dispose();
  });

  test('another config within the tolerance, at one rank for all targets', async () => {
    const plan = createPlan({ grouping: 1, order: 2, rank: 2 }, targets);
    const params = uniforms(6, plan.numParams);
    const delta = await plan.delta(params, { engine: 'tfjs' });
    const views = [...plan.splitByTarget(delta).values()];
    for (const tolerance of [0.3, 1e-4]) {
      const exported = await peftLoraFromAdapter(plan, params, { engine: 'tfjs', tolerance });
      expect(exported.exact).toBe(false);
      exported.modules.forEach((module, t) => {
        const [rows, cols] = targets[t]!.shape;
        expect(module.rank).toBe(exported.rank);
        const error = relativeFrobenius(
          product(module.up, module.down, rows, cols, module.rank),
          views[t]!,
        );
        expect(error).toBeLessThanOrEqual(tolerance);
        expect(exported.targets[t]!.relativeError).toBeCloseTo(error, 6);
      });
      // One rank less would break the tolerance somewhere (the rank is the smallest that works).
      const lower = await peftLoraFromAdapter(plan, params, {
        engine: 'tfjs',
        rank: exported.rank - 1,
      });
      expect(Math.max(...lower.targets.map((t) => t.relativeError))).toBeGreaterThan(tolerance);
    }
    plan.dispose();
  });

  test('at a given rank each target gets its best rank-r approximation, padded where its ΔW is smaller', async () => {
    const plan = createPlan({ grouping: 1, order: 3, rank: 2 }, targets);
    const params = uniforms(7, plan.numParams);
    const exported = await peftLoraFromAdapter(plan, params, { engine: 'tfjs', rank: 10 });
    const delta = await plan.delta(params, { engine: 'tfjs' });
    const views = [...plan.splitByTarget(delta).values()];
    exported.modules.forEach((module, t) => {
      const [rows, cols] = targets[t]!.shape;
      expect(module.up.length).toBe(rows * 10);
      const { singularValues } = lowRankDecomposition(views[t]!, rows, cols);
      const kept = Math.min(10, rows, cols);
      const tail = singularValues.slice(kept).reduce((sum, s) => sum + s * s, 0);
      const total = singularValues.reduce((sum, s) => sum + s * s, 0);
      expect(exported.targets[t]!.relativeError).toBeCloseTo(Math.sqrt(tail / total), 5);
      // Rank 10 > 8 = min(12, 8): the two padding columns are zero.
      if (kept < 10) for (let r = 0; r < rows; r++) expect(module.up[r * 10 + 9]).toBe(0);
    });
    await expect(peftLoraFromAdapter(plan, params, { rank: 0 })).rejects.toThrow(
      'Expected a positive integer rank but received 0',
    );
    await expect(peftLoraFromAdapter(plan, params, { tolerance: 1 })).rejects.toThrow(
      'Expected a tolerance in (0, 1) but received 1',
    );
    plan.dispose();
  });
});

/** A PEFT LoRA folder as PEFT writes it, built by hand. */
function writePeftFolder(
  name: string,
  config: Record<string, unknown>,
  tensors: Map<string, SafeTensor>,
): Promise<string> {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, PEFT_CONFIG_FILE),
    JSON.stringify({ peft_type: 'LORA', bias: 'none', ...config }),
  );
  return writeSafetensors(join(folder, PEFT_WEIGHTS_FILE), tensors, { format: 'pt' }).then(
    () => folder,
  );
}

function loraTensors(
  modules: Array<{ name: string; rows: number; cols: number; rank: number; seed: number }>,
): Map<string, SafeTensor> {
  const tensors = new Map<string, SafeTensor>();
  for (const m of modules) {
    tensors.set(`base_model.model.${m.name}.lora_A.weight`, {
      dtype: 'F32',
      shape: [m.rank, m.cols],
      data: uniforms(m.seed, m.rank * m.cols),
    });
    tensors.set(`base_model.model.${m.name}.lora_B.weight`, {
      dtype: 'F32',
      shape: [m.rows, m.rank],
      data: uniforms(m.seed + 1, m.rows * m.rank),
    });
  }
  return tensors;
}

async function expectImportedDelta(
  folder: string,
  expected: Array<{ name: string; rows: number; cols: number; rank: number; scaling: number }>,
): Promise<void> {
  const peft = await readPeftLora(folder);
  const file = await readSafetensors(join(folder, PEFT_WEIGHTS_FILE));
  const { plan, params } = adapterFromPeftLora(peft.modules);
  expect(plan.targets.map((t) => t.name)).toEqual(expected.map((m) => `${m.name}.weight`));
  const delta = await plan.delta(params, { engine: 'tfjs' });
  const views = [...plan.splitByTarget(delta).values()];
  expected.forEach((m, t) => {
    const a = file.tensors.get(`base_model.model.${m.name}.lora_A.weight`)!;
    const b = file.tensors.get(`base_model.model.${m.name}.lora_B.weight`)!;
    const widen = (tensor: SafeTensor): Float32Array =>
      tensor.dtype === 'BF16'
        ? new Float32Array(Uint32Array.from(tensor.data, (bits) => bits << 16).buffer)
        : (tensor.data as Float32Array);
    const want = product(widen(b), widen(a), m.rows, m.cols, m.rank, m.scaling);
    expect(maxAbsDiff(views[t]!, want)).toBeLessThan(
      1e-5 * Math.max(1, ...Array.from(want, Math.abs)),
    );
  });
  plan.dispose();
}

describe('import', () => {
  const modules = [
    { name: 'vit.encoder.layer.0.attention.attention.query', rows: 12, cols: 8, rank: 4, seed: 10 },
    { name: 'vit.encoder.layer.1.attention.attention.value', rows: 12, cols: 8, rank: 4, seed: 20 },
  ];

  test('ΔW = lora_alpha / r · B · A, as one LoRA config with that scale', async () => {
    const folder = await writePeftFolder('plain', { r: 4, lora_alpha: 16 }, loraTensors(modules));
    await expectImportedDelta(
      folder,
      modules.map((m) => ({ ...m, scaling: 4 })),
    );
    const { plan } = adapterFromPeftLora((await readPeftLora(folder)).modules);
    expect(plan.config).toMatchObject({
      grouping: 'weight',
      reshape: 'natural',
      rank: [4],
      scale: 4,
    });
    expect(plan.targets.map((t) => t.layer)).toEqual([0, 1]);
    plan.dispose();
  });

  test('rsLoRA scales by lora_alpha / √r', async () => {
    const folder = await writePeftFolder(
      'rslora',
      { r: 4, lora_alpha: 16, use_rslora: true },
      loraTensors(modules),
    );
    await expectImportedDelta(
      folder,
      modules.map((m) => ({ ...m, scaling: 8 })),
    );
  });

  test('rank_pattern and alpha_pattern: other ranks padded with zeros, scalings carried in lora_B', async () => {
    const mixed = [modules[0]!, { ...modules[1]!, rank: 2 }];
    const folder = await writePeftFolder(
      'patterns',
      {
        r: 4,
        lora_alpha: 8,
        rank_pattern: { 'layer.1.attention.attention.value': 2 },
        alpha_pattern: { value: 6 },
      },
      loraTensors(mixed),
    );
    await expectImportedDelta(folder, [
      { ...mixed[0]!, scaling: 2 },
      { ...mixed[1]!, scaling: 3 },
    ]);
    const { plan } = adapterFromPeftLora((await readPeftLora(folder)).modules);
    expect(plan.config).toMatchObject({ rank: [4], scale: 1 });
    plan.dispose();
  });

  test('BF16 factors are widened exactly', async () => {
    const tensors = new Map<string, SafeTensor>();
    for (const [name, tensor] of loraTensors(modules)) {
      const f32 = tensor.data as Float32Array;
      tensors.set(name, {
        dtype: 'BF16',
        shape: tensor.shape,
        data: Uint16Array.from(
          new Uint32Array(f32.buffer, f32.byteOffset, f32.length),
          (bits) => bits >>> 16,
        ),
      });
    }
    const folder = await writePeftFolder('bf16', { r: 4, lora_alpha: 4 }, tensors);
    await expectImportedDelta(
      folder,
      modules.map((m) => ({ ...m, scaling: 1 })),
    );
  });

  test.each([
    [
      'another PEFT type',
      { peft_type: 'LOKR', r: 4, lora_alpha: 4 },
      'Expected peft_type "LORA" but received "LOKR"',
    ],
    [
      'DoRA',
      { r: 4, lora_alpha: 4, use_dora: true },
      'use_dora is true: DoRA adapters cannot be converted',
    ],
    ['Conv1D layout', { r: 4, lora_alpha: 4, fan_in_fan_out: true }, 'fan_in_fan_out is true'],
    [
      'trained biases',
      { r: 4, lora_alpha: 4, bias: 'all' },
      'bias is "all": adapters that train biases cannot be converted',
    ],
    [
      'a rank the config does not declare',
      { r: 8, lora_alpha: 8 },
      'has rank 4 but adapter_config.json says r = 8',
    ],
    [
      'a non-positive alpha',
      { r: 4, lora_alpha: 0 },
      'lora_alpha is 0: expected a positive number',
    ],
  ])('refuses %s', async (name, config, message) => {
    const folder = await writePeftFolder(`bad-${name}`, config, loraTensors(modules));
    await expect(readPeftLora(folder)).rejects.toThrow(message);
  });

  test('refuses a half module, a stray tensor and a missing safetensors file', async () => {
    const half = loraTensors(modules);
    half.delete('base_model.model.vit.encoder.layer.0.attention.attention.query.lora_B.weight');
    await expect(
      readPeftLora(await writePeftFolder('half', { r: 4, lora_alpha: 4 }, half)),
    ).rejects.toThrow(
      'module "vit.encoder.layer.0.attention.attention.query" has lora_A but no lora_B',
    );
    const stray = loraTensors(modules);
    stray.set('base_model.model.vit.pooler.dense.weight', {
      dtype: 'F32',
      shape: [2],
      data: new Float32Array(2),
    });
    await expect(
      readPeftLora(await writePeftFolder('stray', { r: 4, lora_alpha: 4 }, stray)),
    ).rejects.toThrow('unexpected tensor "base_model.model.vit.pooler.dense.weight"');
    const binOnly = join(dir, 'bin-only');
    mkdirSync(binOnly);
    writeFileSync(
      join(binOnly, PEFT_CONFIG_FILE),
      JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 4 }),
    );
    await expect(readPeftLora(binOnly)).rejects.toThrow(
      'adapter_model.safetensors: not found (only safetensors weights are read',
    );
  });
});

test('export then import is the identity on ΔW for a LoRA adapter with several shapes', async () => {
  const plan = createPlan({ grouping: 'weight', reshape: 'natural', rank: 2, scale: 3 }, targets);
  const params = uniforms(9, plan.numParams);
  const exported = await peftLoraFromAdapter(plan, params, { engine: 'tfjs' });
  const folder = join(dir, 'roundtrip');
  mkdirSync(folder);
  await writePeftLora(folder, exported.modules, new Map());
  const back = adapterFromPeftLora((await readPeftLora(folder)).modules);
  expect(back.plan.targets).toEqual(targets);
  const before = await plan.delta(params, { engine: 'tfjs' });
  const after = await back.plan.delta(back.params, { engine: 'tfjs' });
  expect(maxAbsDiff(after, before)).toBeLessThan(1e-6);
  plan.dispose();
  back.plan.dispose();
});
