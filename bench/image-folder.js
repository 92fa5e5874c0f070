#!/usr/bin/env node
// Times loading a folder of photo-sized JPEGs as a dataset: decoding on one thread, on every
// core (worker threads), and a second load from the decoded-image cache. The folder is made here
// (COUNT synthetic 500×375 JPEGs of quality 90, in 10 class folders) and resized to SIZE px RGB,
// as a model with 224-px inputs reads it. Prints one JSON line per measurement. Not a test.
//   node bench/image-folder.js [COUNT=600] [SIZE=224]
// The CLI's dist/ must be built (npm run build:ts).
'use strict';
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('fs');
const { availableParallelism, cpus, tmpdir } = require('os');
const { join } = require('path');
const jpeg = require('jpeg-js');
const { decodeImageFiles } = require('../dist/data/images/decodePool');
const { loadImageFolder } = require('../dist/data/images/readImageFolder');

const count = Number(process.argv[2] ?? 600);
const size = Number(process.argv[3] ?? 224);
const root = mkdtempSync(join(tmpdir(), 'superlora-image-bench-'));
const [width, height] = [500, 375];
const files = [];
for (let i = 0; i < count; i++) {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const [x, y] = [p % width, Math.floor(p / width)];
    data[4 * p] = (x * (i + 3) + y) & 255;
    data[4 * p + 1] = (y * 3 + ((x * y) >> 7) + i) & 255;
    data[4 * p + 2] = (Math.sin((x + i) / 17) * 100 + 128) & 255;
    data[4 * p + 3] = 255;
  }
  const dir = join(root, 'train', `class${i % 10}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${String(i).padStart(5, '0')}.jpg`);
  writeFileSync(file, jpeg.encode({ data, width, height }, 90).data);
  files.push(file);
}
mkdirSync(join(root, 'test', 'class0'), { recursive: true });
writeFileSync(
  join(root, 'test', 'class0', 'a.jpg'),
  jpeg.encode({ data: Buffer.alloc(64, 255), width: 4, height: 4 }, 90).data,
);

async function time(label, run) {
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const line = {
    bench: 'image-folder',
    label,
    count,
    size,
    seconds,
    imagesPerSecond: count / seconds,
  };
  console.log(JSON.stringify(line));
  return seconds;
}

(async () => {
  const threads = availableParallelism();
  console.error(
    `${count} JPEGs of ${width}×${height} → ${size} px RGB on ${cpus()[0]?.model} (${threads} threads)`,
  );
  await time('one thread', () => decodeImageFiles(files, size, 3, { threads: 1 }));
  await time(`${threads} worker threads`, () =>
    decodeImageFiles(files, size, 3, { threads, workersFromBytes: 0 }),
  );
  const cacheDir = join(root, 'cache');
  const options = { split: 'train', imageSize: size, channels: 3, cacheDir };
  await time('loadImageFolder, first load (decode + write cache)', () =>
    loadImageFolder(root, options),
  );
  await time('loadImageFolder, second load (cache)', () => loadImageFolder(root, options));
  rmSync(root, { recursive: true, force: true });
})();
