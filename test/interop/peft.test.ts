/**
 * PEFT conversions. Export: a LoRA config's own factors and a LoKr config's own Kronecker factors
 * reproduce ΔW from the tfjs engine, in the tensors PEFT builds (dense w2 exactly when PEFT's rule
 * r ≥ max(rows, cols) / 2 says so); any other config's truncated factors stay within the
 * tolerance, or at a given rank leave the error of the best rank-r approximation. Import: for
 * folders written here by hand in PEFT's layout (key names, scaling rules, rsLoRA, rank_pattern
 * and alpha_pattern, BF16, LoKr with dense or decomposed w1 and w2), ΔW of the plan equals
 * scaling · (w1 ⊗ w2) or scaling · lora_B · lora_A computed directly. Anything that cannot be
 * converted is refused.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import type { SuperLoraConfig, Target } from '../../src/config';
import { createPlan } from '../../src/createPlan';
import {
  denseFactor,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  patternKeys,
  readPeftAdapter,
  writePeftAdapter,
  type KronFactor,
  type PeftModule,
  type PeftType,
} from '../../src/io/peftFile';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/io/safetensors';
import { adapterFromPeft, peftFromAdapter } from '../../src/interop/peft';
import { lowRankDecomposition } from '../../src/linalg/lowRankDecomposition';
import { maxAbsDiff, uniforms } from '../vit/tinyVit';

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

/** up [rows, rank] · down [rank, cols] in float64. */
function product(
  up: ArrayLike<number>,
  down: ArrayLike<number>,
  rows: number,
  cols: number,
  rank: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let j = 0; j < rank; j++) sum += up[r * rank + j]! * down[j * cols + c]!;
      out[r * cols + c] = sum;
    }
  return out;
}

/** numpy.kron(a, b) of row-major matrices, times scaling. */
function kron(
  a: ArrayLike<number>,
  [ar, ac]: [number, number],
  b: ArrayLike<number>,
  [br, bc]: [number, number],
  scaling = 1,
): Float64Array {
  const out = new Float64Array(ar * br * ac * bc);
  for (let i = 0; i < ar; i++)
    for (let j = 0; j < ac; j++)
      for (let k = 0; k < br; k++)
        for (let l = 0; l < bc; l++)
          out[(i * br + k) * (ac * bc) + j * bc + l] = a[i * ac + j]! * b[k * bc + l]! * scaling;
  return out;
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

async function deltaViews(config: SuperLoraConfig, seed: number) {
  const plan = createPlan(config, targets);
  const params = uniforms(seed, plan.numParams);
  const delta = await plan.delta(params, { engine: 'tfjs' });
  return { plan, params, views: [...plan.splitByTarget(delta).values()] };
}

/** The ΔW a PEFT folder describes, computed from its tensors as PEFT does. */
async function peftDelta(
  folder: string,
  module: string,
  shape: [number, number],
): Promise<Float64Array> {
  const config = JSON.parse(readFileSync(join(folder, PEFT_CONFIG_FILE), 'utf8'));
  const { tensors } = await readSafetensors(join(folder, PEFT_WEIGHTS_FILE));
  const get = (name: string) => tensors.get(`base_model.model.${module}.${name}`);
  const values = (t: SafeTensor): Float32Array =>
    t.dtype === 'BF16'
      ? new Float32Array(Uint32Array.from(t.data, (bits) => bits << 16).buffer)
      : (t.data as Float32Array);
  const matrix = (name: string): { data: ArrayLike<number>; shape: [number, number] } => {
    const dense = get(name);
    if (dense) return { data: values(dense), shape: dense.shape as [number, number] };
    const a = get(`${name}_a`)!;
    const b = get(`${name}_b`)!;
    return {
      data: product(values(a), values(b), a.shape[0]!, b.shape[1]!, a.shape[1]!),
      shape: [a.shape[0]!, b.shape[1]!],
    };
  };
  // PEFT's per-module r and alpha: the first pattern key that matches the name's end.
  const patterned = (pattern: Record<string, number> | undefined, fallback: number): number => {
    const key = Object.keys(pattern ?? {}).find((k) => new RegExp(`^(.*\\.)?(${k})$`).test(module));
    return key === undefined ? fallback : pattern![key]!;
  };
  const r = patterned(config.rank_pattern, config.r);
  const alpha = patterned(config.alpha_pattern, config.lora_alpha ?? config.alpha);
  const scaling = alpha / (config.use_rslora ? Math.sqrt(r) : r);
  if (config.peft_type === 'LORA') {
    const a = get('lora_A.weight')!;
    return product(values(get('lora_B.weight')!), values(a), shape[0], shape[1], a.shape[0]!).map(
      (v) => v * scaling,
    );
  }
  const w1 = matrix('lokr_w1');
  const w2 = matrix('lokr_w2');
  return kron(w1.data, w1.shape, w2.data, w2.shape, scaling);
}

describe('export', () => {
  test('a LoRA config is exported exactly: scale · f0 · f1ᵀ as lora_B · lora_A, in PEFT’s layout', async () => {
    const { plan, params, views } = await deltaViews(
      { grouping: 'weight', reshape: 'natural', rank: 3, scale: 0.5 },
      3,
    );
    const exported = await peftFromAdapter(plan, params, { engine: 'tfjs' });
    expect(exported).toMatchObject({ type: 'LORA', exact: true });
    const out = join(dir, 'exact-lora');
    mkdirSync(out);
    const head = new Map<string, SafeTensor>([
      ['classifier.weight', { dtype: 'F32', shape: [2, 8], data: uniforms(4, 16) }],
      ['classifier.bias', { dtype: 'F32', shape: [2], data: uniforms(5, 2) }],
    ]);
    expect(
      await writePeftAdapter(out, 'LORA', exported.modules, head, { baseModel: 'my/vit' }),
    ).toEqual({ r: 3, rankPattern: {}, parameters: 3 * (12 + 8) * 2 + 3 * (8 + 20) });
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
    for (const [t, target] of targets.entries()) {
      const want = await peftDelta(out, target.name.replace(/\.weight$/, ''), target.shape);
      expect(maxAbsDiff(want, views[t]!)).toBeLessThan(1e-6);
      expect(exported.targets[t]!.relativeError).toBeLessThan(1e-6);
    }
    const read = await readPeftAdapter(out);
    expect(read.baseModel).toBe('my/vit');
    expect([...read.savedModules.keys()]).toEqual(['classifier.weight', 'classifier.bias']);
    plan.dispose();
  });

  test('a layer-grouped LoRA is exported exactly: each target takes its rows of the stacked lora_B and the shared lora_A', async () => {
    const { plan, params, views } = await deltaViews(
      { grouping: 'layer', reshape: 'natural', rank: 3, scale: 0.5 },
      12,
    );
    expect(plan.layout.groups.map((g) => g.targets)).toEqual([[0, 1], [2]]);
    const exported = await peftFromAdapter(plan, params, { engine: 'tfjs' });
    expect(exported).toMatchObject({ type: 'LORA', exact: true });
    const out = join(dir, 'exact-layer-lora');
    await writePeftAdapter(out, 'LORA', exported.modules, new Map());
    for (const [t, target] of targets.entries()) {
      const want = await peftDelta(out, target.name.replace(/\.weight$/, ''), target.shape);
      expect(maxAbsDiff(want, views[t]!)).toBeLessThan(1e-6);
    }
    const [q, v] = exported.modules as [PeftModule, PeftModule];
    expect((q.factors[0] as { down: Float32Array }).down).toEqual(
      (v.factors[0] as { down: Float32Array }).down,
    );
    plan.dispose();
  });

  test.each([
    [
      'dense ⊗ rank 1 (w2 decomposed: 1 < max(3, 4) / 2)',
      ['full', 1],
      ['lokr_w1', 'lokr_w2_a', 'lokr_w2_b'],
    ],
    ['dense ⊗ rank 2 (w2 dense: 2 ≥ max(3, 4) / 2)', ['full', 2], ['lokr_w1', 'lokr_w2']],
    ['rank 1 ⊗ dense (w1 written as its product)', [1, 'full'], ['lokr_w1', 'lokr_w2']],
  ])('a LoKr config, %s, is exported exactly as PEFT builds it', async (name, rank, keys) => {
    const { plan, params, views } = await deltaViews(
      {
        grouping: 'weight',
        reshape: 'natural',
        splits: 2,
        rank: rank as SuperLoraConfig['rank'],
        scale: 2,
      },
      8,
    );
    const exported = await peftFromAdapter(plan, params, { engine: 'tfjs' });
    expect(exported).toMatchObject({ type: 'LOKR', exact: true });
    const out = join(dir, `lokr-${rank.join('-')}`);
    mkdirSync(out);
    const { r } = await writePeftAdapter(out, 'LOKR', exported.modules, new Map());
    const config = JSON.parse(readFileSync(join(out, PEFT_CONFIG_FILE), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LOKR',
      r,
      alpha: r,
      decompose_both: false,
      decompose_factor: -1,
    });
    const file = await readSafetensors(join(out, PEFT_WEIGHTS_FILE));
    // The first target is 12 × 8 = (3 × 2) ⊗ (4 × 4): PEFT's factorization of 12 is (3, 4), of 8 (2, 4).
    const first = 'base_model.model.encoder.layer.0.attention.query.';
    expect(
      [...file.tensors.keys()].filter((k) => k.startsWith(first)).map((k) => k.slice(first.length)),
    ).toEqual(keys);
    expect(file.tensors.get(`${first}lokr_w1`)?.shape).toEqual([3, 2]);
    for (const [t, target] of targets.entries()) {
      const want = await peftDelta(out, target.name.replace(/\.weight$/, ''), target.shape);
      expect(maxAbsDiff(want, views[t]!)).toBeLessThan(1e-5);
      expect(exported.targets[t]!.relativeError).toBeLessThan(1e-6);
    }
    plan.dispose();
  });

  test('another config within the tolerance: each target at its own smallest rank, or all at the largest', async () => {
    const { plan, params, views } = await deltaViews({ grouping: 1, order: 2, rank: 2 }, 6);
    const ranksOf = (exported: { modules: PeftModule[] }) =>
      exported.modules.map((m) => m.factors[0]!.rank as number);
    for (const tolerance of [0.3, 1e-4]) {
      const exported = await peftFromAdapter(plan, params, { engine: 'tfjs', tolerance });
      expect(exported).toMatchObject({ type: 'LORA', exact: false });
      const ranks = ranksOf(exported);
      exported.modules.forEach((module, t) => {
        const [rows, cols] = targets[t]!.shape;
        const factor = module.factors[0]!;
        if (factor.rank === null) throw new Error('expected a low-rank factor');
        const error = relativeFrobenius(
          product(factor.up, factor.down, rows, cols, factor.rank),
          views[t]!,
        );
        expect(error).toBeLessThanOrEqual(tolerance);
        expect(exported.targets[t]!.relativeError).toBeCloseTo(error, 6);
        // One rank less breaks this target's tolerance: its rank is the smallest that works.
        const { singularValues } = lowRankDecomposition(views[t]!, rows, cols);
        const tail = singularValues.slice(factor.rank - 1).reduce((sum, v) => sum + v * v, 0);
        const total = singularValues.reduce((sum, v) => sum + v * v, 0);
        expect(Math.sqrt(tail / total)).toBeGreaterThan(tolerance);
      });
      const uniform = await peftFromAdapter(plan, params, {
        engine: 'tfjs',
        tolerance,
        uniformRank: true,
      });
      expect(ranksOf(uniform)).toEqual(ranks.map(() => Math.max(...ranks)));
      expect(Math.max(...uniform.targets.map((t) => t.relativeError))).toBeLessThanOrEqual(
        tolerance,
      );
    }
    // The ranks differ between targets here, or this test would not tell the two apart.
    const loose = await peftFromAdapter(plan, params, { engine: 'tfjs', tolerance: 0.3 });
    expect(new Set(ranksOf(loose)).size).toBeGreaterThan(1);
    plan.dispose();
  });

  test('modules of different ranks: r is the most common, the others in rank_pattern and alpha_pattern, matched by old and new PEFT alike', async () => {
    const names = [
      'vit.encoder.layer.1.attention.attention.query',
      'vit.encoder.layer.11.attention.attention.query',
      'vit.encoder.layer.1.attention.attention.value',
      'vit.encoder.layer.2.attention.attention.value',
    ];
    const ranks = [3, 1, 3, 2];
    const modules: PeftModule[] = names.map((name, t) => ({
      name,
      shape: [6, 5],
      scaling: 1,
      factors: [
        {
          rows: 6,
          cols: 5,
          rank: ranks[t]!,
          up: uniforms(20 + t, 6 * ranks[t]!),
          down: uniforms(30 + t, ranks[t]! * 5),
        },
      ],
    }));
    const folder = join(dir, 'mixed-ranks');
    const written = await writePeftAdapter(folder, 'LORA', modules, new Map());
    expect(written.r).toBe(3);
    expect(written.parameters).toBe(ranks.reduce((sum, r) => sum + r * (6 + 5), 0));
    const config = JSON.parse(readFileSync(join(folder, PEFT_CONFIG_FILE), 'utf8'));
    expect(config).toMatchObject({ r: 3, lora_alpha: 3 });
    expect(Object.values(config.rank_pattern).sort()).toEqual([1, 2]);
    expect(config.alpha_pattern).toEqual(config.rank_pattern);
    // PEFT's lookups, written out: the first key (in order) that matches, else the default.
    const older = (key: string, name: string) => new RegExp(`^.*\\.${key}$`).test(name);
    const current = (key: string, name: string) => new RegExp(`^(.*\\.)?(${key})$`).test(name);
    for (const rule of [older, current]) {
      const lookup = (pattern: Record<string, number>, name: string, fallback: number) => {
        const key = Object.keys(pattern).find((k) => rule(k, name));
        return key === undefined ? fallback : pattern[key]!;
      };
      names.forEach((name, t) => {
        expect(lookup(config.rank_pattern, name, config.r)).toBe(ranks[t]);
        expect(lookup(config.alpha_pattern, name, config.lora_alpha)).toBe(ranks[t]);
      });
    }
    for (const [t, name] of names.entries()) {
      const module = modules[t]!.factors[0] as KronFactor & { rank: number };
      const want = product(module.up, module.down, 6, 5, module.rank);
      expect(maxAbsDiff(await peftDelta(folder, name, [6, 5]), want)).toBeLessThan(1e-6);
    }
    // Read back: every module at its own rank, scaling 1.
    const back = await readPeftAdapter(folder);
    expect(back.modules.map((m) => [m.name, m.factors[0]!.rank, m.scaling])).toEqual(
      names.map((name, t) => [name, ranks[t], 1]),
    );
  });

  test('pattern keys: the name without its first part, escaped or whole only where it must be', () => {
    expect(
      patternKeys(['vit.encoder.layer.1.query', 'vit.encoder.layer.11.query', 'classifier']),
    ).toEqual(['encoder.layer.1.query', 'encoder.layer.11.query', 'classifier']);
    // `x.1y` would also match `x.11y`'s neighbour `x11y` through the unescaped dot.
    expect(patternKeys(['m.x.1y', 'm.x11y'])).toEqual(['x\\.1y', 'x11y']);
    // No suffix tells a.x from b.x under the older rule: the whole name, for the current one.
    expect(patternKeys(['a.x', 'b.x'])).toEqual(['a\\.x', 'b\\.x']);
    expect(() => patternKeys(['a.x', 'b.a.x'])).toThrow(
      'No rank_pattern key can match module a.x alone',
    );
  });

  test('at a given rank each target gets its best rank-r approximation, padded where its ΔW is smaller; --lora turns LoKr into LoRA', async () => {
    const { plan, params, views } = await deltaViews({ grouping: 1, order: 3, rank: 2 }, 7);
    const exported = await peftFromAdapter(plan, params, { engine: 'tfjs', rank: 10 });
    exported.modules.forEach((module, t) => {
      const [rows, cols] = targets[t]!.shape;
      const factor = module.factors[0]!;
      if (factor.rank === null) throw new Error('expected a low-rank factor');
      expect(factor.up.length).toBe(rows * 10);
      const { singularValues } = lowRankDecomposition(views[t]!, rows, cols);
      const kept = Math.min(10, rows, cols);
      const tail = singularValues.slice(kept).reduce((sum, s) => sum + s * s, 0);
      const total = singularValues.reduce((sum, s) => sum + s * s, 0);
      expect(exported.targets[t]!.relativeError).toBeCloseTo(Math.sqrt(tail / total), 5);
      // Rank 10 > 8 = min(12, 8): the two padding columns are zero.
      if (kept < 10) for (let r = 0; r < rows; r++) expect(factor.up[r * 10 + 9]).toBe(0);
    });
    await expect(peftFromAdapter(plan, params, { rank: 0 })).rejects.toThrow(
      'Expected a positive integer rank but received 0',
    );
    await expect(peftFromAdapter(plan, params, { tolerance: 1 })).rejects.toThrow(
      'Expected a tolerance in (0, 1) but received 1',
    );
    plan.dispose();

    const lokr = await deltaViews(
      { grouping: 'weight', reshape: 'natural', splits: 2, rank: ['full', 1] },
      9,
    );
    const asLora = await peftFromAdapter(lokr.plan, lokr.params, {
      engine: 'tfjs',
      lora: true,
      tolerance: 1e-5,
    });
    expect(asLora).toMatchObject({ type: 'LORA', exact: false });
    expect(Math.max(...asLora.targets.map((t) => t.relativeError))).toBeLessThan(1e-5);
    lokr.plan.dispose();
  });
});

/** A PEFT folder as PEFT writes it, built by hand. */
async function writePeftFolder(
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
  await writeSafetensors(join(folder, PEFT_WEIGHTS_FILE), tensors, { format: 'pt' });
  return folder;
}

const f32 = (shape: number[], seed: number): SafeTensor => ({
  dtype: 'F32',
  shape,
  data: uniforms(seed, shape[0]! * shape[1]!),
});

function loraTensors(
  modules: Array<{ name: string; rows: number; cols: number; rank: number; seed: number }>,
): Map<string, SafeTensor> {
  const tensors = new Map<string, SafeTensor>();
  for (const m of modules) {
    tensors.set(`base_model.model.${m.name}.lora_A.weight`, f32([m.rank, m.cols], m.seed));
    tensors.set(`base_model.model.${m.name}.lora_B.weight`, f32([m.rows, m.rank], m.seed + 1));
  }
  return tensors;
}

/** Imports the folder and checks every module's ΔW against the folder's own arithmetic. */
async function expectImportedDelta(
  folder: string,
  modules: Array<{ name: string; rows: number; cols: number }>,
) {
  const peft = await readPeftAdapter(folder);
  const { plan, params } = adapterFromPeft(peft.modules);
  expect(plan.targets.map((t) => t.name)).toEqual(modules.map((m) => `${m.name}.weight`));
  const delta = await plan.delta(params, { engine: 'tfjs' });
  const views = [...plan.splitByTarget(delta).values()];
  for (const [t, m] of modules.entries()) {
    const want = await peftDelta(folder, m.name, [m.rows, m.cols]);
    expect(maxAbsDiff(views[t]!, want)).toBeLessThan(
      1e-5 * Math.max(1, ...Array.from(want, Math.abs)),
    );
  }
  return plan;
}

describe('import', () => {
  const modules = [
    { name: 'vit.encoder.layer.0.attention.attention.query', rows: 12, cols: 8, rank: 4, seed: 10 },
    { name: 'vit.encoder.layer.1.attention.attention.value', rows: 12, cols: 8, rank: 4, seed: 20 },
  ];

  test('LoRA: ΔW = lora_alpha / r · B · A, as one LoRA config with that scale', async () => {
    const plan = await expectImportedDelta(
      await writePeftFolder('plain', { r: 4, lora_alpha: 16 }, loraTensors(modules)),
      modules,
    );
    expect(plan.config).toMatchObject({
      grouping: 'weight',
      reshape: 'natural',
      splits: 1,
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
    (await expectImportedDelta(folder, modules)).dispose();
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
    const peft = await readPeftAdapter(folder);
    expect(peft.modules.map((m) => m.scaling)).toEqual([2, 3]);
    const { plan, params } = adapterFromPeft(peft.modules);
    expect(plan.config).toMatchObject({ rank: [4], scale: 1 });
    const delta = await plan.delta(params, { engine: 'tfjs' });
    const { tensors } = await readSafetensors(join(folder, PEFT_WEIGHTS_FILE));
    mixed.forEach((m, t) => {
      const a = tensors.get(`base_model.model.${m.name}.lora_A.weight`)!.data as Float32Array;
      const b = tensors.get(`base_model.model.${m.name}.lora_B.weight`)!.data as Float32Array;
      const want = product(b, a, m.rows, m.cols, m.rank).map((v) => v * [2, 3][t]!);
      expect(maxAbsDiff([...plan.splitByTarget(delta).values()][t]!, want)).toBeLessThan(1e-5);
    });
    plan.dispose();
  });

  test('BF16 factors are widened exactly', async () => {
    const tensors = new Map<string, SafeTensor>();
    for (const [name, tensor] of loraTensors(modules)) {
      const data = tensor.data as Float32Array;
      tensors.set(name, {
        dtype: 'BF16',
        shape: tensor.shape,
        data: Uint16Array.from(
          new Uint32Array(data.buffer, data.byteOffset, data.length),
          (bits) => bits >>> 16,
        ),
      });
    }
    (
      await expectImportedDelta(
        await writePeftFolder('bf16', { r: 4, lora_alpha: 4 }, tensors),
        modules,
      )
    ).dispose();
  });

  test('LoKr with dense w1 and decomposed w2, or decompose_both: ΔW = alpha / r · w1 ⊗ w2', async () => {
    // 12 × 8 = (3 × 2) ⊗ (4 × 4), PEFT's factorization and SuperLoRA's natural fold alike.
    const q = 'vit.encoder.layer.0.attention.attention.query';
    const dense = new Map<string, SafeTensor>([
      [`base_model.model.${q}.lokr_w1`, f32([3, 2], 31)],
      [`base_model.model.${q}.lokr_w2_a`, f32([4, 1], 32)],
      [`base_model.model.${q}.lokr_w2_b`, f32([1, 4], 33)],
    ]);
    const folder = await writePeftFolder('lokr', { peft_type: 'LOKR', r: 1, alpha: 3 }, dense);
    const plan = await expectImportedDelta(folder, [{ name: q, rows: 12, cols: 8 }]);
    expect(plan.config).toMatchObject({ splits: 2, rank: ['full', 1], scale: 3 });
    plan.dispose();
    const both = new Map<string, SafeTensor>([
      [`base_model.model.${q}.lokr_w1_a`, f32([3, 1], 34)],
      [`base_model.model.${q}.lokr_w1_b`, f32([1, 2], 35)],
      [`base_model.model.${q}.lokr_w2`, f32([4, 4], 36)],
    ]);
    const bothPlan = await expectImportedDelta(
      await writePeftFolder(
        'lokr-both',
        { peft_type: 'LOKR', r: 1, alpha: 1, decompose_both: true },
        both,
      ),
      [{ name: q, rows: 12, cols: 8 }],
    );
    expect(bothPlan.config).toMatchObject({ rank: [1, 'full'] });
    bothPlan.dispose();
  });

  test('a LoKr factorisation other than the natural fold is refused', async () => {
    const q = 'vit.encoder.layer.0.attention.attention.query';
    const tensors = new Map<string, SafeTensor>([
      [`base_model.model.${q}.lokr_w1`, f32([2, 2], 41)],
      [`base_model.model.${q}.lokr_w2`, f32([6, 4], 42)],
    ]);
    const peft = await readPeftAdapter(
      await writePeftFolder(
        'lokr-factor',
        { peft_type: 'LOKR', r: 8, alpha: 8, decompose_factor: 2 },
        tensors,
      ),
    );
    expect(() => adapterFromPeft(peft.modules)).toThrow(
      `Expected the factors of module ${q} to be [3×2 ⊗ 4×4] (SuperLoRA's natural fold of [12, 8]) but received [2×2 ⊗ 6×4]`,
    );
  });

  test.each([
    [
      'another PEFT type',
      { peft_type: 'IA3', r: 4, lora_alpha: 4 },
      'Expected peft_type "LORA" or "LOKR" but received "IA3"',
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
    await expect(readPeftAdapter(folder)).rejects.toThrow(message);
  });

  test('refuses a half module, a stray tensor, a convolution factor and a missing safetensors file', async () => {
    const half = loraTensors(modules);
    half.delete('base_model.model.vit.encoder.layer.0.attention.attention.query.lora_B.weight');
    await expect(
      readPeftAdapter(await writePeftFolder('half', { r: 4, lora_alpha: 4 }, half)),
    ).rejects.toThrow(
      'module "vit.encoder.layer.0.attention.attention.query" has no lora_B.weight and lora_A.weight',
    );
    const stray = loraTensors(modules);
    stray.set('base_model.model.vit.pooler.dense.weight', {
      dtype: 'F32',
      shape: [2],
      data: new Float32Array(2),
    });
    await expect(
      readPeftAdapter(await writePeftFolder('stray', { r: 4, lora_alpha: 4 }, stray)),
    ).rejects.toThrow('unexpected tensor "base_model.model.vit.pooler.dense.weight"');
    const q = 'vit.encoder.layer.0.attention.attention.query';
    const both = new Map<string, SafeTensor>([
      [`base_model.model.${q}.lokr_w1`, f32([3, 2], 51)],
      [`base_model.model.${q}.lokr_w1_a`, f32([3, 1], 52)],
      [`base_model.model.${q}.lokr_w2`, f32([4, 4], 53)],
    ]);
    await expect(
      readPeftAdapter(
        await writePeftFolder('lokr-extra', { peft_type: 'LOKR', r: 1, alpha: 1 }, both),
      ),
    ).rejects.toThrow(`module "${q}" has lokr_w1_a beside the factors it was read from`);
    const conv = new Map([['base_model.model.conv.lokr_t2', f32([2, 2], 1)]]);
    await expect(
      readPeftAdapter(await writePeftFolder('conv', { peft_type: 'LOKR', r: 2, alpha: 2 }, conv)),
    ).rejects.toThrow('belongs to an embedding or convolution adapter');
    const binOnly = join(dir, 'bin-only');
    mkdirSync(binOnly);
    writeFileSync(
      join(binOnly, PEFT_CONFIG_FILE),
      JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 4 }),
    );
    await expect(readPeftAdapter(binOnly)).rejects.toThrow(
      'adapter_model.safetensors: not found (only safetensors weights are read',
    );
  });

  test('adapter_config.json: a syntax error is one line with its position; a UTF-8 BOM is read', async () => {
    const garbled = await writePeftFolder('garbled', { r: 4, lora_alpha: 4 }, loraTensors(modules));
    writeFileSync(join(garbled, PEFT_CONFIG_FILE), '{\n  "r": 4,\n  lora_alpha: 4\n}\n');
    const error = (await readPeftAdapter(garbled).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      `${join(garbled, PEFT_CONFIG_FILE)}: is not valid JSON: unexpected "l" at line 3, column 3`,
    );
    const bom = await writePeftFolder('bom', { r: 4, lora_alpha: 4 }, loraTensors(modules));
    const text = readFileSync(join(bom, PEFT_CONFIG_FILE), 'utf8');
    writeFileSync(join(bom, PEFT_CONFIG_FILE), `\uFEFF${text}`);
    expect((await readPeftAdapter(bom)).modules.length).toBeGreaterThan(0);
  });
});

test.each([
  ['LoRA', { grouping: 'weight', reshape: 'natural', rank: 2, scale: 3 }],
  ['LoKr', { grouping: 'weight', reshape: 'natural', splits: 2, rank: ['full', 2], scale: 3 }],
] as const)('%s: export then import gives back the config, targets and ΔW', async (_, config) => {
  const { plan, params } = await deltaViews(config as SuperLoraConfig, 10);
  const exported = await peftFromAdapter(plan, params, { engine: 'tfjs' });
  const folder = join(dir, `roundtrip-${exported.type}`);
  mkdirSync(folder);
  await writePeftAdapter(folder, exported.type, exported.modules, new Map());
  const back = adapterFromPeft((await readPeftAdapter(folder)).modules);
  expect(back.plan.targets).toEqual(targets);
  expect(back.plan.config).toMatchObject({ splits: plan.config.splits });
  const before = await plan.delta(params, { engine: 'tfjs' });
  const after = await back.plan.delta(back.params, { engine: 'tfjs' });
  expect(maxAbsDiff(after, before)).toBeLessThan(1e-5);
  plan.dispose();
  back.plan.dispose();
});

describe('modules handed in through the API are checked before anything is built or written', () => {
  const good = (): PeftModule => ({
    name: 'm',
    shape: [4, 6],
    scaling: 1,
    factors: [{ rows: 4, cols: 6, rank: 2, up: uniforms(1, 8), down: uniforms(2, 12) }],
  });
  const withFactor = (change: Partial<KronFactor & { rank: number }>): PeftModule => {
    const module = good();
    return {
      ...module,
      factors: [{ ...(module.factors[0] as KronFactor), ...change } as KronFactor],
    };
  };

  test.each([
    [
      'a short up array',
      [withFactor({ up: new Float32Array(3) })],
      'Expected a Float32Array of 8 values for modules[0] ("m").factors[0].up ([4, 6] at rank 2) but received 3 values',
    ],
    [
      'a long down array',
      [withFactor({ down: new Float32Array(13) })],
      'Expected a Float32Array of 12 values for modules[0] ("m").factors[0].down ([4, 6] at rank 2) but received 13 values',
    ],
    [
      'a NaN scaling',
      [{ ...good(), scaling: NaN }],
      'Expected a finite number for modules[0] ("m").scaling but received NaN',
    ],
    [
      'an infinite factor value',
      [withFactor({ up: Float32Array.of(1, 1, 1, Infinity, 1, 1, 1, 1) })],
      'Expected finite values in modules[0] ("m").factors[0].up but [3] is Infinity',
    ],
    [
      'a repeated module name',
      [good(), good()],
      'Expected distinct module names but modules[1] ("m") repeats an earlier one',
    ],
  ])('adapterFromPeft and writePeftAdapter refuse %s', async (_, modules, message) => {
    expect(() => adapterFromPeft(modules)).toThrow(new RangeError(message));
    const dir = mkdtempSync(join(tmpdir(), 'superlora-peft-api-'));
    await expect(writePeftAdapter(join(dir, 'out'), 'LORA', modules, new Map())).rejects.toThrow(
      new RangeError(message),
    );
  });

  test('writePeftAdapter names a type it does not know', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'superlora-peft-api-'));
    await expect(
      writePeftAdapter(join(dir, 'out'), 'lora' as PeftType, [good()], new Map()),
    ).rejects.toThrow('Expected "LORA" or "LOKR" for type but received "lora"');
  });

  test('the good module converts to its own ΔW = up · down', async () => {
    const module = good();
    const { plan, params } = adapterFromPeft([module]);
    const delta = await plan.delta(params, { engine: 'tfjs' });
    expect(maxAbsDiff(delta, denseFactor(module.factors[0] as KronFactor))).toBeLessThan(1e-6);
    plan.dispose();
  });
});
