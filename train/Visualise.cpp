//===- Visualise.cpp ------------------------------------------------------===//
#include "neuromancer/train/Visualise.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <gvc.h>

#include <cctype>
#include <map>
#include <memory>
#include <mutex>

namespace nm {
namespace {

/// Graphviz treats a quoted string in three passes: the DOT lexer (\"),
/// HTML entities (&amp;), then backslash escapes (\n, \N = node name). A
/// label unescapes one level of backslashes; a tooltip two (it goes through
/// the object substitution as well), so its backslashes are quadrupled.
std::string dotQuoted(const std::string &text, bool tooltip) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += tooltip ? "\\\\\\\\" : "\\\\";
    else if (c == '&')
      out += "&amp;";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

/// Text inside HTML elements and attribute values.
std::string htmlEscaped(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

/// ELEKTRONN2 prints `_Errors` as `Errors`.
std::string nodeType(const Node &n) {
  const std::string &cls = n.cls();
  return !cls.empty() && cls[0] == '_' ? cls.substr(1) : cls;
}

bool isLoss(const std::string &type) {
  std::string lower;
  for (char c : type)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("loss") != std::string::npos ||
         lower.find("nll") != std::string::npos;
}

struct Look {
  std::string shape = "ellipse", fill = "#008000", font = "white";
};

/// PyDotFormatter2.get_node_props: shape by type; sources and outputs
/// override the colour and become boxes.
Look lookOf(const Node &n, bool isOutput) {
  Look look;
  std::string type = nodeType(n);
  if (type == "Conv")
    look.shape = "invtrapezium";
  else if (type == "UpConv")
    look.shape = "trapezium";
  else if (type == "Perceptron")
    look.shape = "octagon";
  else if (type == "GRU" || type == "LSTM")
    look.shape = "doubleoctagon";
  else if (type == "Concat")
    look.shape = "house";
  else if (type == "ValueNode")
    look.shape = "box";
  if (isLoss(type)) {
    look.shape = "diamond";
    look.fill = "#FFAA22";
    look.font = "black";
  }
  if (n.is_source())
    look = {"box", "yellow", "black"};
  else if (isOutput)
    look = {"box", "blue", "white"};
  return look;
}

std::string label(const Node &n) {
  return n.name() + "\n" + nodeType(n) + "\n" + n.shape().repr() +
         "\n#Params=" + formatThousands(n.param_count());
}

/// Nodes with children: every parent of a model node.
std::map<const NodeImpl *, bool> parentsOf(const Model &model) {
  std::map<const NodeImpl *, bool> hasChildren;
  for (const Node &n : model.nodes())
    for (const Node &p : n.parents())
      hasChildren[p.ptr().get()] = true;
  return hasChildren;
}

std::string modelTotals(const Model &model) {
  if (!model.loss_node() && !model.prediction_node())
    return "";
  return "Total Computational Cost of Model: " +
         pretty_string_ops(
             static_cast<double>(model.total_computational_cost())) +
         ", trainable parameters: " +
         formatThousands(model.total_params_count());
}

// Graphviz keeps its error text in a global; one rendering at a time.
std::mutex graphvizMutex;
std::string graphvizErrors;
int collectGraphvizError(char *message) {
  graphvizErrors += message;
  return 0;
}

struct GvcDeleter {
  void operator()(GVC_t *gvc) const { gvFreeContext(gvc); }
};
struct GraphDeleter {
  void operator()(Agraph_t *g) const { agclose(g); }
};

[[noreturn]] void graphvizFailed(const std::string &what) {
  std::string detail = graphvizErrors;
  while (!detail.empty() && detail.back() == '\n')
    detail.pop_back();
  throw RuntimeError("Graphviz " + what +
                     (detail.empty() ? std::string() : ": " + detail));
}

} // namespace

std::string model_graph_dot(const Model &model) {
  std::vector<Node> nodes = model.nodes();
  std::map<const NodeImpl *, std::string> ids;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    ids[nodes[i].ptr().get()] = "n" + std::to_string(i + 1);
  std::map<const NodeImpl *, bool> hasChildren = parentsOf(model);

  std::string dot = "digraph " + dotQuoted(model.name(), false) + " {\n";
  dot += "  graph [label=" + dotQuoted("model '" + model.name() + "'", false) +
         ", labelloc=t, fontname=\"Helvetica\"];\n";
  dot += "  node [style=filled, fontname=\"Helvetica\", fontsize=10];\n";
  for (const Node &n : nodes) {
    bool output =
        !hasChildren.count(n.ptr().get()) || n == model.prediction_node();
    Look look = lookOf(n, output);
    dot += "  " + ids[n.ptr().get()] + " [label=" + dotQuoted(label(n), false) +
           ", shape=" + look.shape + ", fillcolor=\"" + look.fill +
           "\", fontcolor=\"" + look.font +
           "\", tooltip=" + dotQuoted(n.repr(), true) + "];\n";
  }
  for (const Node &n : nodes)
    for (const Node &p : n.parents())
      if (auto it = ids.find(p.ptr().get()); it != ids.end())
        dot += "  " + it->second + " -> " + ids[n.ptr().get()] + ";\n";
  return dot + "}\n";
}

std::string render_dot(const std::string &dot, const std::string &format) {
  std::lock_guard<std::mutex> lock(graphvizMutex);
  graphvizErrors.clear();
  agusererrf previous = agseterrf(collectGraphvizError);
  struct Restore {
    agusererrf f;
    ~Restore() { agseterrf(f); }
  } restore{previous};

  std::unique_ptr<GVC_t, GvcDeleter> gvc(gvContext());
  if (!gvc)
    graphvizFailed("could not start");
  std::unique_ptr<Agraph_t, GraphDeleter> g(agmemread(dot.c_str()));
  if (!g)
    graphvizFailed("could not read the DOT text");
  if (gvLayout(gvc.get(), g.get(), "dot") != 0)
    graphvizFailed("dot layout failed");
  char *data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc.get(), g.get(), format.c_str(), &data, &length);
  std::string out = data ? std::string(data, length) : std::string();
  gvFreeRenderData(data);
  gvFreeLayout(gvc.get(), g.get());
  if (rc != 0 || out.empty())
    graphvizFailed("could not render format '" + format + "'");
  return out;
}

std::string model_graph_html(const Model &model, const std::string &svg) {
  // Inline SVG in HTML5 starts at the <svg> element: no XML declaration,
  // no DOCTYPE.
  std::size_t start = svg.find("<svg");
  std::string body = start == std::string::npos ? svg : svg.substr(start);
  std::string name = htmlEscaped(model.name());
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<title>" +
      name +
      " - model graph</title>\n<style>\n"
      "body { font-family: Helvetica, Arial, sans-serif; margin: 1em; }\n"
      "table { border-collapse: collapse; margin-top: 1em; }\n"
      "td, th { border: 1px solid #ccc; padding: 2px 6px; "
      "font-family: monospace; }\n"
      "tr:hover { background: #eef; }\n</style>\n</head>\n<body>\n"
      "<h1>model '" +
      name + "'</h1>\n";
  if (std::string totals = modelTotals(model); !totals.empty())
    html += "<p>" + htmlEscaped(totals) + "</p>\n";
  html += "<p>Hover over a node for its repr.</p>\n<div class=\"graph\">\n" +
          body +
          "</div>\n<table>\n<tr><th>node</th><th>type</th>"
          "<th>output shape</th><th>#params</th><th>cost</th></tr>\n";
  for (const Node &n : model.nodes())
    html += "<tr title=\"" + htmlEscaped(n.repr()) + "\"><td>" +
            htmlEscaped(n.name()) + "</td><td>" + htmlEscaped(nodeType(n)) +
            "</td><td>" + htmlEscaped(n.shape().repr()) + "</td><td>" +
            formatThousands(n.param_count()) + "</td><td>" +
            pretty_string_ops(static_cast<double>(n.computational_cost())) +
            "</td></tr>\n";
  return html + "</table>\n</body>\n</html>\n";
}

std::vector<std::string> visualise_model(const Model &model,
                                         const std::string &path_prefix) {
  std::string dot = model_graph_dot(model);
  std::string svg = render_dot(dot, "svg");
  std::string png = render_dot(dot, "png");
  std::string html = model_graph_html(model, svg);
  const std::pair<std::string, const std::string *> files[] = {
      {path_prefix + ".dot", &dot},
      {path_prefix + ".svg", &svg},
      {path_prefix + ".png", &png},
      {path_prefix + ".html", &html}};
  std::vector<std::string> written;
  for (const auto &[path, data] : files) {
    writeFileAtomically(path, *data);
    written.push_back(path);
  }
  return written;
}

} // namespace nm
