// nm-cpu-codegen: the whole CPU pipeline (buildCpuCodegenPipeline with the
// default CompileOptions, what compileToObject runs before the translation
// to LLVM IR): a conv + bias + relu group ends as LLVM dialect FMAs on
// 32-lane vectors (split into 16 lanes by LLVM), its thread-level loop outlined into a parallel body.
// RUN: nm-opt %s --nm-cpu-codegen | FileCheck %s

// The out-of-memory guards (MemoryChecks.cpp): the entry checks the
// estimate (the body's 2304-byte task buffer, once and per further
// thread), the dispatch is followed by a failure test, the body's malloc
// by a null test.
// CHECK-LABEL: llvm.func @conv_bias_relu
// CHECK-SAME: nm.temp_bytes = 2304 : i64, nm.temp_bytes_per_thread = 2304 : i64
// CHECK: llvm.call @nm_runtime_check_temp_bytes
// CHECK: llvm.call @nm_dispatch.conv_bias_relu__par0
// CHECK-NEXT: llvm.call @nm_runtime_call_failed()
// CHECK-LABEL: llvm.func @conv_bias_relu__par0
// CHECK: %[[BUF:.*]] = llvm.call @malloc
// CHECK: llvm.icmp "eq" %[[BUF]]
// CHECK: llvm.intr.fmuladd({{.*}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// CHECK: llvm.func @nm_dispatch.conv_bias_relu__par0
#id = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#ch = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
func.func @conv_bias_relu(%x: tensor<1x4x20x20x16xf32>, %w: tensor<3x3x3x16x32xf32>,
                          %b: tensor<32xf32>) -> tensor<1x2x18x18x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x18x18x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x18x18x32xf32>) -> tensor<1x2x18x18x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x4x20x20x16xf32>, tensor<3x3x3x16x32xf32>)
     outs(%f : tensor<1x2x18x18x32xf32>) -> tensor<1x2x18x18x32xf32>
  %e2 = tensor.empty() : tensor<1x2x18x18x32xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
     ins(%c, %b : tensor<1x2x18x18x32xf32>, tensor<32xf32>) outs(%e2 : tensor<1x2x18x18x32xf32>) {
  ^bb0(%v: f32, %bias: f32, %o: f32):
    %s = arith.addf %v, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x18x18x32xf32>
  return %r : tensor<1x2x18x18x32xf32>
}
