/**
 * The ViT configuration, read from and written to a Hugging Face `config.json`. Fields that HF
 * would default are defaulted here to the same values (so a minimal config.json loads the way
 * `ViTConfig.from_pretrained` would); fields present but wrong are rejected by name.
 */

import { valueText } from '../valueText';
import { ownFields } from '../ownFields';

/** A ViT config or checkpoint that breaks the contract; the message names the file and the field or tensor. */
export class ViTFormatError extends Error {
  override name = 'ViTFormatError';
}

export interface ViTConfig {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** Only "gelu" (the exact, erf-based GELU, as HF's ACT2FN["gelu"]) is supported. */
  hiddenAct: 'gelu';
  layerNormEps: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  qkvBias: boolean;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  initializerRange: number;
  numLabels: number;
  /** Index → label name; has exactly `numLabels` entries. */
  id2label: string[];
}

/** HF `ViTConfig` defaults (google/vit-base-patch16-224), so partial configs mean the same thing as in HF. */
export const VIT_CONFIG_DEFAULTS: Readonly<Omit<ViTConfig, 'numLabels' | 'id2label'>> = {
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  hiddenAct: 'gelu',
  layerNormEps: 1e-12,
  imageSize: 224,
  patchSize: 16,
  numChannels: 3,
  qkvBias: true,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
  initializerRange: 0.02,
};

/** HF's `PretrainedConfig` default when a config names no labels. */
const DEFAULT_NUM_LABELS = 2;

/** Number of patches along one side and in total. */
export function patchGrid(config: ViTConfig): { side: number; count: number } {
  const side = config.imageSize / config.patchSize;
  return { side, count: side * side };
}

export function defaultLabels(numLabels: number): string[] {
  return Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every field of {@link ViTConfig}, the only keys the camelCase API accepts. */
const VIT_CONFIG_KEYS: readonly string[] = [
  ...Object.keys(VIT_CONFIG_DEFAULTS),
  'numLabels',
  'id2label',
];

/** The spelling-insensitive form of a key: `hidden_size`, `HiddenSize` and `hiddenSize` all agree. */
function looseKey(key: string): string {
  return key.replace(/[_-]/g, '').toLowerCase();
}

/** Levenshtein distance, for suggesting the key a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(
        substitution,
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * A hint for an unknown key: the known key it spells differently (snake_case from a config.json,
 * other capitalisation) or is a near typo of; '' when none is close.
 */
function unknownKeyHint(key: string): string {
  const loose = looseKey(key);
  const respelt = VIT_CONFIG_KEYS.find((known) => looseKey(known) === loose);
  if (respelt !== undefined) {
    return key.includes('_')
      ? ` (did you mean ${respelt}? createViT takes camelCase; config.json's snake_case goes through parseViTConfigJson)`
      : ` (did you mean ${respelt}?)`;
  }
  const near = VIT_CONFIG_KEYS.find((known) => editDistance(looseKey(known), loose) <= 2);
  return near === undefined ? '' : ` (did you mean ${near}?)`;
}

/**
 * Refuses anything but an object whose keys are all ViTConfig fields. Without this, a typo
 * (`numHiddenLayrs`) or a HF snake_case key (`hidden_size`) is ignored and the 768-wide, 12-layer
 * default is built silently. Only the camelCase API path gets here with user keys:
 * parseViTConfigJson copies just the fields it knows, so config.json's many extra keys stay accepted.
 */
function checkConfigKeys(config: unknown, source: string): void {
  if (!isRecord(config)) {
    throw new ViTFormatError(
      `${source}: Expected an object of ViT config fields but received ${valueText(config)}`,
    );
  }
  for (const key of Object.keys(config)) {
    if (!VIT_CONFIG_KEYS.includes(key)) {
      throw new ViTFormatError(
        `${source}: Expected only the keys ${VIT_CONFIG_KEYS.join(', ')} but received unknown key ${key}` +
          unknownKeyHint(key),
      );
    }
  }
}

/**
 * Validates a config given in the library's camelCase form (for {@link createViT}) and fills in
 * defaults. `source` prefixes error messages.
 */
export function resolveViTConfig(config: Partial<ViTConfig>, source = 'ViT config'): ViTConfig {
  checkConfigKeys(config, source);
  config = ownFields(config);
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new ViTFormatError(
      `${source}: Expected ${expected} for ${field} but received ${valueText(value)}`,
    );
  };
  const positiveInteger = (field: keyof ViTConfig): number => {
    const value = config[field] ?? VIT_CONFIG_DEFAULTS[field as keyof typeof VIT_CONFIG_DEFAULTS];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      fail(field, value, 'an integer ≥ 1');
    }
    return value as number;
  };
  const probability = (field: 'hiddenDropoutProb' | 'attentionProbsDropoutProb'): number => {
    const value = config[field] ?? VIT_CONFIG_DEFAULTS[field];
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
      fail(field, value, 'a number in [0, 1)');
    }
    return value;
  };
  const positiveNumber = (field: 'layerNormEps' | 'initializerRange'): number => {
    const value = config[field] ?? VIT_CONFIG_DEFAULTS[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      fail(field, value, 'a finite number > 0');
    }
    return value;
  };

  const hiddenSize = positiveInteger('hiddenSize');
  const numAttentionHeads = positiveInteger('numAttentionHeads');
  if (hiddenSize % numAttentionHeads !== 0) {
    fail('hiddenSize', hiddenSize, `a multiple of numAttentionHeads (${numAttentionHeads})`);
  }
  const imageSize = positiveInteger('imageSize');
  const patchSize = positiveInteger('patchSize');
  if (imageSize % patchSize !== 0) {
    fail('imageSize', imageSize, `a multiple of patchSize (${patchSize})`);
  }
  const hiddenAct = config.hiddenAct ?? VIT_CONFIG_DEFAULTS.hiddenAct;
  if (hiddenAct !== 'gelu') {
    fail(
      'hiddenAct',
      hiddenAct,
      '"gelu" (the exact erf GELU; tanh approximations are not supported)',
    );
  }
  const qkvBias = config.qkvBias ?? VIT_CONFIG_DEFAULTS.qkvBias;
  if (typeof qkvBias !== 'boolean') fail('qkvBias', qkvBias, 'a boolean');

  let id2label = config.id2label;
  let numLabels = config.numLabels;
  if (id2label !== undefined) {
    if (!Array.isArray(id2label) || id2label.length === 0) {
      fail('id2label', id2label, 'a non-empty array of label names');
    }
    id2label = id2label.map((label, i) =>
      typeof label === 'string' ? label : fail(`id2label[${i}]`, label, 'a string'),
    );
    if (numLabels !== undefined && numLabels !== id2label.length) {
      fail('numLabels', numLabels, `${id2label.length}, the number of entries in id2label`);
    }
    numLabels = id2label.length;
  }
  numLabels ??= DEFAULT_NUM_LABELS;
  if (!Number.isSafeInteger(numLabels) || numLabels < 1) {
    fail('numLabels', numLabels, 'an integer ≥ 1');
  }
  return {
    hiddenSize,
    numHiddenLayers: positiveInteger('numHiddenLayers'),
    numAttentionHeads,
    intermediateSize: positiveInteger('intermediateSize'),
    hiddenAct,
    layerNormEps: positiveNumber('layerNormEps'),
    imageSize,
    patchSize,
    numChannels: positiveInteger('numChannels'),
    qkvBias,
    hiddenDropoutProb: probability('hiddenDropoutProb'),
    attentionProbsDropoutProb: probability('attentionProbsDropoutProb'),
    initializerRange: positiveNumber('initializerRange'),
    numLabels,
    id2label: id2label ?? defaultLabels(numLabels),
  };
}

/** HF config.json key → our field. Only these keys are interpreted; others are ignored as HF does. */
const JSON_FIELDS = {
  hidden_size: 'hiddenSize',
  num_hidden_layers: 'numHiddenLayers',
  num_attention_heads: 'numAttentionHeads',
  intermediate_size: 'intermediateSize',
  hidden_act: 'hiddenAct',
  layer_norm_eps: 'layerNormEps',
  image_size: 'imageSize',
  patch_size: 'patchSize',
  num_channels: 'numChannels',
  qkv_bias: 'qkvBias',
  hidden_dropout_prob: 'hiddenDropoutProb',
  attention_probs_dropout_prob: 'attentionProbsDropoutProb',
  initializer_range: 'initializerRange',
  num_labels: 'numLabels',
} as const satisfies Record<string, keyof ViTConfig>;

/**
 * Parses a HF `config.json` object. Errors name the file and the JSON field (`hidden_size`, not
 * `hiddenSize`), since that is what the user has to fix.
 */
export function parseViTConfigJson(json: unknown, source: string): ViTConfig {
  if (!isRecord(json)) {
    throw new ViTFormatError(`${source}: Expected a JSON object but received ${valueText(json)}`);
  }
  const modelType = json.model_type;
  if (modelType !== undefined && modelType !== 'vit') {
    throw new ViTFormatError(
      `${source}: Expected "vit" for model_type but received ${valueText(modelType)}`,
    );
  }
  const partial: Record<string, unknown> = {};
  for (const [jsonKey, field] of Object.entries(JSON_FIELDS)) {
    if (json[jsonKey] !== undefined) partial[field] = json[jsonKey];
  }
  if (json.id2label !== undefined) {
    partial.id2label = parseId2Label(json.id2label, source);
  }
  if (json.label2id !== undefined) {
    checkLabel2Id(json.label2id, partial.id2label as string[] | undefined, source);
  }
  try {
    return resolveViTConfig(partial as Partial<ViTConfig>, source);
  } catch (error) {
    if (!(error instanceof ViTFormatError)) throw error;
    // Report the JSON spelling of the field.
    let message = error.message;
    for (const [jsonKey, field] of Object.entries(JSON_FIELDS)) {
      message = message.replace(new RegExp(`\\b${field}\\b`, 'g'), jsonKey);
    }
    throw new ViTFormatError(message);
  }
}

/** HF writes id2label as {"0": "cat", "1": "dog"}; the keys must be exactly 0 … n−1. */
function parseId2Label(value: unknown, source: string): string[] {
  const fail = (expected: string, received: unknown): never => {
    throw new ViTFormatError(`${source}: Expected ${expected} but received ${valueText(received)}`);
  };
  if (!isRecord(value)) return fail('an object {"0": label, …} for id2label', value);
  const entries = Object.entries(value);
  const labels: string[] = new Array<string>(entries.length);
  for (const [key, label] of entries) {
    const index = Number(key);
    if (String(index) !== key || index >= entries.length) {
      fail(`keys 0 … ${entries.length - 1} in id2label`, key);
    }
    if (typeof label !== 'string') fail(`a string for id2label["${key}"]`, label);
    labels[index] = label as string;
  }
  if (entries.length === 0) fail('at least one entry in id2label', value);
  return labels;
}

/** label2id is derived from id2label; a present one must not contradict it. */
function checkLabel2Id(value: unknown, id2label: string[] | undefined, source: string): void {
  if (!isRecord(value)) {
    throw new ViTFormatError(
      `${source}: Expected an object {label: index, …} for label2id but received ${valueText(value)}`,
    );
  }
  for (const [label, index] of Object.entries(value)) {
    const consistent =
      typeof index === 'number' &&
      Number.isSafeInteger(index) &&
      index >= 0 &&
      (id2label === undefined || id2label[index] === label);
    if (!consistent) {
      const expected =
        id2label === undefined
          ? 'an integer ≥ 0'
          : `an index whose id2label entry is ${valueText(label)}`;
      throw new ViTFormatError(
        `${source}: Expected ${expected} for label2id[${valueText(label)}] but received ${valueText(index)}`,
      );
    }
  }
}

/** The HF config.json for `config` as a ViTForImageClassification. */
export function vitConfigToJson(config: ViTConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
  };
  for (const [jsonKey, field] of Object.entries(JSON_FIELDS)) {
    // num_labels is implied by id2label, which is how HF itself serialises it.
    if (field !== 'numLabels') json[jsonKey] = config[field];
  }
  json.id2label = Object.fromEntries(config.id2label.map((label, i) => [String(i), label]));
  json.label2id = Object.fromEntries(config.id2label.map((label, i) => [label, i]));
  json.torch_dtype = 'float32';
  return json;
}
