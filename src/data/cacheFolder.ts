/**
 * The datasets cache folder as a whole: what is in it (for `superlora cache`), and the size limit
 * of its decoded image folders. Every image folder, and every change to one, makes a new file under
 * `images/`; without a limit they would pile up. Hits mark a file as used (its modification time),
 * and after each new file the least recently used ones go until the folder fits the limit.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { mebibytesFromEnv } from '../envMebibytes';
import { CACHE_HEADER_BYTES, parseCacheHeader, type CacheHeader } from './datasetCache';
import { DatasetUnavailableError } from './datasetErrors';

/**
 * The datasets cache folder cannot be read; the message names the folder, and SUPERLORA_CACHE
 * with its value when the folder comes from it (the user set the variable, maybe long ago, and an
 * errno message about `…/datasets` would not tell them which setting to change).
 */
export class CacheFolderError extends DatasetUnavailableError {
  override name = 'CacheFolderError';
}

/** Sub-folder of the datasets cache that holds decoded image folders. */
export const IMAGE_CACHE_DIR = 'images';

/** Default limit of `images/`, in MiB; SUPERLORA_IMAGE_CACHE_MB changes it. */
export const DEFAULT_IMAGE_CACHE_MB = 8192;

/** The limit of `images/` in bytes: `SUPERLORA_IMAGE_CACHE_MB` (0: cache no image folder). */
export function imageCacheLimitBytes(env: NodeJS.ProcessEnv = process.env): number {
  return mebibytesFromEnv(env, 'SUPERLORA_IMAGE_CACHE_MB', DEFAULT_IMAGE_CACHE_MB);
}

export interface CacheFile {
  path: string;
  bytes: number;
  /** Last written or read from: its modification time. */
  lastUsed: Date;
  /** Whether it is a decoded image folder (under `images/`). */
  imageFolder: boolean;
  /** The header, or null for a file that is not a readable dataset cache. */
  header: CacheHeader | null;
}

/** Reads a cache file's header alone; null when the file is not a dataset cache. */
async function readHeader(filePath: string): Promise<CacheHeader | null> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(filePath, 'r');
    const fixed = Buffer.alloc(CACHE_HEADER_BYTES);
    const { bytesRead } = await handle.read(fixed, 0, CACHE_HEADER_BYTES, 0);
    if (bytesRead < CACHE_HEADER_BYTES) return null;
    const sourceBytes = fixed.readUInt16LE(CACHE_HEADER_BYTES - 2);
    const whole = Buffer.alloc(CACHE_HEADER_BYTES + sourceBytes);
    fixed.copy(whole);
    await handle.read(whole, CACHE_HEADER_BYTES, sourceBytes, CACHE_HEADER_BYTES);
    const header = parseCacheHeader(whole);
    return 'invalid' in header ? null : header;
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}

/**
 * The cache files in `cacheDir` and its `images/`, most recently used first: the `.bin` files,
 * and the temporary files a killed write left behind (header null). `headers: false` skips
 * opening each file (every header is then null).
 */
export async function listCacheFiles(
  cacheDir: string,
  options: { headers?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<CacheFile[]> {
  const files: CacheFile[] = [];
  for (const [dir, imageFolder] of [
    [cacheDir, false],
    [path.join(cacheDir, IMAGE_CACHE_DIR), true],
  ] as const) {
    const names = await fs.readdir(dir).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw await cacheFolderError(cacheDir, dir, error, options.env ?? process.env);
    });
    for (const name of names) {
      if (!/\.bin($|\.tmp-)/.test(name)) continue;
      const filePath = path.join(dir, name);
      const info = await fs.stat(filePath).catch(() => null);
      if (!info?.isFile()) continue;
      const header =
        options.headers !== false && name.endsWith('.bin') ? await readHeader(filePath) : null;
      files.push({ path: filePath, bytes: info.size, lastUsed: info.mtime, imageFolder, header });
    }
  }
  return files.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

/**
 * The error for `dir` (the cache or its images/) that cannot be listed. When the cache comes from
 * SUPERLORA_CACHE it names the variable: as "not a folder" when the variable names a file (the
 * usual slip), else with the system's reason.
 */
async function cacheFolderError(
  cacheDir: string,
  dir: string,
  error: Error,
  env: NodeJS.ProcessEnv,
): Promise<CacheFolderError> {
  const root = env.SUPERLORA_CACHE;
  const fromEnv =
    root !== undefined &&
    root !== '' &&
    !path.relative(path.resolve(root), path.resolve(cacheDir)).startsWith('..');
  if (!fromEnv) {
    return new CacheFolderError(`${dir}: cannot list the datasets cache: ${error.message}`);
  }
  const rootInfo = await fs.stat(root).catch(() => null);
  if (rootInfo !== null && !rootInfo.isDirectory()) {
    return new CacheFolderError(
      `SUPERLORA_CACHE is ${root}, which is not a folder: set it to a folder (the datasets cache is its datasets/), or unset it`,
    );
  }
  return new CacheFolderError(
    `SUPERLORA_CACHE is ${root}, but its datasets cache ${dir} cannot be listed: ${error.message}`,
  );
}

/** Marks a cache file as just used; a file that cannot be touched is no error. */
export async function markUsed(filePath: string): Promise<void> {
  const now = new Date();
  await fs.utimes(filePath, now, now).catch(() => undefined);
}

/**
 * Removes the least recently used image-folder caches until `images/` holds at most `limitBytes`,
 * never `keep` (the file just written). Returns the removed files.
 */
export async function pruneImageCache(
  cacheDir: string,
  limitBytes: number,
  keep?: string,
): Promise<CacheFile[]> {
  // Finished files only: a temporary file may be another process's write in progress.
  const files = (await listCacheFiles(cacheDir, { headers: false })).filter(
    (file) => file.imageFolder && file.path.endsWith('.bin'),
  );
  let total = files.reduce((sum, file) => sum + file.bytes, 0);
  const removed: CacheFile[] = [];
  for (const file of [...files].reverse()) {
    if (total <= limitBytes) break;
    if (keep !== undefined && path.resolve(file.path) === path.resolve(keep)) continue;
    // Another process may have removed it first; either way it is gone.
    await fs.unlink(file.path).catch(() => undefined);
    total -= file.bytes;
    removed.push(file);
  }
  return removed;
}
