import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { writeFileAtomic } from '../../src/io/atomicWrite';

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

  it('fails in a missing directory without creating anything', async () => {
    const file = path.join(directory, 'nope', 'out.txt');
    await expect(writeFileAtomic(file, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readdir(directory)).toEqual([]);
  });

  it('removes the temporary file when the rename fails', async () => {
    // Renaming a file over a non-empty directory fails (EISDIR / ENOTEMPTY / EPERM).
    const target = path.join(directory, 'target');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(await fs.readdir(directory)).toEqual(['target']);
    expect(await fs.readFile(path.join(target, 'inside'), 'utf8')).toBe('keep');
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
