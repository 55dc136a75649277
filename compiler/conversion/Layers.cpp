//===- Layers.cpp - conv, perceptron, upconv and LRN
//------------------------===//
//
// Weight layers compute channels-last ([b, spatial..., f]): a named linalg
// conv (or matmul, or a generic for upconv), pooling / max-fragment-pooling,
// then one epilogue generic (Epilogue.cpp). Conv outputs keep their internal
// layout for the next conv or pool (LoweringContext::fromChannelsLast).
//
//===----------------------------------------------------------------------===//
#include "Activations.h"
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

/// epilogue() with the bias, BN operands/mode and activation of a weight
/// layer (conv, perceptron, upconv).
template <typename LayerOp>
static FailureOr<Value> layerEpilogue(LoweringContext &ctx, LayerOp op,
                                      Location loc, Value y) {
  SmallVector<Value> bn;
  for (Value v : op.getBn())
    bn.push_back(ctx.get(v));
  return epilogue(ctx.builder(), op, loc, y, ctx.get(op.getB()), bn,
                  op.getBatchNormalisation(),
                  ir::activationOf(op.getActivation()));
}

/// Conv weights [n_f, n_in, *filter] as [*filter, n_in, n_f], padded with
/// zero columns to [*filter, cIn, fp] (the internal layout's channels).
static Value convWeights(OpBuilder &b, Location loc, Value w, int64_t cIn,
                         int64_t fp) {
  SmallVector<int64_t> wsh = shapeOf(w);
  int64_t nsp = wsh.size() - 2;
  SmallVector<int64_t> wperm;
  for (int64_t i = 0; i < nsp; ++i)
    wperm.push_back(i + 2);
  wperm.push_back(1);
  wperm.push_back(0);
  Value wt = transposeT(b, loc, w, wperm);
  SmallVector<int64_t> wpsh(wsh.begin() + 2, wsh.end());
  wpsh.push_back(cIn);
  wpsh.push_back(fp);
  return padded(b, loc, wt, SmallVector<int64_t>(nsp + 2, 0), wpsh,
                fcst(b, loc, eltOf(w), 0.0));
}

/// linalg.conv_{1,2,3}d_n*c_*cf of the channels-last x [N, S..., C] and the
/// weights wt [*filter, C, F] into a zero-filled [N, outSpatial..., F].
/// 1x1x1 kernels too: the conv schedule of compiler/codegen tiles them like
/// a matmul per output row ([W, C] x [C, F] register tiles) and fuses the
/// epilogue, which a matmul behind a reshape would not get.
Value namedConv(OpBuilder &b, Location loc, Value x, Value wt,
                ArrayRef<int64_t> outShape, ArrayRef<int64_t> dilation) {
  int64_t nsp = outShape.size() - 2;
  Type elt = eltOf(x);
  Value init = filled(b, loc, outShape, elt, fcst(b, loc, elt, 0.0));
  SmallVector<int64_t> ones(nsp, 1);
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr("strides", i64Vec(b, ones)),
      b.getNamedAttr("dilations", i64Vec(b, dilation))};
  SmallVector<Type> rt{init.getType()};
  if (nsp == 1)
    return linalg::Conv1DNwcWcfOp::create(b, loc, rt, ValueRange{x, wt},
                                          ValueRange{init}, attrs)
        ->getResult(0);
  if (nsp == 2)
    return linalg::Conv2DNhwcHwcfOp::create(b, loc, rt, ValueRange{x, wt},
                                            ValueRange{init}, attrs)
        ->getResult(0);
  return linalg::Conv3DNdhwcDhwcfOp::create(b, loc, rt, ValueRange{x, wt},
                                            ValueRange{init}, attrs)
      ->getResult(0);
}

/// Max-fragment-pooling of the channels-last conv output [N, S..., F] by
/// `p`: fragment ix (itertools.product order, last axis fastest) pools
/// conv[ix : ix + L - p + 1] with stride p; fragments are stacked on the
/// batch axis fragment-major.
static FailureOr<Value> maxFragmentPool(OpBuilder &b, Operation *op,
                                        Location loc, Value conv,
                                        ArrayRef<int64_t> p) {
  SmallVector<int64_t> cs = shapeOf(conv);
  Type elt = eltOf(conv);
  int64_t nsp = p.size(), n = cs[0], fp = cs.back();
  int64_t nfrag = 1;
  for (int64_t v : p)
    nfrag *= v;
  SmallVector<int64_t> outSh{n * nfrag};
  for (int64_t i = 0; i < nsp; ++i)
    outSh.push_back(cs[i + 1] / p[i]);
  outSh.push_back(fp);
  Value acc = emptyT(b, loc, outSh, elt);
  SmallVector<int64_t> ix(nsp, 0);
  for (int64_t f = 0; f < nfrag; ++f) {
    int64_t rem = f;
    for (int64_t i = nsp - 1; i >= 0; --i) {
      ix[i] = rem % p[i];
      rem /= p[i];
    }
    SmallVector<OpFoldResult> off{b.getIndexAttr(0)}, sz{b.getIndexAttr(n)}, st;
    SmallVector<int64_t> sliceSh{n};
    for (int64_t i = 0; i < nsp; ++i) {
      int64_t len = cs[i + 1] - p[i] + 1;
      off.push_back(b.getIndexAttr(ix[i]));
      sz.push_back(b.getIndexAttr(len));
      sliceSh.push_back(len);
    }
    off.push_back(b.getIndexAttr(0));
    sz.push_back(b.getIndexAttr(fp));
    sliceSh.push_back(fp);
    for (size_t i = 0; i < off.size(); ++i)
      st.push_back(b.getIndexAttr(1));
    Value slice = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(sliceSh, elt), conv, off, sz, st);
    auto pl = pool(b, op, loc, slice, p, p, ir::PoolMode::Max);
    if (failed(pl))
      return failure();
    SmallVector<OpFoldResult> ioff{b.getIndexAttr(f * n)}, isz;
    for (int64_t v : shapeOf(*pl))
      isz.push_back(b.getIndexAttr(v));
    for (int64_t i = 0; i < nsp + 1; ++i)
      ioff.push_back(b.getIndexAttr(0));
    acc = tensor::InsertSliceOp::create(b, loc, *pl, acc, ioff, isz, st);
  }
  return acc;
}

/// The conv's max pooling (or MFP) of its channels-last output; the output
/// itself without a pool. A dilated conv's pool slides by one with its
/// window's taps `dilation` apart.
static FailureOr<Value> convPool(OpBuilder &b, ir::ConvOp op, Location loc,
                                 Value conv, ArrayRef<int64_t> dilation) {
  SmallVector<int64_t> p(shapeOf(conv).size() - 2, 1);
  if (auto pa = op.getPool())
    p.assign(pa->begin(), pa->end());
  if (llvm::none_of(p, [](int64_t v) { return v > 1; }))
    return conv;
  if (op.getMfp())
    return maxFragmentPool(b, op, loc, conv, p);
  if (op.getDilation())
    return pool(b, op, loc, conv, p, SmallVector<int64_t>(p.size(), 1),
                ir::PoolMode::Max, dilation);
  return pool(b, op, loc, conv, p, p, ir::PoolMode::Max);
}

LogicalResult lower(ir::ConvOp op, LoweringContext &ctx) {
  // Batch statistics: the conv is lowered without BN, then normalised.
  if (op.getBatchNormalisation() == ir::BatchNormMode::Train)
    return lowerTrainBN(op, ctx);
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto permOr = channelsLast(op, s);
  if (failed(permOr))
    return failure();
  SmallVector<int64_t> perm = *permOr;
  int64_t nsp = s.nSpatial();
  // [N, S..., C]: the producer's internal layout (a view of its first C
  // channels: the padded ones are not read) or a transpose.
  Value w = ctx.get(op.getW());
  SmallVector<int64_t> wsh = shapeOf(w);
  Value x = sliceLastTo(b, loc, ctx.channelsLastInput(loc, op.getInput(), perm),
                        wsh[1]);
  Type elt = eltOf(x);
  int64_t nf = wsh[0];
  // Output channels of the internal layout; maxout groups real channels.
  ::nm::Activation act = ir::activationOf(op.getActivation());
  int64_t r = act.kind == ::nm::ActivationKind::Maxout ? act.maxout : 0;
  int64_t fp = r > 0 ? nf : ctx.paddedChannels(nf);
  Value wt = convWeights(b, loc, w, shapeOf(x).back(), fp);
  ir::ConvMode mode = op.getConvMode();
  // 'same' and 'full' zero-pad the input by (k - 1) / 2 and k - 1.
  SmallVector<int64_t> k(wsh.begin() + 2, wsh.end());
  SmallVector<int64_t> padAmt(nsp + 2, 0);
  SmallVector<int64_t> psh = shapeOf(x);
  for (int64_t i = 0; i < nsp; ++i) {
    int64_t p = mode == ir::ConvMode::Same   ? (k[i] - 1) / 2
                : mode == ir::ConvMode::Full ? k[i] - 1
                                             : 0;
    padAmt[i + 1] = p;
    psh[i + 1] += 2 * p;
  }
  x = padded(b, loc, x, padAmt, psh, fcst(b, loc, elt, 0.0));
  SmallVector<int64_t> dilation(nsp, 1);
  if (auto da = op.getDilation())
    dilation.assign(da->begin(), da->end());
  SmallVector<int64_t> xs = shapeOf(x);
  SmallVector<int64_t> cs{xs[0]};
  for (int64_t i = 0; i < nsp; ++i)
    cs.push_back(xs[i + 1] - (k[i] - 1) * dilation[i]);
  cs.push_back(fp);
  Value conv = namedConv(b, loc, x, wt, cs, dilation);
  FailureOr<Value> pooled = convPool(b, op, loc, conv, dilation);
  if (failed(pooled))
    return failure();
  auto ep = layerEpilogue(ctx, op, loc, *pooled);
  if (failed(ep))
    return failure();
  return ctx.set(op, ctx.fromChannelsLast(loc, *ep, perm, r > 0 ? nf / r : nf));
}

LogicalResult lower(ir::PerceptronOp op, LoweringContext &ctx) {
  if (op.getBatchNormalisation() == ir::BatchNormMode::Train)
    return lowerTrainBN(op, ctx);
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  Value x = ctx.get(op.getInput());
  Type elt = eltOf(x);
  Value w = ctx.get(op.getW());
  SmallVector<int64_t> wsh = shapeOf(w);
  int64_t nin = wsh[0], nf = wsh[1];
  SmallVector<int64_t> perm;
  int64_t rank = s.ndim();
  Value mat; // [M, n_in]
  SmallVector<int64_t> lead;
  if (op.getFlatten()) {
    if (!s.hasTag('b') || s.tagIndex('b') != 0)
      return op.emitError()
             << "lowering of a flattening nm.perceptron needs 'b' first";
    SmallVector<ReassociationIndices> g{{0}, {}};
    for (int64_t i = 1; i < rank; ++i)
      g[1].push_back(i);
    mat = rank == 2 ? x : tensor::CollapseShapeOp::create(b, loc, x, g);
    lead = {s.shape()[0]};
  } else {
    if (!s.hasTag('f'))
      return op.emitError() << "nm.perceptron input has no 'f' axis";
    int64_t fI = s.tagIndex('f');
    for (int64_t i = 0; i < rank; ++i)
      if (i != fI)
        perm.push_back(i);
    perm.push_back(fI);
    Value xt = transposeT(b, loc, x, perm);
    SmallVector<int64_t> xs = shapeOf(xt);
    lead.assign(xs.begin(), xs.end() - 1);
    if (rank == 2) {
      mat = xt;
    } else {
      SmallVector<ReassociationIndices> g{{}, {rank - 1}};
      for (int64_t i = 0; i < rank - 1; ++i)
        g[0].push_back(i);
      mat = tensor::CollapseShapeOp::create(b, loc, xt, g);
    }
  }
  int64_t M = shapeOf(mat)[0];
  if (shapeOf(mat)[1] != nin)
    return op.emitError() << "perceptron weight has " << nin
                          << " inputs, the input " << shapeOf(mat)[1];
  Value init = filled(b, loc, {M, nf}, elt, fcst(b, loc, elt, 0.0));
  Value mm = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                      ValueRange{mat, w}, ValueRange{init})
                 ->getResult(0);
  auto ep = layerEpilogue(ctx, op, loc, mm);
  if (failed(ep))
    return failure();
  Value y = *ep; // [M, n_out]
  if (op.getFlatten() || rank == 2) {
    if (!op.getFlatten())
      y = transposeT(b, loc, y, inversePerm(perm));
    return ctx.set(op, y);
  }
  int64_t nout = shapeOf(y)[1];
  SmallVector<int64_t> ysh(lead);
  ysh.push_back(nout);
  SmallVector<ReassociationIndices> g{{}, {rank - 1}};
  for (int64_t i = 0; i < rank - 1; ++i)
    g[0].push_back(i);
  y = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(ysh, elt), y,
                                    g);
  return ctx.set(op, transposeT(b, loc, y, inversePerm(perm)));
}

LogicalResult lower(ir::UpConvOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  MLIRContext *mctx = b.getContext();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto permOr = channelsLast(op, s);
  if (failed(permOr))
    return failure();
  SmallVector<int64_t> perm = *permOr;
  int64_t k = s.nSpatial();
  Value x = transposeT(b, loc, ctx.get(op.getInput()), perm); // [N, S..., C]
  Type elt = eltOf(x);
  Value w = ctx.get(op.getW()); // [F, C, p...]
  SmallVector<int64_t> xs = shapeOf(x), wsh = shapeOf(w);
  int64_t nf = wsh[0];
  // out[n, s_1, t_1, ..., s_k, t_k, f] = sum_c x[n, s..., c] w[f, c, t...]:
  // filter = stride, so each output voxel gets exactly one input voxel
  // (cuDNN GradI, conv_mode 'cross'); (s_i, t_i) then merge to s_i*p_i + t_i.
  int64_t R = 2 * k + 3, cD = R - 2, fD = R - 1;
  auto d = [&](int64_t i) { return b.getAffineDimExpr(i); };
  SmallVector<AffineExpr> xe{d(0)}, we{d(fD), d(cD)}, oe;
  SmallVector<int64_t> outSh{xs[0]};
  for (int64_t i = 0; i < k; ++i) {
    xe.push_back(d(1 + 2 * i));
    we.push_back(d(2 + 2 * i));
    outSh.push_back(xs[1 + i]);
    outSh.push_back(wsh[2 + i]);
  }
  xe.push_back(d(cD));
  outSh.push_back(nf);
  for (int64_t i = 0; i < R; ++i)
    if (i != cD)
      oe.push_back(d(i));
  SmallVector<IT> its(R, IT::parallel);
  its[cD] = IT::reduction;
  Value init = filled(b, loc, outSh, elt, fcst(b, loc, elt, 0.0));
  Value y =
      generic(b, loc, {x, w},
              {AffineMap::get(R, 0, xe, mctx), AffineMap::get(R, 0, we, mctx)},
              init, AffineMap::get(R, 0, oe, mctx), its,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return arith::AddFOp::create(
                    nb, l, a[2], arith::MulFOp::create(nb, l, a[0], a[1]));
              });
  SmallVector<ReassociationIndices> groups{{0}};
  for (int64_t i = 0; i < k; ++i)
    groups.push_back({1 + 2 * i, 2 + 2 * i});
  groups.push_back({2 * k + 1});
  y = tensor::CollapseShapeOp::create(b, loc, y, groups);
  FailureOr<Value> ep = failure();
  if (op.getBatchNormalisation() == ir::BatchNormMode::Train) {
    if (op.getBn().size() != 3)
      return op.emitError() << "batch normalisation needs gamma, mean and std";
    ep =
        trainEpilogue(b, op, loc, y, ctx.get(op.getB()), ctx.get(op.getBn()[0]),
                      ir::activationOf(op.getActivation()));
  } else {
    ep = layerEpilogue(ctx, op, loc, y);
  }
  if (failed(ep))
    return failure();
  return ctx.set(op, transposeT(b, loc, *ep, inversePerm(perm)));
}

FailureOr<Value> lrnSpatialSum(OpBuilder &b, Operation *op, Value x,
                               const ::nm::TaggedShape &s,
                               ArrayRef<int64_t> filter, bool square) {
  Location loc = op->getLoc();
  std::vector<int64_t> sp = s.spatialAxes();
  if (filter.size() != sp.size())
    return op->emitError() << "LRN filter_shape needs one entry per spatial "
                              "axis";
  if (llvm::any_of(filter, [](int64_t f) { return f % 2 == 0; }))
    return op->emitError() << "For \"same\"-mode convolution, filter shapes "
                              "must be odd in all dimensions.";
  SmallVector<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size(), nsp = sp.size();
  Type elt = eltOf(x);
  Value sq = !square
                 ? x
                 : elementwise(b, loc, {x}, shape, elt,
                               [&](OpBuilder &nb, Location l, ValueRange a) {
                                 return Value(
                                     arith::MulFOp::create(nb, l, a[0], a[0]));
                               });
  SmallVector<int64_t> lo(rank, 0), psh(shape);
  bool anyPad = false;
  for (int64_t j = 0; j < nsp; ++j) {
    lo[sp[j]] = (filter[j] - 1) / 2;
    psh[sp[j]] += filter[j] - 1;
    anyPad |= filter[j] > 1;
  }
  if (anyPad)
    sq = padded(b, loc, sq, lo, psh, fcst(b, loc, elt, 0.0));
  // Iteration space [x dims..., window dims...]: sq[i + w] summed over w.
  int64_t R = rank + nsp;
  SmallVector<AffineExpr> in;
  for (int64_t i = 0; i < rank; ++i)
    in.push_back(b.getAffineDimExpr(i));
  SmallVector<AffineExpr> win;
  for (int64_t j = 0; j < nsp; ++j) {
    in[sp[j]] = in[sp[j]] + b.getAffineDimExpr(rank + j);
    win.push_back(b.getAffineDimExpr(rank + j));
  }
  SmallVector<AffineExpr> oe;
  for (int64_t i = 0; i < rank; ++i)
    oe.push_back(b.getAffineDimExpr(i));
  SmallVector<IT> its(R, IT::parallel);
  for (int64_t j = 0; j < nsp; ++j)
    its[rank + j] = IT::reduction;
  MLIRContext *mctx = b.getContext();
  return generic(
      b, loc, {sq, emptyT(b, loc, filter, elt)},
      {AffineMap::get(R, 0, in, mctx), AffineMap::get(R, 0, win, mctx)},
      filled(b, loc, shape, elt, fcst(b, loc, elt, 0.0)),
      AffineMap::get(R, 0, oe, mctx), its,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, l, a[2], a[0]);
      });
}

/// LRN 'channel': the sum of x^2 over a window of odd size along f, the
/// edges replicated.
FailureOr<Value> lrnChannelSumSq(OpBuilder &b, Operation *op, Value x,
                                 const ::nm::TaggedShape &s, int64_t win) {
  if (!s.hasTag('f'))
    return op->emitError() << "LRN in 'channel' mode needs an 'f' axis";
  SmallVector<int64_t> shape = shapeOf(x);
  int64_t fI = s.tagIndex('f'), F = shape[fI];
  int64_t half = win / 2;
  return gather(b, op->getLoc(), shape, eltOf(x),
                [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) -> Value {
                  SmallVector<Value> src(idx.begin(), idx.end());
                  Value acc;
                  for (int64_t i = 0; i < win; ++i) {
                    Value j = arith::AddIOp::create(nb, l, idx[fI],
                                                    idxC(nb, l, i - half));
                    src[fI] = clampIndex(nb, l, j, F).first;
                    Value v = tensor::ExtractOp::create(nb, l, x, src);
                    Value v2 = arith::MulFOp::create(nb, l, v, v);
                    acc =
                        acc ? Value(arith::AddFOp::create(nb, l, acc, v2)) : v2;
                  }
                  return acc;
                });
}

LogicalResult lower(ir::LRNOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  Value x = ctx.get(op.getInput());
  Type elt = eltOf(x);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer tensors");
  ArrayRef<int64_t> filter = op.getFilterShape();
  FailureOr<Value> sumSq = failure();
  int64_t n = 1; // the window size
  if (op.getMode() == ir::LRNMode::Spatial) {
    sumSq = lrnSpatialSum(b, op, x, s, filter, /*square=*/true);
    n = numElements(filter);
  } else {
    sumSq = lrnChannelSumSq(b, op, x, s, filter[0]);
    n = filter[0];
  }
  if (failed(sumSq))
    return failure();
  double alpha = op.getAlpha().convertToDouble();
  double kk = op.getK().convertToDouble();
  double beta = op.getBeta().convertToDouble();
  // x / (k + alpha * mean_sq)^beta
  return ctx.set(
      op, elementwise(
              b, loc, {x, *sumSq}, shapeOf(x), elt,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value ms = arith::DivFOp::create(
                    nb, l, a[1], fcst(nb, l, elt, static_cast<double>(n)));
                Value base = arith::AddFOp::create(
                    nb, l, fcst(nb, l, elt, kk),
                    arith::MulFOp::create(nb, l, fcst(nb, l, elt, alpha), ms));
                Value div =
                    math::PowFOp::create(nb, l, base, fcst(nb, l, elt, beta));
                return arith::DivFOp::create(nb, l, a[0], div);
              }));
}

} // namespace nm::compiler::lowering
