import { stripesDataset } from '../../src/data/stripesDataset';

describe('stripesDataset', () => {
  const data = stripesDataset(12, 8, 4, 7);

  test('labels cycle through the classes; the shape is count × side × side, one channel', () => {
    expect(Array.from(data.labels)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    expect(data.images).toHaveLength(12 * 64);
    expect([data.height, data.width, data.channels, data.numClasses]).toEqual([8, 8, 1, 4]);
  });

  test('rows y with y mod 4 = label are bright (200–255), the others dark (0–60)', () => {
    for (let n = 0; n < data.count; n++) {
      for (let y = 0; y < 8; y++) {
        const row = Array.from(data.images.subarray((n * 8 + y) * 8, (n * 8 + y + 1) * 8));
        if (y % 4 === data.labels[n]) expect(Math.min(...row)).toBeGreaterThanOrEqual(200);
        else expect(Math.max(...row)).toBeLessThanOrEqual(60);
      }
    }
  });

  test('the same seed gives the same images, another seed other noise', () => {
    expect(stripesDataset(12, 8, 4, 7).images).toEqual(data.images);
    expect(stripesDataset(12, 8, 4, 8).images).not.toEqual(data.images);
  });
});
