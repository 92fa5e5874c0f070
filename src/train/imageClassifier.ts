/**
 * An image classifier every command fine-tunes, evaluates, merges into and predicts with: a
 * Hugging Face ViT folder (vitClassifier.ts) or a tfjs Layers model whose output layer is a Dense
 * classifier (layersClassifier.ts). Both take pixel values as batchAt makes them (NCHW,
 * (x/255 − 0.5)/0.5) and give logits; each has a classifier head that fine-tuning replaces and
 * trains in full, while an adapter trains the rest.
 */
import { existsSync, statSync } from 'fs';
import { basename, join } from 'path';
import type * as tf from '@tensorflow/tfjs';
import { DEFAULT_TARGET_PATTERNS, type AdaptableModel } from '../tfjs/modelAdapter';
import { CONFIG_FILE, WEIGHTS_FILE } from '../vit/io';
import type { WeightOverride } from '../tfjs/layersModel';
import type { ClassifierHead } from './headFile';

export interface ClassifierForwardOptions {
  /** Dropout and other training-only behaviour. Default false. */
  training?: boolean;
  /** Seeds the dropout masks: the ViT's, a Layers model's Dropout and SpatialDropout1D layers'. */
  seed?: number;
  /** W + ΔW for the adapted weights, as `ModelAdapter.withDelta` hands it out. */
  weightOverride?: WeightOverride;
}

export interface ImageClassifier {
  readonly kind: 'vit' | 'layers';
  /** What an adapter targets: the model without its classifier head. */
  readonly adaptable: AdaptableModel;
  /** The input images' side and channels. */
  readonly imageSize: number;
  readonly numChannels: number;
  /** One name per logit. */
  readonly labels: readonly string[];
  /** The target patterns a fine-tune uses when the user gives none. */
  readonly defaultTargetPatterns: readonly string[];
  /** The head's trainable variables, by the names checkpoints keep them under. */
  readonly headVariables: ReadonlyMap<string, tf.Variable>;
  /** Logits [B, labels] for pixel values [B, C, H, W] as batchAt makes them. */
  logits(pixelValues: tf.Tensor4D, options?: ClassifierForwardOptions): tf.Tensor2D;
  /** The head as a head file holds it: weight [labels, hidden], bias [labels], the labels. */
  readHead(): ClassifierHead;
  /** Sets the head (and its label names); throws a TypeError naming `source` if shapes differ. */
  setHead(head: ClassifierHead, source: string): void;
  /**
   * A freshly initialised head of `numLabels` outputs (named `labels`, else as the model names
   * them), seeded: a new task gets a new head.
   */
  resetHead(numLabels: number, seed: number, labels?: readonly string[]): void;
  /** Writes the model where `location` says, in its own format, each file atomically. */
  save(location: string): Promise<void>;
  dispose(): void;
}

export type ClassifierKind = ImageClassifier['kind'];

/** A tfjs Layers model's file in its folder. */
export const LAYERS_MODEL_FILE = 'model.json';

/**
 * Which kind of model `path` names: a `.json` file or a folder with model.json is a tfjs Layers
 * model, a folder with config.json a Hugging Face ViT. Throws a TypeError for anything else.
 */
export function classifierKind(path: string): ClassifierKind {
  if (!existsSync(path)) throw new TypeError(`Expected a model at ${path} but it does not exist`);
  if (!statSync(path).isDirectory()) {
    if (path.endsWith('.json') && basename(path) !== CONFIG_FILE) return 'layers';
    throw new TypeError(
      `Expected a model folder (Hugging Face ViT: ${CONFIG_FILE} + ${WEIGHTS_FILE}) or a tfjs Layers model's .json file but received the file ${path}`,
    );
  }
  if (existsSync(join(path, CONFIG_FILE))) return 'vit';
  if (existsSync(join(path, LAYERS_MODEL_FILE))) return 'layers';
  throw new TypeError(
    `Expected ${path} to hold a Hugging Face ViT (${CONFIG_FILE} + ${WEIGHTS_FILE}) or a tfjs Layers model (${LAYERS_MODEL_FILE} + weight shards) but it has neither ${CONFIG_FILE} nor ${LAYERS_MODEL_FILE}`,
  );
}

/** A Layers model's default targets: every adaptable weight before its head. */
export const LAYERS_DEFAULT_TARGET_PATTERNS: readonly string[] = ['.'];

/** The target patterns a fine-tune of the model at `path` uses when the user gives none. */
export function defaultTargetPatternsFor(path: string): readonly string[] {
  return classifierKind(path) === 'layers'
    ? LAYERS_DEFAULT_TARGET_PATTERNS
    : DEFAULT_TARGET_PATTERNS;
}

/**
 * The files `save(location)` writes or replaces, besides a Layers model's weight shard (named
 * after its content, so never one that is read).
 */
export function savedModelFiles(kind: ClassifierKind, location: string): string[] {
  if (kind === 'vit') return [CONFIG_FILE, WEIGHTS_FILE].map((file) => join(location, file));
  return [location.endsWith('.json') ? location : join(location, LAYERS_MODEL_FILE)];
}

/** The labels a model without names for its classes gets: "0", "1", … */
export function numberedLabels(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(i));
}
