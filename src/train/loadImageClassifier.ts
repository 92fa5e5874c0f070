/**
 * Loads the classifier a `--model` path names: a Hugging Face ViT folder or a tfjs Layers model
 * (imageClassifier.ts says how they are told apart).
 */
import { loadViT } from '../vit/io';
import { classifierKind, type ImageClassifier } from './imageClassifier';
import { loadLayersClassifier, type InputRange } from './layersClassifier';
import { ViTClassifier } from './vitClassifier';

export interface LoadClassifierOptions {
  /** A tfjs Layers model's input range (layersClassifier.ts); refused for a ViT. */
  inputRange?: InputRange;
}

export async function loadImageClassifier(
  path: string,
  options: LoadClassifierOptions = {},
): Promise<ImageClassifier> {
  if (classifierKind(path) === 'layers') return loadLayersClassifier(path, options);
  if (options.inputRange !== undefined) {
    throw new TypeError(
      `Expected no input range for the ViT ${path}: a ViT takes its pixels as (x/255 − 0.5)/0.5; the input range is for tfjs Layers models`,
    );
  }
  return new ViTClassifier(await loadViT(path));
}
