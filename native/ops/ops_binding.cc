#include "ops_binding.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "../args.h"
#include "../simd/isa.h"
#include "fused_ops.h"
#include "ops.h"

namespace superlora {
namespace {

// A dimension beyond this is a typo: no Float32Array is that long.
constexpr int64_t kMaxDim = int64_t{1} << 40;

using args::RequireChoice;

// The optional trailing isa argument: the active ISA when absent.
simd::Isa OptionalIsa(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return simd::ActiveIsa();
  static const char* const kIsas[] = {"portable", "avx2", "avx512"};
  return static_cast<simd::Isa>(RequireChoice(info, index, "isa", kIsas));
}

// info[index] as an array of at most ops::kMaxRank integers in [0, kMaxDim].
std::vector<int64_t> RequireShape(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  if (!value.IsArray()) {
    throw Napi::TypeError::New(env, std::string("Expected an array of integers for ") + name +
                                        " but received " + args::Describe(value));
  }
  const Napi::Array array = value.As<Napi::Array>();
  if (array.Length() > static_cast<uint32_t>(ops::kMaxRank)) {
    throw Napi::RangeError::New(env, std::string("Expected at most ") +
                                         std::to_string(ops::kMaxRank) + " dimensions for " + name +
                                         " but received " + std::to_string(array.Length()));
  }
  std::vector<int64_t> shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value element = array.Get(i);
    const double number = element.IsNumber() ? element.As<Napi::Number>().DoubleValue() : -1.0;
    if (!element.IsNumber() || !std::isfinite(number) || std::floor(number) != number ||
        number < 0 || number > static_cast<double>(kMaxDim)) {
      throw Napi::RangeError::New(env, std::string("Expected ") + name + "[" + std::to_string(i) +
                                           "] to be an integer in [0, 2^40] but received " +
                                           args::Describe(element));
    }
    shape[i] = static_cast<int64_t>(number);
  }
  return shape;
}

double SizeOf(const std::vector<int64_t>& shape) {
  double size = 1;
  for (const int64_t dim : shape) size *= static_cast<double>(dim);
  return size;
}

void RequireLength(const Napi::Env& env, const Napi::Float32Array& array, const char* name,
                   double expected, const std::string& what) {
  if (static_cast<double>(array.ElementLength()) != expected) {
    throw Napi::RangeError::New(env, std::string("Expected ") + name + ".length to be " + what +
                                         " = " + std::to_string(static_cast<int64_t>(expected)) +
                                         " but received " + std::to_string(array.ElementLength()));
  }
}

// out must not overlap an input, except that an elementwise operation may write in place.
void RequireNoOverlap(const Napi::Env& env, const Napi::Float32Array& out,
                      const Napi::Float32Array& input, const char* name, bool in_place_ok) {
  if (!args::BytesOverlap(out.Data(), out.ByteLength(), input.Data(), input.ByteLength())) return;
  if (in_place_ok && out.Data() == input.Data() && out.ElementLength() == input.ElementLength()) {
    return;
  }
  throw Napi::RangeError::New(env, std::string("Expected out not to overlap ") + name +
                                       (in_place_ok ? " (other than being the same array)" : ""));
}

// A named Float32Array argument, for the checks of the fused kernels' bindings.
struct Named {
  const char* name;
  const Napi::Float32Array* array;
};

// No output may overlap an input or another output ("Expected <out> not to overlap <in>").
void RequireDisjoint(const Napi::Env& env, std::initializer_list<Named> outputs,
                     std::initializer_list<Named> inputs) {
  for (const Named& out : outputs) {
    for (const Named& other : inputs) {
      args::RequireDisjoint(env, *out.array, out.name, *other.array, other.name);
    }
  }
}

const char* const kUnaryOps[] = {"neg",   "abs", "square", "relu",    "reciprocal", "sqrt",
                                 "rsqrt", "exp", "erf",    "sigmoid", "step"};
const char* const kBinaryOps[] = {
    "add", "sub", "mul", "div", "maximum", "minimum", "squaredDifference", "pow"};
const char* const kReduceOps[] = {"sum", "mean", "max", "min"};

// unaryOp(op, x, out[, isa])
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int op = RequireChoice(info, 0, "op", kUnaryOps);
  Napi::Float32Array x = args::RequireFloat32Array(info, 1, "x");
  Napi::Float32Array out = args::RequireFloat32Array(info, 2, "out");
  const simd::Isa isa = OptionalIsa(info, 3);
  RequireLength(env, out, "out", static_cast<double>(x.ElementLength()), "x.length");
  RequireNoOverlap(env, out, x, "x", true);
  ops::Unary(static_cast<ops::UnaryOp>(op), x.Data(), out.Data(),
             static_cast<int64_t>(x.ElementLength()), isa);
  return env.Undefined();
}

// binaryOp(op, a, aShape, b, bShape, out[, isa]): out has the broadcast shape of aShape and bShape
// (NumPy's rule: right-aligned, each pair of sizes equal or one of them 1).
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int op = RequireChoice(info, 0, "op", kBinaryOps);
  Napi::Float32Array a = args::RequireFloat32Array(info, 1, "a");
  const std::vector<int64_t> a_shape = RequireShape(info, 2, "aShape");
  Napi::Float32Array b = args::RequireFloat32Array(info, 3, "b");
  const std::vector<int64_t> b_shape = RequireShape(info, 4, "bShape");
  Napi::Float32Array out = args::RequireFloat32Array(info, 5, "out");
  const simd::Isa isa = OptionalIsa(info, 6);
  RequireLength(env, a, "a", SizeOf(a_shape), "the size of aShape");
  RequireLength(env, b, "b", SizeOf(b_shape), "the size of bShape");

  const int rank = static_cast<int>(std::max(a_shape.size(), b_shape.size()));
  int64_t shape[ops::kMaxRank];
  int64_t a_strides[ops::kMaxRank];
  int64_t b_strides[ops::kMaxRank];
  int64_t a_stride = 1;
  int64_t b_stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    const int a_index = d - (rank - static_cast<int>(a_shape.size()));
    const int b_index = d - (rank - static_cast<int>(b_shape.size()));
    const int64_t a_dim = a_index >= 0 ? a_shape[a_index] : 1;
    const int64_t b_dim = b_index >= 0 ? b_shape[b_index] : 1;
    if (a_dim != b_dim && a_dim != 1 && b_dim != 1) {
      throw Napi::RangeError::New(env, "Expected aShape and bShape to broadcast but dimension " +
                                           std::to_string(d) + " of the result has sizes " +
                                           std::to_string(a_dim) + " and " + std::to_string(b_dim));
    }
    shape[d] = a_dim == 1 ? b_dim : a_dim;
    a_strides[d] = a_dim == 1 ? 0 : a_stride;
    b_strides[d] = b_dim == 1 ? 0 : b_stride;
    a_stride *= a_dim;
    b_stride *= b_dim;
  }
  double total = 1;
  for (int d = 0; d < rank; ++d) total *= static_cast<double>(shape[d]);
  RequireLength(env, out, "out", total, "the size of the broadcast shape");
  RequireNoOverlap(env, out, a, "a", SizeOf(a_shape) == total);
  RequireNoOverlap(env, out, b, "b", SizeOf(b_shape) == total);
  // Reading the shapes ran JavaScript (element getters) after a and b were checked.
  args::RequireUnchanged(env, a, "a");
  args::RequireUnchanged(env, b, "b");
  ops::Binary(static_cast<ops::BinaryOp>(op), a.Data(), a_strides, b.Data(), b_strides, out.Data(),
              shape, rank, isa);
  return env.Undefined();
}

// meanBackward(dy, dyShape, xShape, count, out): Mean's gradient, dy broadcast to xShape and
// divided by count (the number of elements each mean averaged) in float32, as tfjs's gradient
// div(mul(reshape(dy), ones(xShape)), count) computes it, in one pass. dyShape has xShape's rank,
// each dimension xShape's or 1.
Napi::Value MeanBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  const std::vector<int64_t> dy_shape = RequireShape(info, 1, "dyShape");
  const std::vector<int64_t> x_shape = RequireShape(info, 2, "xShape");
  const int64_t count = args::RequireIntegerInRange(info, 3, "count", 1, int64_t{1} << 53);
  Napi::Float32Array out = args::RequireFloat32Array(info, 4, "out");
  RequireLength(env, dy, "dy", SizeOf(dy_shape), "the size of dyShape");
  RequireLength(env, out, "out", SizeOf(x_shape), "the size of xShape");
  if (dy_shape.size() != x_shape.size()) {
    throw Napi::RangeError::New(env, "Expected dyShape to have xShape's rank " +
                                         std::to_string(x_shape.size()) + " but it has " +
                                         std::to_string(dy_shape.size()));
  }
  const int rank = static_cast<int>(x_shape.size());
  int64_t dy_strides[ops::kMaxRank];
  int64_t divisor_strides[ops::kMaxRank] = {};
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    if (dy_shape[d] != x_shape[d] && dy_shape[d] != 1) {
      throw Napi::RangeError::New(env, "Expected dyShape[" + std::to_string(d) + "] to be 1 or " +
                                           std::to_string(x_shape[d]) + " but received " +
                                           std::to_string(dy_shape[d]));
    }
    dy_strides[d] = dy_shape[d] == 1 ? 0 : stride;
    stride *= dy_shape[d];
  }
  RequireNoOverlap(env, out, dy, "dy", false);
  args::RequireUnchanged(env, dy, "dy");
  const auto divisor = static_cast<float>(count);
  if (rank == 0) {
    out.Data()[0] = dy.Data()[0] / divisor;
    return env.Undefined();
  }
  ops::Binary(ops::BinaryOp::kDiv, dy.Data(), dy_strides, &divisor, divisor_strides, out.Data(),
              x_shape.data(), rank);
  return env.Undefined();
}

// reduceOp(op, x, out, outer, size, inner[, isa]): x is [outer, size, inner], out [outer, inner].
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int op = RequireChoice(info, 0, "op", kReduceOps);
  Napi::Float32Array x = args::RequireFloat32Array(info, 1, "x");
  Napi::Float32Array out = args::RequireFloat32Array(info, 2, "out");
  const int64_t outer = args::RequireIntegerInRange(info, 3, "outer", 0, kMaxDim);
  const int64_t size = args::RequireIntegerInRange(info, 4, "size", 1, kMaxDim);
  const int64_t inner = args::RequireIntegerInRange(info, 5, "inner", 0, kMaxDim);
  const simd::Isa isa = OptionalIsa(info, 6);
  RequireLength(env, x, "x",
                static_cast<double>(outer) * static_cast<double>(size) * static_cast<double>(inner),
                "outer · size · inner");
  RequireLength(env, out, "out", static_cast<double>(outer) * static_cast<double>(inner),
                "outer · inner");
  RequireNoOverlap(env, out, x, "x", false);
  ops::Reduce(static_cast<ops::ReduceOp>(op), x.Data(), out.Data(), outer, size, inner, isa);
  return env.Undefined();
}

// transpose(x, out, shape, perm): out dimension d is x dimension perm[d].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array out = args::RequireFloat32Array(info, 1, "out");
  const std::vector<int64_t> shape = RequireShape(info, 2, "shape");
  const std::vector<int64_t> perm_values = RequireShape(info, 3, "perm");
  RequireLength(env, x, "x", SizeOf(shape), "the size of shape");
  RequireLength(env, out, "out", SizeOf(shape), "the size of shape");
  RequireNoOverlap(env, out, x, "x", false);
  const int rank = static_cast<int>(shape.size());
  bool seen[ops::kMaxRank] = {};
  bool valid = static_cast<int>(perm_values.size()) == rank;
  int perm[ops::kMaxRank];
  for (int d = 0; valid && d < rank; ++d) {
    const int64_t source = perm_values[d];
    valid = source < rank && !seen[source];
    if (valid) {
      seen[source] = true;
      perm[d] = static_cast<int>(source);
    }
  }
  if (!valid) {
    throw Napi::RangeError::New(env, "Expected perm to be a permutation of 0 … " +
                                         std::to_string(rank - 1) +
                                         " (one entry per dimension of shape)");
  }
  // Reading shape and perm ran JavaScript (element getters) after x and out were checked.
  args::RequireUnchanged(env, x, "x");
  args::RequireUnchanged(env, out, "out");
  ops::Transpose(x.Data(), out.Data(), shape.data(), perm, rank);
  return env.Undefined();
}

// copyBox(src, srcShape, srcBegin, dst, dstShape, dstBegin, size): dst's box of extent size at
// dstBegin = src's at srcBegin.
Napi::Value CopyBox(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array src = args::RequireFloat32Array(info, 0, "src");
  const std::vector<int64_t> src_shape = RequireShape(info, 1, "srcShape");
  const std::vector<int64_t> src_begin = RequireShape(info, 2, "srcBegin");
  Napi::Float32Array dst = args::RequireFloat32Array(info, 3, "dst");
  const std::vector<int64_t> dst_shape = RequireShape(info, 4, "dstShape");
  const std::vector<int64_t> dst_begin = RequireShape(info, 5, "dstBegin");
  const std::vector<int64_t> size = RequireShape(info, 6, "size");
  RequireLength(env, src, "src", SizeOf(src_shape), "the size of srcShape");
  RequireLength(env, dst, "dst", SizeOf(dst_shape), "the size of dstShape");
  RequireNoOverlap(env, dst, src, "src", false);
  const size_t rank = size.size();
  if (src_shape.size() != rank || src_begin.size() != rank || dst_shape.size() != rank ||
      dst_begin.size() != rank) {
    throw Napi::RangeError::New(env,
                                "Expected srcShape, srcBegin, dstShape, dstBegin and size to have "
                                "the same number of dimensions");
  }
  for (size_t d = 0; d < rank; ++d) {
    if (src_begin[d] + size[d] > src_shape[d] || dst_begin[d] + size[d] > dst_shape[d]) {
      throw Napi::RangeError::New(env, "Expected the box to lie inside src and dst but dimension " +
                                           std::to_string(d) + " does not");
    }
  }
  // Reading the shapes ran JavaScript (element getters) after src and dst were checked.
  args::RequireUnchanged(env, src, "src");
  args::RequireUnchanged(env, dst, "dst");
  ops::CopyBox(src.Data(), src_shape.data(), src_begin.data(), dst.Data(), dst_shape.data(),
               dst_begin.data(), size.data(), static_cast<int>(rank));
  return env.Undefined();
}

// softmax(x, out, rows, cols[, isa])
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array out = args::RequireFloat32Array(info, 1, "out");
  const int64_t rows = args::RequireIntegerInRange(info, 2, "rows", 0, kMaxDim);
  const int64_t cols = args::RequireIntegerInRange(info, 3, "cols", 0, kMaxDim);
  const simd::Isa isa = OptionalIsa(info, 4);
  const double total = static_cast<double>(rows) * static_cast<double>(cols);
  RequireLength(env, x, "x", total, "rows · cols");
  RequireLength(env, out, "out", total, "rows · cols");
  RequireNoOverlap(env, out, x, "x", false);
  ops::Softmax(x.Data(), out.Data(), rows, cols, isa);
  return env.Undefined();
}

// layerNorm(x, gamma, beta, eps, y, mean, rstd): rows = mean.length, width = gamma.length.
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array gamma = args::RequireFloat32Array(info, 1, "gamma");
  Napi::Float32Array beta = args::RequireFloat32Array(info, 2, "beta");
  const Napi::Value eps_value = info[3];
  const double eps = eps_value.IsNumber() ? eps_value.As<Napi::Number>().DoubleValue() : -1.0;
  if (!eps_value.IsNumber() || !std::isfinite(eps) || eps < 0) {
    throw Napi::RangeError::New(
        env, "Expected a finite number >= 0 for eps but received " + args::Describe(eps_value));
  }
  Napi::Float32Array y = args::RequireFloat32Array(info, 4, "y");
  Napi::Float32Array mean = args::RequireFloat32Array(info, 5, "mean");
  Napi::Float32Array rstd = args::RequireFloat32Array(info, 6, "rstd");
  const double rows = static_cast<double>(mean.ElementLength());
  const double width = static_cast<double>(gamma.ElementLength());
  RequireLength(env, x, "x", rows * width, "mean.length · gamma.length");
  RequireLength(env, beta, "beta", width, "gamma.length");
  RequireLength(env, y, "y", rows * width, "mean.length · gamma.length");
  RequireLength(env, rstd, "rstd", rows, "mean.length");
  RequireDisjoint(env, {{"y", &y}, {"mean", &mean}, {"rstd", &rstd}},
                  {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}});
  RequireDisjoint(env, {{"y", &y}, {"mean", &mean}}, {{"rstd", &rstd}});
  RequireDisjoint(env, {{"y", &y}}, {{"mean", &mean}});
  ops::LayerNormForward(x.Data(), gamma.Data(), beta.Data(), static_cast<float>(eps),
                        static_cast<int64_t>(rows), static_cast<int64_t>(width), y.Data(),
                        mean.Data(), rstd.Data());
  return env.Undefined();
}

// layerNormInputGrad(dy, x, gamma, mean, rstd, dx)
Napi::Value LayerNormInputGrad(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array x = args::RequireFloat32Array(info, 1, "x");
  Napi::Float32Array gamma = args::RequireFloat32Array(info, 2, "gamma");
  Napi::Float32Array mean = args::RequireFloat32Array(info, 3, "mean");
  Napi::Float32Array rstd = args::RequireFloat32Array(info, 4, "rstd");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 5, "dx");
  const double rows = static_cast<double>(mean.ElementLength());
  const double width = static_cast<double>(gamma.ElementLength());
  RequireLength(env, dy, "dy", rows * width, "mean.length · gamma.length");
  RequireLength(env, x, "x", rows * width, "mean.length · gamma.length");
  RequireLength(env, rstd, "rstd", rows, "mean.length");
  RequireLength(env, dx, "dx", rows * width, "mean.length · gamma.length");
  RequireDisjoint(env, {{"dx", &dx}},
                  {{"dy", &dy}, {"x", &x}, {"gamma", &gamma}, {"mean", &mean}, {"rstd", &rstd}});
  ops::LayerNormInputGrad(dy.Data(), x.Data(), gamma.Data(), mean.Data(), rstd.Data(),
                          static_cast<int64_t>(rows), static_cast<int64_t>(width), dx.Data());
  return env.Undefined();
}

// layerNormGammaGrad(dy, x, mean, rstd, dgamma): width = dgamma.length.
Napi::Value LayerNormGammaGrad(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array x = args::RequireFloat32Array(info, 1, "x");
  Napi::Float32Array mean = args::RequireFloat32Array(info, 2, "mean");
  Napi::Float32Array rstd = args::RequireFloat32Array(info, 3, "rstd");
  Napi::Float32Array dgamma = args::RequireFloat32Array(info, 4, "dgamma");
  const double rows = static_cast<double>(mean.ElementLength());
  const double width = static_cast<double>(dgamma.ElementLength());
  RequireLength(env, dy, "dy", rows * width, "mean.length · dgamma.length");
  RequireLength(env, x, "x", rows * width, "mean.length · dgamma.length");
  RequireLength(env, rstd, "rstd", rows, "mean.length");
  RequireDisjoint(env, {{"dgamma", &dgamma}},
                  {{"dy", &dy}, {"x", &x}, {"mean", &mean}, {"rstd", &rstd}});
  ops::LayerNormGammaGrad(dy.Data(), x.Data(), mean.Data(), rstd.Data(), static_cast<int64_t>(rows),
                          static_cast<int64_t>(width), dgamma.Data());
  return env.Undefined();
}

// gelu(x, y[, isa]); y may be x.
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array x = args::RequireFloat32Array(info, 0, "x");
  Napi::Float32Array y = args::RequireFloat32Array(info, 1, "y");
  const simd::Isa isa = OptionalIsa(info, 2);
  RequireLength(env, y, "y", static_cast<double>(x.ElementLength()), "x.length");
  RequireNoOverlap(env, y, x, "x", true);
  ops::Gelu(x.Data(), y.Data(), static_cast<int64_t>(x.ElementLength()), isa);
  return env.Undefined();
}

// geluBackward(dy, x, dx[, isa]); dx may be dy or x.
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array x = args::RequireFloat32Array(info, 1, "x");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 2, "dx");
  const simd::Isa isa = OptionalIsa(info, 3);
  const double n = static_cast<double>(x.ElementLength());
  RequireLength(env, dy, "dy", n, "x.length");
  RequireLength(env, dx, "dx", n, "x.length");
  RequireNoOverlap(env, dx, dy, "dy", true);
  RequireNoOverlap(env, dx, x, "x", true);
  ops::GeluBackward(dy.Data(), x.Data(), dx.Data(), static_cast<int64_t>(n), isa);
  return env.Undefined();
}

// softmaxBackward(dy, y, dx, rows, cols); dx may be dy.
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array y = args::RequireFloat32Array(info, 1, "y");
  Napi::Float32Array dx = args::RequireFloat32Array(info, 2, "dx");
  const int64_t rows = args::RequireIntegerInRange(info, 3, "rows", 0, kMaxDim);
  const int64_t cols = args::RequireIntegerInRange(info, 4, "cols", 0, kMaxDim);
  const double total = static_cast<double>(rows) * static_cast<double>(cols);
  RequireLength(env, dy, "dy", total, "rows · cols");
  RequireLength(env, y, "y", total, "rows · cols");
  RequireLength(env, dx, "dx", total, "rows · cols");
  RequireNoOverlap(env, dx, dy, "dy", true);
  RequireNoOverlap(env, dx, y, "y", false);
  ops::SoftmaxBackward(dy.Data(), y.Data(), dx.Data(), rows, cols);
  return env.Undefined();
}

// The shape arguments of attention and attentionBackward: [batch, tokens, heads, headSize] from
// `first` on, then the scale; every count at least 1.
struct AttentionShape {
  int64_t batch, tokens, heads, head_size;
  float scale;
  double Size() const {
    return static_cast<double>(batch) * static_cast<double>(tokens) * static_cast<double>(heads) *
           static_cast<double>(head_size);
  }
  double ProbsSize() const {
    return static_cast<double>(batch) * static_cast<double>(heads) * static_cast<double>(tokens) *
           static_cast<double>(tokens);
  }
};

AttentionShape RequireAttentionShape(const Napi::CallbackInfo& info, size_t first) {
  AttentionShape shape{};
  shape.batch = args::RequireIntegerInRange(info, first, "batch", 1, kMaxDim);
  shape.tokens = args::RequireIntegerInRange(info, first + 1, "tokens", 1, kMaxDim);
  shape.heads = args::RequireIntegerInRange(info, first + 2, "heads", 1, kMaxDim);
  shape.head_size = args::RequireIntegerInRange(info, first + 3, "headSize", 1, kMaxDim);
  const Napi::Value scale_value = info[first + 4];
  const double scale = scale_value.IsNumber() ? scale_value.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(scale)) {
    throw Napi::RangeError::New(info.Env(), "Expected a finite number for scale but received " +
                                                args::Describe(scale_value));
  }
  shape.scale = static_cast<float>(scale);
  return shape;
}

// attention(q, k, v, batch, tokens, heads, headSize, scale, out, probs[, isa])
Napi::Value Attention(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array q = args::RequireFloat32Array(info, 0, "q");
  Napi::Float32Array k = args::RequireFloat32Array(info, 1, "k");
  Napi::Float32Array v = args::RequireFloat32Array(info, 2, "v");
  const AttentionShape shape = RequireAttentionShape(info, 3);
  Napi::Float32Array out = args::RequireFloat32Array(info, 8, "out");
  Napi::Float32Array probs = args::RequireFloat32Array(info, 9, "probs");
  const simd::Isa isa = OptionalIsa(info, 10);
  const char* size = "batch · tokens · heads · headSize";
  for (const Named& named : {Named{"q", &q}, Named{"k", &k}, Named{"v", &v}, Named{"out", &out}}) {
    RequireLength(env, *named.array, named.name, shape.Size(), size);
  }
  RequireLength(env, probs, "probs", shape.ProbsSize(), "batch · heads · tokens²");
  RequireDisjoint(env, {{"out", &out}, {"probs", &probs}}, {{"q", &q}, {"k", &k}, {"v", &v}});
  RequireDisjoint(env, {{"out", &out}}, {{"probs", &probs}});
  ops::AttentionForward(q.Data(), k.Data(), v.Data(), shape.batch, shape.tokens, shape.heads,
                        shape.head_size, shape.scale, out.Data(), probs.Data(), isa);
  return env.Undefined();
}

// attentionBackward(dy, q, k, v, probs, batch, tokens, heads, headSize, scale, dq, dk, dv[, isa])
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float32Array dy = args::RequireFloat32Array(info, 0, "dy");
  Napi::Float32Array q = args::RequireFloat32Array(info, 1, "q");
  Napi::Float32Array k = args::RequireFloat32Array(info, 2, "k");
  Napi::Float32Array v = args::RequireFloat32Array(info, 3, "v");
  Napi::Float32Array probs = args::RequireFloat32Array(info, 4, "probs");
  const AttentionShape shape = RequireAttentionShape(info, 5);
  Napi::Float32Array dq = args::RequireFloat32Array(info, 10, "dq");
  Napi::Float32Array dk = args::RequireFloat32Array(info, 11, "dk");
  Napi::Float32Array dv = args::RequireFloat32Array(info, 12, "dv");
  const simd::Isa isa = OptionalIsa(info, 13);
  const char* size = "batch · tokens · heads · headSize";
  for (const Named& named : {Named{"dy", &dy}, Named{"q", &q}, Named{"k", &k}, Named{"v", &v},
                             Named{"dq", &dq}, Named{"dk", &dk}, Named{"dv", &dv}}) {
    RequireLength(env, *named.array, named.name, shape.Size(), size);
  }
  RequireLength(env, probs, "probs", shape.ProbsSize(), "batch · heads · tokens²");
  RequireDisjoint(env, {{"dq", &dq}, {"dk", &dk}, {"dv", &dv}},
                  {{"dy", &dy}, {"q", &q}, {"k", &k}, {"v", &v}, {"probs", &probs}});
  RequireDisjoint(env, {{"dq", &dq}, {"dk", &dk}}, {{"dv", &dv}});
  RequireDisjoint(env, {{"dq", &dq}}, {{"dk", &dk}});
  ops::AttentionBackward(dy.Data(), q.Data(), k.Data(), v.Data(), probs.Data(), shape.batch,
                         shape.tokens, shape.heads, shape.head_size, shape.scale, dq.Data(),
                         dk.Data(), dv.Data(), isa);
  return env.Undefined();
}

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
  exports.Set("unaryOp", Napi::Function::New(env, UnaryOp, "unaryOp"));
  exports.Set("binaryOp", Napi::Function::New(env, BinaryOp, "binaryOp"));
  exports.Set("reduceOp", Napi::Function::New(env, ReduceOp, "reduceOp"));
  exports.Set("meanBackward", Napi::Function::New(env, MeanBackward, "meanBackward"));
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("copyBox", Napi::Function::New(env, CopyBox, "copyBox"));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormInputGrad",
              Napi::Function::New(env, LayerNormInputGrad, "layerNormInputGrad"));
  exports.Set("layerNormGammaGrad",
              Napi::Function::New(env, LayerNormGammaGrad, "layerNormGammaGrad"));
  exports.Set("gelu", Napi::Function::New(env, Gelu, "gelu"));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward, "geluBackward"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("attentionBackward",
              Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}

}  // namespace superlora
