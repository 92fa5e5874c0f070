/**
 * Bad input files and settings through the CLI, as a user meets them: each is one line on stderr
 * naming what was wrong, exit 1, no stack; and help texts that say what their parsers accept.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-cli-input-'));
const cli = cliIn(dir);
const TARGETS = join(dir, 'targets.json');
writeFileSync(
  TARGETS,
  JSON.stringify([
    { name: 'q', shape: [8, 8], layer: 0 },
    { name: 'v', shape: [8, 8], layer: 0 },
  ]),
);

/** Runs `adapter init` with `config` as the --config file's text. */
async function initWith(config: string, out: string, targets = TARGETS) {
  const file = join(dir, `${out}.config.json`);
  writeFileSync(file, config);
  const out_ = join(dir, `${out}.safetensors`);
  const result = await cli(
    'adapter',
    'init',
    '--config',
    file,
    '--targets',
    targets,
    '--out',
    out_,
  );
  return { ...result, file, written: existsSync(out_) };
}

test('a --config file with a syntax error is one line naming the file, the line and the column', async () => {
  const result = await initWith('{\n  "order": 2,\n  rank: 4\n}\n', 'garbled');
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    `superlora: --config ${result.file} is not valid JSON: unexpected "r" at line 3, column 3\n`,
  );
  expect(result.written).toBe(false);
});

test('a --config file that starts with a UTF-8 byte order mark is read', async () => {
  const result = await initWith('\uFEFF{"order": 2, "rank": 2}', 'bom');
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.written).toBe(true);
});

test.each([
  ['{"order":12,"grouping":1,"rank":8}', 'config.order 12 and config.rank 8', '68719476\\d{3}'],
  ['{"order":50}', 'config.order 50 and config.rank 4', '2\\.535\\d+e\\+30'],
])(
  '%s: a parameter count no engine can hold is refused naming the settings',
  async (config, settings, count) => {
    const result = await initWith(config, 'huge');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^superlora: Expected at most 2\\^31 − 1 adapter parameters for ${settings} .*but received ${count}: lower config\\.order or config\\.rank\\n$`,
      ),
    );
  },
);

test('a target named __metadata__ is refused by adapter init, naming its index', async () => {
  const targets = join(dir, 'reserved.json');
  writeFileSync(
    targets,
    JSON.stringify([
      { name: 'q', shape: [8, 8], layer: 0 },
      { name: '__metadata__', shape: [8, 8], layer: 0 },
    ]),
  );
  const result = await initWith('{"order": 2, "rank": 2}', 'reserved', targets);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    'superlora: Expected a name other than "__metadata__" (safetensors reserves that key for metadata) for targets[1].name but received "__metadata__"\n',
  );
  expect(result.written).toBe(false);
});

test('bench memory --engine: the help names every engine the parser takes', async () => {
  const help = await cli('bench', 'memory', '--help');
  expect(help.stdout.replace(/\s+/g, ' ')).toContain('ΔW engine: auto, tfjs, native or cuda');
  const bad = await cli('bench', 'memory', '--engine', 'gpu');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('Expected one of auto, tfjs, native, cuda but received "gpu"');
});
