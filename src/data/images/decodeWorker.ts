/**
 * A worker thread of decodePool.ts: decodes, converts and resizes the image files of each message
 * it receives (readImageFile), and posts their pixels back in one transferred block, or the first
 * failure with the file it names.
 */
import { parentPort } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './decodePool';
import { readImageFile } from './readImageFile';

const port = parentPort;
if (port === null) throw new Error('decodeWorker.js runs as a worker thread of decodePool.ts');

port.on('message', (request: DecodeRequest) => {
  void (async () => {
    const { id, files, size, channels } = request;
    const perImage = size * size * channels;
    const pixels = new Uint8Array(files.length * perImage);
    try {
      for (const [i, file] of files.entries()) {
        pixels.set(await readImageFile(file, size, channels), i * perImage);
      }
    } catch (error) {
      const { message, path } = error as Error & { path?: string };
      const reply: DecodeReply = { id, error: { message, path: path ?? null } };
      port.postMessage(reply);
      return;
    }
    const reply: DecodeReply = { id, pixels };
    port.postMessage(reply, [pixels.buffer]);
  })();
});
