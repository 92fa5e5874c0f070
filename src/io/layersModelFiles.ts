/**
 * tfjs Layers models on the file system without tfjs-node: the `model.json` + weight shards format
 * that `model.save('file://…')`, `tensorflowjs_converter` and Keras' tfjs export write, as a tfjs
 * IO handler. `tf.loadLayersModel(layersModelFiles('my-model'))` reads one;
 * `model.save(layersModelFiles('out'))` writes the weights as `out/weights.<hash>.bin`, then
 * `out/model.json` naming them, each atomically, then removes the shards the replaced model.json
 * named that no other `.json` beside it names. The shard's name follows its content, so saving over a model never pairs a model.json
 * with another save's weights, even if the process dies between the two writes.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from './atomicWrite';
import { parseJsonText } from './parseJsonText';

const MODEL_FILE = 'model.json';

/** A model.json or weight shard that cannot be read as a tfjs Layers model; names the file. */
export class LayersModelFileError extends Error {
  override name = 'LayersModelFileError';
  constructor(
    readonly file: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/**
 * An IO handler for `tf.loadLayersModel` and `model.save`. `location` is a folder (holding, or to
 * hold, `model.json`) or the path of a `.json` file; weight shards are found beside it.
 */
export function layersModelFiles(location: string): tf.io.IOHandler {
  if (typeof location !== 'string' || location === '') {
    throw new TypeError(
      `Expected a folder or model.json path for layersModelFiles but received ${JSON.stringify(location)}`,
    );
  }
  const modelPath = location.endsWith('.json') ? location : path.join(location, MODEL_FILE);
  return {
    load: () => loadArtifacts(modelPath),
    save: (artifacts) => saveArtifacts(modelPath, artifacts),
  };
}

async function loadArtifacts(modelPath: string): Promise<tf.io.ModelArtifacts> {
  let text: string;
  try {
    text = await readFile(modelPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'no such file (expected the model.json of a tfjs Layers model)'
        : code === 'EISDIR'
          ? 'is a folder (expected the model.json file, or a folder holding it)'
          : (error as Error).message;
    throw new LayersModelFileError(modelPath, problem, { cause: error });
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (error) {
    throw new LayersModelFileError(modelPath, (error as Error).message, { cause: error });
  }
  const modelJson = checkModelJson(modelPath, json);
  return tf.io.getModelArtifactsForJSON(modelJson, (manifest) => readWeights(modelPath, manifest));
}

function checkModelJson(modelPath: string, json: unknown): tf.io.ModelJSON {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LayersModelFileError(
      modelPath,
      'expected a JSON object { modelTopology, weightsManifest }',
    );
  }
  const record = json as Record<string, unknown>;
  if (typeof record['modelTopology'] !== 'object' || record['modelTopology'] === null) {
    throw new LayersModelFileError(
      modelPath,
      'has no modelTopology object: is it a tfjs Layers model (a graph model loads with tf.loadGraphModel)?',
    );
  }
  const manifest = record['weightsManifest'];
  if (manifest !== undefined) {
    const valid = Array.isArray(manifest) && manifest.every(isManifestGroup);
    if (!valid) {
      throw new LayersModelFileError(
        modelPath,
        'weightsManifest must be a list of { paths: [file, …], weights: [spec, …] }',
      );
    }
  }
  return json as tf.io.ModelJSON;
}

function isManifestGroup(group: unknown): boolean {
  if (typeof group !== 'object' || group === null) return false;
  const { paths, weights } = group as { paths?: unknown; weights?: unknown };
  return (
    Array.isArray(paths) && paths.every((p) => typeof p === 'string') && Array.isArray(weights)
  );
}

/** Bytes per value of each dtype a weight spec may store (quantized or not). */
const STORED_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Every shard of the manifest, in order, checked against the sizes its specs add up to. */
async function readWeights(
  modelPath: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const folder = path.dirname(modelPath);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const shards: Uint8Array[] = [];
  for (const group of manifest) {
    let groupBytes = 0;
    for (const shardName of group.paths) {
      const shardPath = path.resolve(folder, shardName);
      try {
        const shard = await readFile(shardPath);
        shards.push(shard);
        groupBytes += shard.length;
      } catch (error) {
        throw new LayersModelFileError(
          shardPath,
          `cannot read this weight shard, listed in ${modelPath}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    const expected = expectedBytes(group.weights);
    if (expected !== null && expected !== groupBytes) {
      throw new LayersModelFileError(
        path.resolve(folder, group.paths[0] ?? ''),
        `the weight shards [${group.paths.join(', ')}] hold ${groupBytes} bytes, but the weights ${modelPath} lists for them take ${expected}`,
      );
    }
    specs.push(...group.weights);
  }
  return [specs, tf.io.concatenateArrayBuffers(shards.map((shard) => copyToArrayBuffer(shard)))];
}

/** The bytes a manifest group's weights take, or null if any is a string (stored with lengths). */
function expectedBytes(weights: readonly tf.io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const spec of weights) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = STORED_BYTES[dtype];
    if (bytes === undefined) return null;
    total += spec.shape.reduce((count, size) => count * size, 1) * bytes;
  }
  return total;
}

function copyToArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return copy;
}

async function saveArtifacts(
  modelPath: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new TypeError(
      `layersModelFiles saves Layers models (a JSON topology); received a binary (graph) topology for ${modelPath}`,
    );
  }
  const weightData = artifacts.weightData ?? [];
  const buffers = Array.isArray(weightData) ? weightData : [weightData];
  const chunks = buffers.map((buffer) => new Uint8Array(buffer));
  const digest = createHash('sha256');
  for (const chunk of chunks) digest.update(chunk);
  const shardName = `weights.${digest.digest('hex').slice(0, 16)}.bin`;
  const folder = path.dirname(modelPath);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [shardName], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata !== undefined) {
    modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  }
  const replacedShards = await shardsNamedBy(modelPath);
  // The weights first: model.json only ever names a complete shard.
  await writeFileAtomic(path.join(folder, shardName), chunks);
  await writeFileAtomic(modelPath, `${JSON.stringify(modelJson)}\n`);
  const stillNamed = await shardsNamedByOthers(folder, modelPath);
  for (const shard of replacedShards) {
    if (shard !== shardName && !stillNamed.has(shard)) {
      await rm(path.join(folder, shard), { force: true });
    }
  }
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: JSON.stringify(modelJson.modelTopology).length,
      weightSpecsBytes: JSON.stringify(modelJson.weightsManifest).length,
      weightDataBytes: chunks.reduce((bytes, chunk) => bytes + chunk.length, 0),
    },
  };
}

/**
 * The shards the other `.json` files in `folder` name: another model saved beside this one (its
 * shard has the same name when its weights are the same) keeps them.
 */
async function shardsNamedByOthers(folder: string, modelPath: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const entry of await readdir(folder)) {
    const other = path.join(folder, entry);
    if (!entry.endsWith('.json') || path.resolve(other) === path.resolve(modelPath)) continue;
    for (const shard of await shardsNamedBy(other)) names.add(shard);
  }
  return names;
}

/**
 * The shard files an existing model.json at `modelPath` names beside itself (plain file names
 * only: a path into another folder is never removed); none if there is no readable model.json.
 */
async function shardsNamedBy(modelPath: string): Promise<string[]> {
  let json: unknown;
  try {
    json = parseJsonText(await readFile(modelPath, 'utf8'));
  } catch {
    return [];
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) return [];
  return manifest
    .flatMap((group: { paths?: unknown }) => (Array.isArray(group?.paths) ? group.paths : []))
    .filter(
      (shard): shard is string =>
        typeof shard === 'string' && shard !== '' && path.basename(shard) === shard,
    );
}
