/**
 * The learning-rate range test as a Vega-Lite spec: the loss against the learning rate (log x),
 * faint as logged and solid smoothed, up to where it diverged, with the suggested rates marked.
 */
import type { LrRangeResult } from '../train/lrRange';

export function lrRangeSpec(result: LrRangeResult, title?: string): object {
  const shown = result.points.filter(
    (point) => result.divergedAt === null || point.lr < result.divergedAt,
  );
  const rows = shown.flatMap((point) => [
    { lr: point.lr, series: 'as logged', loss: point.loss },
    { lr: point.lr, series: 'smoothed', loss: point.smoothed },
  ]);
  const marks = [
    ...(result.steepest === null
      ? []
      : [{ lr: result.steepest, rule: `steepest fall: ${result.steepest.toPrecision(2)}` }]),
    ...(result.minimumOver10 === null
      ? []
      : [
          {
            lr: result.minimumOver10,
            rule: `minimum / 10: ${result.minimumOver10.toPrecision(2)}`,
          },
        ]),
  ];
  // The start of the smoothed curve bounds the view: a loss that climbs back up is clipped.
  const top = Math.max(...shown.slice(0, 5).map((point) => point.smoothed)) * 1.25;
  const x = {
    field: 'lr',
    type: 'quantitative',
    title: 'learning rate (log scale)',
    scale: { type: 'log' },
    axis: { format: '.0e' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title ?? 'Learning-rate range test',
    width: 560,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', clip: true },
        encoding: {
          x,
          y: {
            field: 'loss',
            type: 'quantitative',
            title: 'training loss',
            scale: { zero: false, domainMax: top },
          },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['as logged', 'smoothed'], range: ['#c6dbef', '#1f77b4'] },
          },
        },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', strokeDash: [4, 3] },
        encoding: {
          x,
          strokeDash: {
            field: 'rule',
            type: 'nominal',
            title: 'suggested',
            legend: { labelLimit: 320 },
          },
        },
      },
    ],
  };
}
