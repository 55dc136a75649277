//===- NmOutputOps.cpp - what prediction returns --------------------------===//
//
// Type inference of the ops that turn a prediction into its output: the
// class map (nm.classification) and the output epilogue of neuromancer
// predict (nm.select_channels, nm.to_uint8).
//
//===----------------------------------------------------------------------===//
#include "InferenceSupport.h"
#include "neuromancer/dialect/IR/NmOps.h"

using namespace mlir;

namespace nm::ir {
using namespace infer;

Expected<TaggedShape> ClassificationOp::inferTaggedShape(Adaptor a) {
  NM_TRY(p, shapeOf(a.getPred(), "pred"));
  int64_t nIndep = static_cast<int64_t>(a.getNIndep());
  if (!p.hasTag('f'))
    return error("Classification needs an 'f' axis, got ", p.repr());
  if (nIndep < 1 || (p['f'] != ::nm::None && p['f'] % nIndep != 0))
    return error("Classification: n_indep = ", nIndep,
                 " must divide the number of features of ", p.repr());
  return p.updateShape('f', nIndep);
}
NM_INFER_RETURN_TYPES(ClassificationOp)
Type ClassificationOp::inferElementType(Adaptor a) {
  Value p = a.getPred();
  return p ? IntegerType::get(p.getContext(), 64) : Type();
}

Expected<TaggedShape> SelectChannelsOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  if (!in.hasTag('f'))
    return error("select_channels needs an 'f' axis, got ", in.repr());
  ArrayRef<int64_t> channels = a.getChannels();
  if (channels.empty())
    return error("select_channels needs at least one channel");
  for (int64_t c : channels)
    if (c < 0 || (in['f'] != ::nm::None && c >= in['f']))
      return error("select_channels: channel ", c, " is out of range for ",
                   in.repr());
  return in.updateShape('f', static_cast<int64_t>(channels.size()));
}
NM_INFER(SelectChannelsOp)
int64_t SelectChannelsOp::getComputationalCost() { return 0; }

Expected<TaggedShape> ToUint8Op::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  if (!isa<FloatType>(elementTypeOf(a.getInput())))
    return error("to_uint8 needs a float input");
  return in;
}
NM_INFER_RETURN_TYPES(ToUint8Op)
Type ToUint8Op::inferElementType(Adaptor a) {
  Value in = a.getInput();
  return in ? IntegerType::get(in.getContext(), 8, IntegerType::Unsigned)
            : Type();
}

} // namespace nm::ir
