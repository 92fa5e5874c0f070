/**
 * `superlora merge` as a user runs it: the written model's target weights are W + ΔW, with ΔW from
 * the adapter's plan on the tfjs reference engine; every other weight is the base model's, bit for
 * bit (with --adapter-scale s: W + s · ΔW); a finetune-style folder also brings its head and label
 * names; and the merged model's logits
 * equal the adapted model's. Bad input is refused with one line, and the base model is never
 * overwritten.
 */
import { mkdirSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { combineDeltas } from '../../src/train/combineDeltas';
import { ADAPTER_FILE, HEAD_FILE } from '../../src/train/outputFiles';
import { loadViT, saveViT } from '../../src/vit/io';
import { CLASSIFIER_BIAS, CLASSIFIER_WEIGHT } from '../../src/vit/weights';
import { cliIn } from '../cliRunner';
import { randomizedViT, randomPixels, TINY, uniforms } from '../vit/tinyVit';

const dir = mkdtempSync(join(tmpdir(), 'superlora-merge-'));
const modelDir = join(dir, 'base');
const cli = cliIn(dir);

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

test('merge writes W + ΔW for the targets and the base weights elsewhere; logits match the adapted model', async () => {
  const base = randomizedViT(TINY, 4);
  await saveViT(modelDir, base);
  const adapter = ModelAdapter.create(base, { grouping: 1, order: 3, rank: 2, core: 'dense' }, [
    'attention\\.attention\\.(query|value)\\.weight$',
    'output\\.dense\\.weight$',
  ]);
  adapter.params.assign(tf.tensor1d(uniforms(5, adapter.numParams)));
  const adapterFile = join(dir, 'adapter.safetensors');
  await adapter.save(adapterFile);

  const result = await cli(
    'merge',
    '--model',
    modelDir,
    '--adapter',
    adapterFile,
    '--out',
    'merged',
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('Wrote merged:');

  const baseFile = await readSafetensors(join(modelDir, 'model.safetensors'));
  const mergedFile = await readSafetensors(join(dir, 'merged', 'model.safetensors'));
  expect([...mergedFile.tensors.keys()]).toEqual([...baseFile.tensors.keys()]);
  const delta = await adapter.plan.delta((await adapter.params.data()) as Float32Array, {
    engine: 'tfjs',
  });
  const targets = new Map(adapter.plan.targets.map((t, i) => [t.name, i]));
  expect(targets.size).toBe(8); // q, v, attention output and MLP output of 2 layers
  for (const [name, tensor] of baseFile.tensors) {
    const merged = mergedFile.tensors.get(name)!.data as Float32Array;
    const original = tensor.data as Float32Array;
    const index = targets.get(name);
    if (index === undefined) {
      expect(merged).toEqual(original);
      continue;
    }
    const offset = adapter.plan.layout.targetOffsets[index] as number;
    const expected = original.map((w, i) => w + (delta[offset + i] as number));
    let worst = 0;
    for (let i = 0; i < merged.length; i++)
      worst = Math.max(worst, Math.abs((merged[i] as number) - (expected[i] as number)));
    expect(worst).toBeLessThan(1e-5);
    expect(merged).not.toEqual(original);
  }

  // --adapter-scale: W + s · ΔW on the targets, the base weights elsewhere.
  const scaled = await cli(
    'merge',
    ...[
      '--model',
      modelDir,
      '--adapter',
      adapterFile,
      '--adapter-scale',
      '-0.5',
      '--out',
      'scaled',
    ],
  );
  expect(scaled.stderr).toBe('');
  expect(scaled.stdout).toContain(`with ${adapterFile} (×-0.5) merged`);
  const scaledFile = await readSafetensors(join(dir, 'scaled', 'model.safetensors'));
  for (const [name, tensor] of baseFile.tensors) {
    const written = scaledFile.tensors.get(name)!.data as Float32Array;
    const original = tensor.data as Float32Array;
    const index = targets.get(name);
    const offset = index === undefined ? -1 : (adapter.plan.layout.targetOffsets[index] as number);
    original.forEach((w, i) => {
      const want = index === undefined ? w : w - 0.5 * (delta[offset + i] as number);
      expect(Math.abs((written[i] as number) - want)).toBeLessThan(1e-5);
    });
  }

  const merged = await loadViT(join(dir, 'merged'));
  const pixels = randomPixels(base.config, 3);
  const want = adapter.withDelta((weightOverride) => base.forward(pixels, { weightOverride }));
  const got = merged.forward(pixels);
  const a = await want.data();
  const b = await got.data();
  for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] as number, 4);
  tf.dispose([pixels, want, got]);
  merged.dispose();
  adapter.dispose();
  base.dispose();
});

test('a finetune output folder brings its head and label names', async () => {
  const base = await loadViT(modelDir);
  const adapter = ModelAdapter.create(base, { rank: 1 });
  adapter.params.assign(tf.tensor1d(uniforms(6, adapter.numParams)));
  const run = join(dir, 'run');
  mkdirSync(run);
  await adapter.save(join(run, ADAPTER_FILE));
  const hidden = base.config.hiddenSize;
  const headWeight = uniforms(7, 4 * hidden);
  const headBias = uniforms(8, 4);
  await writeSafetensors(
    join(run, HEAD_FILE),
    new Map([
      [CLASSIFIER_WEIGHT, { dtype: 'F32' as const, shape: [4, hidden], data: headWeight }],
      [CLASSIFIER_BIAS, { dtype: 'F32' as const, shape: [4], data: headBias }],
    ]),
    { format: 'superlora-head', labels: JSON.stringify(['zero', 'one', 'two', 'three']) },
  );
  const result = await cli('merge', '--model', modelDir, '--adapter', run, '--out', 'with-head');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('4 labels: zero, one, two, three');
  const merged = await loadViT(join(dir, 'with-head'));
  expect(merged.config.numLabels).toBe(4);
  expect(merged.config.id2label).toEqual(['zero', 'one', 'two', 'three']);
  expect(await merged.weights.get(CLASSIFIER_WEIGHT)!.data()).toEqual(headWeight);
  expect(await merged.weights.get(CLASSIFIER_BIAS)!.data()).toEqual(headBias);
  merged.dispose();
  adapter.dispose();
  base.dispose();
});

test('several adapters merge as W + Σ sᵢ·ΔWᵢ over their own targets, with the one head among them', async () => {
  const base = await loadViT(modelDir);
  // A: q, v and the MLP output with a head (a run folder); B: q and the attention output (a file).
  const a = ModelAdapter.create(base, { rank: 2 }, [
    'attention\\.attention\\.(query|value)\\.weight$',
    'output\\.dense\\.weight$',
  ]);
  const b = ModelAdapter.create(base, { grouping: 1, order: 3, rank: 2, core: 'dense' }, [
    'attention\\.attention\\.query\\.weight$',
    'attention\\.output\\.dense\\.weight$',
  ]);
  a.params.assign(tf.tensor1d(uniforms(11, a.numParams)));
  b.params.assign(tf.tensor1d(uniforms(12, b.numParams)));
  const runA = join(dir, 'run-a');
  mkdirSync(runA);
  await a.save(join(runA, ADAPTER_FILE));
  const hidden = base.config.hiddenSize;
  const head = new Map([
    [
      CLASSIFIER_WEIGHT,
      { dtype: 'F32' as const, shape: [3, hidden], data: uniforms(13, 3 * hidden) },
    ],
    [CLASSIFIER_BIAS, { dtype: 'F32' as const, shape: [3], data: uniforms(14, 3) }],
  ]);
  await writeSafetensors(join(runA, HEAD_FILE), head, {
    format: 'superlora-head',
    labels: JSON.stringify(['x', 'y', 'z']),
  });
  const fileB = join(dir, 'adapter-b.safetensors');
  await b.save(fileB);

  const args = ['--model', modelDir, '--adapter', runA, '--adapter', fileB];
  const result = await cli(
    'merge',
    ...args,
    '--adapter-scale',
    '0.5',
    '--adapter-scale',
    '-2',
    '--out',
    'two',
  );
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain(
    `with ${runA} (×0.5) + ${fileB} (×-2) merged (3 labels: x, y, z)`,
  );

  // Each target's expected weight, from each plan's ΔW on the reference engine.
  const expected = new Map<string, Float32Array>();
  const baseFile = await readSafetensors(join(modelDir, 'model.safetensors'));
  for (const [name, tensor] of baseFile.tensors)
    expected.set(name, Float32Array.from(tensor.data as Float32Array));
  for (const [adapter, scale] of [
    [a, 0.5],
    [b, -2],
  ] as const) {
    const delta = await adapter.plan.delta((await adapter.params.data()) as Float32Array, {
      engine: 'tfjs',
    });
    adapter.plan.targets.forEach((target, t) => {
      const offset = adapter.plan.layout.targetOffsets[t] as number;
      const weight = expected.get(target.name)!;
      weight.forEach((w, i) => (weight[i] = w + scale * (delta[offset + i] as number)));
    });
  }
  const two = await readSafetensors(join(dir, 'two', 'model.safetensors'));
  for (const [name, want] of expected) {
    const got = two.tensors.get(name)!.data as Float32Array;
    if (name.startsWith('classifier.')) {
      expect(got).toEqual(head.get(name)!.data);
      continue;
    }
    let worst = 0;
    want.forEach((w, i) => (worst = Math.max(worst, Math.abs((got[i] as number) - w))));
    expect(worst).toBeLessThan(1e-5);
  }
  // The query weights carry both adapters; the value weights A's alone; the MLP input neither.
  const query = 'vit.encoder.layer.0.attention.attention.query.weight';
  const original = baseFile.tensors.get(query)!.data as Float32Array;
  expect(two.tensors.get(query)!.data).not.toEqual(original);
  const intermediate = 'vit.encoder.layer.0.intermediate.dense.weight';
  expect(two.tensors.get(intermediate)!.data).toEqual(baseFile.tensors.get(intermediate)!.data);

  // --combination ties: each weight W + ties(0.5·ΔW_A, −2·ΔW_B), from the same ΔWs (the same engine).
  const ties = await cli(
    'merge',
    ...args,
    ...['--adapter-scale', '0.5', '--adapter-scale', '-2'],
    ...['--combination', 'ties', '--density', '0.3', '--out', 'ties'],
  );
  expect(ties.stderr).toBe('');
  expect(ties.stdout).toContain('merged by ties (density 0.3) (3 labels');
  const deltas = [];
  for (const adapter of [a, b]) {
    const params = (await adapter.params.data()) as Float32Array;
    deltas.push(adapter.plan.splitByTarget(await adapter.plan.delta(params, { engine: 'native' })));
  }
  const tiesFile = await readSafetensors(join(dir, 'ties', 'model.safetensors'));
  let combined = 0;
  for (const [name, tensor] of baseFile.tensors) {
    const got = tiesFile.tensors.get(name)!.data as Float32Array;
    if (name.startsWith('classifier.')) continue;
    const parts = deltas.map((byName) => byName.get(name) ?? null);
    const original = tensor.data as Float32Array;
    if (parts.every((part) => part === null)) {
      expect(got).toEqual(original);
      continue;
    }
    combined++;
    const delta = combineDeltas(parts, [0.5, -2], { combination: 'ties', density: 0.3 });
    original.forEach((w, i) =>
      expect(Math.abs((got[i] as number) - (w + (delta[i] as number)))).toBeLessThan(1e-6),
    );
    // 30 % of each ΔW survives, and entries where they disagree keep one side only.
    expect(delta.filter((value) => value !== 0).length).toBeLessThanOrEqual(0.6 * delta.length);
  }
  expect(combined).toBe(8); // q and v of 2 layers, MLP output and attention output of 2 layers
  const noDensity = await cli('merge', ...args, '--combination', 'ties', '--out', 'x');
  expect(noDensity.stderr).toContain('Expected --density with --combination ties');
  const strayDensity = await cli('merge', ...args, '--density', '0.5', '--out', 'x');
  expect(strayDensity.stderr).toContain(
    'Expected --combination ties, dare_linear, dare_ties or magnitude_prune with --density',
  );

  // Two heads, or scales that do not pair with the adapters, are refused in one line.
  const twoHeads = await cli(
    'merge',
    '--model',
    modelDir,
    '--adapter',
    runA,
    '--adapter',
    runA,
    '--out',
    'x',
  );
  expect(twoHeads.code).toBe(1);
  expect(twoHeads.stderr).toMatch(
    /^superlora: Expected at most one adapter with a classifier head but .*head\.safetensors and .*head\.safetensors each bring one/,
  );
  const unpaired = await cli('merge', ...args, '--adapter-scale', '0.5', '--out', 'x');
  expect(unpaired.code).toBe(1);
  expect(unpaired.stderr).toContain(
    'Expected one --adapter-scale per --adapter (or none) but received 1 for 2 adapters',
  );
  a.dispose();
  b.dispose();
  base.dispose();
});

test('merge refuses to overwrite the base model and names a missing adapter', async () => {
  const inPlace = await cli('merge', '--model', modelDir, '--adapter', 'a', '--out', modelDir);
  expect(inPlace.code).toBe(1);
  expect(inPlace.stderr).toContain(
    `would overwrite ${join(modelDir, 'config.json')} (in ${modelDir}), which --model reads`,
  );
  const missing = join(dir, 'nope.safetensors');
  const gone = await cli('merge', '--model', modelDir, '--adapter', missing, '--out', 'x');
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain(missing);
  expect(gone.stderr).not.toMatch(/\n\s+at /);
  const unscaled = await cli('evaluate', '--model', modelDir, '--adapter-scale', '2');
  expect(unscaled.code).toBe(1);
  expect(unscaled.stderr).toContain('Expected --adapter with --adapter-scale');
  const uncombined = await cli(
    'evaluate',
    ...['--model', modelDir, '--combination', 'ties', '--density', '0.5'],
  );
  expect(uncombined.code).toBe(1);
  expect(uncombined.stderr).toContain('Expected --adapter with --combination');
});
