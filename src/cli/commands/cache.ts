/**
 * `superlora cache [list]` and `superlora cache clear [--images]`: what the datasets cache holds
 * (the npm datasets converted once, image folders decoded once), and removing it. Everything in it
 * can be rebuilt from its source; nothing else is ever removed.
 */
import { unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import {
  imageCacheLimitBytes,
  listCacheFiles,
  IMAGE_CACHE_DIR,
  type CacheFile,
} from '../../data/cacheFolder';
import { defaultDatasetCacheDir } from '../../data/datasetCache';

const MIB = 2 ** 20;

function megabytes(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** What a file holds, in words: `mnist-train@… 60000 × 28×28×1` or `image folder 600 × 224×224×3`. */
function describe(file: CacheFile): string {
  if (file.header === null) {
    return file.path.endsWith('.bin') ? 'not a dataset cache' : 'an unfinished write';
  }
  const { count, height, width, channels, numClasses, source } = file.header;
  const origin = file.imageFolder ? 'image folder' : source;
  return `${origin}: ${count} × ${height}×${width}×${channels}, ${numClasses} classes`;
}

function list(options: { json?: boolean }): Promise<void> {
  const cacheDir = defaultDatasetCacheDir();
  return listCacheFiles(cacheDir).then((files) => {
    const limit = imageCacheLimitBytes();
    if (options.json) {
      const rows = files.map((file) => ({
        path: file.path,
        bytes: file.bytes,
        lastUsed: file.lastUsed.toISOString(),
        imageFolder: file.imageFolder,
        ...(file.header ? { ...file.header } : {}),
      }));
      console.log(JSON.stringify({ cacheDir, imageCacheLimitBytes: limit, files: rows }));
      return;
    }
    const total = files.reduce((sum, file) => sum + file.bytes, 0);
    const images = files.filter((file) => file.imageFolder);
    const imageBytes = images.reduce((sum, file) => sum + file.bytes, 0);
    console.log(`${cacheDir}: ${files.length} files, ${megabytes(total)}`);
    console.log(
      `image folders: ${images.length}, ${megabytes(imageBytes)} of at most ${megabytes(limit)} (SUPERLORA_IMAGE_CACHE_MB), least recently used removed first`,
    );
    for (const file of files) {
      const name = path.relative(cacheDir, file.path);
      const used = file.lastUsed.toISOString().slice(0, 16).replace('T', ' ');
      console.log(
        `  ${name.padEnd(42)} ${megabytes(file.bytes).padStart(12)}  used ${used}  ${describe(file)}`,
      );
    }
  });
}

async function clear(options: { images?: boolean }): Promise<void> {
  const cacheDir = defaultDatasetCacheDir();
  const files = (await listCacheFiles(cacheDir)).filter(
    (file) => !options.images || file.imageFolder,
  );
  let freed = 0;
  for (const file of files) {
    await unlink(file.path);
    freed += file.bytes;
  }
  const what = options.images ? `${cacheDir}/${IMAGE_CACHE_DIR}` : cacheDir;
  console.log(`Removed ${files.length} files (${megabytes(freed)}) from ${what}`);
}

export function registerCacheCommand(program: Command): void {
  const cache = program
    .command('cache')
    .description(
      'list or clear the datasets cache ($SUPERLORA_CACHE/datasets, else the package’s .cache/datasets): npm datasets converted once, image folders decoded once',
    );
  cache
    .command('list', { isDefault: true })
    .description('each cache file: what it holds, its size and when it was last used')
    .option('--json', 'print the list as JSON')
    .action(list);
  cache
    .command('clear')
    .description('remove the cache files (they are rebuilt from their source when next needed)')
    .option('--images', 'only the decoded image folders')
    .action(clear);
}
