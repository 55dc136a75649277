//===- TaggedShapeTest.cpp - TaggedShape and printed formats --------------===//
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/core/Format.h"

#include <gtest/gtest.h>

using namespace nm;

TEST(TaggedShape, ReprAndExtRepr) {
  TaggedShape sh({10, 5, 8, 40, 40}, "b,f,z,x,y", {2, 4, 4}, {9, 27, 27});
  EXPECT_EQ(sh.repr(), "[(10,b), (5,f), (8,z), (40,x), (40,y)]");
  EXPECT_EQ(sh.extRepr(),
            "[(10,b), (5,f), (8,z), (40,x), (40,y)]\n"
            "fov=[9, 27, 27], offsets=[4, 13, 13], strides=[2 4 4], "
            "spatial shape=[8, 40, 40]");
}

TEST(TaggedShape, NoneSizesPrintAsNone) {
  TaggedShape sh({None, 1, 23, 185, 185}, "b,f,z,x,y");
  EXPECT_EQ(sh.repr(), "[(None,b), (1,f), (23,z), (185,x), (185,y)]");
  EXPECT_EQ(sh.stripnoneProd(), 1 * 23 * 185 * 185);
  EXPECT_EQ(sh.stripbatchProd(), 1 * 23 * 185 * 185);
}

TEST(TaggedShape, TagsWithWhitespaceAndPlainForm) {
  TaggedShape a({1, 2, 3}, " b, f ,x");
  TaggedShape b({1, 2, 3}, "bfx");
  EXPECT_EQ(a.tags(), "bfx");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.tagString(), "b,f,x");
}

TEST(TaggedShape, SpatialAxesFollowTensorOrder) {
  TaggedShape theano({1, 5, 2, 7, 7}, "b,z,f,x,y");
  EXPECT_EQ(theano.spatialAxes(), (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(theano.spatialShape(), (Sizes{5, 7, 7}));
  TaggedShape twoD({1, 2, 9, 8}, "b,f,y,x");
  EXPECT_EQ(twoD.spatialAxes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(twoD.spatialSize(), 72);
  TaggedShape dense({4, 3}, "b,f");
  EXPECT_EQ(dense.spatialSize(), 1); // empty product
  EXPECT_EQ(dense.extRepr(), "[(4,b), (3,f)]\nfov=[], offsets=[], "
                             "strides=[], spatial shape=[]");
}

TEST(TaggedShape, OffsetsUseFloorDivision) {
  TaggedShape sh({1, 1, 8, 8}, "b,f,x,y", {1, 1}, {-1, 6});
  EXPECT_EQ(sh.offsets(), (Sizes{-1, 3}));
  EXPECT_FALSE(sh.fovAllCentered());
}

TEST(TaggedShape, UnknownTagIsAValueError) {
  EXPECT_THROW(TaggedShape({1, 2}, "b,q"), ValueError);
  auto r = TaggedShape::create({1, 2}, "b,q");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("Unknown tag 'q'"), std::string::npos);
}

TEST(TaggedShape, TagShapeLengthMismatch) {
  auto r = TaggedShape::create({1, 2, 3}, "b,f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("name 2 axes but the shape (1, 2, 3) has 3"),
            std::string::npos)
      << r.message();
}

TEST(TaggedShape, DuplicateTagRejected) {
  EXPECT_THROW(TaggedShape({1, 2}, "f,f"), ValueError);
}

TEST(TaggedShape, TagIndexAndLookup) {
  TaggedShape sh({10, 3, 23}, "b,f,z");
  EXPECT_EQ(sh['f'], 3);
  EXPECT_EQ(sh.tagIndex('z'), 2);
  EXPECT_THROW(sh.tagIndex('x'), ValueError);
}

TEST(TaggedShape, UpdateShapeKeepsNoneUnderAddAndMult) {
  TaggedShape sh({None, 3, 10}, "b,f,x");
  EXPECT_EQ(sh.updateShape('b', 4, TaggedShape::UpdateMode::Add)['b'], None);
  EXPECT_EQ(sh.updateShape('b', 4, TaggedShape::UpdateMode::Mult)['b'], None);
  EXPECT_EQ(sh.updateShape('b', 4)['b'], 4);
  EXPECT_EQ(sh.updateShape('x', 2, TaggedShape::UpdateMode::Mult)['x'], 20);
  EXPECT_EQ(sh['b'], None) << "updates return copies";
}

TEST(TaggedShape, AddAndDeleteAxes) {
  TaggedShape sh({2, 3, 10, 12}, "b,f,x,y", {1, 2}, {3, 5});
  TaggedShape s = sh.addAxis('b', 4, 's');
  EXPECT_EQ(s.tags(), "bsfxy");
  EXPECT_EQ(s.fov(), (Sizes{3, 5}));
  TaggedShape noX = sh.delAxis('x');
  EXPECT_EQ(noX.tags(), "bfy");
  EXPECT_EQ(noX.fov(), (Sizes{5}));
  EXPECT_EQ(noX.strides(), (Sizes{2}));
}

TEST(Format, PrettyStringOps) { // vector 31
  EXPECT_EQ(pretty_string_ops(10), "0.0 kilo Ops");
  EXPECT_EQ(pretty_string_ops(999), "1.0 kilo Ops");
  EXPECT_EQ(pretty_string_ops(999950), "1000.0 kilo Ops");
  EXPECT_EQ(pretty_string_ops(1e12), "1.0 Tera Ops");
  EXPECT_EQ(pretty_string_ops(442472120320.0), "442.5 Giga Ops");
  EXPECT_EQ(pretty_string_ops(34568134.4), "34.6 Mega Ops");
}

TEST(Format, Numbers) {
  EXPECT_EQ(formatThousands(307109), "307,109");
  EXPECT_EQ(formatThousands(3488), "3,488");
  EXPECT_EQ(formatThousands(132), "132");
  EXPECT_EQ(formatThousands(-1234567), "-1,234,567");
  EXPECT_EQ(formatTuple({1, 6, 6}), "(1, 6, 6)");
  EXPECT_EQ(formatTuple({5}), "(5,)");
  EXPECT_EQ(formatNumpyArray({2, 4, 4}), "[2 4 4]");
  EXPECT_EQ(formatNumpyArray({1, 1}, true), "[1. 1.]");
  EXPECT_EQ(formatStringList({"image", "target"}), "['image', 'target']");
}

TEST(Format, ChooseName) { // vector 32
  EXPECT_EQ(choose_name("conv", {}), "conv");
  EXPECT_EQ(choose_name("conv", {"conv"}), "conv1");
  EXPECT_EQ(choose_name("conv", {"conv", "conv1"}), "conv2");
  EXPECT_EQ(choose_name("a1", {"a1"}), "a2");
  EXPECT_EQ(choose_name("x9", {"x9", "x10"}), "x11");
}
