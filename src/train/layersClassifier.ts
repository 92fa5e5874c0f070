/**
 * A tfjs Layers model as an {@link ImageClassifier}: its output layer, a Dense layer, is the head;
 * every adaptable weight before it (AdaptableLayersModel) is a target. The model's input is an
 * image as [H, W, C], [H, W] (one channel) or flattened [H·W·C]; images reach it scaled to
 * `inputRange` (default [0, 1], as most tfjs models are trained). Logits are the head's output
 * before its activation (a softmax head gives probabilities; training needs the logits).
 *
 * Label names and the input range travel in model.json's `userDefinedMetadata`
 * (`{ "labels": [...], "inputRange": [lo, hi] }`), which `save` writes.
 */
import * as tf from '@tensorflow/tfjs';
import { layersModelFiles } from '../io/layersModelFiles';
import { AdaptableLayersModel } from '../tfjs/layersModel';
import { kindOf } from '../valueText';
import type { ClassifierHead } from './headFile';
import {
  LAYERS_DEFAULT_TARGET_PATTERNS,
  numberedLabels,
  type ClassifierForwardOptions,
  type ImageClassifier,
} from './imageClassifier';

export type InputRange = readonly [number, number];
export const DEFAULT_INPUT_RANGE: InputRange = [0, 1];

export interface LayersClassifierOptions {
  /** The pixel values the model was trained on, black to white; default: model.json's, else [0, 1]. */
  inputRange?: InputRange;
}

/** What superlora keeps in model.json's userDefinedMetadata. */
interface ClassifierMetadata {
  labels?: string[];
  inputRange?: [number, number];
}

/** An image input's geometry: side, channels, and the shape the model takes each image as. */
interface ImageInput {
  imageSize: number;
  numChannels: number;
  shape: number[];
}

/** [H, W, C] with C = 1 or 3, [H, W], or [H·W·C] with a square image of 1 or 3 channels. */
function imageInput(shape: readonly (number | null)[], modelName: string): ImageInput {
  const dims = shape.slice(1);
  const refuse = (why: string): never => {
    throw new TypeError(
      `Expected the model ${modelName} to take square images as [H, W, C] (C = 1 or 3), [H, W] or flattened [H·W·C], but its input is [${shape.map((d) => d ?? 'null').join(', ')}]: ${why}`,
    );
  };
  if (dims.some((d) => d === null)) refuse('every dimension but the batch must be fixed');
  const [a, b, c] = dims as number[];
  if (dims.length === 3 || dims.length === 2) {
    const channels = dims.length === 3 ? (c as number) : 1;
    if (a !== b) refuse('the image is not square');
    if (channels !== 1 && channels !== 3) refuse(`${channels} channels`);
    return { imageSize: a as number, numChannels: channels, shape: dims as number[] };
  }
  if (dims.length === 1) {
    for (const channels of [1, 3]) {
      const side = Math.round(Math.sqrt((a as number) / channels));
      if (side * side * channels === a) {
        return { imageSize: side, numChannels: channels, shape: [a as number] };
      }
    }
    refuse(`${a} is neither H·W nor H·W·3 of a square image`);
  }
  return refuse(`${dims.length} dimensions per image`);
}

/** The model's output layer, checked to be a Dense layer fed by one rank-2 tensor. */
function denseHead(model: tf.LayersModel): { head: tf.layers.Layer; features: tf.SymbolicTensor } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new TypeError(
      `Expected a classifier with one input and one output but the model ${model.name} has ${model.inputs.length} inputs and ${model.outputs.length} outputs`,
    );
  }
  const head = (model.outputs[0] as tf.SymbolicTensor).sourceLayer as tf.layers.Layer;
  if (head.getClassName() !== 'Dense') {
    throw new TypeError(
      `Expected the model ${model.name} to end in a Dense classifier layer but its output layer ${head.name} is ${head.getClassName()}`,
    );
  }
  const features = head.input as tf.SymbolicTensor;
  if (features.shape.length !== 2) {
    throw new TypeError(
      `Expected the classifier layer ${head.name} to take [batch, features] but it takes [${features.shape.map((d) => d ?? 'null').join(', ')}]`,
    );
  }
  return { head, features };
}

function checkInputRange(range: unknown, source: string): InputRange {
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    !range.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !(range[0] < range[1])
  ) {
    throw new TypeError(
      `Expected ${source} to be [low, high], two finite numbers with low < high, but received ${JSON.stringify(range) ?? kindOf(range)}`,
    );
  }
  return [range[0], range[1]];
}

/** Labels and input range from model.json, each kept only when it is well formed. */
function readMetadata(model: tf.LayersModel): ClassifierMetadata {
  const metadata = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const labels = metadata?.labels;
  const result: ClassifierMetadata = {};
  if (Array.isArray(labels) && labels.every((label) => typeof label === 'string')) {
    result.labels = labels;
  }
  if (metadata?.inputRange !== undefined) {
    result.inputRange = [
      ...checkInputRange(metadata.inputRange, `${model.name}'s inputRange metadata`),
    ];
  }
  return result;
}

export class LayersClassifier implements ImageClassifier {
  readonly kind = 'layers';
  /** Every adaptable weight before the head. */
  readonly defaultTargetPatterns = LAYERS_DEFAULT_TARGET_PATTERNS;
  readonly adaptable: AdaptableLayersModel;
  readonly imageSize: number;
  readonly numChannels: number;
  readonly inputRange: InputRange;
  private readonly input: ImageInput;
  private full: tf.LayersModel;
  private head: tf.layers.Layer;
  private readonly features: tf.SymbolicTensor;
  private names: string[];

  /**
   * Takes ownership of `model` (disposed with the classifier). Throws a TypeError unless it takes
   * one image input and ends in a Dense layer with an adaptable layer before it.
   */
  constructor(model: tf.LayersModel, options: LayersClassifierOptions = {}) {
    if (!(model instanceof tf.LayersModel)) {
      throw new TypeError(`Expected a tf.LayersModel but received ${kindOf(model)}`);
    }
    const { head, features } = denseHead(model);
    this.input = imageInput(model.inputs[0]!.shape, model.name);
    this.imageSize = this.input.imageSize;
    this.numChannels = this.input.numChannels;
    const metadata = readMetadata(model);
    this.inputRange = options.inputRange
      ? checkInputRange(options.inputRange, 'inputRange')
      : (metadata.inputRange ?? DEFAULT_INPUT_RANGE);
    this.full = model;
    this.head = head;
    this.features = features;
    const units = this.kernel.shape[1] as number;
    this.names = metadata.labels?.length === units ? metadata.labels : numberedLabels(units);
    const body = tf.model({ inputs: model.inputs, outputs: features, name: `${model.name}_body` });
    this.adaptable = new AdaptableLayersModel(body);
  }

  /** The model with its current head, as `save` writes it. */
  get model(): tf.LayersModel {
    return this.full;
  }

  get labels(): readonly string[] {
    return this.names;
  }

  private get kernel(): tf.Variable {
    return (this.head as unknown as { kernel: tf.LayerVariable }).kernel.read() as tf.Variable;
  }

  private get bias(): tf.Variable | null {
    const bias = (this.head as unknown as { bias: tf.LayerVariable | null }).bias;
    return bias ? (bias.read() as tf.Variable) : null;
  }

  get headVariables(): ReadonlyMap<string, tf.Variable> {
    const variables = new Map<string, tf.Variable>([[`${this.head.name}/kernel`, this.kernel]]);
    const { bias } = this;
    if (bias) variables.set(`${this.head.name}/bias`, bias);
    return variables;
  }

  logits(pixelValues: tf.Tensor4D, options: ClassifierForwardOptions = {}): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const features = this.adaptable.apply(this.toModelInput(pixelValues), {
        training: options.training,
        seed: options.seed,
        weightOverride: options.weightOverride,
      }) as tf.Tensor2D;
      const logits = tf.matMul(features, this.kernel) as tf.Tensor2D;
      const { bias } = this;
      return bias ? (logits.add(bias) as tf.Tensor2D) : logits;
    });
  }

  /** NCHW pixel values in [−1, 1] (batchAt's) as the model's input: NHWC, scaled, reshaped. */
  private toModelInput(pixelValues: tf.Tensor4D): tf.Tensor {
    const [batch, channels, height, width] = pixelValues.shape;
    const { imageSize, numChannels } = this;
    if (channels !== numChannels || height !== imageSize || width !== imageSize) {
      throw new TypeError(
        `Expected pixelValues of shape [B, ${numChannels}, ${imageSize}, ${imageSize}] but received [${pixelValues.shape.join(', ')}]`,
      );
    }
    const [low, high] = this.inputRange;
    return pixelValues
      .transpose([0, 2, 3, 1])
      .mul((high - low) / 2)
      .add((high + low) / 2)
      .reshape([batch, ...this.input.shape]);
  }

  readHead(): ClassifierHead {
    const kernel = this.kernel;
    const [hidden, units] = kernel.shape as [number, number];
    const weight = tf.tidy(() => kernel.transpose().dataSync() as Float32Array);
    const bias = this.bias?.dataSync() as Float32Array | undefined;
    return {
      weight: { dtype: 'F32', shape: [units, hidden], data: weight },
      bias: {
        dtype: 'F32',
        shape: [units],
        data: bias ? Float32Array.from(bias) : new Float32Array(units),
      },
      labels: [...this.names],
    };
  }

  setHead(head: ClassifierHead, source: string): void {
    const [rows, hidden] = head.weight.shape as [number, number];
    const features = this.features.shape[1] as number;
    if (hidden !== features) {
      throw new TypeError(
        `${source}: the head's weight has shape [${head.weight.shape}] but the model's classifier layer ${this.head.name} needs [labels, ${features}]`,
      );
    }
    // A head file always has a bias: a head without one is rebuilt with one.
    if (rows !== this.names.length || !this.bias) this.resetHead(rows, 0, head.labels);
    else if (head.labels) this.names = [...head.labels];
    tf.tidy(() => {
      this.kernel.assign(tf.tensor2d(head.weight.data, [rows, hidden]).transpose());
      this.bias?.assign(tf.tensor1d(head.bias.data));
    });
  }

  /** A new Dense head (same name and activation, with a bias), Glorot-uniform from `seed`. */
  resetHead(numLabels: number, seed: number, labels?: readonly string[]): void {
    const config = this.head.getConfig();
    const fresh = tf.layers.dense({
      units: numLabels,
      activation: config.activation as 'linear',
      useBias: true,
      name: this.head.name,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: 'zeros',
    });
    const output = fresh.apply(this.features) as tf.SymbolicTensor;
    const model = tf.model({ inputs: this.full.inputs, outputs: output, name: this.full.name });
    this.head.dispose();
    this.head = fresh;
    this.full = model;
    this.names = labels ? [...labels] : numberedLabels(numLabels);
  }

  async save(location: string): Promise<void> {
    const metadata: ClassifierMetadata = {
      labels: [...this.names],
      inputRange: [...this.inputRange],
    };
    this.full.setUserDefinedMetadata({ ...metadata });
    await this.full.save(layersModelFiles(location));
  }

  dispose(): void {
    this.full.dispose();
  }
}

/** The tfjs Layers model at `location` (a folder with model.json, or a .json file), as a classifier. */
export async function loadLayersClassifier(
  location: string,
  options: LayersClassifierOptions = {},
): Promise<LayersClassifier> {
  const model = await tf.loadLayersModel(layersModelFiles(location));
  try {
    return new LayersClassifier(model, options);
  } catch (error) {
    model.dispose();
    throw error;
  }
}
