//===- Pipeline.cpp - linalg on tensors to the LLVM dialect ---------------===//
//
// Stages 1-4 of CodeGen.h. Tiling/vectorisation is a transform-dialect
// schedule generated per structured op (mlir-notes §2); bufferization and
// the conversion to LLVM are a C++-built pass pipeline (specific pass
// headers only, no umbrella Conversion/Passes.h).
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include "neuromancer/core/DType.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <mutex>

using namespace mlir;

namespace nm::codegen {

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Collects diagnostics of a context into a string while alive.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &diag) {
          llvm::raw_string_ostream os(text);
          os << "\n  " << diag;
          for (Diagnostic &note : diag.getNotes())
            os << "\n    note: " << note;
          return success();
        }) {}
  std::string text;

private:
  ScopedDiagnosticHandler handler;
};

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

llvm::Expected<DType> dtypeOf(Type type, DictionaryAttr attrs) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("nm.dtype")) {
      try {
        return parseDType(name.getValue());
      } catch (const std::exception &e) {
        return makeError(e.what());
      }
    }
  if (type.isF32())
    return DType::Float32;
  if (type.isF64())
    return DType::Float64;
  if (type.isInteger(1))
    return DType::Bool;
  if (auto it = dyn_cast<IntegerType>(type)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 8:
      return u ? DType::UInt8 : DType::Int8;
    case 16:
      return u ? DType::UInt16 : DType::Int16;
    case 32:
      return u ? DType::UInt32 : DType::Int32;
    case 64:
      return u ? DType::UInt64 : DType::Int64;
    }
  }
  std::string s;
  llvm::raw_string_ostream(s) << type;
  return makeError("unsupported element type " + s);
}

llvm::Expected<ArgSpec> argSpec(Type type, DictionaryAttr attrs,
                                const std::string &defaultName) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape()) {
    std::string s;
    llvm::raw_string_ostream(s) << type;
    return makeError("'" + defaultName +
                     "': expected a statically shaped tensor, got " + s);
  }
  ArgSpec spec;
  spec.name = defaultName;
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("nm.name"))
      spec.name = name.str();
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  auto dtype = dtypeOf(tensor.getElementType(), attrs);
  if (!dtype)
    return dtype.takeError();
  spec.dtype = *dtype;
  return spec;
}

llvm::Expected<FunctionSignature> signatureOf(func::FuncOp func) {
  FunctionSignature sig;
  sig.entry = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    DictionaryAttr attrs = func.getArgAttrDict(i);
    bool isParam = attrs && attrs.get("nm.parameter");
    auto spec = argSpec(type.getInput(i), attrs,
                        (isParam ? "param" : "arg") + std::to_string(i));
    if (!spec)
      return spec.takeError();
    if (!isParam && !sig.parameters.empty())
      return makeError("function '" + sig.entry +
                       "': parameters must follow the inputs");
    (isParam ? sig.parameters : sig.inputs).push_back(std::move(*spec));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    auto spec = argSpec(type.getResult(i), func.getResultAttrDict(i),
                        "result" + std::to_string(i));
    if (!spec)
      return spec.takeError();
    sig.outputs.push_back(std::move(*spec));
  }
  if (sig.outputs.empty())
    return makeError("function '" + sig.entry + "' has no results");
  return sig;
}

//===----------------------------------------------------------------------===//
// Stage 1: the transform schedule
//===----------------------------------------------------------------------===//

constexpr llvm::StringLiteral kTagPrefix = "nm.codegen.op";

/// Largest divisor of n that is <= cap (>= 1).
int64_t divisorAtMost(int64_t n, int64_t cap) {
  for (int64_t d = std::min(n, std::max<int64_t>(cap, 1)); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// Tile of each of the two inner dims of a transpose.
constexpr int64_t kTransposeTile = 16;

/// For an all-parallel op that writes its outputs in loop order and reads
/// an input whose innermost dim is indexed by a loop other than the
/// innermost one: that loop.
std::optional<unsigned> transposedInputDim(linalg::LinalgOp op) {
  unsigned n = op.getNumLoops();
  if (n < 2 || op.getNumReductionLoops() != 0)
    return std::nullopt;
  for (OpOperand &out : op.getDpsInitsMutable())
    if (!op.getMatchingIndexingMap(&out).isIdentity())
      return std::nullopt;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    if (map.getNumResults() < 2)
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (last && last.getPosition() != n - 1)
      return last.getPosition();
  }
  return std::nullopt;
}

struct OpSchedule {
  std::string tag;
  /// Thread-level tiles (scf.forall, run on the thread pool); empty: the
  /// op runs on the calling thread.
  SmallVector<int64_t> threadTiles;
  SmallVector<int64_t> tileSizes; // 0 = not tiled
  /// Per loop: the tile does not divide it; the tile loop is peeled into a
  /// main loop of full tiles and a remainder, both static.
  SmallVector<bool> peel;
  bool generalize = false; // contraction-like: becomes one contract
};

/// Ops with fewer loop iterations stay on the calling thread: a dispatch
/// costs a few microseconds.
constexpr int64_t kMinParallelWork = int64_t(1) << 16;

/// The parallel loops that the register schedule leaves at tile 1 (batch,
/// outer spatial dims), except the innermost loop, become thread-level
/// tiles of one iteration each.
void distribute(linalg::LinalgOp op, ArrayRef<int64_t> ranges, OpSchedule &s) {
  int64_t work = 1, outer = 1;
  for (int64_t r : ranges)
    work *= r;
  if (work < kMinParallelWork)
    return;
  SmallVector<utils::IteratorType> its = op.getIteratorTypesArray();
  SmallVector<int64_t> threads(ranges.size(), 0);
  for (size_t i = 0; i + 1 < ranges.size(); ++i) {
    if (its[i] != utils::IteratorType::parallel || s.tileSizes[i] != 1 ||
        ranges[i] < 2)
      continue;
    threads[i] = 1;
    s.tileSizes[i] = 0;
    outer *= ranges[i];
  }
  if (outer >= 2)
    s.threadTiles = std::move(threads);
}

/// Number of spatial dims of a pooling op (0: not a pooling op).
int poolingSpatialDims(linalg::LinalgOp op) {
  if (isa<linalg::PoolingNwcMaxOp, linalg::PoolingNwcSumOp,
          linalg::PoolingNwcMinOp>(op))
    return 1;
  if (isa<linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp,
          linalg::PoolingNhwcMinOp>(op))
    return 2;
  if (isa<linalg::PoolingNdhwcMaxOp, linalg::PoolingNdhwcSumOp,
          linalg::PoolingNdhwcMinOp>(op))
    return 3;
  return 0;
}

/// Per-op tile sizes: window dims and leading output dims 1, a register tile
/// of (rows x cols) outputs and a reduction chunk for convs and matmuls; 1-D
/// rows of at most tileInner elements for everything else.
std::optional<OpSchedule> scheduleFor(linalg::LinalgOp op,
                                      const CompileOptions &o) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  OpSchedule s;
  s.tileSizes.assign(ranges.size(), 1);
  s.peel.assign(ranges.size(), false);
  // A tile that divides the loop.
  auto set = [&](unsigned loop, int64_t cap) {
    s.tileSizes[loop] = divisorAtMost(ranges[loop], cap);
  };
  // A register tile: full tiles plus one peeled remainder.
  auto setPeeled = [&](unsigned loop, int64_t cap) {
    s.tileSizes[loop] = std::min(ranges[loop], std::max<int64_t>(cap, 1));
    s.peel[loop] = ranges[loop] % s.tileSizes[loop] != 0;
  };
  int spatial = 0;
  if (isa<linalg::Conv1DNwcWcfOp>(op))
    spatial = 1;
  else if (isa<linalg::Conv2DNhwcHwcfOp>(op))
    spatial = 2;
  else if (isa<linalg::Conv3DNdhwcDhwcfOp>(op))
    spatial = 3;
  if (spatial) {
    // Loops: n, o_1..o_S, f, k_1..k_S, c. A strided conv reads its rows
    // with a stride the vectoriser cannot express as one contraction
    // operand, so its tile is one row (still vectorised over f and c).
    bool strided = false;
    if (auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides"))
      strided = llvm::any_of(strides.getValues<int64_t>(),
                             [](int64_t v) { return v != 1; });
    setPeeled(spatial, strided ? 1 : o.tileRows);
    setPeeled(spatial + 1, o.tileCols);
    setPeeled(2 * spatial + 2, o.tileReduction);
    s.generalize = true;
  } else if (int pooled = poolingSpatialDims(op)) {
    // Loops: n, o_1..o_S, c, k_1..k_S. One output pixel at a time, a vector
    // of channels, the window loops outside (the accumulator is hoisted).
    setPeeled(pooled + 1, o.tileInner);
    s.generalize = true;
  } else if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op)) {
    unsigned m = ranges.size() - 3;
    setPeeled(m, o.tileRows);
    setPeeled(m + 1, o.tileCols);
    setPeeled(m + 2, o.tileReduction);
    s.generalize = true;
  } else if (std::optional<unsigned> across = transposedInputDim(op)) {
    // A transpose (or an op reading an input transposed): 2-D tiles of the
    // two inner dims, read and written contiguously, transposed in
    // registers. A 1-D row would read its input with a stride.
    set(ranges.size() - 1, kTransposeTile);
    set(*across, kTransposeTile);
  } else {
    set(ranges.size() - 1, o.tileInner);
  }
  if (o.parallel)
    distribute(op, ranges, s);
  // A tile as large as its loop (or a loop of 1) needs no tiling.
  for (size_t i = 0; i < ranges.size(); ++i)
    if (s.tileSizes[i] >= ranges[i]) {
      s.tileSizes[i] = 0;
      s.peel[i] = false;
    }
  return s;
}

std::string scheduleScript(ArrayRef<OpSchedule> ops) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "module attributes {transform.with_named_sequence} {\n"
        "transform.named_sequence @__transform_main(%root: !transform.any_op "
        "{transform.readonly}) {\n";
  for (auto [i, s] : llvm::enumerate(ops)) {
    os << "  %op" << i << " = transform.structured.match attributes{" << s.tag
       << "} in %root : (!transform.any_op) -> !transform.any_op\n";
    std::string handle = "%op" + std::to_string(i);
    if (llvm::any_of(s.threadTiles, [](int64_t t) { return t != 0; })) {
      os << "  %d" << i << ", %forall" << i
         << " = transform.structured.tile_using_forall " << handle
         << " tile_sizes [";
      llvm::interleaveComma(s.threadTiles, os);
      os << "] : (!transform.any_op) -> (!transform.any_op, "
            "!transform.any_op)\n";
      handle = "%d" + std::to_string(i);
    }
    SmallVector<unsigned> tiledDims;
    for (auto [d, t] : llvm::enumerate(s.tileSizes))
      if (t != 0)
        tiledDims.push_back(d);
    if (!tiledDims.empty()) {
      os << "  %t" << i;
      for (unsigned l = 0; l < tiledDims.size(); ++l)
        os << ", %l" << i << "_" << l;
      os << " = transform.structured.tile_using_for " << handle
         << " tile_sizes [";
      llvm::interleaveComma(s.tileSizes, os);
      os << "] : (!transform.any_op) -> (!transform.any_op";
      for (unsigned l = 0; l < tiledDims.size(); ++l)
        os << ", !transform.any_op";
      os << ")\n";
      handle = "%t" + std::to_string(i);
    }
    if (s.generalize)
      os << "  %g" << i << " = transform.structured.generalize " << handle
         << " : (!transform.any_op) -> !transform.any_op\n";
    // Innermost first, so that peeling an outer loop clones inner loops
    // that are already peeled.
    for (int l = tiledDims.size() - 1; l >= 0; --l) {
      if (!s.peel[tiledDims[l]])
        continue;
      std::string loop = "%l" + std::to_string(i) + "_" + std::to_string(l);
      os << "  %c" << loop.substr(1) << " = transform.cast " << loop
         << " : !transform.any_op to !transform.op<\"scf.for\">\n";
      os << "  %m" << loop.substr(1) << ", %r" << loop.substr(1)
         << " = transform.loop.peel %c" << loop.substr(1)
         << " : (!transform.op<\"scf.for\">) -> (!transform.any_op, "
            "!transform.any_op)\n";
    }
  }
  os << R"(  %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
  transform.apply_patterns to %funcs {
    transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.yield
}
}
)";
  return text;
}

/// The vectorisation of transform.structured.vectorize_children_and_apply_
/// patterns, minus one upstream bug: tensor.insert_slice is vectorised as
/// "read the whole source, write it minor-identity at the offsets", which
/// ignores non-unit strides and misplaces a rank-reducing insert whose
/// dropped dims are not the leading ones (the source lands in the wrong
/// place, silently). Such inserts are left to bufferization (in place, or
/// a copy into a strided subview).
bool safeToVectorize(tensor::InsertSliceOp op) {
  if (!op.hasUnitStride())
    return false;
  llvm::SmallBitVector dropped = op.getDroppedDims();
  int64_t rankDiff = op.getDestType().getRank() - op.getSourceType().getRank();
  return dropped.find_last() < rankDiff; // -1 when nothing is dropped
}

/// The largest iteration space (or insert_slice source) vectorised as one
/// piece; register tiles are far below.
constexpr int64_t kMaxVectorElements = 1 << 16;

struct VectorizeStructuredOps : public RewritePattern {
  explicit VectorizeStructuredOps(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (!safeToVectorize(insert) ||
          !insert.getSourceType().hasStaticShape() ||
          insert.getSourceType().getNumElements() > kMaxVectorElements)
        return failure();
    } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (isa<linalg::ConvolutionOpInterface>(op))
        return failure();
      // An op the schedule did not tile would become one huge vector
      // (minutes of compile time, gigabytes of memory): leave it to loops.
      int64_t size = 1;
      for (int64_t r : linalgOp.getStaticLoopRanges())
        size = ShapedType::isDynamic(r) ? kMaxVectorElements + 1 : size * r;
      if (size > kMaxVectorElements)
        return failure();
    } else {
      return failure();
    }
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, result->replacements);
    return success();
  }
};

void addCanonicalizationPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
}

LogicalResult vectorizeAndCleanUp(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  {
    RewritePatternSet patterns(ctx);
    patterns.add<VectorizeStructuredOps>(ctx);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::populateSinkVectorOpsPatterns(patterns);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  {
    RewritePatternSet patterns(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  IRRewriter rewriter(ctx);
  DominanceInfo dominance;
  for (auto func : module.getOps<func::FuncOp>())
    eliminateCommonSubExpressions(rewriter, dominance, func);
  return success();
}

/// Stage 3 (buffers): keep accumulators in registers across the window
/// loops, contractions to outer-product FMAs, everything to 1-D vectors.
/// Transposes and shape casts are lowered in pattern sets of their own: in
/// one set with canonicalization, a transpose that only moves unit dims
/// (canonicalised to a shape_cast, lowered, re-folded) never converges.
constexpr llvm::StringLiteral kBufferScript = R"(
module attributes {transform.with_named_sequence} {
transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
  %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
  %h = transform.structured.hoist_redundant_vector_transfers %funcs : (!transform.any_op) -> !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
    transform.apply_patterns.vector.transfer_permutation_patterns
    transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerreduction"
    transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
    transform.apply_patterns.vector.lower_outerproduct
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_transpose lowering_strategy = "shuffle_1d"
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_shape_cast
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.yield
}
}
)";

LogicalResult runScript(ModuleOp payload, llvm::StringRef script) {
  OwningOpRef<ModuleOp> lib =
      parseSourceString<ModuleOp>(script, payload.getContext());
  if (!lib)
    return failure();
  auto entry = lib->lookupSymbol<transform::NamedSequenceOp>(
      transform::TransformDialect::kTransformEntryPointSymbolName);
  if (!entry)
    return failure();
  return transform::applyTransformNamedSequence(payload, entry, *lib,
                                                transform::TransformOptions());
}

LogicalResult vectorizeOnTensors(ModuleOp module, const CompileOptions &o) {
  SmallVector<OpSchedule> ops;
  module.walk([&](linalg::LinalgOp op) {
    std::optional<OpSchedule> s = scheduleFor(op, o);
    if (!s)
      return;
    s->tag = (kTagPrefix + llvm::Twine(ops.size())).str();
    op->setAttr(s->tag, UnitAttr::get(op->getContext()));
    ops.push_back(std::move(*s));
  });
  LogicalResult result = runScript(module, scheduleScript(ops));
  if (succeeded(result))
    result = vectorizeAndCleanUp(module);
  module.walk([&](Operation *op) {
    SmallVector<StringAttr> tags;
    for (NamedAttribute a : op->getDiscardableAttrs())
      if (a.getName().getValue().starts_with(kTagPrefix))
        tags.push_back(a.getName());
    for (StringAttr t : tags)
      op->removeAttr(t);
  });
  return result;
}

//===----------------------------------------------------------------------===//
// Stages 2 and 4: pass pipelines
//===----------------------------------------------------------------------===//

void buildBufferizationPipeline(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  // Subviews folded into the transfers' indices: the accumulator of a tile
  // inside an scf.forall is then read and written at loop-invariant indices
  // of the base buffer, which hoisting needs.
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
}

/// A memref.copy between buffers that are not both contiguous (tensor.pad,
/// strided or offset insert_slice) lowers to a call of `memrefCopy` from
/// MLIR's c_runner_utils, which neither JIT nor AOT objects link. Such
/// copies become linalg.copy, i.e. loops that LLVM vectorises.
void lowerNonContiguousCopies(ModuleOp module) {
  auto contiguous = [](Value v) {
    auto type = cast<MemRefType>(v.getType());
    return type.getLayout().isIdentity() ||
           memref::isStaticShapeAndContiguousRowMajor(type);
  };
  SmallVector<memref::CopyOp> copies;
  module.walk([&](memref::CopyOp op) {
    if (!contiguous(op.getSource()) || !contiguous(op.getTarget()))
      copies.push_back(op);
  });
  for (memref::CopyOp op : copies) {
    OpBuilder b(op);
    linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
    op.erase();
  }
}

void buildLLVMPipeline(OpPassManager &pm) {
  OpPassManager &fpm = pm.nest<func::FuncOp>();
  fpm.addPass(createForallToForLoopPass()); // loops not outlined
  fpm.addPass(createConvertLinalgToLoopsPass());
  fpm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll(true)));
  fpm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  ConvertFuncToLLVMPassOptions funcToLLVM;
  funcToLLVM.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcToLLVM));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

std::string printModule(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

std::string textualPipeline(void (*build)(OpPassManager &)) {
  DialectRegistry registry;
  registerCodegenDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  PassManager pm(&ctx);
  build(pm);
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public entry points
//===----------------------------------------------------------------------===//

void registerCodegenDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

std::string pipelineDescription(const CompileOptions &o) {
  // The pass pipelines are fixed for a given build; print them once.
  static const std::string passes =
      "bufferize: " + textualPipeline(buildBufferizationPipeline) +
      "\nllvm: " + textualPipeline(buildLLVMPipeline);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "schedule-v1 tile_rows=" << o.tileRows << " tile_cols=" << o.tileCols
     << " tile_reduction=" << o.tileReduction << " tile_inner=" << o.tileInner
     << " vectorize=" << o.vectorize << " parallel=" << o.parallel
     << " min_parallel_work=" << kMinParallelWork << "\n"
     << kBufferScript << "\n"
     << passes << "\nllvm-opt=O" << o.optLevel << " reloc=pic code-model=small";
  return text;
}

std::string printForKey(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  return text;
}

llvm::Expected<CompiledObject> compileToObject(ModuleOp module,
                                               const CompileOptions &options) {
  std::string text = printForKey(module);
  return compileToObject(llvm::StringRef(text), options);
}

llvm::Expected<CompiledObject> compileToObject(llvm::StringRef moduleText,
                                               const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  DialectRegistry registry;
  registerCodegenDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  DiagnosticCollector diags(&ctx);

  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(moduleText, &ctx);
  if (!module)
    return makeError("codegen: cannot parse the module:" + diags.text);

  CompiledObject result;
  result.target = detail::resolveTarget(options.target);
  for (auto func : module->getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    auto sig = signatureOf(func);
    if (!sig)
      return sig.takeError();
    result.functions.push_back(std::move(*sig));
    // Inputs and parameters belong to the caller: bufferization copies
    // instead of writing into them.
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (isa<TensorType>(func.getArgument(i).getType()))
        func.setArgAttr(i, "bufferization.writable",
                        BoolAttr::get(&ctx, false));
  }
  if (result.functions.empty())
    return makeError("codegen: the module has no public function");

  auto fail = [&](const char *stage) {
    return makeError(llvm::Twine("codegen: ") + stage +
                     " failed:" + diags.text);
  };
  // Dead values of the lowering (e.g. tag-order copies of channels-last
  // values that no one reads) are dropped before they are scheduled.
  PassManager cleanupPM(&ctx);
  cleanupPM.addPass(createCanonicalizerPass());
  cleanupPM.addPass(createCSEPass());
  if (failed(cleanupPM.run(*module)))
    return fail("canonicalization");
  if (options.vectorize && failed(vectorizeOnTensors(*module, options)))
    return fail("tiling and vectorization");
  if (options.keepIntermediates)
    result.vectorizedIR = printModule(*module);

  PassManager bufferizePM(&ctx);
  buildBufferizationPipeline(bufferizePM);
  if (failed(bufferizePM.run(*module)))
    return fail("bufferization");
  lowerNonContiguousCopies(*module);
  if (options.keepIntermediates)
    result.bufferizedIR = printModule(*module);
  if (options.vectorize && failed(runScript(*module, kBufferScript)))
    return fail("vector lowering");
  if (options.parallel)
    detail::outlineParallelLoops(*module);
  if (options.keepIntermediates)
    result.loweredIR = printModule(*module);

  PassManager llvmPM(&ctx);
  buildLLVMPipeline(llvmPM);
  if (failed(llvmPM.run(*module)))
    return fail("conversion to the LLVM dialect");

  if (llvm::Error e = detail::emitObject(*module, options, result))
    return std::move(e);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

} // namespace nm::codegen
