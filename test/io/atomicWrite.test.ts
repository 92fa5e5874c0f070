import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { spawnSync } from 'node:child_process';

import { checkOutputPath, removeStaleTemporaries, writeFileAtomic } from '../../src/io/atomicWrite';

/** An error as fs.rename throws it. */
function renameError(code: string, reason: string, from: string, to: string): Error {
  return Object.assign(new Error(`${code}: ${reason}, rename '${from}' -> '${to}'`), {
    code,
    syscall: 'rename',
  });
}

/** Runs `body` with process.platform reading `platform`, then restores it. */
async function withPlatform<T>(platform: NodeJS.Platform, body: () => Promise<T>): Promise<T> {
  const saved = Object.getOwnPropertyDescriptor(process, 'platform') as PropertyDescriptor;
  Object.defineProperty(process, 'platform', { ...saved, value: platform });
  try {
    return await body();
  } finally {
    Object.defineProperty(process, 'platform', saved);
  }
}

describe('writeFileAtomic', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-atomic-'));
  });

  afterEach(async () => {
    await fs.rm(directory, { recursive: true, force: true });
  });

  it('writes strings, bytes and chunk lists, leaving only the target', async () => {
    const file = path.join(directory, 'out.txt');
    await writeFileAtomic(file, 'héllo');
    expect(await fs.readFile(file, 'utf8')).toBe('héllo');

    await writeFileAtomic(file, Buffer.from([1, 2, 3]));
    expect([...(await fs.readFile(file))]).toEqual([1, 2, 3]);

    const backing = new Uint8Array([9, 9, 4, 5, 9]);
    await writeFileAtomic(file, [new Uint8Array([1]), backing.subarray(2, 4), new Uint8Array(0)]);
    expect([...(await fs.readFile(file))]).toEqual([1, 4, 5]);

    expect(await fs.readdir(directory)).toEqual(['out.txt']);
  });

  it('creates missing parent folders, as the commands writing into run folders do', async () => {
    const file = path.join(directory, 'nope', 'deeper', 'out.txt');
    await writeFileAtomic(file, 'x');
    expect(await fs.readFile(file, 'utf8')).toBe('x');
    expect(await fs.readdir(path.dirname(file))).toEqual(['out.txt']);
  });

  const posixOnly = process.platform === 'win32' ? it.skip : it;

  posixOnly('keeps the permissions of the file it replaces', async () => {
    const file = path.join(directory, 'private.txt');
    await fs.writeFile(file, 'old');
    await fs.chmod(file, 0o600);
    await writeFileAtomic(file, 'new');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(file, 'utf8')).toBe('new');
  });

  it('lets concurrent writers each finish with a complete file', async () => {
    const file = path.join(directory, 'race.txt');
    const contents = Array.from({ length: 8 }, (_, i) => String(i).repeat(10_000));
    await Promise.all(contents.map((text) => writeFileAtomic(file, text)));
    expect(contents).toContain(await fs.readFile(file, 'utf8'));
    expect(await fs.readdir(directory)).toEqual(['race.txt']);
  });
});

describe('writeFileAtomic on a path that cannot be a file', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-atomic-'));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.chmod(directory, 0o700).catch(() => undefined);
    await fs.rm(directory, { recursive: true, force: true });
  });

  /** What is in `directory` and below, so a test can say nothing was written anywhere. */
  async function tree(): Promise<string[]> {
    return (await fs.readdir(directory, { recursive: true })).sort();
  }

  it('refuses an existing directory, naming it, before writing anything', async () => {
    const target = path.join(directory, 'target');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'keep');
    const failure = writeFileAtomic(target, 'x');
    await expect(failure).rejects.toThrow(`Cannot write ${target}: it is a directory`);
    await expect(failure).rejects.toMatchObject({ code: 'EISDIR', path: target });
    expect(await tree()).toEqual(['target', path.join('target', 'inside')]);
    expect(await fs.readFile(path.join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('refuses the current folder and the root, which rename would report as EBUSY', async () => {
    await expect(writeFileAtomic('.', 'x')).rejects.toThrow('Cannot write .: it is a directory');
    await expect(writeFileAtomic(path.parse(directory).root, 'x')).rejects.toMatchObject({
      code: 'EISDIR',
    });
  });

  it('refuses an empty path and a path ending in a slash', async () => {
    await expect(writeFileAtomic('', 'x')).rejects.toThrow('Cannot write an empty path');
    await expect(writeFileAtomic('', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    const slashed = `${path.join(directory, 'new')}/`;
    await expect(writeFileAtomic(slashed, 'x')).rejects.toThrow(
      `Cannot write ${slashed}: it ends with a slash`,
    );
    expect(await tree()).toEqual([]);
  });

  it('names the file that stands where a folder is needed', async () => {
    const file = path.join(directory, 'plain.txt');
    await fs.writeFile(file, 'keep');
    const target = path.join(file, 'sub', 'out.txt');
    const failure = writeFileAtomic(target, 'x');
    await expect(failure).rejects.toThrow(`Cannot write ${target}: ${file} is not a folder`);
    await expect(failure).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await tree()).toEqual(['plain.txt']);
  });

  const asNonRoot = process.getuid?.() === 0 || process.platform === 'win32' ? it.skip : it;

  asNonRoot('names the output path, not the temporary, in a read-only folder', async () => {
    await fs.chmod(directory, 0o500);
    const target = path.join(directory, 'out.txt');
    const failure = writeFileAtomic(target, 'x');
    await expect(failure).rejects.toThrow(
      `Cannot write ${target}: permission denied in ${directory}`,
    );
    await expect(failure).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('restates a failed write or rename about the output path, keeping the errno code', async () => {
    const target = path.join(directory, 'out.txt');
    await fs.writeFile(target, 'old');
    const fsPromises = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
    jest.spyOn(fsPromises, 'rename').mockImplementationOnce(async (from) => {
      throw renameError('EXDEV', 'cross-device link not permitted', String(from), target);
    });
    const failure = writeFileAtomic(target, 'new');
    await expect(failure).rejects.toThrow(
      `Cannot write ${target}: cross-device link not permitted`,
    );
    await expect(failure).rejects.toMatchObject({ code: 'EXDEV' });
    await expect(failure).rejects.not.toThrow('.tmp-');
    expect(await tree()).toEqual(['out.txt']);
    expect(await fs.readFile(target, 'utf8')).toBe('old');
  });

  it('on Windows, retries a rename refused for a moment (EPERM, EACCES, EBUSY)', async () => {
    const target = path.join(directory, 'out.txt');
    await fs.writeFile(target, 'old');
    const fsPromises = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
    const rename = jest.spyOn(fsPromises, 'rename');
    for (const [code, reason] of [
      ['EPERM', 'operation not permitted'],
      ['EACCES', 'permission denied'],
      ['EBUSY', 'resource busy or locked'],
    ] as const) {
      rename.mockImplementationOnce(async (from) => {
        throw renameError(code, reason, String(from), target);
      });
    }
    await withPlatform('win32', () => writeFileAtomic(target, 'new'));
    expect(rename).toHaveBeenCalledTimes(4);
    expect(await fs.readFile(target, 'utf8')).toBe('new');
    expect(await tree()).toEqual(['out.txt']);
  });

  it('elsewhere, a refused rename fails at once', async () => {
    const target = path.join(directory, 'out.txt');
    await fs.writeFile(target, 'old');
    const fsPromises = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
    const rename = jest.spyOn(fsPromises, 'rename').mockImplementationOnce(async (from) => {
      throw renameError('EPERM', 'operation not permitted', String(from), target);
    });
    const failure = withPlatform('linux', () => writeFileAtomic(target, 'new'));
    await expect(failure).rejects.toMatchObject({ code: 'EPERM', path: target });
    expect(rename).toHaveBeenCalledTimes(1);
    expect(await fs.readFile(target, 'utf8')).toBe('old');
    expect(await tree()).toEqual(['out.txt']);
  });

  it('checkOutputPath accepts a new file in a folder still to be created', async () => {
    await expect(checkOutputPath(path.join(directory, 'a', 'b', 'out.txt'))).resolves.toBe(
      undefined,
    );
    expect(await tree()).toEqual([]);
  });
});

describe('temporaries left by an interrupted write', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-atomic-'));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.rm(directory, { recursive: true, force: true });
  });

  /** The pid of a process that has run and exited: nobody can be writing under it. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', '']);
    if (child.pid === undefined) throw new Error('could not start a child process');
    return child.pid;
  }

  it('are removed when their process is dead, kept when it is alive or not ours', async () => {
    const dead = deadPid();
    const names = {
      dead: `out.bin.tmp-${dead}-0123456789ab`,
      live: `out.bin.tmp-${process.pid}-0123456789ab`,
      otherTarget: `other.bin.tmp-${dead}-0123456789ab`,
      longerName: `out.bin.bak.tmp-${dead}-0123456789ab`,
      notOurs: `out.bin.tmp-${dead}-notrandomhex`,
    };
    for (const name of Object.values(names)) {
      await fs.writeFile(path.join(directory, name), 'stale');
    }
    await writeFileAtomic(path.join(directory, 'out.bin'), 'new');
    const left = await fs.readdir(directory);
    expect(left).not.toContain(names.dead);
    expect(left.sort()).toEqual(
      [names.live, names.otherTarget, names.longerName, names.notOurs, 'out.bin'].sort(),
    );
  });

  it('are kept when the pid exists under another user (EPERM)', async () => {
    const name = 'out.bin.tmp-424242-0123456789ab';
    await fs.writeFile(path.join(directory, name), 'stale');
    const kill = jest.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    expect(await removeStaleTemporaries(path.join(directory, 'out.bin'))).toEqual([]);
    expect(kill).toHaveBeenCalledWith(424242, 0);
    expect(await fs.readdir(directory)).toEqual([name]);
  });

  it('in a folder that does not exist, nothing is removed and nothing fails', async () => {
    expect(await removeStaleTemporaries(path.join(directory, 'none', 'out.bin'))).toEqual([]);
  });
});
