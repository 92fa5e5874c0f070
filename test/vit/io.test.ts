/**
 * HF checkpoint directories: save → load round trips, ViTModel checkpoints get a fresh head,
 * half-precision files widen, and broken files are rejected naming the file and the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { mkdir } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type SafeTensor,
} from '../../src/io/safetensors';
import { vitConfigToJson, ViTFormatError } from '../../src/vit/config';
import { loadViT, saveViT } from '../../src/vit/io';
import { createViT, type ViT } from '../../src/vit/model';
import { vitWeightSpecs } from '../../src/vit/weights';
import { randomizedViT, randomPixels, TINY, weightValues } from './tinyVit';

const root = mkdtempSync(join(tmpdir(), 'superlora-vit-io-'));
let counter = 0;
const freshDir = (): string => join(root, `model-${counter++}`);

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

function logitsOf(vit: ViT, seed = 99): number[] {
  const pixels = randomPixels(vit.config, 3, seed);
  const logits = vit.forward(pixels);
  const values = Array.from(logits.dataSync());
  tf.dispose([pixels, logits]);
  return values;
}

/** Writes a checkpoint directory by hand, as another tool (transformers) would. */
async function writeCheckpoint(
  config: Record<string, unknown>,
  tensors: Map<string, SafeTensor>,
): Promise<string> {
  const dir = freshDir();
  await mkdir(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

function tensorsOf(vit: ViT): Map<string, SafeTensor> {
  const tensors = new Map<string, SafeTensor>();
  for (const [name, values] of weightValues(vit)) {
    tensors.set(name, { dtype: 'F32', shape: vit.weights.get(name)!.shape, data: values });
  }
  return tensors;
}

describe('saveViT / loadViT', () => {
  test('round trip: HF names, shapes, metadata and config; same weights, same logits', async () => {
    const vit = randomizedViT({ ...TINY, id2label: ['cat', 'dog', 'bird'] }, 2);
    const dir = freshDir();
    await saveViT(dir, vit);

    const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
    expect(header.metadata).toEqual({ format: 'pt' });
    const specs = vitWeightSpecs(vit.config);
    expect([...header.tensors.keys()]).toEqual(specs.map((s) => s.name));
    expect(header.tensors.get('vit.encoder.layer.1.intermediate.dense.weight')?.shape).toEqual([
      16, 8,
    ]);
    expect(header.tensors.get('vit.embeddings.patch_embeddings.projection.weight')?.shape).toEqual([
      8, 3, 4, 4,
    ]);
    expect(header.tensors.get('vit.embeddings.position_embeddings')?.shape).toEqual([1, 5, 8]);
    expect(header.tensors.get('classifier.weight')?.dtype).toBe('F32');

    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(json).toMatchObject({
      architectures: ['ViTForImageClassification'],
      model_type: 'vit',
      hidden_size: 8,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 16,
      hidden_act: 'gelu',
      image_size: 8,
      patch_size: 4,
      num_channels: 3,
      qkv_bias: true,
      layer_norm_eps: 1e-6,
      id2label: { '0': 'cat', '1': 'dog', '2': 'bird' },
      label2id: { cat: 0, dog: 1, bird: 2 },
    });

    const loaded = await loadViT(dir);
    expect(loaded.config).toEqual(vit.config);
    expect([...loaded.weights.keys()]).toEqual([...vit.weights.keys()]);
    const original = weightValues(vit);
    for (const [name, values] of weightValues(loaded)) {
      expect(Array.from(values)).toEqual(Array.from(original.get(name)!));
    }
    expect(logitsOf(loaded)).toEqual(logitsOf(vit));
    vit.dispose();
    loaded.dispose();
  });

  test('a ViTModel checkpoint (no vit. prefix, a pooler, no classifier) gets a fresh seeded head', async () => {
    const source = randomizedViT(TINY, 4);
    const tensors = new Map<string, SafeTensor>();
    for (const [name, tensor] of tensorsOf(source)) {
      if (name.startsWith('classifier.')) continue;
      tensors.set(name.slice('vit.'.length), tensor);
    }
    tensors.set('pooler.dense.weight', { dtype: 'F32', shape: [8, 8], data: new Float32Array(64) });
    tensors.set('pooler.dense.bias', { dtype: 'F32', shape: [8], data: new Float32Array(8) });
    const config = vitConfigToJson(source.config);
    delete config.id2label;
    delete config.label2id;
    config.architectures = ['ViTModel'];
    const dir = await writeCheckpoint(config, tensors);

    const loaded = await loadViT(dir, { numLabels: 5, seed: 11 });
    expect(loaded.config.numLabels).toBe(5);
    expect(loaded.config.id2label).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2', 'LABEL_3', 'LABEL_4']);
    expect(loaded.weights.get('classifier.weight')?.shape).toEqual([5, 8]);
    expect(loaded.weights.has('pooler.dense.weight')).toBe(false);
    const sourceValues = weightValues(source);
    const fresh = createViT({ ...TINY, numLabels: 5 }, { seed: 11 });
    const freshValues = weightValues(fresh);
    for (const [name, values] of weightValues(loaded)) {
      const expected = name.startsWith('classifier.') ? freshValues : sourceValues;
      expect(Array.from(values)).toEqual(Array.from(expected.get(name)!));
    }
    expect(logitsOf(loaded).every(Number.isFinite)).toBe(true);

    // Without numLabels, the config's count (HF's default of 2 here) sizes the head.
    const defaulted = await loadViT(dir);
    expect(defaulted.weights.get('classifier.weight')?.shape).toEqual([2, 8]);
    for (const vit of [source, loaded, fresh, defaulted]) vit.dispose();
  });

  test('numLabels different from the checkpoint head replaces the head; equal keeps it', async () => {
    const vit = randomizedViT(TINY, 5);
    const dir = freshDir();
    await saveViT(dir, vit);
    const kept = await loadViT(dir, { numLabels: 3 });
    expect(logitsOf(kept)).toEqual(logitsOf(vit));
    const replaced = await loadViT(dir, { numLabels: 7, seed: 1 });
    expect(replaced.weights.get('classifier.bias')?.shape).toEqual([7]);
    expect(Array.from(replaced.weights.get('classifier.bias')!.dataSync())).toEqual(
      new Array(7).fill(0),
    );
    const query = 'vit.encoder.layer.0.attention.attention.query.weight';
    expect(Array.from(replaced.weights.get(query)!.dataSync())).toEqual(
      Array.from(vit.weights.get(query)!.dataSync()),
    );
    for (const model of [vit, kept, replaced]) model.dispose();
  });

  test('F16 and BF16 checkpoints are widened to F32', async () => {
    const vit = createViT(TINY, { seed: 3 });
    const bf16 = new Map<string, SafeTensor>();
    const f16 = new Map<string, SafeTensor>();
    const expected = new Map<string, Float32Array>();
    for (const [name, tensor] of tensorsOf(vit)) {
      const values = tensor.data as Float32Array;
      const bits = new Uint32Array(values.buffer.slice(0));
      // Truncation to bf16 and back is exact on the remaining bits.
      bf16.set(name, {
        dtype: 'BF16',
        shape: tensor.shape,
        data: Uint16Array.from(bits, (b) => b >>> 16),
      });
      expected.set(name, new Float32Array(bits.map((b) => b & 0xffff0000).buffer));
      // Half floats of simple values: 0, 1, -2.5, 0.099975586 (0x2e66), subnormal 2^-24.
      const halves = [0x0000, 0x3c00, 0xc100, 0x2e66, 0x0001];
      f16.set(name, {
        dtype: 'F16',
        shape: tensor.shape,
        data: Uint16Array.from({ length: values.length }, (_, i) => halves[i % halves.length]!),
      });
    }
    const config = vitConfigToJson(vit.config);
    const bf16Model = await loadViT(await writeCheckpoint(config, bf16));
    for (const [name, values] of weightValues(bf16Model)) {
      expect(Array.from(values)).toEqual(Array.from(expected.get(name)!));
    }
    const f16Model = await loadViT(await writeCheckpoint(config, f16));
    const halfValues = [0, 1, -2.5, 0.0999755859375, 2 ** -24];
    const query = f16Model.weights.get('vit.encoder.layer.0.attention.attention.query.weight')!;
    expect(Array.from(query.dataSync()).slice(0, 5)).toEqual(halfValues.map(Math.fround));
    for (const model of [vit, bf16Model, f16Model]) model.dispose();
  });
});

describe('loadViT rejects broken checkpoints, naming the file and the tensor or field', () => {
  let good: ViT;
  let config: Record<string, unknown>;
  beforeAll(() => {
    good = createViT(TINY, { seed: 1 });
    config = vitConfigToJson(good.config);
  });
  afterAll(() => good.dispose());

  async function expectRejected(dir: string, pattern: RegExp): Promise<void> {
    const attempt = loadViT(dir);
    await expect(attempt).rejects.toThrow(ViTFormatError);
    await expect(loadViT(dir)).rejects.toThrow(pattern);
  }

  test('a missing tensor', async () => {
    const tensors = tensorsOf(good);
    tensors.delete('vit.encoder.layer.1.attention.attention.key.bias');
    const dir = await writeCheckpoint(config, tensors);
    await expectRejected(
      dir,
      /model\.safetensors: tensor "vit\.encoder\.layer\.1\.attention\.attention\.key\.bias" is missing/,
    );
  });

  test('a missing tensor in a ViTModel checkpoint is named as the file names it', async () => {
    const tensors = new Map<string, SafeTensor>();
    for (const [name, tensor] of tensorsOf(good)) {
      if (!name.startsWith('classifier.')) tensors.set(name.slice(4), tensor);
    }
    tensors.delete('layernorm.bias');
    const dir = await writeCheckpoint(config, tensors);
    await expectRejected(dir, /tensor "layernorm\.bias" is missing/);
  });

  test('a tensor of the wrong shape', async () => {
    const tensors = tensorsOf(good);
    tensors.set('vit.encoder.layer.0.output.dense.weight', {
      dtype: 'F32',
      shape: [16, 8],
      data: new Float32Array(128),
    });
    const dir = await writeCheckpoint(config, tensors);
    await expectRejected(
      dir,
      /model\.safetensors: Expected shape \[8, 16\] \(from config\.json\) for tensor "vit\.encoder\.layer\.0\.output\.dense\.weight" but received \[16, 8\]/,
    );
  });

  test('a head that does not match config.json', async () => {
    const dir = await writeCheckpoint(
      { ...config, id2label: { '0': 'a', '1': 'b' }, label2id: undefined },
      tensorsOf(good),
    );
    await expectRejected(dir, /Expected shape \[2, 8\] .* for tensor "classifier\.weight"/);
  });

  test('an extra tensor', async () => {
    const tensors = tensorsOf(good);
    tensors.set('vit.encoder.layer.2.output.dense.bias', {
      dtype: 'F32',
      shape: [8],
      data: new Float32Array(8),
    });
    const dir = await writeCheckpoint(config, tensors);
    await expectRejected(
      dir,
      /1 tensor\(s\) that a ViT with this config\.json does not have: "vit\.encoder\.layer\.2\.output\.dense\.bias"/,
    );
  });

  test('an unsupported dtype', async () => {
    const tensors = tensorsOf(good);
    tensors.set('vit.layernorm.bias', { dtype: 'I32', shape: [8], data: new Int32Array(8) });
    const dir = await writeCheckpoint(config, tensors);
    await expectRejected(
      dir,
      /Expected dtype F32, F16 or BF16 for tensor "vit\.layernorm\.bias" but received I32/,
    );
  });

  const badConfigs: [string, Record<string, unknown>, RegExp][] = [
    [
      'hidden_act relu',
      { hidden_act: 'relu' },
      /config\.json: Expected "gelu" .* for hidden_act but received "relu"/,
    ],
    [
      'hidden_act gelu_pytorch_tanh',
      { hidden_act: 'gelu_pytorch_tanh' },
      /for hidden_act but received "gelu_pytorch_tanh"/,
    ],
    [
      'hidden_size a string',
      { hidden_size: 'eight' },
      /config\.json: Expected an integer ≥ 1 for hidden_size but received "eight"/,
    ],
    [
      'patch_size not dividing image_size',
      { patch_size: 3 },
      /Expected a multiple of patch_size \(3\) for image_size but received 8/,
    ],
    ['layer_norm_eps 0', { layer_norm_eps: 0 }, /for layer_norm_eps but received 0/],
    ['model_type', { model_type: 'deit' }, /Expected "vit" for model_type but received "deit"/],
    [
      'id2label keys',
      { id2label: { '0': 'a', '2': 'b' }, label2id: undefined },
      /Expected keys 0 … 1 in id2label but received "2"/,
    ],
    [
      'label2id contradicting id2label',
      { label2id: { cat: 1 } },
      /for label2id\["cat"\] but received 1/,
    ],
  ];
  test.each(badConfigs)('config.json: %s', async (_, change, pattern) => {
    const dir = await writeCheckpoint({ ...config, ...change }, tensorsOf(good));
    await expectRejected(dir, pattern);
  });

  test('config.json that is not JSON', async () => {
    const dir = await writeCheckpoint(config, tensorsOf(good));
    writeFileSync(join(dir, 'config.json'), '{"hidden_size": 8,');
    await expectRejected(dir, /config\.json: not valid JSON/);
  });

  test('a missing directory is the file system error', async () => {
    await expect(loadViT(join(root, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('failed loads leave no variables behind', async () => {
    const tensors = tensorsOf(good);
    tensors.delete('vit.layernorm.weight');
    const dir = await writeCheckpoint(config, tensors);
    const before = tf.memory().numTensors;
    await expect(loadViT(dir)).rejects.toThrow(ViTFormatError);
    expect(tf.memory().numTensors).toBe(before);
  });
});

test('saveViT output reads back with the generic safetensors reader', async () => {
  const vit = createViT(TINY, { seed: 9 });
  const dir = freshDir();
  await saveViT(dir, vit);
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  expect(tensors.size).toBe(vit.weights.size);
  vit.dispose();
});
