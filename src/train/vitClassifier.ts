/**
 * A Hugging Face ViT as an {@link ImageClassifier}: its `classifier.weight` / `classifier.bias` are
 * the head, its attention query and value weights the default targets.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_TARGET_PATTERNS } from '../tfjs/modelAdapter';
import { defaultLabels } from '../vit/config';
import { saveViT } from '../vit/io';
import { initialVariables, ViT } from '../vit/model';
import { CLASSIFIER_BIAS, CLASSIFIER_WEIGHT } from '../vit/weights';
import { headTensors, type ClassifierHead } from './headFile';
import type { ClassifierForwardOptions, ImageClassifier } from './imageClassifier';

function isHead(name: string): boolean {
  return name === CLASSIFIER_WEIGHT || name === CLASSIFIER_BIAS;
}

/** Replaces the classifier with a freshly initialised one of the same shape. */
export function resetHead(vit: ViT, seed: number): void {
  const fresh = initialVariables(vit.config, seed, isHead);
  for (const [name, variable] of fresh) {
    vit.weights.get(name)?.assign(variable);
    variable.dispose();
  }
}

export class ViTClassifier implements ImageClassifier {
  readonly kind = 'vit';
  readonly defaultTargetPatterns = DEFAULT_TARGET_PATTERNS;
  private current: ViT;

  /** Takes ownership of `vit`. */
  constructor(vit: ViT) {
    this.current = vit;
  }

  /** The model as it is now (a new head of another size makes a new ViT over the same weights). */
  get vit(): ViT {
    return this.current;
  }

  get adaptable(): ViT {
    return this.current;
  }

  get imageSize(): number {
    return this.current.config.imageSize;
  }

  get numChannels(): number {
    return this.current.config.numChannels;
  }

  get labels(): readonly string[] {
    return this.current.config.id2label;
  }

  get headVariables(): ReadonlyMap<string, tf.Variable> {
    const { weights } = this.current;
    return new Map(
      [CLASSIFIER_WEIGHT, CLASSIFIER_BIAS].map((name) => [name, weights.get(name) as tf.Variable]),
    );
  }

  logits(pixelValues: tf.Tensor4D, options: ClassifierForwardOptions = {}): tf.Tensor2D {
    return this.current.forward(pixelValues, options);
  }

  readHead(): ClassifierHead {
    const tensor = (name: string) => {
      const variable = this.current.weights.get(name) as tf.Variable;
      return {
        dtype: 'F32' as const,
        shape: variable.shape,
        data: variable.dataSync() as Float32Array,
      };
    };
    return {
      weight: tensor(CLASSIFIER_WEIGHT),
      bias: tensor(CLASSIFIER_BIAS),
      labels: [...this.labels],
    };
  }

  setHead(head: ClassifierHead, source: string): void {
    const [rows, hidden] = head.weight.shape as [number, number];
    if (hidden !== this.current.config.hiddenSize) {
      throw new TypeError(
        `${source}: ${CLASSIFIER_WEIGHT} has shape [${head.weight.shape}] but the model needs [labels, ${this.current.config.hiddenSize}]`,
      );
    }
    if (rows !== this.labels.length) this.resetHead(rows, 0, head.labels);
    else if (head.labels) this.relabel(head.labels);
    for (const [name, tensor] of headTensors(head)) {
      const variable = this.current.weights.get(name) as tf.Variable;
      variable.assign(tf.tensor(tensor.data, tensor.shape, 'float32'));
    }
  }

  resetHead(numLabels: number, seed: number, labels?: readonly string[]): void {
    if (numLabels === this.labels.length) {
      resetHead(this.current, seed);
      if (labels) this.relabel(labels);
      return;
    }
    const config = {
      ...this.current.config,
      numLabels,
      id2label: labels ? [...labels] : defaultLabels(numLabels),
    };
    const { weights } = this.current;
    for (const [name, variable] of initialVariables(config, seed, isHead)) {
      weights.get(name)?.dispose();
      weights.set(name, variable);
    }
    this.current = new ViT(config, weights);
  }

  private relabel(labels: readonly string[]): void {
    this.current = new ViT({ ...this.current.config, id2label: [...labels] }, this.current.weights);
  }

  save(location: string): Promise<void> {
    return saveViT(location, this.current);
  }

  dispose(): void {
    this.current.dispose();
  }
}
