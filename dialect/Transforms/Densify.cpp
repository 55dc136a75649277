//===- Densify.cpp - --nm-densify -----------------------------------------===//
//
// A strided network computes its output at every s-th voxel; shift-and-
// stitch calls it prod(s) times per tile and MFP splits it into fragments.
// The dilated network computes all voxels in one pass with no repeated work:
// every pool slides by one, and everything after a pool of stride p sees its
// input p times denser, so its taps move p voxels apart (the product of the
// strides before it). Each op's new result type comes from core's geometry
// rules through the shape-inference interface, as in specialize-shapes.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"

namespace nm::ir {
#define GEN_PASS_DEF_NMDENSIFY
#include "neuromancer/dialect/Transforms/Passes.h.inc"

using namespace mlir;

namespace {

using Dilation = SmallVector<int64_t, 3>;

bool allOnes(ArrayRef<int64_t> v) {
  return llvm::all_of(v, [](int64_t x) { return x == 1; });
}

Dilation times(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  Dilation out;
  for (size_t i = 0; i < a.size(); ++i)
    out.push_back(a[i] * b[i]);
  return out;
}

std::string text(ArrayRef<int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

/// How far apart the voxels of each tagged value are, in voxels of the
/// densified network's input: 1 until the first strided layer.
class Densifier {
public:
  explicit Densifier(func::FuncOp func) : builder_(func.getContext()) {}

  LogicalResult rewrite(Operation &op) {
    if (auto conv = dyn_cast<ConvOp>(op))
      return rewriteConv(conv);
    if (auto pool = dyn_cast<PoolOp>(op))
      return rewritePool(pool);
    return propagate(op);
  }

private:
  /// The dilation of a tagged operand; empty for values without spatial
  /// axes (parameters, scalars).
  Dilation dilationOf(Value v) {
    auto it = dilation_.find(v);
    if (it != dilation_.end())
      return it->second;
    std::optional<::nm::TaggedShape> shape = getTaggedShape(v.getType());
    if (!shape || shape->nSpatial() == 0)
      return {};
    return Dilation(shape->nSpatial(), 1);
  }

  LogicalResult rewriteConv(ConvOp conv) {
    Dilation d = dilationOf(conv.getInput());
    Dilation pool =
        conv.getPool() ? Dilation(*conv.getPool()) : Dilation(d.size(), 1);
    if (allOnes(d) && allOnes(pool)) {
      dilation_[conv.getResult()] = d;
      return success();
    }
    if (conv.getMfp())
      return conv.emitOpError()
             << "uses MFP: its output is dense already; nm-densify rewrites "
                "the strided network (rebuild without "
                "override_mfp_to_active)";
    if (conv.getConvMode() != ConvMode::Valid)
      return conv.emitOpError()
             << "nm-densify rewrites valid convolutions only; this one is '"
             << stringifyConvMode(conv.getConvMode()) << "'";
    conv.setDilation(ArrayRef<int64_t>(d));
    dilation_[conv.getResult()] = times(d, pool);
    return success();
  }

  LogicalResult rewritePool(PoolOp pool) {
    Dilation d = dilationOf(pool.getInput());
    Dilation stride = pool.getStride() ? Dilation(*pool.getStride())
                                       : Dilation(pool.getPool());
    if (allOnes(d) && allOnes(stride)) {
      dilation_[pool.getResult()] = d;
      return success();
    }
    pool.setDilation(ArrayRef<int64_t>(d));
    pool.setStride(ArrayRef<int64_t>(Dilation(d.size(), 1)));
    dilation_[pool.getResult()] = times(d, stride);
    return success();
  }

  /// Ops that act on each voxel alone keep the (common) dilation of their
  /// inputs; any other op must see dense inputs.
  LogicalResult propagate(Operation &op) {
    Dilation common;
    bool strided = false;
    for (Value operand : op.getOperands()) {
      Dilation d = dilationOf(operand);
      if (d.empty())
        continue;
      if (!common.empty() && d != common)
        return op.emitOpError()
               << "combines inputs of different densities " << text(common)
               << " and " << text(d) << "; nm-densify cannot rewrite it";
      common = d;
      strided |= !allOnes(d);
    }
    bool voxelwise =
        isa<AddOp, MultOp, ApplyOp, SoftmaxOp, SelectChannelsOp, ToUint8Op>(op);
    if (strided && !voxelwise)
      return op.emitOpError()
             << "mixes voxels of an input that is strided by " << text(common)
             << " in the original network; nm-densify rewrites conv, pool, "
                "add, mult, apply and softmax only (predict this network with "
                "the 'mfp' or 'stitch' strategy)";
    for (Value result : op.getResults())
      if (!common.empty())
        dilation_[result] = common;
    return success();
  }

  OpBuilder builder_;
  llvm::DenseMap<Value, Dilation> dilation_;
};

/// The input arguments take `shapes`: every size replaced, static or not
/// (the dilated network accepts any size that covers its field of view).
LogicalResult setInputShapes(func::FuncOp func,
                             const std::vector<std::vector<int64_t>> &shapes) {
  std::vector<unsigned> inputs;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (func.getArgAttr(i, NmDialect::kInputAttrName))
      inputs.push_back(i);
  if (shapes.size() != inputs.size())
    return func.emitError()
           << "nm-densify: " << inputs.size() << " input shapes required, "
           << shapes.size() << " were given";
  for (size_t k = 0; k < inputs.size(); ++k) {
    BlockArgument arg = func.getArgument(inputs[k]);
    std::optional<::nm::TaggedShape> shape = getTaggedShape(arg.getType());
    if (!shape || shape->ndim() != static_cast<int64_t>(shapes[k].size()))
      return func.emitError()
             << "nm-densify: input #" << inputs[k] << " needs a shape of "
             << (shape ? shape->ndim() : 0) << " sizes";
    ::nm::TaggedShape refined = *shape;
    for (int64_t axis = 0; axis < shape->ndim(); ++axis) {
      if (shapes[k][axis] < 1)
        return func.emitError() << "nm-densify: input #" << inputs[k]
                                << ": axis '" << shape->tags()[axis]
                                << "' cannot have size " << shapes[k][axis];
      refined = refined.updateShapeAt(axis, shapes[k][axis]);
    }
    arg.setType(getTaggedTensorType(
        refined, cast<RankedTensorType>(arg.getType()).getElementType()));
  }
  return success();
}

struct DensifyPass : impl::NmDensifyBase<DensifyPass> {
  using NmDensifyBase::NmDensifyBase;

  void runOnOperation() override {
    auto parsed = parseShapeOptions(getOperation(), shapes, "nm-densify");
    if (failed(parsed) || failed(densify(getOperation(), *parsed)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult densify(func::FuncOp func,
                      const std::vector<std::vector<int64_t>> &shapes) {
  if (func.isExternal() || !func.getBody().hasOneBlock())
    return func.emitError() << "nm-densify needs a function with one block";
  if (!shapes.empty() && failed(setInputShapes(func, shapes)))
    return failure();
  Densifier densifier(func);
  for (Operation &op : func.front().without_terminator())
    if (failed(densifier.rewrite(op)))
      return failure();
  if (failed(reinferTypes(func)))
    return failure();
  return verify(func);
}

} // namespace nm::ir
