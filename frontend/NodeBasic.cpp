//===- NodeBasic.cpp - ELEKTRONN2's node_basic module ---------------------===//
//
// Input, Input_like, Concat, Add, MultMerge, ApplyFunc, split (FromTensor),
// ValueNode, InitialState_like, and Reshape from `various`.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/frontend/Layers.h"

#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/frontend/LayerSupport.h"
#include "neuromancer/frontend/Model.h"

#include <set>

namespace nm {

void expectParents(const NodeImpl &n, std::size_t count) {
  if (n.parents.size() != count)
    throw ValueError(n.cls + " '" + n.name + "' needs " +
                     std::to_string(count) + " parent node(s), got " +
                     std::to_string(n.parents.size()));
}

namespace {

/// The TaggedShape described by attrs shape, tags, strides and fov.
TaggedShape shapeFromAttrs(const NodeImpl &n) {
  return TaggedShape::create(sizesAttr(n, "shape"),
                             n.attr<std::string>("tags", ""),
                             sizesAttr(n, "strides"), sizesAttr(n, "fov"))
      .take();
}

//===----------------------------------------------------------------------===//
// Builders (also used when loading a saved model)
//===----------------------------------------------------------------------===//

void buildInput(NodeImpl &n) {
  expectParents(n, 0);
  n.isSource = true;
  n.dtype = parseDType(n.attr<std::string>("dtype", "float32"));
  std::string like = n.attr<std::string>("like", "");
  if (!like.empty() && model_manager.current().contains(like)) {
    // Input_like: follow the reference node, so that a rebuilt model (other
    // batch or patch size, MFP) gets a matching target.
    TaggedShape ref = model_manager.current()[like].shape();
    int64_t f = n.attr<int64_t>("override_f", 0);
    n.shape = f ? ref.updateShape('f', f) : ref;
    n.shape = n.shape.withMfpOffsets({Sizes(n.shape.nSpatial(), 0)});
    n.attrs["shape"] = n.shape.shape();
    return;
  }
  n.shape = shapeFromAttrs(n);
}

void buildConcat(NodeImpl &n) {
  if (n.parents.empty())
    throw ValueError("Concat '" + n.name + "' needs at least one parent");
  std::vector<TaggedShape> shapes;
  for (const auto &p : n.parents)
    shapes.push_back(p->shape);
  std::string axis = n.attr<std::string>("axis", "f");
  if (axis.size() != 1)
    throw ValueError("Concat axis must be one tag, got '" + axis + "'");
  n.shape = concatOutputShape(shapes, axis[0]).take();
  n.dtype = n.parent().dtype;
  n.cost = 0;
}

void checkSameShape(const NodeImpl &n) {
  expectParents(n, 2);
  const TaggedShape &a = n.parent(0).shape, &b = n.parent(1).shape;
  if (a.shape() != b.shape() || a.tags() != b.tags())
    throw ValueError(n.cls + " '" + n.name +
                     "' needs inputs of equal shape, got " + a.repr() +
                     " and " + b.repr());
}

void buildAdd(NodeImpl &n) {
  checkSameShape(n);
  n.shape = n.parent().shape;
  n.dtype = n.parent().dtype;
  n.cost = 0;
}

void buildMultMerge(NodeImpl &n) {
  checkSameShape(n);
  n.shape = n.parent().shape;
  n.dtype = n.parent().dtype;
  n.cost = parentSize(n);
}

void buildApplyFunc(NodeImpl &n) {
  expectParents(n, 1);
  if (std::optional<Failure> failure =
          checkElementwiseFunction(n.attr<std::string>("functor", "")))
    throw ValueError("ApplyFunc '" + n.name + "': " + failure->message);
  n.shape = n.parent().shape;
  n.dtype = n.parent().dtype;
  n.cost = parentSize(n);
}

void buildFromTensor(NodeImpl &n) {
  expectParents(n, 1);
  const TaggedShape &in = n.parent().shape;
  std::string axis = n.attr<std::string>("axis", "f");
  int64_t begin = n.attr<int64_t>("begin", 0), end = n.attr<int64_t>("end", 0);
  if (axis.size() != 1 || !in.hasTag(axis[0]))
    throw ValueError("split: axis '" + axis + "' is not in " + in.repr());
  int64_t size = in[axis[0]];
  if (begin < 0 || end <= begin || (size != None && end > size))
    throw ValueError("split: slice [" + std::to_string(begin) + ":" +
                     std::to_string(end) + "] of axis '" + axis +
                     "' does not fit " + in.repr());
  TaggedShape out = in.updateShape(axis[0], end - begin);
  if (n.attr<bool>("strip_singleton_dims", false) && end - begin == 1)
    out = out.delAxis(axis[0]);
  n.shape = out;
  n.dtype = n.parent().dtype;
  n.cost = 0;
}

void buildValueNode(NodeImpl &n) {
  expectParents(n, 0);
  n.dtype = parseDType(n.attr<std::string>("dtype", "float32"));
  n.shape = shapeFromAttrs(n);
  for (int64_t s : n.shape.shape())
    if (s == None)
      throw ValueError("ValueNode '" + n.name +
                       "' needs a fully known shape, got " + n.shape.repr());
  bool train = n.attr<bool>("apply_train", false);
  addParam(n, "value", Array(n.shape.shape(), n.dtype), train, !train);
}

void buildInitialStateLike(NodeImpl &n) {
  expectParents(n, 1);
  int64_t f = n.attr<int64_t>("override_f", 0);
  if (f < 1)
    throw ValueError("InitialState_like '" + n.name +
                     "' needs override_f >= 1");
  n.shape = n.parent().shape.updateShape('f', f);
  std::string dtype = n.attr<std::string>("dtype", "");
  n.dtype = dtype.empty() ? n.parent().dtype : parseDType(dtype);
  addParam(n, "value", Array({f}));
}

void buildReshape(NodeImpl &n) {
  expectParents(n, 1);
  const TaggedShape &in = n.parent().shape;
  TaggedShape out = shapeFromAttrs(n);
  if (out.stripbatchProd() != in.stripbatchProd())
    throw ValueError("Reshape '" + n.name + "' from " + in.repr() + " to " +
                     out.repr() +
                     " changes the number of elements per example");
  n.shape = out;
  n.dtype = n.parent().dtype;
}

} // namespace

void registerBasicNodes(BuilderTable &t) {
  t["Input"] = buildInput;
  t["Concat"] = buildConcat;
  t["Add"] = buildAdd;
  t["MultMerge"] = buildMultMerge;
  t["ApplyFunc"] = buildApplyFunc;
  t["FromTensor"] = buildFromTensor;
  t["ValueNode"] = buildValueNode;
  t["InitialState_like"] = buildInitialStateLike;
  t["Reshape"] = buildReshape;
}

//===----------------------------------------------------------------------===//
// Public constructors
//===----------------------------------------------------------------------===//

namespace {
/// The TaggedShape arguments of Input, ValueNode and Reshape.
nlohmann::json shapeAttrs(const std::string &name, bool printRepr,
                          const Sizes &shape, const std::string &tags,
                          const Sizes &strides, const Sizes &fov) {
  nlohmann::json a = baseAttrs(name, printRepr);
  a["shape"] = shape;
  a["tags"] = tags;
  a["strides"] = strides;
  a["fov"] = fov;
  return a;
}

} // namespace

Node Input(const Sizes &shape, const std::string &tags, const InputOptions &o) {
  nlohmann::json a =
      shapeAttrs(o.name, o.print_repr, shape, tags, o.strides, o.fov);
  a["dtype"] = o.dtype;
  a["hardcoded_shape"] = o.hardcoded_shape;
  return makeNode("Input", {}, a);
}

Node Input_like(const Node &ref, const InputLikeOptions &o) {
  const TaggedShape &sh = ref.shape();
  Sizes shape = sh.shape();
  if (o.override_f) {
    if (!sh.hasTag('f'))
      throw ValueError("Input_like: override_f given but " + sh.repr() +
                       " has no 'f' axis");
    shape[sh.tagIndex('f')] = o.override_f;
  }
  nlohmann::json a = shapeAttrs(o.name, o.print_repr, shape, sh.tagString(),
                                sh.strides(), sh.fov());
  a["dtype"] = o.dtype.empty() ? dtypeName(ref.dtype()) : o.dtype;
  a["hardcoded_shape"] = o.hardcoded_shape;
  // Remembered so that rebuild_model can re-derive the shape from `ref`.
  a["like"] = ref.name();
  a["override_f"] = o.override_f;
  return makeNode("Input", {}, a);
}

Node Concat(const std::vector<Node> &parents, const ConcatOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["axis"] = o.axis;
  return makeNode("Concat", parents, a);
}

Node Add(const Node &n1, const Node &n2, const MergeOptions &o) {
  return makeNode("Add", {n1, n2},
                  baseAttrs(o.name.empty() ? "add" : o.name, o.print_repr));
}

Node MultMerge(const Node &n1, const Node &n2, const MergeOptions &o) {
  return makeNode(
      "MultMerge", {n1, n2},
      baseAttrs(o.name.empty() ? "multmerge" : o.name, o.print_repr));
}

Node ApplyFunc(const Node &parent, const std::string &functor,
               const ApplyFuncOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["functor"] = functor;
  a["args"] = o.args;
  return makeNode("ApplyFunc", {parent}, a);
}

std::vector<Node> split(const Node &node, const SplitOptions &o) {
  const TaggedShape &sh = node.shape();
  if (o.axis.size() != 1 || !sh.hasTag(o.axis[0]))
    throw ValueError("split: axis '" + o.axis + "' is not in " + sh.repr());
  int64_t size = sh[o.axis[0]];
  std::vector<int64_t> bounds = {0};
  if (!o.index.empty()) {
    bounds.insert(bounds.end(), o.index.begin(), o.index.end());
    bounds.push_back(size);
  } else {
    if (o.n_out < 1 || size == None || size % o.n_out != 0)
      throw ValueError("split: cannot cut axis '" + o.axis + "' of " +
                       sh.repr() + " into " + std::to_string(o.n_out) +
                       " equal parts");
    for (int64_t i = 1; i <= o.n_out; ++i)
      bounds.push_back(i * (size / o.n_out));
  }
  std::vector<Node> out;
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    nlohmann::json a = baseAttrs(o.name, false);
    a["axis"] = o.axis;
    a["begin"] = bounds[i];
    a["end"] = bounds[i + 1];
    a["strip_singleton_dims"] = o.strip_singleton_dims;
    out.push_back(makeNode("FromTensor", {node}, a));
  }
  return out;
}

Node ValueNode(const Sizes &shape, const std::string &tags,
               const ValueNodeOptions &o) {
  nlohmann::json a =
      shapeAttrs(o.name, o.print_repr, shape, tags, o.strides, o.fov);
  a["dtype"] = o.dtype;
  a["apply_train"] = o.apply_train;
  Node n = makeNode("ValueNode", {}, a);
  if (o.value) {
    Param &p = n.impl().params.at("value");
    if (o.value->shape() != p.value.shape())
      throw ValueError("ValueNode '" + n.name() + "': value has shape " +
                       o.value->shapeString() + ", expected " +
                       p.value.shapeString());
    p.value = o.value->astype(p.value.dtype());
  }
  return n;
}

Node InitialState_like(const Node &parent, int64_t override_f,
                       const InitialStateLikeOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["override_f"] = override_f;
  a["dtype"] = o.dtype;
  return makeNode("InitialState_like", {parent}, a);
}

Node Reshape(const Node &parent, const Sizes &shape, const std::string &tags,
             const ReshapeOptions &o) {
  nlohmann::json a =
      shapeAttrs(o.name, o.print_repr, shape, tags, o.strides, o.fov);
  return makeNode("Reshape", {parent}, a);
}

} // namespace nm
