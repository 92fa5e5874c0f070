/**
 * `superlora finetune --init`: training starts from an existing adapter (its config, targets and
 * values) and, from a run folder, its head. At lr 0 nothing moves, so the written adapter and head
 * equal the ones it started from, bit for bit; at lr > 0 the adapter trains from there. Flags that
 * would choose another adapter are refused.
 */
import { mkdirSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { shippedModelDir } from '../../src/vit/shippedModel';
import { loadAdapter } from '../../src/io/adapterFile';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { readHeadFile, writeHeadFile } from '../../src/train/headFile';
import { ADAPTER_FILE, HEAD_FILE } from '../../src/train/outputFiles';
import { loadViT } from '../../src/vit/io';
import { cliIn } from '../cliRunner';
import { uniforms } from '../vit/tinyVit';

const dir = mkdtempSync(join(tmpdir(), 'superlora-finetune-init-'));
const cli = cliIn(dir);
const run = join(dir, 'start');
const quick = ['--batch-size', '8', '--train-size', '64', '--test-size', '32', '--eval-every', '0'];
let initial: Float32Array;

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const vit = await loadViT(shippedModelDir(), { numLabels: 10 });
  const adapter = ModelAdapter.create(vit, { grouping: 'weight', reshape: 'natural', rank: 2 });
  initial = uniforms(21, adapter.numParams).map((v) => v * 0.1);
  adapter.params.assign(tf.tensor1d(initial));
  mkdirSync(run);
  await adapter.save(join(run, ADAPTER_FILE));
  const hidden = vit.config.hiddenSize;
  await writeHeadFile(join(run, HEAD_FILE), {
    weight: { dtype: 'F32', shape: [10, hidden], data: uniforms(22, 10 * hidden) },
    bias: { dtype: 'F32', shape: [10], data: uniforms(23, 10) },
  });
  adapter.dispose();
  vit.dispose();
});

/** Fine-tunes one step at lr 0 from `init` into `out`; the adapter and head must come back unchanged. */
async function expectUnchangedAtLrZero(init: string, out: string, started: string): Promise<void> {
  const result = await cli(
    'finetune',
    '--init',
    init,
    '--steps',
    '1',
    '--lr',
    '0',
    ...quick,
    '--out',
    out,
  );
  expect(result.code).toBe(0);
  expect(result.stderr).toContain(started);
  const { plan, params } = await loadAdapter(join(dir, out, ADAPTER_FILE));
  expect(plan.config).toMatchObject({ grouping: 'weight', reshape: 'natural', rank: [2] });
  expect(params).toEqual(initial);
  const start = await readHeadFile(join(run, HEAD_FILE));
  const end = await readHeadFile(join(dir, out, HEAD_FILE));
  expect(end.weight.data).toEqual(start.weight.data);
  expect(end.bias.data).toEqual(start.bias.data);
  plan.dispose();
}

test('at lr 0 the run writes back the adapter and head it started from', () =>
  expectUnchangedAtLrZero(run, 'still', `starting from ${join(run, ADAPTER_FILE)} and its head`));

test('at lr > 0 the adapter trains from its initial values, with the same config and targets', async () => {
  const result = await cli(
    'finetune',
    '--init',
    join(run, ADAPTER_FILE),
    '--steps',
    '2',
    ...quick,
    '--out',
    'moved',
  );
  expect(result.code).toBe(0);
  const start = await loadAdapter(join(run, ADAPTER_FILE));
  const { plan, params } = await loadAdapter(join(dir, 'moved', ADAPTER_FILE));
  expect(plan.targets).toEqual(start.plan.targets);
  expect(plan.config).toEqual(start.plan.config);
  let moved = 0;
  for (let i = 0; i < params.length; i++)
    moved = Math.max(moved, Math.abs(params[i]! - initial[i]!));
  expect(moved).toBeGreaterThan(0);
  expect(moved).toBeLessThan(1); // two small steps from there, not a fresh start
  plan.dispose();
  start.plan.dispose();
});

test('a PEFT folder is taken as it is: at lr 0 the run writes back its adapter and head', async () => {
  const exported = await cli('peft', 'export', run, '--out', 'as-peft');
  expect(exported.code).toBe(0);
  await expectUnchangedAtLrZero(
    'as-peft',
    'from-peft',
    'starting from as-peft and its head as-peft',
  );
});

test('--init with --preset, --config or --targets is refused in one line', async () => {
  const result = await cli(
    'finetune',
    '--init',
    run,
    '--preset',
    'lora',
    '--targets',
    'query',
    '--out',
    'x',
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    `superlora: Expected no --preset or --targets with --init ${run}: the adapter's config and targets come from it\n`,
  );
});
