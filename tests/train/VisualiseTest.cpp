//===- VisualiseTest.cpp - visualise_model's DOT, SVG, PNG and HTML -------===//
#include "neuromancer/train/Visualise.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace nm;

namespace {

class VisualiseTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    model_ = &model_manager.newmodel(std::string("Visualise.") + info->name());
    previous_ = log_level();
    set_log_level(LogLevel::Warning);
  }
  void TearDown() override {
    set_log_level(previous_);
    for (const std::string &name : model_manager.names())
      model_manager.remove(name);
  }
  /// A small U-Net: two sources, Conv, Pool, UpConvMerge (UpConv, Crop,
  /// Concat), a loss chain and Errors, designated.
  void buildUnet() {
    Node inp = Input({1, 1, 12, 24, 24}, "b,f,z,x,y", {.name = "raw"});
    Node c0 = Conv(inp, 4, {1, 3, 3});
    Node down = Pool(c0, {1, 2, 2});
    Node c1 = Conv(down, 8, {1, 3, 3});
    Node merged = UpConvMerge(c0, c1, 4);
    Node barr = Conv(merged, 2, {1, 1, 1}, {},
                     {.activation_func = "lin", .name = "barr"});
    Node probs = Softmax(barr);
    Node target = Input_like(probs, {.override_f = 1, .name = "target"});
    Node nll = MultinoulliNLL(probs, target, {.target_is_sparse = true});
    Node loss = AggregateLoss(nll, {.name = "loss"});
    Node errors = Errors(probs, target, {.target_is_sparse = true});
    model_->designate_nodes({.input_node = inp,
                             .target_node = target,
                             .loss_node = loss,
                             .prediction_node = probs,
                             .prediction_ext = {loss, errors, probs}});
  }
  static std::string read(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  Model *model_ = nullptr;
  LogLevel previous_ = LogLevel::Info;
};

/// "nK" -> its statement line, for every node statement of the DOT text.
std::map<std::string, std::string> nodeLines(const std::string &dot) {
  std::map<std::string, std::string> lines;
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("  n", 0) == 0 && line.find(" [label=") != std::string::npos)
      lines[line.substr(2, line.find(' ', 2) - 2)] = line;
  return lines;
}

std::string idOf(Model &model, const Node &n) {
  std::vector<Node> nodes = model.nodes();
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i] == n)
      return "n" + std::to_string(i + 1);
  return "";
}

/// Every start tag closed in order (self-closing, comments, <?...?> and
/// <!...> skipped): well-formed as far as nesting goes.
bool tagsBalanced(const std::string &xml) {
  std::vector<std::string> open;
  for (std::size_t i = xml.find('<'); i != std::string::npos;
       i = xml.find('<', i + 1)) {
    if (xml.compare(i, 4, "<!--") == 0) {
      i = xml.find("-->", i);
      if (i == std::string::npos)
        return false;
      continue;
    }
    std::size_t end = xml.find('>', i);
    if (end == std::string::npos)
      return false;
    std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag.empty() || tag[0] == '?' || tag[0] == '!' || tag.back() == '/')
      continue;
    std::string name = tag.substr(0, tag.find_first_of(" \t\n"));
    if (name[0] != '/')
      open.push_back(name);
    else if (open.empty() || open.back() != name.substr(1))
      return false;
    else
      open.pop_back();
  }
  return open.empty();
}

TEST_F(VisualiseTest, DotHasEveryNodeAndEdgeWithElektronn2sColours) {
  buildUnet();
  std::string dot = model_graph_dot(*model_);
  std::map<std::string, std::string> lines = nodeLines(dot);
  ASSERT_EQ(lines.size(), model_->size());
  std::size_t edges = 0;
  for (const Node &n : model_->nodes()) {
    const std::string &line = lines[idOf(*model_, n)];
    EXPECT_NE(line.find("label=\"" + n.name() + "\\n"), std::string::npos)
        << line;
    EXPECT_NE(line.find(n.shape().repr()), std::string::npos) << line;
    for (const Node &p : n.parents()) {
      EXPECT_NE(dot.find(idOf(*model_, p) + " -> " + idOf(*model_, n) + ";"),
                std::string::npos)
          << p.name() << " -> " << n.name();
      ++edges;
    }
  }
  std::size_t arrows = 0;
  for (std::size_t i = dot.find(" -> "); i != std::string::npos;
       i = dot.find(" -> ", i + 1))
    ++arrows;
  EXPECT_EQ(arrows, edges);

  auto line = [&](const std::string &name) {
    return lines[idOf(*model_, (*model_)[name])];
  };
  for (const char *source : {"raw", "target"})
    EXPECT_NE(line(source).find("fillcolor=\"yellow\""), std::string::npos);
  // Outputs: the designated prediction (it has children) and the childless.
  for (const char *output : {"softmax", "loss", "errors"})
    EXPECT_NE(line(output).find("fillcolor=\"blue\""), std::string::npos)
        << line(output);
  EXPECT_NE(line("nll").find("shape=diamond, fillcolor=\"#FFAA22\""),
            std::string::npos);
  EXPECT_NE(line("conv").find("shape=invtrapezium, fillcolor=\"#008000\""),
            std::string::npos);
  EXPECT_NE(line("upconv").find("shape=trapezium"), std::string::npos);
  EXPECT_NE(line("merge").find("shape=house"), std::string::npos);
  EXPECT_NE(line("conv").find("Conv\\n"), std::string::npos);
  EXPECT_NE(line("conv").find("#Params=40\""), std::string::npos)
      << line("conv"); // 4*1*9 + 4
  EXPECT_NE(line("errors").find("\\nErrors\\n"), std::string::npos);
}

TEST_F(VisualiseTest, WritesValidDotSvgPngAndHtml) {
  buildUnet();
  std::string prefix = ::testing::TempDir() + "/graph";
  std::vector<std::string> files = visualise_model(*model_, prefix);
  ASSERT_EQ(files,
            (std::vector<std::string>{prefix + ".dot", prefix + ".svg",
                                      prefix + ".png", prefix + ".html"}));
  EXPECT_EQ(read(files[0]), model_graph_dot(*model_));

  std::string svg = read(files[1]);
  ASSERT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_TRUE(tagsBalanced(svg));
  for (const Node &n : model_->nodes())
    EXPECT_NE(svg.find(">" + n.name() + "</text>"), std::string::npos)
        << n.name();

  std::string png = read(files[2]);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");

  std::string html = read(files[3]);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  std::size_t inline_svg = html.find("<svg");
  ASSERT_NE(inline_svg, std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_NE(html.find("model 'Visualise.WritesValidDotSvgPngAndHtml'"),
            std::string::npos);
  EXPECT_NE(html.find("xlink:title=\"&lt;Conv&#45;Node&gt;"), std::string::npos)
      << "node reprs as tooltips";
  EXPECT_TRUE(tagsBalanced(html.substr(html.find("<html"))));
  for (const std::string &f : files)
    EXPECT_FALSE(std::filesystem::exists(f + ".tmp"));
}

TEST_F(VisualiseTest, QuotesBackslashesAndMarkupAreEscaped) {
  model_ = &model_manager.newmodel("say \"hi\" & <b>\\N</b>");
  Node odd = Input({1, 2, 5, 5}, "b,f,x,y", {.name = "in\"put \\N &lt; <x>"});
  Node probs = Softmax(Conv(odd, 2, {3, 3}, {}, {.activation_func = "lin"}));
  model_->designate_nodes({.input_node = odd, .prediction_node = probs});
  std::string dot = model_graph_dot(*model_);
  EXPECT_NE(dot.find("digraph \"say \\\"hi\\\" &amp; <b>\\\\N</b>\""),
            std::string::npos)
      << dot;
  EXPECT_NE(dot.find("label=\"in\\\"put \\\\N &amp;lt; <x>\\nInput"),
            std::string::npos)
      << dot;

  std::string svg = render_dot(dot, "svg");
  EXPECT_TRUE(tagsBalanced(svg));
  // Graphviz shows the name as it is: every character escaped once in XML.
  EXPECT_NE(svg.find(">in&quot;put \\N &amp;lt; &lt;x&gt;</text>"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("xlink:title=\"&lt;Input&#45;Node&gt; "
                     "&#39;in&quot;put \\N &amp;lt; &lt;x&gt;&#39;"),
            std::string::npos)
      << svg;

  std::string html = model_graph_html(*model_, svg);
  EXPECT_NE(html.find("<h1>model 'say &quot;hi&quot; &amp; "
                      "&lt;b&gt;\\N&lt;/b&gt;'</h1>"),
            std::string::npos)
      << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_TRUE(tagsBalanced(html.substr(html.find("<html"))));
}

TEST_F(VisualiseTest, UnwritableDestinationIsAnIOError) {
  buildUnet();
  EXPECT_THROW(
      visualise_model(*model_, ::testing::TempDir() + "/no/such/dir/graph"),
      IOError);
}

TEST_F(VisualiseTest, BadDotTextIsARuntimeErrorWithGraphvizsMessage) {
  try {
    render_dot("digraph { a -> ", "svg");
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError &e) {
    EXPECT_NE(std::string(e.what()).find("Graphviz"), std::string::npos);
  }
  EXPECT_THROW(render_dot("digraph { a -> b; }", "no-such-format"),
               RuntimeError);
}

} // namespace
