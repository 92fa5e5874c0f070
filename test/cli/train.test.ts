/**
 * `superlora pretrain`, `finetune` and `--resume` as a user runs them (`node bin/superlora.js` on
 * the compiled package), with tiny step counts in a temporary folder: exit codes, the printed
 * parameter counts against createPlan, the files written, a killed run resumed from its checkpoint,
 * and one-line errors for bad flags.
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FINETUNE_DEFAULTS } from '../../src/cli/commands/finetune';
import { shippedModelDir } from '../../src/vit/shippedModel';
import { createPlan } from '../../src/createPlan';
import { loadAdapter } from '../../src/io/adapterFile';
import { readSafetensors } from '../../src/io/safetensors';
import { presetConfig } from '../../src/presets';
import { DEFAULT_TARGET_PATTERNS, selectTargets } from '../../src/tfjs/modelAdapter';
import { loadViT } from '../../src/vit/io';
import { BIN, cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-cli-train-'));

const cli = cliIn(dir);

/** The value printed after `label` (and at least two spaces) on a line of the table output. */
function printed(stdout: string, label: string): string {
  const match = new RegExp(`^${label}\\s{2,}(\\S+)`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
  return match[1] as string;
}

interface LogRecord {
  kind: string;
  step: number;
  loss: number;
  [field: string]: unknown;
}

function readLog(runDir: string): LogRecord[] {
  const path = join(runDir, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return []; // a line being written
      }
    });
}

/** Quick fine-tuning flags: the shipped model, few small steps on a subset. */
const QUICK = [
  '--batch-size',
  '8',
  '--train-size',
  '200',
  '--test-size',
  '50',
  '--eval-every',
  '0',
];

describe('superlora pretrain and finetune end to end', () => {
  test('pretrain writes a loadable model folder and prints its parameter count', async () => {
    const out = join(dir, 'pretrained');
    const { code, stdout, stderr } = await cli(
      'pretrain',
      '--dataset',
      'mnist',
      '--steps',
      '3',
      '--batch-size',
      '8',
      '--hidden',
      '16',
      '--layers',
      '1',
      '--heads',
      '2',
      '--mlp',
      '32',
      '--train-size',
      '64',
      '--test-size',
      '32',
      '--out',
      out,
    );
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const vit = await loadViT(out);
    try {
      expect(vit.config).toMatchObject({ hiddenSize: 16, numHiddenLayers: 1, numLabels: 10 });
      const params = [...vit.weights.values()].reduce((sum, weight) => sum + weight.size, 0);
      expect(Number(printed(stdout, 'model parameters'))).toBe(params);
    } finally {
      vit.dispose();
    }
    expect(printed(stdout, 'test accuracy')).toMatch(/^\d+\.\d\d%$/);
  });

  test('finetune prints the plan’s adapter and head parameter counts and writes a loadable adapter', async () => {
    const out = join(dir, 'finetuned');
    const { code, stdout, stderr } = await cli('finetune', '--steps', '3', ...QUICK, '--out', out);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });

    const vit = await loadViT(shippedModelDir(), { numLabels: 10 });
    const targets = selectTargets(vit, DEFAULT_TARGET_PATTERNS);
    const plan = createPlan(presetConfig(FINETUNE_DEFAULTS.preset), targets);
    const headParams = vit.config.hiddenSize * 10 + 10;
    vit.dispose();
    expect(Number(printed(stdout, 'adapter parameters'))).toBe(plan.numParams);
    expect(Number(printed(stdout, 'head parameters'))).toBe(headParams);
    expect(printed(stdout, 'test accuracy')).toMatch(/^\d+\.\d\d%$/);

    const adapterPath = printed(stdout, 'adapter');
    expect(adapterPath).toBe(join(out, 'adapter.safetensors'));
    const loaded = await loadAdapter(adapterPath);
    expect(loaded.plan.numParams).toBe(plan.numParams);
    expect(loaded.plan.targets).toEqual(plan.targets);
    expect(loaded.params).toHaveLength(plan.numParams);
    expect(loaded.params.every(Number.isFinite)).toBe(true);
    // Three steps moved the adapter away from its initialisation (ΔW = 0 there).
    const delta = await loaded.plan.delta(loaded.params, { engine: 'tfjs' });
    expect(delta.some((value) => value !== 0)).toBe(true);
    loaded.plan.dispose();
    plan.dispose();

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ adapterParams: plan.numParams, headParams, steps: 3 });
    expect(existsSync(printed(stdout, 'head'))).toBe(true);
  });

  test('finetune --optimizer adamw --schedule cosine --max-grad-norm --flip --random-resized-crop --color-jitter --gradient-accumulation-steps: the log shows the warm-up, the decay and the norms', async () => {
    const out = join(dir, 'adamw');
    const args = ['--optimizer', 'adamw', '--lr', '0.01', '--schedule', 'cosine'];
    const { code, stderr } = await cli(
      'finetune',
      '--steps',
      '4',
      ...QUICK,
      ...args,
      '--warmup-ratio',
      '0.5',
      '--max-grad-norm',
      '0.1',
      '--flip',
      '--random-resized-crop',
      '0.5',
      '--color-jitter',
      '0.4',
      '--gradient-accumulation-steps',
      '2',
      '--out',
      out,
    );
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const steps = readLog(out).filter((record) => record.kind === 'train');
    // Each step's accuracy is over its 2 batches of 8 images.
    for (const record of steps) {
      expect((record.accuracy as number) * 16).toBeCloseTo(
        Math.round((record.accuracy as number) * 16),
        9,
      );
    }
    // 2 warm-up steps from 0, then a half cosine over the other 2: 0, 0.005, 0.01, 0.005.
    expect(steps.map((record) => record.lr)).toEqual(
      [0, 0.005, 0.01, 0.005].map((lr) => expect.closeTo(lr, 12)),
    );
    for (const record of steps) expect(record.gradNorm).toBeGreaterThan(0);
    // The checkpoint holds AdamW's moments of every trained variable.
    const { tensors, metadata } = await readSafetensors(join(out, 'checkpoint.safetensors'));
    // The run is keyed by its optimization and its flips, so a resume with other ones is refused.
    expect(JSON.parse(metadata.runKey!)).toMatchObject({
      optimizer: 'adamw',
      lr: 0.01,
      schedule: 'cosine',
      warmupRatio: 0.5,
      maxGradNorm: 0.1,
      gradientAccumulationSteps: 2,
      horizontalFlip: true,
      randomResizedCrop: [0.5, 1],
      colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0 },
    });
    expect([...tensors.keys()].sort()).toEqual(
      ['adapter', 'classifier.bias', 'classifier.weight']
        .flatMap((name) => [`exp_avg/${name}`, `exp_avg_sq/${name}`, `param/${name}`])
        .sort(),
    );
  });

  test('finetune --validation-size --keep-best: validation during training, the test set once, on the kept weights', async () => {
    const out = join(dir, 'validated');
    const { code, stdout, stderr } = await cli(
      'finetune',
      '--steps',
      '4',
      ...QUICK.filter((flag, i) => flag !== '--eval-every' && QUICK[i - 1] !== '--eval-every'),
      '--eval-every',
      '2',
      '--validation-size',
      '40',
      '--keep-best',
      '--out',
      out,
    );
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const evals = readLog(out).filter((record) => record.kind === 'eval');
    expect(evals.map((record) => [record.split, record.step])).toEqual([
      ['validation', 1],
      ['validation', 3],
      ['test', 3],
    ]);
    const validation = evals.slice(0, 2).map((record) => record.accuracy as number);
    const bestStep = validation[1]! > validation[0]! ? 4 : 2;
    const kept = `(weights of step ${bestStep})`;
    expect(stdout).toContain(
      `validation accuracy ${(100 * Math.max(...validation)).toFixed(2)}% ${kept}`,
    );
    expect(stdout).toContain(
      `test accuracy       ${(100 * (evals[2]!.accuracy as number)).toFixed(2)}% ${kept}`,
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    // The validation accuracy of the kept weights: the best one.
    expect(summary).toMatchObject({ bestStep, validationAccuracy: Math.max(...validation) });
    expect(summary.accuracy).toBe(evals[2]!.accuracy);
  });

  test('finetune --find-lr runs the range test: rates from --find-lr-from to --find-lr-to, the suggestion, JSON and plot', async () => {
    const out = join(dir, 'lr-find');
    const args = ['--find-lr', '30', '--find-lr-from', '1e-4', '--find-lr-to', '1'];
    const { code, stdout, stderr } = await cli('finetune', ...args, ...QUICK, '--out', out);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^steepest fall {7}lr \S+ {2}\(suggested\)$/m);
    expect(stdout).toContain(
      `written             ${join(out, 'lr-find.json')}, ${join(out, 'lr-find.png')}`,
    );
    const found = JSON.parse(readFileSync(join(out, 'lr-find.json'), 'utf8'));
    expect(found.points).toHaveLength(30);
    expect(found.points[0].lr).toBeCloseTo(1e-4, 12);
    expect(found.points[29].lr).toBeCloseTo(1, 9);
    // The rates the log shows are the test's, one per step.
    const logged = readLog(out).filter((record) => record.kind === 'train');
    expect(logged.map((record) => record.lr)).toEqual(
      found.points.map((point: { lr: number }) => expect.closeTo(point.lr, 12)),
    );
    expect(readFileSync(join(out, 'lr-find.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
    // No adapter, evaluation or checkpoint: the range test's weights are not a result.
    expect(existsSync(join(out, 'adapter.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
    expect(readLog(out).filter((record) => record.kind !== 'train')).toEqual([]);
  });

  test('a killed finetune resumed with --resume continues at the step after its checkpoint and ends as the uninterrupted run', async () => {
    const steps = 24;
    const args = (out: string) => [
      'finetune',
      '--steps',
      String(steps),
      ...QUICK,
      '--checkpoint-every',
      '4',
      '--out',
      out,
      '--json',
    ];
    const straightDir = join(dir, 'straight');
    const straight = await cli(...args(straightDir));
    expect(straight.code).toBe(0);

    // Killed (SIGKILL: no chance to tidy up) once the log shows a step past a checkpoint.
    const killedDir = join(dir, 'killed');
    const child = spawn(process.execPath, [BIN, ...args(killedDir)], {
      cwd: dir,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    let killed = false;
    while (child.exitCode === null && !killed) {
      if (readLog(killedDir).some((record) => record.kind === 'train' && record.step >= 5)) {
        killed = child.kill('SIGKILL');
      } else {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await exited;
    expect(killed).toBe(true);
    const stepsLogged = readLog(killedDir).filter((record) => record.kind === 'train').length;
    expect(stepsLogged).toBeLessThan(steps);

    const resumed = await cli(...args(killedDir), '--resume');
    expect(resumed.code).toBe(0);
    const match = /resumed from \S+ after (\d+) steps/.exec(resumed.stderr);
    expect(match).not.toBeNull();
    const checkpointStep = Number(match?.[1]);
    expect(checkpointStep % 4).toBe(0);
    expect(checkpointStep).toBeGreaterThanOrEqual(4);
    expect(checkpointStep).toBeLessThanOrEqual(stepsLogged);

    // The log reads as one run: steps 0 … steps-1 once each, the resumed part continuing at the
    // checkpoint's step (record steps count from 0, so that is step N + 1 of the run).
    const straightLog = readLog(straightDir);
    const resumedLog = readLog(killedDir);
    expect(resumedLog.map((record) => [record.kind, record.step])).toEqual(
      straightLog.map((record) => [record.kind, record.step]),
    );
    const close = (a: number, b: number) =>
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));
    resumedLog.forEach((record, i) => close(record.loss, (straightLog[i] as LogRecord).loss));
    const final = JSON.parse(resumed.stdout);
    const expected = JSON.parse(straight.stdout);
    expect(final.steps).toBe(steps);
    close(final.loss, expected.loss);
    close(final.accuracy, expected.accuracy);
  });
});

describe('bad flags', () => {
  test.each([
    [['finetune', '--steps', '0'], /--steps.*"0"/],
    [['finetune', '--lr', 'fast'], /--lr.*"fast"/],
    [['finetune', '--batch-size', '2.5'], /--batch-size.*"2.5"/],
    [['finetune', '--dataset', 'imagenet'], /--dataset.*"imagenet"/],
    [['finetune', '--engine', 'gpu'], /--engine.*"gpu"/],
    [['finetune', '--stpes', '3'], /unknown option '--stpes'/],
    [['finetune', '--preset', 'lora', '--config', 'x.json'], /--preset NAME or --config FILE/],
    [['finetune', '--preset', 'qlora'], /preset.*"qlora"/],
    [['pretrain', '--hidden', '0'], /--hidden.*"0"/],
    [['pretrain', '--heads', '3'], /--hidden.*64.*--heads.*3/],
    [['pretrain', '--patch-size', '5'], /--image-size.*28.*--patch-size.*5/],
    [['pretrain', '--momentum', '2'], /--momentum.*"2"/],
    [['finetune', '--optimizer', 'lion'], /--optimizer.*sgd, adamw.*"lion"/],
    [
      ['finetune', '--optimizer', 'adamw', '--momentum', '0.8'],
      /no --momentum with --optimizer adamw$/,
    ],
    [['finetune', '--momentum', '0.8'], /no --momentum with --optimizer adamw \(the default/],
    [
      ['sweep', '--grid', 'paper-core', '--optimizer', 'sgd', '--adam-beta2', '0.99'],
      /no --adam-beta2 with --optimizer sgd/,
    ],
    [['finetune', '--schedule', 'step'], /--schedule.*"step"/],
    [['finetune', '--warmup-ratio', '1.5'], /--warmup-ratio.*"1.5"/],
    [['finetune', '--max-grad-norm', '-1'], /--max-grad-norm.*"-1"/],
    [['finetune', '--gradient-accumulation-steps', '0'], /--gradient-accumulation-steps.*"0"/],
    [['finetune', '--keep-best'], /Expected --validation-size with --keep-best/],
    [['finetune', '--random-resized-crop', '0'], /0 < min ≤ max for --random-resized-crop/],
    [['finetune', '--random-resized-crop', '0.6,0.5'], /0 < min ≤ max.*received 0.6,0.5/],
    [['finetune', '--random-resized-crop', '1.5'], /--random-resized-crop.*"1.5"/],
    [['finetune', '--color-jitter', '0.1,0.2'], /1, 3 or 4 values .* --color-jitter/],
    [['finetune', '--color-jitter', '0.1,0.1,0.1,0.7'], /hue shift in \[0, 0.5\].*0.7/],
    [
      ['finetune', '--no-augment', '--color-jitter', '0.4'],
      /no --no-augment with --random-resized-crop or --color-jitter/,
    ],
    [
      ['finetune', '--find-lr-to', '0.5'],
      /^superlora: Expected --find-lr with --find-lr-from \/ --find-lr-to: they set the range test’s rates/,
    ],
    [
      ['sweep', '--grid', 'paper-core', '--seeds', '1', '2', '--seed', '3'],
      /^superlora: Expected --seeds or --seed, not both/,
    ],
    [
      ['finetune', '--validation-size', '10', '--early-stopping-patience', '2'],
      /Expected --keep-best and --eval-every N with --early-stopping-patience/,
    ],
  ])('%j exits 1 with one error line naming the flag', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args, '--out', join(dir, 'never'));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const [first, ...rest] = stderr.trim().split('\n');
    expect(first).toMatch(message);
    // Commander may add hints such as "(run with --help for usage)"; nothing else, no stack.
    for (const line of rest) expect(line).toMatch(/^\(.*\)$/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
