//===- HeaderTest.cpp - the C header emitter on its own -------------------===//
#include "neuromancer/compiler/aot/Header.h"

#include <gtest/gtest.h>

namespace nm::aot {
namespace {

TEST(AotHeader, CIdentifiers) {
  EXPECT_EQ(cIdentifier("conv1_w"), "conv1_w");
  EXPECT_EQ(cIdentifier("my-model.v2"), "my_model_v2");
  EXPECT_EQ(cIdentifier("3d"), "_3d");
  EXPECT_EQ(cIdentifier(""), "_");
  EXPECT_EQ(cIdentifier("int"), "int_");
  EXPECT_EQ(cIdentifier("class"), "class_");   // C++ keyword
  EXPECT_EQ(cIdentifier("status"), "status_"); // the entry's local
}

TEST(AotHeader, CTypes) {
  EXPECT_EQ(cType(DType::Float32), "float");
  EXPECT_EQ(cType(DType::Float64), "double");
  EXPECT_EQ(cType(DType::Int16), "int16_t");
  EXPECT_EQ(cType(DType::UInt8), "uint8_t");
  EXPECT_EQ(cType(DType::Bool), "uint8_t");
}

HeaderDoc sample() {
  HeaderDoc doc;
  doc.prefix = "cnn";
  doc.objectFile = "cnn.o";
  doc.modelFile = "cnn.h5";
  doc.modelName = "cnn";
  doc.frozen = false;
  doc.triple = "x86_64-pc-linux-gnu";
  doc.cpu = "x86-64-v3";
  doc.cpuFeatures = "avx,avx2,fma";
  doc.cacheKey = "0123456789abcdef0123";
  FunctionDoc f;
  f.function = "loss";
  f.description = "the designated loss node 'loss'";
  f.entry = "cnn_loss";
  f.kernel = "cnn_loss_kernel";
  f.packed = "cnn_loss_packed";
  f.inputs.push_back({"image",
                      {"image", {2, 3, 4, 5, 6}, DType::Float32},
                      "b,f,z,x,y",
                      "",
                      ""});
  f.inputs.push_back({"target",
                      {"target", {2, 1, 2, 2, 2}, DType::Int16},
                      "b,f,z,x,y",
                      "",
                      ""});
  f.parameters.push_back({"conv_w",
                          {"conv_w", {5, 3, 1, 2, 2}, DType::Float32},
                          "",
                          "",
                          "/params/conv/w"});
  f.outputs.push_back({"loss", {"loss", {}, DType::Float32}, "", "", ""});
  doc.functions.push_back(f);
  return doc;
}

TEST(AotHeader, EntryPointAndConstants) {
  std::string h = emitHeader(sample());
  EXPECT_NE(h.find("#ifndef CNN_H_"), std::string::npos);
  EXPECT_NE(h.find("#include \"neuromancer_runtime.h\""), std::string::npos);
  EXPECT_NE(h.find("extern \"C\" {"), std::string::npos);
  EXPECT_NE(h.find("static inline int cnn_loss(const float *image, const "
                   "int16_t *target, const float *conv_w, float *loss) {"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("void cnn_loss_kernel(const float *image, const int16_t "
                   "*target, const float *conv_w, float *loss);"),
            std::string::npos);
  EXPECT_NE(h.find("if (!image || !target || !conv_w || !loss)\n    return "
                   "NM_ERROR_NULL_POINTER;"),
            std::string::npos);
  EXPECT_NE(h.find("nm_runtime_check_cpu(CNN_CPU_FEATURES)"),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_CPU_FEATURES \"avx,avx2,fma\""),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_IMAGE_SHAPE {2, 3, 4, 5, 6}"),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_IMAGE_SIZE 720 "), std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_TARGET_DTYPE \"int16\""),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_INPUT1_SHAPE CNN_LOSS_TARGET_SHAPE"),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_PARAMETER0_SIZE CNN_LOSS_CONV_W_SIZE"),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_CONV_W_DATASET \"/params/conv/w\""),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_PARAMETER_DATASETS {\"/params/conv/w\"}"),
            std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_PARAMETER_SIZES {60}"), std::string::npos);
  EXPECT_NE(h.find("void cnn_loss_packed(void **args);"), std::string::npos);
  // A scalar output: rank 0, one element.
  EXPECT_NE(h.find("#define CNN_LOSS_LOSS_NDIM 0"), std::string::npos);
  EXPECT_NE(h.find("#define CNN_LOSS_LOSS_SIZE 1 "), std::string::npos);
  EXPECT_NE(h.find("arguments of every entry point (--params-as-args)"),
            std::string::npos);
  // Only C comments: the header is C89-comment clean for -pedantic C99.
  EXPECT_EQ(h.find("//"), std::string::npos);
}

TEST(AotHeader, DenseGeometry) {
  HeaderDoc doc = sample();
  FunctionDoc &f = doc.functions.front();
  EXPECT_EQ(emitHeader(doc).find("_FOV "), std::string::npos);
  f.entry = "cnn_prediction_dense";
  DenseDoc d;
  d.fov = {9, 27, 27};
  d.offsets = {4, 13, 13};
  d.strides = {2, 4, 4};
  d.tile = {8, 16, 16};
  d.inputBox = {16, 42, 42};
  d.spatialAxes = "z,x,y";
  d.channels = 3;
  d.labels = 5;
  f.dense = d;
  std::string h = emitHeader(doc);
  for (const char *line :
       {"#define CNN_PREDICTION_DENSE_SPATIAL_NDIM 3\n",
        "#define CNN_PREDICTION_DENSE_SPATIAL_AXES \"z,x,y\"\n",
        "#define CNN_PREDICTION_DENSE_FOV {9, 27, 27}\n",
        "#define CNN_PREDICTION_DENSE_OFFSETS {4, 13, 13}\n",
        "#define CNN_PREDICTION_DENSE_STRIDES {2, 4, 4}\n",
        "#define CNN_PREDICTION_DENSE_TILE {8, 16, 16}\n",
        "#define CNN_PREDICTION_DENSE_INPUT_BOX {16, 42, 42}\n",
        "#define CNN_PREDICTION_DENSE_NUM_CHANNELS 3\n",
        "#define CNN_PREDICTION_DENSE_NUM_LABELS 5\n",
        "#define CNN_PREDICTION_DENSE_INPUT0_DTYPE "
        "CNN_PREDICTION_DENSE_IMAGE_DTYPE\n"})
    EXPECT_NE(h.find(line), std::string::npos) << line << h;
  EXPECT_EQ(h.find("//"), std::string::npos);
}

} // namespace
} // namespace nm::aot
