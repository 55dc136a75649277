//===- Pooling.cpp - pooling and fragments_to_dense -----------------------===//
//
// Pooling runs channels-last through linalg.pooling_n*_{max,sum} (average
// as a sum and a scale); fragments_to_dense interleaves the fragments of
// max-fragment-pooling back into the dense output with strided inserts.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace nm::compiler::lowering {

FailureOr<Value> pool(OpBuilder &b, Operation *op, Location loc, Value x,
                      ArrayRef<int64_t> window, ArrayRef<int64_t> stride,
                      ir::PoolMode mode, ArrayRef<int64_t> dilationIn) {
  SmallVector<int64_t> in = shapeOf(x);
  int64_t nsp = window.size();
  SmallVector<int64_t> dilation(nsp, 1);
  if (!dilationIn.empty())
    dilation.assign(dilationIn.begin(), dilationIn.end());
  bool trivial = true;
  for (int64_t i = 0; i < nsp; ++i)
    trivial &= window[i] == 1 && stride[i] == 1;
  if (trivial)
    return x;
  Type elt = eltOf(x);
  SmallVector<int64_t> out{in[0]};
  for (int64_t i = 0; i < nsp; ++i)
    out.push_back((in[i + 1] - (window[i] - 1) * dilation[i] - 1) / stride[i] +
                  1);
  out.push_back(in.back());
  bool isMax = mode == ir::PoolMode::Max;
  bool isAvg = mode == ir::PoolMode::Average ||
               mode == ir::PoolMode::AverageIncPad ||
               mode == ir::PoolMode::AverageExcPad;
  Value init =
      filled(b, loc, out, elt,
             fcst(b, loc, elt,
                  isMax ? -std::numeric_limits<double>::infinity() : 0.0));
  Value win = emptyT(b, loc, window, elt);
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr("strides", i64Vec(b, stride)),
      b.getNamedAttr("dilations", i64Vec(b, dilation))};
  SmallVector<Type> rt{init.getType()};
  SmallVector<Value> ins{x, win};
  Value res;
#define NM_POOL(OP)                                                            \
  OP::create(b, loc, rt, ins, ValueRange{init}, attrs)->getResult(0)
  if (isMax)
    res = nsp == 1   ? NM_POOL(linalg::PoolingNwcMaxOp)
          : nsp == 2 ? NM_POOL(linalg::PoolingNhwcMaxOp)
                     : NM_POOL(linalg::PoolingNdhwcMaxOp);
  else
    res = nsp == 1   ? NM_POOL(linalg::PoolingNwcSumOp)
          : nsp == 2 ? NM_POOL(linalg::PoolingNhwcSumOp)
                     : NM_POOL(linalg::PoolingNdhwcSumOp);
#undef NM_POOL
  if (isAvg) {
    int64_t n = 1;
    for (int64_t w : window)
      n *= w;
    Value scale = fcst(b, loc, elt, 1.0 / static_cast<double>(n));
    res = elementwise(b, loc, {res}, out, elt,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return arith::MulFOp::create(nb, l, a[0], scale);
                      });
  }
  return res;
}

LogicalResult lower(ir::PoolOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto permOr = channelsLast(op, s);
  if (failed(permOr))
    return failure();
  SmallVector<int64_t> p(op.getPool());
  SmallVector<int64_t> st = p;
  if (auto sa = op.getStride())
    st.assign(sa->begin(), sa->end());
  SmallVector<int64_t> dilation;
  if (auto da = op.getDilation())
    dilation.assign(da->begin(), da->end());
  Value x = ctx.channelsLastInput(loc, op.getInput(), *permOr);
  auto pl = pool(b, op, loc, x, p, st, op.getMode(), dilation);
  if (failed(pl))
    return failure();
  int64_t channels = s.shape()[s.tagIndex('f')];
  return ctx.set(op, ctx.fromChannelsLast(loc, *pl, *permOr, channels));
}

/// The fragment of each phase (r_0, ..., r_{n-1}), r_k = index % stride_k,
/// flattened row-major: the inverse of the MFP offsets of the fragments.
static FailureOr<SmallVector<int64_t>> phaseTable(ir::FragmentsToDenseOp op,
                                                  const ::nm::TaggedShape &s) {
  const auto &offs = s.mfpOffsets();
  Sizes st = s.strides();
  int64_t nfrag = s.shape()[s.tagIndex('b')];
  int64_t nsp = s.spatialAxes().size();
  int64_t tableSize = 1;
  for (int64_t v : st)
    tableSize *= v;
  if (tableSize != nfrag)
    return op.emitError() << "fragments_to_dense: prod(strides) != fragments";
  SmallVector<int64_t> table(tableSize, -1);
  for (int64_t i = 0; i < nfrag; ++i) {
    int64_t flat = 0;
    for (int64_t k = 0; k < nsp; ++k) {
      int64_t o = offs[i][k];
      if (o < 0 || o >= st[k])
        return op.emitError() << "fragments_to_dense: MFP offset out of range";
      flat = flat * st[k] + o;
    }
    table[flat] = i;
  }
  if (llvm::is_contained(table, -1))
    return op.emitError() << "fragments_to_dense: MFP offsets do not cover "
                             "every phase";
  return table;
}

LogicalResult lower(ir::FragmentsToDenseOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  if (!s.hasTag('b'))
    return op.emitError() << "fragments_to_dense needs a 'b' axis";
  int64_t bI = s.tagIndex('b');
  auto sp = s.spatialAxes();
  const auto &offs = s.mfpOffsets();
  Sizes st = s.strides();
  int64_t nfrag = s.shape()[bI];
  if (static_cast<int64_t>(offs.size()) != nfrag)
    return op.emitError() << "fragments_to_dense: " << nfrag
                          << " fragments but " << offs.size() << " MFP offsets";
  Value x = ctx.get(op.getInput());
  if (rt.getDimSize(bI) != 1)
    return op.emitError() << "fragments_to_dense: dense batch must be 1";
  int64_t nsp = sp.size();
  FailureOr<SmallVector<int64_t>> tableOr = phaseTable(op, s);
  if (failed(tableOr))
    return failure();
  SmallVector<int64_t> table = *tableOr;
  int64_t tableSize = table.size();
  // Fragment table[phase] fills dense[.., phase_k + s_k * j_k, ..]: one
  // strided insert_slice per fragment (of the fragment's first n_k rows,
  // n_k = how many dense indices have that phase).
  Value r = emptyT(b, loc, rt.getShape(), rt.getElementType());
  SmallVector<int64_t> fsh = shapeOf(x);
  for (int64_t flat = 0; flat < tableSize; ++flat) {
    int64_t frag = table[flat];
    SmallVector<int64_t> phase(nsp);
    for (int64_t k = nsp - 1, rem = flat; k >= 0; --k) {
      phase[k] = rem % st[k];
      rem /= st[k];
    }
    SmallVector<OpFoldResult> xoff, xsz, ones, doff, dst;
    SmallVector<int64_t> srcShape;
    for (int64_t d = 0; d < s.ndim(); ++d) {
      int64_t n = fsh[d], o = 0, stride = 1;
      if (d == bI) {
        n = 1;
        o = 0;
      }
      for (int64_t k = 0; k < nsp; ++k)
        if (sp[k] == d) {
          o = phase[k];
          stride = st[k];
          n = (rt.getDimSize(d) - o + stride - 1) / stride;
          if (n > fsh[d])
            return op.emitError()
                   << "fragments_to_dense: fragments too small for the "
                      "dense shape";
        }
      xoff.push_back(b.getIndexAttr(d == bI ? frag : 0));
      xsz.push_back(b.getIndexAttr(n));
      ones.push_back(b.getIndexAttr(1));
      doff.push_back(b.getIndexAttr(o));
      dst.push_back(b.getIndexAttr(stride));
      srcShape.push_back(n);
    }
    if (llvm::is_contained(srcShape, 0))
      continue;
    Value piece = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(srcShape, rt.getElementType()), x, xoff,
        xsz, ones);
    r = tensor::InsertSliceOp::create(b, loc, piece, r, doff, xsz, dst);
  }
  return ctx.set(op, r);
}

} // namespace nm::compiler::lowering
