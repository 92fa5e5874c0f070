/**
 * A tfjs Layers API model (`tf.sequential`, `tf.model`, or one loaded with `tf.loadLayersModel`)
 * as an {@link AdaptableModel}: the weight matrices of its Dense, Conv1D / Conv2D / Conv3D,
 * Embedding, SimpleRNN, LSTM and GRU layers (inside TimeDistributed and Bidirectional too) become
 * adapter targets, so a SuperLoRA adapter fine-tunes a model the user already has.
 *
 * tfjs stores each of these weights as [..., in, out] (a kernel [...kernelSize, in, out], an
 * embedding table [vocabulary, dim], a recurrent kernel [units, gates·units]); the target is the
 * weight as a matrix [out, everything else] (a Dense kernel [in, out] is the target [out, in], the
 * Hugging Face layout; an embedding table is [dim, vocabulary], as PEFT's LoRA embeddings). The
 * forward hands every adapted weight's read through the adapter's weight override, so ΔW_t enters
 * the layer's own op (matMul, conv, gather, each recurrent step) and its gradient reaches the
 * adapter.
 *
 * The base model is frozen, its normalisation statistics included: BatchNormalization layers
 * normalise with their moving mean and variance in training too, and never update them. Left to
 * tfjs, a training forward would normalise with each batch's moments and overwrite the base
 * model's moving statistics, which no adapter file carries: the fine-tuned model would then
 * evaluate differently once reloaded or merged (PEFT's LoRA on a model in train mode has that
 * trap). Dropout and other training-only layers still follow `training`; given a `seed`, the
 * Dropout and SpatialDropout1D layers draw their masks from it (tfjs gives GaussianNoise,
 * GaussianDropout and AlphaDropout no seed: those draw unseeded).
 */
import * as tf from '@tensorflow/tfjs';
import type { Target } from '../config';
import { dropoutSeed } from '../rng';
import { kindOf } from '../valueText';
import type { AdaptableModel } from './modelAdapter';

/** The layer classes whose training forward draws its mask from the layer's `seed`. */
const SEEDED_DROPOUT_LAYERS: ReadonlySet<string> = new Set(['Dropout', 'SpatialDropout1D']);
/** The layer classes whose `kernel` is [...kernelSize, in, out]. */
const KERNEL_LAYERS: ReadonlySet<string> = new Set(['Dense', 'Conv1D', 'Conv2D', 'Conv3D']);
/** The recurrent layers; their cell holds `kernel` [in, gates·units] and `recurrentKernel`. */
const RECURRENT_LAYERS: ReadonlySet<string> = new Set(['SimpleRNN', 'LSTM', 'GRU']);
const ADAPTABLE_CLASSES = 'Dense, Conv1D, Conv2D, Conv3D, Embedding, SimpleRNN, LSTM or GRU';

/** A weight override as `ModelAdapter.withDelta` hands it out: [out, in] in, [out, in] out. */
export type WeightOverride = (name: string, weight: tf.Tensor) => tf.Tensor;

export interface LayersForwardOptions {
  /**
   * Dropout and other training-only behaviour, as in `model.apply(x, { training })`; batch
   * normalisation keeps the base model's moving statistics either way.
   */
  training?: boolean;
  /**
   * Seeds the Dropout and SpatialDropout1D masks of a training forward (each layer its own
   * stream), so that a seeded run repeats bit for bit; without it tfjs draws them unseeded.
   */
  seed?: number;
  weightOverride?: WeightOverride;
}

interface AdaptableWeight {
  readonly variable: tf.LayerVariable;
  /** The weight's tfjs shape, [..., in, out]. */
  readonly storedShape: readonly number[];
  readonly target: Target;
}

/** A layer's `call`, which `apply` runs with the layer's kwargs (`training` among them). */
type LayerCall = (inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict) => unknown;

/** The weights and wrapped layers the Layers API keeps untyped on the layers that have them. */
interface WeightedLayer extends tf.layers.Layer {
  kernel?: tf.LayerVariable;
  embeddings?: tf.LayerVariable;
  cell?: { kernel: tf.LayerVariable; recurrentKernel: tf.LayerVariable };
  /** TimeDistributed's layer. */
  layer?: WeightedLayer;
  /** Bidirectional's two recurrent layers. */
  forwardLayer?: WeightedLayer;
  backwardLayer?: WeightedLayer;
}

/**
 * A layer's adaptable weights by their tfjs weight names: `kernel`; a Bidirectional layer's
 * `forward_…/kernel` and `backward_…/kernel`; a TimeDistributed layer's inner layer's, as its own.
 */
function adaptableWeights(layer: WeightedLayer): [string, tf.LayerVariable][] {
  // tfjs builds every layer of a model as the model is made (a Sequential refuses a first layer
  // without inputShape), so each weight exists and each of its dimensions is known.
  const className = layer.getClassName();
  if (className === 'TimeDistributed') return adaptableWeights(layer.layer!);
  if (className === 'Bidirectional') {
    return [layer.forwardLayer!, layer.backwardLayer!].flatMap((inner) =>
      adaptableWeights(inner).map(([name, variable]): [string, tf.LayerVariable] => [
        `${inner.name}/${name}`,
        variable,
      ]),
    );
  }
  if (KERNEL_LAYERS.has(className)) return [['kernel', layer.kernel!]];
  if (className === 'Embedding') return [['embeddings', layer.embeddings!]];
  if (RECURRENT_LAYERS.has(className)) {
    return [
      ['kernel', layer.cell!.kernel],
      ['recurrent_kernel', layer.cell!.recurrentKernel],
    ];
  }
  return [];
}

export class AdaptableLayersModel implements AdaptableModel {
  readonly weights = new Map<string, tf.Variable>();
  private readonly adaptable = new Map<string, AdaptableWeight>();
  /** The BatchNormalization layers, at any depth: they run in inference mode (see above). */
  private readonly batchNorms: tf.layers.Layer[] = [];
  /** The Dropout layers (SEEDED_DROPOUT_LAYERS), at any depth, whose `seed` a forward may set. */
  private readonly dropouts: { seed?: number }[] = [];

  /** Throws a TypeError if `model` is not a LayersModel or has no weight an adapter can target. */
  constructor(readonly model: tf.LayersModel) {
    if (!(model instanceof tf.LayersModel)) {
      throw new TypeError(
        `Expected a tf.LayersModel (tf.sequential, tf.model or tf.loadLayersModel) but received ${kindOf(model)}`,
      );
    }
    this.collect(model, '', { next: 0 });
    if (this.adaptable.size === 0) {
      throw new TypeError(
        `Expected the model ${model.name} to have a ${ADAPTABLE_CLASSES} layer to adapt, but it has none (its layers: ${model.layers.map((l) => l.getClassName()).join(', ')})`,
      );
    }
  }

  /** Walks the layers depth first; nested models' layers are named `outer/inner/kernel`. */
  private collect(container: tf.LayersModel, prefix: string, counter: { next: number }): void {
    for (const layer of container.layers as WeightedLayer[]) {
      if (layer instanceof tf.LayersModel) {
        this.collect(layer, `${prefix}${layer.name}/`, counter);
        continue;
      }
      if (layer.getClassName() === 'BatchNormalization') this.batchNorms.push(layer);
      if (SEEDED_DROPOUT_LAYERS.has(layer.getClassName())) {
        this.dropouts.push(layer as unknown as { seed?: number });
      }
      const layerIndex = counter.next++;
      for (const [weightName, variable] of adaptableWeights(layer)) {
        const name = `${prefix}${layer.name}/${weightName}`;
        const storedShape = variable.shape as number[];
        const out = storedShape[storedShape.length - 1] as number;
        const input = storedShape.slice(0, -1).reduce((a, b) => a * b, 1);
        this.weights.set(name, variable.read() as tf.Variable);
        this.adaptable.set(name, {
          variable,
          storedShape,
          target: { name, shape: [out, input], layer: layerIndex },
        });
      }
    }
  }

  /** Every adaptable weight as [out, in], in the model's layer order. */
  linearTargets(): Target[] {
    return [...this.adaptable.values()].map(({ target }) => ({
      name: target.name,
      shape: [target.shape[0], target.shape[1]],
      layer: target.layer,
    }));
  }

  /** A target matrix [out, in] in the weight's tfjs layout [..., in, out]. */
  toWeightLayout(name: string, delta: tf.Tensor2D): tf.Tensor {
    const weight = this.adaptable.get(name);
    if (!weight) {
      throw new TypeError(
        `Expected the name of an adaptable weight (${[...this.adaptable.keys()].join(', ')}) but received ${JSON.stringify(name)}`,
      );
    }
    return delta.transpose().reshape(weight.storedShape as number[]);
  }

  /**
   * The model's output for `inputs` (`model.apply` on concrete tensors), with every weight an
   * override is given for read as `weightOverride(name, weight as [out, in])`. Pass it the
   * override of `ModelAdapter.withDelta` to run the model with W + ΔW, differentiably. Each
   * adapted weight is computed once per call, however often the layer reads it (a recurrent
   * layer reads its kernels at every step).
   */
  apply(
    inputs: tf.Tensor | tf.Tensor[],
    options: LayersForwardOptions = {},
  ): tf.Tensor | tf.Tensor[] {
    const override = options.weightOverride;
    const patched: tf.LayerVariable[] = [];
    const computed: tf.Tensor[] = [];
    const training = options.training ?? false;
    const frozen = training ? this.batchNorms : [];
    const seeded = training && options.seed !== undefined ? this.dropouts : [];
    const layerSeeds = seeded.map((layer) => layer.seed);
    try {
      seeded.forEach((layer, i) => (layer.seed = dropoutSeed(options.seed!, i + 1)));
      // An instance property shadows the layer's class `call` for this forward only.
      for (const layer of frozen) {
        const call = (layer.call as LayerCall).bind(layer);
        (layer as unknown as { call: LayerCall }).call = (inputs, kwargs) =>
          call(inputs, { ...kwargs, training: false });
      }
      if (override) {
        for (const [name, weight] of this.adaptable) {
          const original = this.weights.get(name) as tf.Variable;
          let adapted: tf.Tensor | null | undefined;
          // An instance property shadows LayerVariable.prototype.read for this forward only.
          weight.variable.read = () => {
            if (adapted === undefined) {
              adapted = this.adaptedWeight(name, weight, original, override);
              if (adapted) computed.push(adapted);
            }
            return adapted ?? original;
          };
          patched.push(weight.variable);
        }
      }
      return this.model.apply(inputs, { training }) as tf.Tensor | tf.Tensor[];
    } finally {
      for (const variable of patched) delete (variable as { read?: unknown }).read;
      for (const layer of frozen) delete (layer as { call?: unknown }).call;
      seeded.forEach((layer, i) => (layer.seed = layerSeeds[i]));
      // The ops that read them keep what their gradients need; these references can go.
      tf.dispose(computed);
    }
  }

  /**
   * The override's weight in tfjs layout, kept out of any tidy scope the layer reads it in (a
   * recurrent layer's steps each run in one); null when the override leaves the weight as it is
   * (not adapted, or merged).
   */
  private adaptedWeight(
    name: string,
    weight: AdaptableWeight,
    original: tf.Variable,
    override: WeightOverride,
  ): tf.Tensor | null {
    const shape = weight.storedShape as number[];
    const adapted = tf.tidy(() => {
      const matrix = original.reshape([-1, shape[shape.length - 1] as number]).transpose();
      const result = override(name, matrix);
      if (result === matrix) return undefined;
      checkOverrideShape(name, result, weight.target.shape);
      return result.transpose().reshape(shape);
    });
    return adapted ? tf.keep(adapted) : null;
  }
}

function checkOverrideShape(name: string, weight: tf.Tensor, shape: readonly number[]): void {
  if (weight.shape.length !== 2 || weight.shape[0] !== shape[0] || weight.shape[1] !== shape[1]) {
    throw new TypeError(
      `Expected weightOverride to return shape [${shape.join(', ')}] for ${name} but received [${weight.shape.join(', ')}]`,
    );
  }
}
