// The ISA-independent part of the GEMM: it cuts a problem into pool tasks (whole matrices when
// there are many, depth blocks of a small output with a long depth, row and column ranges of one
// matrix otherwise), each task into cache blocks
// (BLIS's loop order: column block → depth block → row block), packs the operands of each block
// into per-thread scratch and hands the block to the ISA's register-tiled loops.
#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <new>

#include "../parallel/thread_pool.h"
#include "gemm_kernels.h"

namespace superlora::gemm {
namespace {

using detail::Block;
using detail::IsaKernels;

// Depth of a cache block: the B panel (kDepthBlock × tile columns: 32 KiB for AVX-512) stays in L1
// while A panels stream through it, and each output tile is read and written once per depth block.
constexpr int64_t kDepthBlock = 256;
// Rows of a cache block of A (kRowBlock × kDepthBlock floats, ~112 KiB: well within L2).
constexpr int64_t kRowBlock = 112;
// Columns of a cache block of B (kDepthBlock × kColBlock floats, 1 MiB: L2 / L3).
constexpr int64_t kColBlock = 1024;
// Below this many FLOP a product runs on the calling thread: waking the pool costs a few µs,
// which is what ~1 MFLOP takes on one core.
constexpr double kMinParallelFlop = 2.0e6;
// Pool tasks are at least this large, so that the per-task cost (a pool hand-off and repacking
// the operand the task shares with others) stays a small fraction of the work.
constexpr double kMinTaskFlop = 4.0e5;
// Tasks per thread when the work allows it: with dynamic scheduling, a few tasks per thread
// absorb the imbalance of cores shared with other processes.
constexpr int64_t kTasksPerThread = 3;
// Outputs of at most this many floats, with at least two depth blocks per thread, are cut by depth
// blocks instead of by rows or columns (an adapter's weight gradient, 64 × 64 over 2 176 tokens): a
// row or column cut would leave each task little of the output and all of the depth to pack.
constexpr int64_t kMaxSplitDepthOutput = 128 * 128;

int64_t CeilDiv(int64_t x, int64_t y) { return (x + y - 1) / y; }
int64_t RoundUp(int64_t x, int64_t multiple) { return CeilDiv(x, multiple) * multiple; }

const IsaKernels& KernelsFor(simd::Isa isa) {
  const simd::Isa supported = simd::SupportedIsa();
  if (isa > supported) isa = supported;
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == simd::Isa::kAvx512) return detail::Avx512Kernels();
  if (isa == simd::Isa::kAvx2) return detail::Avx2Kernels();
#endif
  return detail::PortableKernels();
}

// Packing scratch of one thread, grown on demand and kept: pool threads live for the process, so
// steady-state products allocate nothing.
class Scratch {
 public:
  ~Scratch() {
    Release(a_);
    Release(b_);
  }
  float* A(int64_t floats) { return Ensure(a_, a_size_, floats); }
  float* B(int64_t floats) { return Ensure(b_, b_size_, floats); }

 private:
  static float* Ensure(float*& buffer, int64_t& size, int64_t floats) {
    if (floats > size) {
      Release(buffer);
      size = 0;
      buffer = static_cast<float*>(
          ::operator new(static_cast<size_t>(floats) * sizeof(float), std::align_val_t(64)));
      size = floats;
    }
    return buffer;
  }
  static void Release(float*& buffer) {
    if (buffer != nullptr) ::operator delete(buffer, std::align_val_t(64));
    buffer = nullptr;
  }
  float* a_ = nullptr;
  float* b_ = nullptr;
  int64_t a_size_ = 0;
  int64_t b_size_ = 0;
};

thread_local Scratch scratch;

float Activate(float x, Activation activation) {
  if (activation == Activation::kRelu) return (x < 0.0f ? 0.0f : x) + 0.0f;
  return x;
}

// k = 0: every output is act(bias) (act(0) without bias).
void FillWithoutDepth(const Problem& p) {
  for (int64_t bi = 0; bi < p.batch; ++bi) {
    float* out = p.out + bi * p.out_batch_stride;
    const float* bias = p.bias == nullptr ? nullptr : p.bias + bi * p.bias_batch_stride;
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        const float x =
            bias == nullptr ? 0.0f : bias[i * p.bias_row_stride + j * p.bias_col_stride];
        out[i * p.ld_out + j] = Activate(x, p.activation);
      }
    }
  }
}

// Where the packing routines start: op(A)'s element (row, depth) of output matrix `index`...
const float* AAt(const Operand& a, int64_t index, int64_t row, int64_t depth) {
  const float* base = a.data + (index % a.count) * a.batch_stride;
  return a.transposed ? base + depth * a.ld + row : base + row * a.ld + depth;
}

// ... and op(B)'s element (depth, column).
const float* BAt(const Operand& b, int64_t index, int64_t depth, int64_t col) {
  const float* base = b.data + (index % b.count) * b.batch_stride;
  return b.transposed ? base + col * b.ld + depth : base + depth * b.ld + col;
}

// One operand of one matrix packed once for every task, when the matrix is cut into row ranges
// (each task would otherwise pack all of op(B) itself) or column ranges (all of op(A)). Block
// (depth block d, column block c) of op(B) is at b + (c · depth_blocks + d) · b_slot; block (row
// block r, depth block d) of op(A) at a + (r · depth_blocks + d) · a_slot.
struct Shared {
  const float* a = nullptr;
  const float* b = nullptr;
  int64_t a_slot = 0;
  int64_t b_slot = 0;
  int64_t depth_blocks = 0;
};

struct Blocking {
  int64_t rows;   // row block (multiple of the tile rows)
  int64_t cols;   // column block (multiple of the tile columns)
  int64_t depth;  // depth block
};

Blocking BlockingFor(const Problem& p, const IsaKernels& kernels) {
  return Blocking{RoundUp(kRowBlock, kernels.rows), RoundUp(kColBlock, kernels.cols),
                  std::min(p.k, kDepthBlock)};
}

// Output matrices [batch_begin, batch_end), rows [row_begin, row_end), columns
// [col_begin, col_end), on the calling thread. With `shared`, op(B) (then col_begin is 0) or
// op(A) (then row_begin is 0) comes pre-packed.
void RunRange(const Problem& p, const IsaKernels& kernels, int64_t batch_begin, int64_t batch_end,
              int64_t row_begin, int64_t row_end, int64_t col_begin, int64_t col_end,
              const Shared* shared = nullptr) {
  const Blocking blocking = BlockingFor(p, kernels);
  const int64_t rows = std::min(blocking.rows, row_end - row_begin);
  const int64_t cols = std::min(blocking.cols, col_end - col_begin);
  const bool own_a = shared == nullptr || shared->a == nullptr;
  const bool own_b = shared == nullptr || shared->b == nullptr;
  float* packed_a = own_a ? scratch.A(RoundUp(rows, kernels.rows) * blocking.depth) : nullptr;
  float* packed_b = own_b ? scratch.B(RoundUp(cols, kernels.cols) * blocking.depth) : nullptr;

  for (int64_t bi = batch_begin; bi < batch_end; ++bi) {
    float* out = p.out + bi * p.out_batch_stride;
    const float* bias = p.bias == nullptr ? nullptr : p.bias + bi * p.bias_batch_stride;
    for (int64_t jc = col_begin; jc < col_end; jc += blocking.cols) {
      const int64_t nc = std::min(blocking.cols, col_end - jc);
      for (int64_t pc = 0; pc < p.k; pc += blocking.depth) {
        const int64_t kc = std::min(blocking.depth, p.k - pc);
        const float* block_b = packed_b;
        if (own_b) {
          kernels.pack_b(BAt(p.b, bi, pc, jc), p.b.ld, p.b.transposed, kc, nc, packed_b);
        } else {
          block_b =
              shared->b +
              ((jc / blocking.cols) * shared->depth_blocks + pc / blocking.depth) * shared->b_slot;
        }
        for (int64_t ic = row_begin; ic < row_end; ic += blocking.rows) {
          const int64_t mc = std::min(blocking.rows, row_end - ic);
          const float* block_a = packed_a;
          if (own_a) {
            kernels.pack_a(AAt(p.a, bi, ic, pc), p.a.ld, p.a.transposed, mc, kc, packed_a);
          } else {
            block_a =
                shared->a + ((ic / blocking.rows) * shared->depth_blocks + pc / blocking.depth) *
                                shared->a_slot;
          }
          Block block;
          block.mc = mc;
          block.nc = nc;
          block.kc = kc;
          block.packed_a = block_a;
          block.packed_b = block_b;
          block.out = out + ic * p.ld_out + jc;
          block.ld_out = p.ld_out;
          block.alpha = p.alpha;
          block.accumulate = pc > 0;
          block.finish = pc + kc == p.k;
          block.bias =
              bias == nullptr ? nullptr : bias + ic * p.bias_row_stride + jc * p.bias_col_stride;
          block.bias_row_stride = p.bias_row_stride;
          block.bias_col_stride = p.bias_col_stride;
          block.activation = p.activation;
          kernels.block(block);
        }
      }
    }
  }
}

// Pre-packed operands live in the calling thread's buffer (the helpers only read it), grown on
// demand; beyond this many floats per operand the tasks pack their own copies instead.
constexpr int64_t kMaxSharedFloats = int64_t{16} << 20;

class SharedBuffer {
 public:
  ~SharedBuffer() { Release(); }
  // Keeps a buffer of up to kKeptFloats for the next call; a larger one (a rare huge product) is
  // given back right away.
  void Trim() {
    if (size_ > kKeptFloats) Release();
  }
  float* Get(int64_t floats) {
    if (floats > size_) {
      Release();
      data_ = static_cast<float*>(
          ::operator new(static_cast<size_t>(floats) * sizeof(float), std::align_val_t(64)));
      size_ = floats;
    }
    return data_;
  }

 private:
  void Release() {
    if (data_ != nullptr) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    size_ = 0;
  }
  static constexpr int64_t kKeptFloats = int64_t{1} << 20;
  float* data_ = nullptr;
  int64_t size_ = 0;
};

thread_local SharedBuffer shared_buffer;

// Packs all of op(B) (or all of op(A)) of matrix `bi` into `buffer`, spread over the pool by
// block and, within blocks, by ranges of panels.
Shared PackShared(const Problem& p, const IsaKernels& kernels, int64_t bi, bool share_a,
                  float* buffer, int64_t threads) {
  const Blocking blocking = BlockingFor(p, kernels);
  Shared shared;
  shared.depth_blocks = CeilDiv(p.k, blocking.depth);
  // The shared operand's outer size and blocking: rows of op(A), or columns of op(B).
  const int64_t outer = share_a ? p.m : p.n;
  const int64_t outer_block = share_a ? blocking.rows : blocking.cols;
  const int64_t tile = share_a ? kernels.rows : kernels.cols;
  const int64_t slot = blocking.depth * RoundUp(std::min(outer_block, outer), tile);
  const int64_t outer_blocks = CeilDiv(outer, outer_block);
  const int64_t blocks = outer_blocks * shared.depth_blocks;
  const int64_t panels_per_block = CeilDiv(std::min(outer_block, outer), tile);
  const int64_t pieces = std::min(panels_per_block, CeilDiv(2 * threads, blocks));
  const int64_t panels_per_piece = CeilDiv(panels_per_block, pieces);
  parallel::ThreadPool::Instance().Run(blocks * pieces, [&](int64_t task, int) {
    const int64_t block = task / pieces;
    const int64_t piece = task % pieces;
    const int64_t outer_index = block / shared.depth_blocks;
    const int64_t depth_index = block % shared.depth_blocks;
    const int64_t block_begin = outer_index * outer_block;
    const int64_t block_size = std::min(outer_block, outer - block_begin);
    const int64_t begin = piece * panels_per_piece * tile;
    if (begin >= block_size) return;
    const int64_t size = std::min(panels_per_piece * tile, block_size - begin);
    const int64_t pc = depth_index * blocking.depth;
    const int64_t kc = std::min(blocking.depth, p.k - pc);
    float* target = buffer + block * slot + begin * kc;
    if (share_a) {
      kernels.pack_a(AAt(p.a, bi, block_begin + begin, pc), p.a.ld, p.a.transposed, size, kc,
                     target);
    } else {
      kernels.pack_b(BAt(p.b, bi, pc, block_begin + begin), p.b.ld, p.b.transposed, kc, size,
                     target);
    }
  });
  (share_a ? shared.a : shared.b) = buffer;
  (share_a ? shared.a_slot : shared.b_slot) = slot;
  return shared;
}

thread_local SharedBuffer partial_buffer;

bool SplitsDepth(const Problem& p, int64_t threads) {
  return p.batch == 1 && p.alpha == 1.0f && p.m * p.n <= kMaxSplitDepthOutput &&
         CeilDiv(p.k, kDepthBlock) >= 2 * threads;
}

// Each depth block's product into a partial of its own, on the pool, then their sum in depth
// order, the bias and the activation on the calling thread. These are the float operations of one
// task running the depth blocks in turn (each block's product added to what out holds: with alpha
// 1, fma(product, 1, out) is product + out), in the same order, so the result is bit-identical to
// the product cut any other way.
void RunSplitDepth(const Problem& p, const IsaKernels& kernels) {
  const int64_t depth = BlockingFor(p, kernels).depth;
  const int64_t blocks = CeilDiv(p.k, depth);
  const int64_t size = p.m * p.n;
  float* partials = partial_buffer.Get(blocks * size);
  parallel::ThreadPool::Instance().Run(blocks, [&](int64_t block, int) {
    const int64_t pc = block * depth;
    Problem part;
    part.m = p.m;
    part.n = p.n;
    part.k = std::min(depth, p.k - pc);
    part.a = p.a;
    part.a.data = AAt(p.a, 0, 0, pc);
    part.b = p.b;
    part.b.data = BAt(p.b, 0, pc, 0);
    part.out = partials + block * size;
    part.ld_out = p.n;
    RunRange(part, kernels, 0, 1, 0, p.m, 0, p.n);
  });
  for (int64_t block = 1; block < blocks; ++block) {
    const float* partial = partials + block * size;
    for (int64_t e = 0; e < size; ++e) partials[e] = partial[e] + partials[e];
  }
  for (int64_t i = 0; i < p.m; ++i) {
    const float* sum = partials + i * p.n;
    float* out = p.out + i * p.ld_out;
    for (int64_t j = 0; j < p.n; ++j) {
      float x = sum[j];
      if (p.bias != nullptr) x = x + p.bias[i * p.bias_row_stride + j * p.bias_col_stride];
      out[j] = Activate(x, p.activation);
    }
  }
  partial_buffer.Trim();
}

}  // namespace

void Sgemm(const Problem& problem) { Sgemm(problem, simd::ActiveIsa()); }

void Sgemm(const Problem& p, simd::Isa isa) {
  if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return;
  if (p.k <= 0) {
    FillWithoutDepth(p);
    return;
  }
  const IsaKernels& kernels = KernelsFor(isa);
  parallel::ThreadPool& pool = parallel::ThreadPool::Instance();
  const double flop = 2.0 * static_cast<double>(p.batch) * static_cast<double>(p.m) *
                      static_cast<double>(p.n) * static_cast<double>(p.k);
  const int64_t threads = pool.Threads();
  if (threads <= 1 || parallel::InsideJob() || flop < kMinParallelFlop) {
    RunRange(p, kernels, 0, p.batch, 0, p.m, 0, p.n);
    return;
  }
  if (SplitsDepth(p, threads)) {
    RunSplitDepth(p, kernels);
    return;
  }
  const int64_t wanted = std::max<int64_t>(
      2, std::min(threads * kTasksPerThread, static_cast<int64_t>(flop / kMinTaskFlop)));

  if (p.batch >= wanted) {
    // Whole matrices per task: no operand is packed twice.
    const int64_t per_task = CeilDiv(p.batch, wanted);
    const int64_t tasks = CeilDiv(p.batch, per_task);
    pool.Run(tasks, [&](int64_t task, int) {
      const int64_t begin = task * per_task;
      RunRange(p, kernels, begin, std::min(p.batch, begin + per_task), 0, p.m, 0, p.n);
    });
    return;
  }

  // Ranges of rows or of columns of each matrix, so that the operand every part needs whole (op(B)
  // for row ranges, op(A) for column ranges) can be packed once for all of them below: the longer
  // side is split when it has a tile per thread, otherwise the other one, otherwise both.
  const int64_t parts = CeilDiv(wanted, p.batch);
  const int64_t row_tiles = CeilDiv(p.m, kernels.rows);
  const int64_t col_tiles = CeilDiv(p.n, kernels.cols);
  const bool rows_first = p.n <= p.m;
  int64_t row_parts = 1;
  int64_t col_parts = 1;
  if ((rows_first || col_tiles < threads) && row_tiles >= threads) {
    row_parts = std::min(row_tiles, parts);
  } else if (col_tiles >= threads) {
    col_parts = std::min(col_tiles, parts);
  } else {
    row_parts = std::min(row_tiles, parts);
    col_parts = std::min(col_tiles, CeilDiv(parts, row_parts));
  }
  const int64_t rows_per_part = CeilDiv(row_tiles, row_parts) * kernels.rows;
  const int64_t cols_per_part = CeilDiv(col_tiles, col_parts) * kernels.cols;
  row_parts = CeilDiv(p.m, rows_per_part);
  col_parts = CeilDiv(p.n, cols_per_part);
  const int64_t per_matrix = row_parts * col_parts;
  auto run_part = [&](int64_t bi, int64_t part, const Shared* shared) {
    const int64_t row_begin = (part / col_parts) * rows_per_part;
    const int64_t col_begin = (part % col_parts) * cols_per_part;
    RunRange(p, kernels, bi, bi + 1, row_begin, std::min(p.m, row_begin + rows_per_part), col_begin,
             std::min(p.n, col_begin + cols_per_part), shared);
  };
  // Cut into rows only (or columns only), the operand every task needs whole is packed once.
  const bool share_b = row_parts > 1 && col_parts == 1 && p.k * p.n <= kMaxSharedFloats;
  const bool share_a = col_parts > 1 && row_parts == 1 && p.k * p.m <= kMaxSharedFloats;
  if (!share_a && !share_b) {
    pool.Run(p.batch * per_matrix,
             [&](int64_t task, int) { run_part(task / per_matrix, task % per_matrix, nullptr); });
    return;
  }
  const Blocking blocking = BlockingFor(p, kernels);
  const int64_t outer = share_a ? p.m : p.n;
  const int64_t outer_block = share_a ? blocking.rows : blocking.cols;
  const int64_t tile = share_a ? kernels.rows : kernels.cols;
  float* buffer = shared_buffer.Get(CeilDiv(outer, outer_block) * CeilDiv(p.k, blocking.depth) *
                                    blocking.depth * RoundUp(std::min(outer_block, outer), tile));
  for (int64_t bi = 0; bi < p.batch; ++bi) {
    const Shared shared = PackShared(p, kernels, bi, share_a, buffer, threads);
    pool.Run(per_matrix, [&](int64_t part, int) { run_part(bi, part, &shared); });
  }
  shared_buffer.Trim();
}

}  // namespace superlora::gemm
