// #nm.axes, #nm.geometry and the #nm.tagged tensor encoding round-trip;
// default geometry (ones, ones, one zero MFP row) is elided.
// RUN: nm-opt %s --allow-unregistered-dialect | nm-opt --allow-unregistered-dialect | FileCheck %s

// CHECK-LABEL: func.func @standalone_attrs
// CHECK: "test.attrs"() {axes = #nm.axes<b,f,z,x,y>, empty = #nm.axes<>, geometry = #nm.geometry<fov = [9, 27, 27], strides = [2, 4, 4]>, mfp = #nm.geometry<fov = [3, 3], strides = [2, 2], mfp_offsets = {{\[}}[0, 0], [0, 1], [1, 0], [1, 1]]>, partial = #nm.geometry<fov = [1, 1, 1], strides = [2, 2, 2]>}
func.func @standalone_attrs() {
  "test.attrs"() {axes = #nm.axes<b, f, z, x, y>, empty = #nm.axes<>,
                  geometry = #nm.geometry<fov = [9, 27, 27], strides = [2, 4, 4]>,
                  mfp = #nm.geometry<strides = [2, 2], fov = [3, 3], mfp_offsets = [[0, 0], [0, 1], [1, 0], [1, 1]]>,
                  partial = #nm.geometry<strides = [2, 2, 2]>} : () -> ()
  return
}

// CHECK-LABEL: func.func @encodings
// CHECK-SAME: tensor<10x3x23x183x183xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-SAME: tensor<?x5x8x40x40xf32, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>
// CHECK-SAME: tensor<1x2x3x5xf32, #nm.tagged<b,z,f,x, fov = [5, -1]>>
// CHECK-SAME: tensor<4x8x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2], mfp_offsets = {{\[}}[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]>>
// CHECK-SAME: tensor<7x3xf32, #nm.tagged<r,f>>
// CHECK-SAME: tensor<1xf32, #nm.tagged<f>>
func.func @encodings(
    %a: tensor<10x3x23x183x183xf32, #nm.tagged<b,f,z,x,y, fov = [1, 1, 1], strides = [1, 1, 1], mfp_offsets = [[0, 0, 0]]>>,
    %b: tensor<?x5x8x40x40xf32, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>,
    %c: tensor<1x2x3x5xf32, #nm.tagged<b,z,f,x, fov = [5, -1]>>,
    %d: tensor<4x8x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2], mfp_offsets = [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]>>,
    %e: tensor<7x3xf32, #nm.tagged<r,f>>,
    %f: tensor<1xf32, #nm.tagged<f>>) {
  return
}
