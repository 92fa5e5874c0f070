/**
 * `bench train-step`'s fused-op rows: the ViT's fused native kernels (native/ops/fused_ops.h)
 * alone, at a model's shapes: attention, LayerNorm and the exact GELU, forward and backward, each
 * timed like the GEMM (best round of many calls) on inputs of the training step's sizes.
 */
import type { Addon } from '../native/addonTypes';
import { patchGrid, type ViTConfig } from '../vit/config';
import { bestTimePerCall } from './bestTime';
import type { FmaPeak } from './trainStepBench';
import type { MachineDescription } from './machineLimits';
import { benchValues } from './benchValues';

export type FusedOpsAddon = Pick<
  Addon,
  | 'setThreads'
  | 'attention'
  | 'attentionBackward'
  | 'layerNorm'
  | 'layerNormInputGrad'
  | 'gelu'
  | 'geluBackward'
>;

export type FusedOpName = 'attention' | 'layerNorm' | 'gelu';

/** One kernel call at a model's shape, ready to time. */
export interface FusedOpCase {
  op: FusedOpName;
  direction: 'forward' | 'backward';
  /** The shape in words: rows × width, and for attention batch·heads × tokens² × head size. */
  shape: string;
  /** Output elements (for the backward, of the input gradient). */
  elements: number;
  /** Multiply-adds × 2 of the matrix products inside (attention), else null. */
  flop: number | null;
  run(): void;
}

export interface FusedOpRecord {
  bench: 'train-step';
  kind: 'op';
  model: string;
  op: FusedOpName;
  direction: 'forward' | 'backward';
  shape: string;
  threads: number;
  /** Best round's wall time per call. */
  ms: number;
  elements: number;
  /** ms per output element, in ns. */
  nsPerElement: number;
  flop: number | null;
  /** flop ÷ ms, and that ÷ the FMA peak at the same thread count; null without flop. */
  gflops: number | null;
  ofPeak: number | null;
  machine: MachineDescription;
}

/** The fused kernels one training step of `config` at `batch` images runs, per layer. */
export function fusedOpCases(
  addon: FusedOpsAddon,
  config: ViTConfig,
  batch: number,
): FusedOpCase[] {
  const tokens = patchGrid(config).count + 1;
  const rows = batch * tokens;
  const hidden = config.hiddenSize;
  const heads = config.numAttentionHeads;
  const headSize = hidden / heads;
  const scale = 1 / Math.sqrt(headSize);
  const [q, k, v, dy] = [1, 2, 3, 4].map((seed) => benchValues(rows * hidden, seed)) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const out = new Float32Array(rows * hidden);
  const probs = new Float32Array(batch * heads * tokens * tokens);
  const [dq, dk, dv] = [0, 1, 2].map(() => new Float32Array(rows * hidden)) as [
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  addon.attention(q, k, v, batch, tokens, heads, headSize, scale, out, probs);
  // Scores and context are two products of B·heads·T²·d multiply-adds each; the backward has four.
  const attentionFlop = 2 * batch * heads * tokens * tokens * headSize;
  const attentionShape = `${batch * heads}×${tokens}²×${headSize}`;

  const gamma = benchValues(hidden, 5);
  const beta = benchValues(hidden, 6);
  const normed = new Float32Array(rows * hidden);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  addon.layerNorm(q, gamma, beta, config.layerNormEps, normed, mean, rstd);

  const inner = rows * config.intermediateSize;
  const preActivation = benchValues(inner, 7);
  const activationGradient = benchValues(inner, 8);
  const activated = new Float32Array(inner);
  return [
    {
      op: 'attention',
      direction: 'forward',
      shape: attentionShape,
      elements: rows * hidden,
      flop: 2 * attentionFlop,
      run: () => addon.attention(q, k, v, batch, tokens, heads, headSize, scale, out, probs),
    },
    {
      op: 'attention',
      direction: 'backward',
      shape: attentionShape,
      elements: rows * hidden,
      flop: 4 * attentionFlop,
      run: () =>
        addon.attentionBackward(
          dy,
          q,
          k,
          v,
          probs,
          batch,
          tokens,
          heads,
          headSize,
          scale,
          dq,
          dk,
          dv,
        ),
    },
    {
      op: 'layerNorm',
      direction: 'forward',
      shape: `${rows}×${hidden}`,
      elements: rows * hidden,
      flop: null,
      run: () => addon.layerNorm(q, gamma, beta, config.layerNormEps, normed, mean, rstd),
    },
    {
      op: 'layerNorm',
      direction: 'backward',
      shape: `${rows}×${hidden}`,
      elements: rows * hidden,
      flop: null,
      run: () => addon.layerNormInputGrad(dy, q, gamma, mean, rstd, dq),
    },
    {
      op: 'gelu',
      direction: 'forward',
      shape: `${rows}×${config.intermediateSize}`,
      elements: inner,
      flop: null,
      run: () => addon.gelu(preActivation, activated),
    },
    {
      op: 'gelu',
      direction: 'backward',
      shape: `${rows}×${config.intermediateSize}`,
      elements: inner,
      flop: null,
      run: () => addon.geluBackward(activationGradient, preActivation, activated),
    },
  ];
}

/** Times one case at `peak.threads` threads. */
export function timeFusedOp(
  addon: FusedOpsAddon,
  model: string,
  fusedOp: FusedOpCase,
  peak: FmaPeak,
  machine: MachineDescription,
): FusedOpRecord {
  addon.setThreads(peak.threads);
  const { ms } = bestTimePerCall(fusedOp.run);
  const gflops = fusedOp.flop === null ? null : fusedOp.flop / (ms * 1e6);
  return {
    bench: 'train-step',
    kind: 'op',
    model,
    op: fusedOp.op,
    direction: fusedOp.direction,
    shape: fusedOp.shape,
    threads: peak.threads,
    ms,
    elements: fusedOp.elements,
    nsPerElement: (ms * 1e6) / fusedOp.elements,
    flop: fusedOp.flop,
    gflops,
    ofPeak: gflops === null ? null : gflops / peak.gflops,
    machine,
  };
}
