//===- Visualise.h - the model graph as DOT, SVG, PNG and HTML --*- C++ -*-===//
//
// ELEKTRONN2's `utils.visualise_model(model, path)` (reference §6.1 step 3,
// §6.8 "1-model-graph"): one graph node per model node, edges parent ->
// child, drawn with Graphviz's dot layout in-process (libgvc). The colours
// and shapes are ELEKTRONN2's PyDotFormatter2's: sources yellow boxes,
// outputs (no children, or the designated prediction) blue boxes, losses
// orange diamonds, Conv inverted trapezia, UpConv trapezia, Concat houses,
// everything else green ellipses.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_VISUALISE_H
#define NEUROMANCER_TRAIN_VISUALISE_H

#include "neuromancer/frontend/Model.h"

#include <string>
#include <vector>

namespace nm {

/// The model's graph in Graphviz's DOT language. Node ids are n1, n2, ...
/// in model order; each label holds name, node type, output shape
/// (TaggedShape repr) and trainable parameter count, each tooltip the
/// node's repr. Names are escaped, so any text is safe.
std::string model_graph_dot(const Model &model);

/// Lays `dot` out with Graphviz's "dot" engine and renders it as `format`
/// ("svg", "png", ...). RuntimeError with Graphviz's message when the text
/// does not parse or the format has no renderer.
std::string render_dot(const std::string &dot, const std::string &format);

/// A standalone HTML page: the model's name and totals, `svg` inline (its
/// nodes carry the reprs as tooltips) and a table of the nodes.
std::string model_graph_html(const Model &model, const std::string &svg);

/// Writes <prefix>.dot, <prefix>.svg, <prefix>.png and <prefix>.html, each
/// atomically (core/AtomicFile.h), and returns their paths in that order.
/// IOError naming the file when one cannot be written.
std::vector<std::string> visualise_model(const Model &model,
                                         const std::string &path_prefix);

} // namespace nm

#endif // NEUROMANCER_TRAIN_VISUALISE_H
