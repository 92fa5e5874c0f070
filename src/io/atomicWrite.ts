import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** What {@link writeFileAtomic} accepts: a string (UTF-8), bytes, or a list of byte chunks written in order. */
export type AtomicWriteData = string | Uint8Array | readonly Uint8Array[];

/**
 * A file-system error about the path the caller asked to write, not about the temporary file
 * behind it: the message names `filePath`, and `code` keeps the errno code (ENOENT, EISDIR, …) so
 * that callers, such as the CLI, still tell a bad path (the user's) from a bug.
 */
export class OutputPathError extends Error {
  override name = 'OutputPathError';
  readonly code: string;
  readonly path: string;

  constructor(filePath: string, code: string, reason: string, cause?: unknown) {
    super(
      filePath === ''
        ? `Cannot write an empty path: ${reason}`
        : `Cannot write ${filePath}: ${reason}`,
      {
        cause,
      },
    );
    this.code = code;
    this.path = filePath;
  }
}

/**
 * Writes `data` to `filePath` so that readers see either the old file or the complete new one,
 * never a partial write: the bytes go to a uniquely named temporary file in the same directory
 * (same filesystem, so the rename is atomic), which is fsynced and then renamed over `filePath`.
 *
 * A missing parent folder is created, as every caller that writes into a run or output folder
 * did before calling this; a path that is a directory is refused before anything is written.
 * Temporary files of earlier writes to `filePath` whose process has died are removed first, so
 * killed runs do not pile them up.
 *
 * On any error the temporary file is removed, the original file (if any) is left untouched, and
 * the error is rethrown; a file-system error becomes an {@link OutputPathError} naming `filePath`.
 * A list of chunks is written without concatenating it first, so large checkpoints are not copied
 * in memory.
 */
export async function writeFileAtomic(filePath: string, data: AtomicWriteData): Promise<void> {
  const chunks = toChunks(data);
  await checkOutputPath(filePath);
  const directory = path.dirname(filePath);
  try {
    await fs.mkdir(directory, { recursive: true });
  } catch (error) {
    throw describeWriteError(filePath, error);
  }
  await removeStaleTemporaries(filePath);
  await writeThroughTemporary(filePath, chunks);
  await syncDirectory(directory);
}

/**
 * Refuses, before any work is done, a path that cannot become a file: empty, a directory, or below
 * something that is not a writable folder. Commands that write their output only at the end
 * (benchmarks) call it first, so a wrong path fails in a second rather than after the whole run.
 */
export async function checkOutputPath(filePath: string): Promise<void> {
  if (filePath === '') {
    throw new OutputPathError(filePath, 'ENOENT', 'expected a file name');
  }
  if (await isDirectory(filePath)) {
    throw new OutputPathError(filePath, 'EISDIR', 'it is a directory, expected a file name');
  }
  if (filePath.endsWith('/') || filePath.endsWith(path.sep)) {
    throw new OutputPathError(filePath, 'EISDIR', 'it ends with a slash, expected a file name');
  }
  const ancestor = await nearestExisting(path.dirname(filePath));
  if (!(await isDirectory(ancestor))) {
    throw new OutputPathError(filePath, 'ENOTDIR', `${ancestor} is not a folder`);
  }
  try {
    await fs.access(ancestor, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new OutputPathError(
      filePath,
      codeOf(error) ?? 'EACCES',
      `permission denied in ${ancestor}`,
      error,
    );
  }
}

/**
 * Removes `<basename>.tmp-<pid>-<hex>` files beside `filePath` left by processes that no longer
 * exist (a write interrupted by a kill or a crash): nobody will rename them, and a checkpoint's can
 * be hundreds of MB. A live pid's, including this process's, is kept: it may be writing right now.
 * Best effort: returns the names removed; a folder that cannot be listed removes nothing.
 */
export async function removeStaleTemporaries(filePath: string): Promise<string[]> {
  const directory = path.dirname(filePath);
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = temporaryOwner(name, path.basename(filePath));
    if (pid === undefined || isProcessAlive(pid)) continue;
    try {
      await fs.unlink(path.join(directory, name));
      removed.push(name);
    } catch {
      // Gone already (another writer cleaned it) or not ours to remove: either way, not an error.
    }
  }
  return removed;
}

const TEMPORARY_SUFFIX = /^\.tmp-(\d+)-[0-9a-f]{12}$/;

/** The temporary file's name: the target's, the writer's pid (see removeStaleTemporaries), random hex. */
function temporaryPathFor(filePath: string): string {
  return `${filePath}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The pid in `name` if it is a temporary file of {@link temporaryPathFor} for `basename`. */
function temporaryOwner(name: string, basename: string): number | undefined {
  if (!name.startsWith(basename)) return undefined;
  const match = TEMPORARY_SUFFIX.exec(name.slice(basename.length));
  return match ? Number(match[1]) : undefined;
}

/**
 * Whether `pid` may still be running. Only ESRCH proves it is not; EPERM means it exists under
 * another user, and anything else is treated as alive so that a doubt never deletes a live write.
 */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) !== 'ESRCH';
  }
}

/** The write itself: temporary file, every chunk, fsync, rename; the temporary is removed on failure. */
async function writeThroughTemporary(
  filePath: string,
  chunks: readonly Uint8Array[],
): Promise<void> {
  const tempPath = temporaryPathFor(filePath);
  const existingMode = await modeOf(filePath);
  let handle: fs.FileHandle | undefined;
  try {
    // 'wx': never reuse or follow a file that is already there under the temporary name.
    handle = await fs.open(tempPath, 'wx', existingMode ?? 0o666);
    for (const chunk of chunks) {
      await writeFully(handle, chunk);
    }
    if (existingMode !== undefined) {
      // The umask applies to open()'s mode; an existing file's permissions should survive a rewrite.
      await handle.chmod(existingMode);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await renameReplacing(tempPath, filePath);
  } catch (error) {
    if (handle !== undefined) {
      await handle.close().catch(() => undefined);
    }
    await fs.unlink(tempPath).catch(() => undefined);
    throw describeWriteError(filePath, error);
  }
}

/** How long a Windows rename that meets a transient refusal is retried. */
const WINDOWS_RENAME_RETRY_MS = 10_000;
const WINDOWS_TRANSIENT_CODES = new Set(['EPERM', 'EACCES', 'EBUSY']);

/**
 * rename over `to`. POSIX replaces the file atomically whatever else is going on; Windows refuses
 * (EPERM, EACCES, EBUSY) while another process has `to` open without delete sharing or is itself
 * replacing it (a concurrent writer, a virus scanner, the search indexer), which clears within
 * milliseconds: there the rename is retried, backing off to 100 ms, for up to 10 s (graceful-fs
 * retries such renames too).
 */
async function renameReplacing(from: string, to: string): Promise<void> {
  const started = Date.now();
  for (let delay = 1; ; delay = Math.min(2 * delay, 100)) {
    try {
      await fs.rename(from, to);
      return;
    } catch (error) {
      const transient =
        process.platform === 'win32' && WINDOWS_TRANSIENT_CODES.has(codeOf(error) ?? '');
      if (!transient || Date.now() - started + delay > WINDOWS_RENAME_RETRY_MS) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The error to show for a failed write of `filePath`: Node's own names the temporary file, which
 * the user never asked for, so a file-system error is restated about `filePath`; anything else
 * (not a file-system error) is returned as it is.
 */
function describeWriteError(filePath: string, error: unknown): unknown {
  const code = codeOf(error);
  if (code === undefined || error instanceof OutputPathError) return error;
  const directory = path.dirname(filePath);
  const reasons: Record<string, string> = {
    ENOENT: `no such folder ${directory}`,
    ENOTDIR: `a part of ${directory} is not a folder`,
    EISDIR: 'it is a directory, expected a file name',
    ENOTEMPTY: 'it is a directory, expected a file name',
    EACCES: `permission denied in ${directory}`,
    EPERM: `permission denied in ${directory}`,
  };
  return new OutputPathError(filePath, code, reasons[code] ?? systemReason(error as Error), error);
}

/** "no space left on device" from "ENOSPC: no space left on device, write": Node's words, no paths. */
function systemReason(error: Error): string {
  const match = /^[A-Z0-9]+: (.*?), \w+(?: '.*)?$/s.exec(error.message);
  return match ? (match[1] as string) : error.message;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The deepest of `directory` and its ancestors that exists (the root always does). */
async function nearestExisting(directory: string): Promise<string> {
  let current = directory;
  for (;;) {
    try {
      await fs.stat(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

async function isDirectory(filePath: string): Promise<boolean> {
  try {
    return (await fs.stat(filePath)).isDirectory();
  } catch {
    return false;
  }
}

function toChunks(data: AtomicWriteData): readonly Uint8Array[] {
  if (typeof data === 'string') {
    return [Buffer.from(data, 'utf8')];
  }
  if (data instanceof Uint8Array) {
    return [data];
  }
  return data;
}

async function writeFully(handle: fs.FileHandle, chunk: Uint8Array): Promise<void> {
  let written = 0;
  while (written < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written);
    written += bytesWritten;
  }
}

async function modeOf(filePath: string): Promise<number | undefined> {
  try {
    const stats = await fs.stat(filePath);
    return stats.isFile() ? stats.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the rename itself durable. Best effort: some platforms (Windows) and filesystems do not
 * allow opening or fsyncing a directory, and the file's own data is already synced.
 */
async function syncDirectory(directory: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch {
    // Ignored on purpose; see above.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
