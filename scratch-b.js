const tf = require('@tensorflow/tfjs');
const { useBackend } = require('./dist/tfjs/backend');
const { batchAt } = require('./dist/data/batchAt');
const { loadDataset } = require('./dist/data/loadDataset');
async function main() {
  await useBackend('auto', { nativeKernels: true });
  const ds = await loadDataset('mnist', { split: 'train' });
  const idx = Array.from({ length: 128 }, (_, i) => i);
  for (const augment of [{ cropPadding: 2 }, { cropPadding: 2 }, false]) {
    let t = performance.now();
    for (let step = 0; step < 200; step++) {
      const b = batchAt(ds, idx, { augment, epoch: 0, step, imageSize: 28 });
      b.pixelValues.dataSync();
      b.pixelValues.dispose(); b.labels.dispose();
    }
    console.log(tf.getBackend(), JSON.stringify(augment), ((performance.now() - t) / 200).toFixed(2), 'ms/batch');
  }
}
main();
