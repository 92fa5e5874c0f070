/**
 * resvg (PNG output) is a native package with a binary per platform: where it cannot load, the
 * package still loads, SVG output works, `superlora plot --out x.png` fails with one line that
 * says why, `finetune --find-lr` draws its plot as SVG instead, and a sweep writes its SVG plots
 * and says the PNG was not drawn.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { formatResultsJsonl } from '../../src/sweep/results';
import { sweepRow } from '../sweep/sweepRow';
import { cliIn } from '../cliRunner';

const root = join(__dirname, '..', '..');
const hideResvg = join(__dirname, 'fixtures', 'hideResvg.js');
const dir = mkdtempSync(join(tmpdir(), 'superlora-no-png-'));

const results = [sweepRow('lora-r1', 'LoRA', 1024, 0.5), sweepRow('lora-r4', 'LoRA', 4096, 0.55)];

test("require('superlora') loads no resvg", () => {
  const loaded = execFileSync(
    process.execPath,
    [
      '-e',
      "require('./dist'); console.log(Object.keys(require.cache).filter((f) => f.includes('resvg')).length)",
    ],
    { cwd: root, encoding: 'utf8' },
  );
  expect(loaded.trim()).toBe('0');
});

test('without resvg, plot writes SVG and refuses PNG in one line', async () => {
  const cli = cliIn(dir, { NODE_OPTIONS: `--require ${hideResvg}` });
  const resultsPath = join(dir, 'results.jsonl');
  writeFileSync(resultsPath, formatResultsJsonl(results));

  const svg = await cli('plot', resultsPath, '--out', join(dir, 'plot.svg'));
  expect(svg.code).toBe(0);
  expect(readFileSync(join(dir, 'plot.svg'), 'utf8').startsWith('<svg')).toBe(true);

  const png = await cli('plot', resultsPath, '--out', join(dir, 'plot.png'));
  expect(png.code).toBe(1);
  expect(png.stderr.trim().split('\n')).toEqual([
    `superlora: PNG plots need @resvg/resvg-js's binary for ${process.platform}-${process.arch}, ` +
      `which did not load (Cannot find module '@resvg/resvg-js-${process.platform}-${process.arch}'); ` +
      'install it (npm install @resvg/resvg-js) or write .svg instead',
  ]);
  expect(existsSync(join(dir, 'plot.png'))).toBe(false);
});

test('without resvg, finetune --find-lr draws lr-find.svg and says why', async () => {
  const cli = cliIn(dir, { NODE_OPTIONS: `--require ${hideResvg}` });
  const out = join(dir, 'lr-find');
  const quick = ['--batch-size', '8', '--train-size', '64', '--test-size', '16'];
  const { code, stdout, stderr } = await cli('finetune', '--find-lr', '5', ...quick, '--out', out);
  expect(code).toBe(0);
  expect(stderr).toMatch(/^lr-find\.png not drawn: PNG plots need @resvg\/resvg-js's binary/m);
  expect(stdout).toContain(
    `written             ${join(out, 'lr-find.json')}, ${join(out, 'lr-find.svg')}`,
  );
  expect(readFileSync(join(out, 'lr-find.svg'), 'utf8').startsWith('<svg')).toBe(true);
  expect(existsSync(join(out, 'lr-find.png'))).toBe(false);
});

test('without resvg, a sweep writes its SVG plots and says the PNG was not drawn', async () => {
  const sweepDir = mkdtempSync(join(tmpdir(), 'superlora-no-png-sweep-'));
  const lines: string[] = [];
  await jest.isolateModulesAsync(async () => {
    jest.doMock('@resvg/resvg-js', () => {
      throw new Error("Cannot find module '@resvg/resvg-js-linux-riscv64-gnu'");
    });
    const { writeSweepPlots } = await import('../../src/sweep/renderPlot');
    await writeSweepPlots(sweepDir, results, 'title', (line) => lines.push(line));
  });
  expect(readFileSync(join(sweepDir, 'accuracy-vs-params.svg'), 'utf8')).toContain('>title</text>');
  expect(existsSync(join(sweepDir, 'accuracy-vs-params.png'))).toBe(false);
  expect(lines).toEqual([
    expect.stringMatching(
      /^accuracy-vs-params\.png not drawn: PNG plots need @resvg\/resvg-js's binary for .*\(Cannot find module '@resvg\/resvg-js-linux-riscv64-gnu'\)/,
    ),
  ]);
});
