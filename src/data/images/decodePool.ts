/**
 * Decodes many image files at once on worker threads (decodeWorker.ts), one per core (or
 * SUPERLORA_NUM_THREADS): pure-JS JPEG decoding takes tens of milliseconds per photo, so a folder
 * of thousands is minutes on one thread. Few or small files, or a source checkout without the
 * compiled worker, decode on this thread.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../datasetCache';
import { DatasetFormatError } from '../datasetErrors';
import { readImageFile } from './readImageFile';
import { poolThreadsFromEnv } from '../../native/addonEnvironment';

export interface DecodeRequest {
  id: number;
  files: string[];
  size: number;
  channels: 1 | 3;
}

export type DecodeReply =
  | { id: number; pixels: Uint8Array }
  | { id: number; error: { message: string; path: string | null } };

/** Files per message to a worker: small enough to balance the load, large enough to amortise it. */
const FILES_PER_CHUNK = 32;
/** Below this many files a worker's start-up (~40 ms) costs more than it saves. */
const WORKERS_FROM = 64;
/**
 * Nor below this many bytes of files in all: small images decode in a fraction of a millisecond
 * (10 000 MNIST PNGs, 3 MB: 2.8 s on one thread, 3.3 s on two workers of the 2-thread development
 * machine), photos in tens (600 JPEGs of 500 × 375, 150 MB: 14.8 s, 10.4 s).
 */
const WORKERS_FROM_BYTES = 8 << 20;

/** Decoding threads: SUPERLORA_NUM_THREADS when set (a RangeError when malformed), else every core. */
export function decodeThreads(env: NodeJS.ProcessEnv = process.env): number {
  return poolThreadsFromEnv(env) ?? availableParallelism();
}

/**
 * The compiled worker: beside this file when running from dist/, else the package's dist/; null
 * when it is not built (then everything decodes on this thread).
 */
export function decodeWorkerScript(): string | null {
  const script = __filename.endsWith('.js')
    ? join(__dirname, 'decodeWorker.js')
    : join(packageRoot(), 'dist', 'data', 'images', 'decodeWorker.js');
  return existsSync(script) ? script : null;
}

export interface DecodeOptions {
  /** Worker threads at most (default decodeThreads()); 1 decodes on this thread. */
  threads?: number;
  /** Use workers only for at least this many bytes of files (default 8 MiB). */
  workersFromBytes?: number;
  /** The files' total size, when the caller has it (else they are stat'ed here). */
  totalBytes?: number;
}

/**
 * Every file as readImageFile gives it, concatenated in order (files.length · size² · channels
 * bytes). A file that fails is an error naming it, and stops the others.
 */
export async function decodeImageFiles(
  files: readonly string[],
  size: number,
  channels: 1 | 3,
  options: DecodeOptions = {},
): Promise<Uint8Array> {
  const threads = options.threads ?? decodeThreads();
  const perImage = size * size * channels;
  const pixels = new Uint8Array(files.length * perImage);
  const script = decodeWorkerScript();
  const workers = Math.min(threads, Math.ceil(files.length / FILES_PER_CHUNK));
  if (
    workers <= 1 ||
    files.length < WORKERS_FROM ||
    script === null ||
    (options.totalBytes ?? (await totalBytes(files))) <
      (options.workersFromBytes ?? WORKERS_FROM_BYTES)
  ) {
    for (const [i, file] of files.entries()) {
      pixels.set(await readImageFile(file, size, channels), i * perImage);
    }
    return pixels;
  }
  const chunks: { start: number; files: string[] }[] = [];
  for (let start = 0; start < files.length; start += FILES_PER_CHUNK) {
    chunks.push({ start, files: files.slice(start, start + FILES_PER_CHUNK) });
  }
  const pool = Array.from({ length: workers }, () => new Worker(script));
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      const send = (worker: Worker): void => {
        if (next >= chunks.length) return;
        const id = next++;
        const request: DecodeRequest = { id, files: chunks[id]!.files, size, channels };
        worker.postMessage(request);
      };
      for (const worker of pool) {
        worker.on('message', (reply: DecodeReply) => {
          if ('error' in reply) {
            reject(decodeError(reply.error));
            return;
          }
          pixels.set(reply.pixels, chunks[reply.id]!.start * perImage);
          done += 1;
          if (done === chunks.length) resolve();
          else send(worker);
        });
        worker.on('error', reject);
        send(worker);
      }
    });
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return pixels;
}

async function totalBytes(files: readonly string[]): Promise<number> {
  const sizes = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (info) => info.size,
        () => 0, // a missing file fails where it is read, with its name
      ),
    ),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** A worker's failure as the error this thread would have thrown. */
function decodeError({ message, path }: { message: string; path: string | null }): Error {
  const prefix = `${path}: `;
  return path !== null && message.startsWith(prefix)
    ? new DatasetFormatError(path, message.slice(prefix.length))
    : new Error(message);
}
