/**
 * `--out` paths that cannot be written, through the compiled CLI as a user runs it: one line on
 * stderr naming the path the user gave (never the temporary file behind it), exit 1, nothing
 * written; a missing parent folder is created; temporaries left by a killed run are cleaned up.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { cliIn, type CliResult } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-cli-out-'));
const cli = cliIn(dir);

writeFileSync(join(dir, 'targets.json'), JSON.stringify([{ name: 'a', shape: [8, 8], layer: 0 }]));

/** `adapter init` of a LoRA adapter for targets.json, written to `out`. */
function initArgs(out: string): string[] {
  return ['adapter', 'init', '--preset', 'lora', '--targets', 'targets.json', '--out', out];
}

/** The user error the project standard asks for: exit 1 and exactly one line, no stack. */
function expectOneLineError(result: CliResult, text: string): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([`superlora: ${text}`]);
}

beforeAll(async () => {
  const made = await cli(...initArgs('adapter.safetensors'));
  expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: '' });
});

describe('an --out that is a directory', () => {
  test.each(['.', '/'])('adapter init --out %s is refused in one line', async (out) => {
    const before = readdirSync(dir).sort();
    const result = await cli(...initArgs(out));
    expectOneLineError(result, `Cannot write ${out}: it is a directory, expected a file name`);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  test('delta --out DIR is refused in one line naming DIR', async () => {
    mkdirSync(join(dir, 'somedir'), { recursive: true });
    const result = await cli('delta', 'adapter.safetensors', '--out', 'somedir');
    expectOneLineError(result, 'Cannot write somedir: it is a directory, expected a file name');
    expect(readdirSync(join(dir, 'somedir'))).toEqual([]);
  });
});

describe('errors name the path given, not the temporary file', () => {
  test('an empty --out', async () => {
    const result = await cli('delta', 'adapter.safetensors', '--out', '');
    expectOneLineError(result, 'Cannot write an empty path: expected a file name');
  });

  test('a file where a folder should be', async () => {
    const result = await cli('delta', 'adapter.safetensors', '--out', 'targets.json/x.safetensors');
    expectOneLineError(
      result,
      'Cannot write targets.json/x.safetensors: targets.json is not a folder',
    );
    expect(result.stderr).not.toContain('.tmp-');
  });
});

test('delta and adapter init create a missing parent folder, as the training commands do for their run folders', async () => {
  const delta = await cli('delta', 'adapter.safetensors', '--out', 'new/deeper/delta.safetensors');
  expect({ code: delta.code, stderr: delta.stderr }).toEqual({ code: 0, stderr: '' });
  expect(readdirSync(join(dir, 'new', 'deeper'))).toEqual(['delta.safetensors']);
  const init = await cli(...initArgs('other/adapter.safetensors'));
  expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: '' });
  expect(readdirSync(join(dir, 'other'))).toEqual(['adapter.safetensors']);
});

test('delta removes the temporaries a killed delta left beside its --out', async () => {
  const child = spawnSync(process.execPath, ['-e', '']);
  const stale = `stale.safetensors.tmp-${child.pid}-0123456789ab`;
  mkdirSync(join(dir, 'stale'));
  writeFileSync(join(dir, 'stale', stale), Buffer.alloc(1024));
  const result = await cli('delta', 'adapter.safetensors', '--out', 'stale/stale.safetensors');
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(readdirSync(join(dir, 'stale'))).toEqual(['stale.safetensors']);
});
