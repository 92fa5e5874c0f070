import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** What {@link writeFileAtomic} accepts: a string (UTF-8), bytes, or a list of byte chunks written in order. */
export type AtomicWriteData = string | Uint8Array | readonly Uint8Array[];

/**
 * Writes `data` to `filePath` so that readers see either the old file or the complete new one,
 * never a partial write: the bytes go to a uniquely named temporary file in the same directory
 * (same filesystem, so the rename is atomic), which is fsynced and then renamed over `filePath`.
 *
 * On any error the temporary file is removed, the original file (if any) is left untouched, and
 * the error is rethrown. A list of chunks is written without concatenating it first, so large
 * checkpoints are not copied in memory.
 */
export async function writeFileAtomic(filePath: string, data: AtomicWriteData): Promise<void> {
  const chunks = toChunks(data);
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
    await fs.rename(tempPath, filePath);
  } catch (error) {
    if (handle !== undefined) {
      await handle.close().catch(() => undefined);
    }
    await fs.unlink(tempPath).catch(() => undefined);
    throw error;
  }
  await syncDirectory(path.dirname(filePath));
}

function temporaryPathFor(filePath: string): string {
  return `${filePath}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
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
