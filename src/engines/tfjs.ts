/**
 * The `tfjs` engine: the reference map of `tfjsDeltaGraph.ts` on whatever tfjs backend is active.
 */
import * as tf from '@tensorflow/tfjs';
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import type { DeltaEngine } from './engine';
import {
  createDeltaGraphConstants,
  deltaGraph,
  disposeDeltaGraphConstants,
  type DeltaGraphConstants,
} from './tfjsDeltaGraph';
import { checkVector } from './checkVector';

/**
 * The tensor's values as an array the caller owns. The cpu backend keeps typed arrays it is given
 * and slices them with views, so a result can alias an input (a dense split is the params
 * themselves): such a result is copied.
 */
async function readAndDispose(result: tf.Tensor, ...inputs: Float32Array[]): Promise<Float32Array> {
  try {
    const values = (await result.data()) as Float32Array;
    return inputs.some((input) => input.buffer === values.buffer) ? values.slice() : values;
  } finally {
    result.dispose();
  }
}

export class TfjsEngine implements DeltaEngine {
  readonly name = 'tfjs' as const;
  private constants: DeltaGraphConstants | null;
  private readonly graph: (params: tf.Tensor1D) => tf.Tensor1D;
  private readonly gradient: (params: tf.Tensor1D, dDelta: tf.Tensor1D) => tf.Tensor1D;

  constructor(
    private readonly layout: PlanLayout,
    tables: FixedTables,
  ) {
    this.constants = createDeltaGraphConstants(layout, tables);
    this.graph = deltaGraph(layout, this.constants);
    this.gradient = tf.grad((params: tf.Tensor) => this.graph(params as tf.Tensor1D)) as (
      params: tf.Tensor1D,
      dDelta: tf.Tensor1D,
    ) => tf.Tensor1D;
  }

  private live(): void {
    if (!this.constants) throw new Error('This tfjs engine was disposed');
  }

  async delta(params: Float32Array): Promise<Float32Array> {
    this.live();
    checkVector('params', params, this.layout.numParams);
    const result = tf.tidy(() => this.graph(tf.tensor1d(params, 'float32')));
    return readAndDispose(result, params);
  }

  async deltaBackward(params: Float32Array, dDelta: Float32Array): Promise<Float32Array> {
    this.live();
    checkVector('params', params, this.layout.numParams);
    checkVector('dDelta', dDelta, this.layout.deltaSize);
    const result = tf.tidy(() =>
      this.gradient(tf.tensor1d(params, 'float32'), tf.tensor1d(dDelta, 'float32')),
    );
    return readAndDispose(result, params, dDelta);
  }

  dispose(): void {
    if (this.constants) disposeDeltaGraphConstants(this.constants);
    this.constants = null;
  }
}
