/**
 * `superlora peft export | import` as a user runs them: a finetune-style folder (adapter + head
 * with label names) goes to a PEFT LoRA folder and back, and the model merged from the round
 * trip equals the model merged from the original, head and labels included. Bad input exits 1
 * with one line.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import type { SuperLoraConfig } from '../../src/config';
import { PEFT_CONFIG_FILE } from '../../src/io/peftFile';
import { readSafetensors } from '../../src/io/safetensors';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { writeHeadFile } from '../../src/train/headFile';
import { ADAPTER_FILE, HEAD_FILE } from '../../src/train/outputFiles';
import { loadViT, saveViT } from '../../src/vit/io';
import { cliIn } from '../cliRunner';
import { maxAbsDiff, randomizedViT, TINY, uniforms } from '../vit/tinyVit';

const dir = mkdtempSync(join(tmpdir(), 'superlora-peft-cli-'));
const cli = cliIn(dir);
const modelDir = join(dir, 'base');
const labels = ['zero', 'one', 'two'];

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const base = randomizedViT(TINY, 3);
  await saveViT(modelDir, base);
  const hidden = base.config.hiddenSize;
  const runs: Array<[string, SuperLoraConfig]> = [
    ['run-2d', { grouping: 1, rank: 2 }],
    ['run-lora', { grouping: 'weight', reshape: 'natural', rank: 2 }],
    ['run-lokr', { grouping: 'weight', reshape: 'natural', splits: 2, rank: ['full', 2] }],
  ];
  for (const [name, config] of runs) {
    const adapter = ModelAdapter.create(base, config);
    adapter.params.assign(tf.tensor1d(uniforms(11, adapter.numParams)));
    mkdirSync(join(dir, name));
    await adapter.save(join(dir, name, ADAPTER_FILE));
    await writeHeadFile(join(dir, name, HEAD_FILE), {
      weight: { dtype: 'F32', shape: [3, hidden], data: uniforms(12, 3 * hidden) },
      bias: { dtype: 'F32', shape: [3], data: uniforms(13, 3) },
      labels,
    });
    adapter.dispose();
  }
  base.dispose();
});

test.each([
  ['run-2d', ['--tolerance', '1e-6'], 'truncated SVD of each ΔW'],
  ['run-lora', [], 'LORA modules, r = 2 (the adapter’s own factors)'],
  ['run-lokr', [], 'LOKR modules, r = 2 (the adapter’s own factors)'],
])('%s → PEFT → SuperLoRA merges into the same model as the original', async (run, flags, how) => {
  const exported = await cli('peft', 'export', run, '--out', `${run}-peft`, ...flags);
  expect(exported.stderr).toBe('');
  expect(exported.code).toBe(0);
  expect(exported.stdout).toContain(how);
  expect(exported.stdout).toContain('and the classifier head as modules_to_save');
  const imported = await cli('peft', 'import', `${run}-peft`, '--out', `${run}-back`);
  expect(imported.code).toBe(0);
  expect(imported.stdout).toMatch(
    new RegExp(`^Wrote ${run}-back: adapter.safetensors \\((LORA|LOKR) on 4 targets as `),
  );

  // merge takes the PEFT folder itself as well as the imported adapter.
  for (const [adapter, out] of [
    [run, `${run}-merged`],
    [`${run}-back`, `${run}-back-merged`],
    [`${run}-peft`, `${run}-peft-merged`],
  ]) {
    const merged = await cli('merge', '--model', modelDir, '--adapter', adapter!, '--out', out!);
    expect(merged.code).toBe(0);
  }
  const original = await readSafetensors(join(dir, `${run}-merged`, 'model.safetensors'));
  for (const merged of [`${run}-back-merged`, `${run}-peft-merged`]) {
    const roundTrip = await readSafetensors(join(dir, merged, 'model.safetensors'));
    for (const [name, tensor] of original.tensors) {
      expect(
        maxAbsDiff(roundTrip.tensors.get(name)!.data as Float32Array, tensor.data as Float32Array),
      ).toBeLessThan(1e-5);
    }
  }
  for (const merged of [`${run}-back-merged`, `${run}-peft-merged`]) {
    const model = await loadViT(join(dir, merged));
    expect(model.config.id2label).toEqual(labels);
    model.dispose();
  }
});

test('adapter show and delta read a PEFT folder as the SuperLoRA adapter it converts to', async () => {
  expect((await cli('peft', 'export', 'run-lokr', '--out', 'show-peft')).code).toBe(0);
  const shown = await cli('adapter', 'show', 'show-peft', '--json');
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout).config).toMatchObject({ splits: 2, reshape: 'natural' });
  for (const [adapter, out] of [
    ['run-lokr', 'delta-own.safetensors'],
    ['show-peft', 'delta-peft.safetensors'],
  ]) {
    expect((await cli('delta', adapter!, '--out', out!, '--engine', 'tfjs')).code).toBe(0);
  }
  const own = await readSafetensors(join(dir, 'delta-own.safetensors'));
  const peft = await readSafetensors(join(dir, 'delta-peft.safetensors'));
  expect([...peft.tensors.keys()]).toEqual([...own.tensors.keys()]);
  for (const [name, tensor] of own.tensors) {
    expect(
      maxAbsDiff(peft.tensors.get(name)!.data as Float32Array, tensor.data as Float32Array),
    ).toBeLessThan(1e-6);
  }
});

test('bad input exits 1 with one line naming the fault', async () => {
  const ia3 = join(dir, 'ia3');
  mkdirSync(ia3);
  writeFileSync(join(ia3, PEFT_CONFIG_FILE), JSON.stringify({ peft_type: 'IA3' }));
  const wrongType = await cli('peft', 'import', 'ia3', '--out', 'x');
  expect(wrongType.code).toBe(1);
  expect(wrongType.stderr).toBe(
    `superlora: ${join('ia3', PEFT_CONFIG_FILE)}: Expected peft_type "LORA" or "LOKR" but received "IA3": only PEFT LoRA and LoKr adapters can be converted\n`,
  );
  const badRank = await cli('peft', 'export', 'run-2d', '--out', 'y', '--rank', '0');
  expect(badRank.code).toBe(1);
  expect(badRank.stderr).toContain('Expected an integer in [1, 65536] but received "0"');
  const missing = await cli('peft', 'export', 'nowhere.safetensors', '--out', 'z');
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  expect(missing.stderr).toContain('nowhere.safetensors');
});

test('--rank with --tolerance or --uniform-rank is refused: one fixes the rank, the other chooses it', async () => {
  for (const [flag, ...value] of [['--tolerance', '0.1'], ['--uniform-rank']] as const) {
    const both = await cli(
      'peft',
      'export',
      'run-2d',
      '--out',
      'both',
      '--rank',
      '2',
      flag,
      ...value,
    );
    expect(both.code).toBe(1);
    expect(both.stderr).toBe(
      `superlora: Expected --rank or ${flag}, not both: --rank fixes every module's rank, ${flag} chooses it\n`,
    );
  }
});

test('peft import of a folder without a head removes the head an earlier import left in --out', async () => {
  const withHead = await cli('peft', 'export', 'run-lora', '--out', 'with-head-peft');
  expect(withHead.code).toBe(0);
  const imported = await cli('peft', 'import', 'with-head-peft', '--out', 'reused');
  expect(imported.stdout).toContain(`and ${HEAD_FILE}`);
  expect(existsSync(join(dir, 'reused', HEAD_FILE))).toBe(true);
  // The same adapter without its head: a PEFT folder of the bare adapter file.
  const bare = await cli('peft', 'export', join('run-lora', ADAPTER_FILE), '--out', 'bare-peft');
  expect(bare.code).toBe(0);
  const again = await cli('peft', 'import', 'bare-peft', '--out', 'reused');
  expect(again.code).toBe(0);
  expect(again.stdout).not.toContain(HEAD_FILE);
  expect(existsSync(join(dir, 'reused', HEAD_FILE))).toBe(false);
});
