/**
 * An --out that names one of the command's own inputs, through the compiled CLI: refused in one
 * line before anything is read or written, whatever path, symbolic link or hard link leads to the
 * input, and the input is left byte for byte as it was.
 */
import { linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { shippedModelDir } from '../../src/vit/shippedModel';
import { cliIn, type CliResult } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-out-over-input-'));
const cli = cliIn(dir);
const run = join(dir, 'run');
const adapter = join(run, 'adapter.safetensors');

beforeAll(async () => {
  writeFileSync(
    join(dir, 'targets.json'),
    JSON.stringify([{ name: 'a', shape: [8, 8], layer: 0 }]),
  );
  mkdirSync(run);
  const made = await cli(
    ...['adapter', 'init', '--preset', 'lora', '--targets', 'targets.json', '--out', adapter],
  );
  expect(made.code).toBe(0);
});

/** Runs the command and expects the one-line refusal naming `overwritten` and its flag, with `kept` unchanged. */
async function expectRefused(
  args: string[],
  overwritten: string,
  flag: string,
  kept: string,
): Promise<CliResult> {
  const before = readFileSync(kept);
  const result = await cli(...args);
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^superlora: Expected --out to leave the inputs alone, but writing /);
  expect(lines[0]).toContain(`would overwrite ${overwritten}`);
  expect(lines[0]).toContain(`which ${flag} reads`);
  expect(readFileSync(kept).equals(before)).toBe(true);
  return result;
}

test('delta --out the adapter file inside the run folder it reads', async () => {
  await expectRefused(
    ['delta', 'run', '--out', 'run/adapter.safetensors'],
    'run/adapter.safetensors',
    'ADAPTER',
    adapter,
  );
});

test('delta --out a hard link to the adapter file', async () => {
  linkSync(adapter, join(dir, 'hard.safetensors'));
  await expectRefused(['delta', adapter, '--out', 'hard.safetensors'], adapter, 'ADAPTER', adapter);
});

test('adapter init --out its own --targets file', async () => {
  const targets = join(dir, 'targets.json');
  await expectRefused(
    ['adapter', 'init', '--preset', 'lora', '--targets', 'targets.json', '--out', 'targets.json'],
    'targets.json',
    '--targets',
    targets,
  );
});

test('merge --out a symbolic link to the base model folder', async () => {
  const model = shippedModelDir();
  symlinkSync(model, join(dir, 'model-link'));
  await expectRefused(
    ['merge', '--model', model, '--adapter', 'run', '--out', 'model-link'],
    join(model, 'config.json'),
    '--model',
    join(model, 'model.safetensors'),
  );
});

test('predict --out the image it reads, and peft export --out the PEFT folder it reads', async () => {
  const image = join(dir, 'digit.png');
  writeFileSync(image, 'not decoded: refused before reading');
  await expectRefused(
    ['predict', '--model', shippedModelDir(), '--images', 'digit.png', '--out', 'digit.png'],
    'digit.png',
    '--images',
    image,
  );
  const exported = await cli('peft', 'export', 'run', '--out', 'peft');
  expect(exported.code).toBe(0);
  await expectRefused(
    ['peft', 'export', 'peft', '--out', 'peft', '--lora'],
    'peft/adapter_config.json',
    'ADAPTER',
    join(dir, 'peft', 'adapter_model.safetensors'),
  );
});

test('an --out beside the inputs is written as before', async () => {
  const result = await cli('delta', 'run', '--out', 'run/delta.safetensors');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('Wrote run/delta.safetensors');
});
