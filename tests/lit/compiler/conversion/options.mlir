// The layout options of --convert-nm-to-linalg (NmToLinalgOptions): the
// channel alignment of conv outputs (default 16, the CPU's vector), the
// widest unpadded layer, and whether convs and pools hand on their
// channels-last values.
// RUN: nm-opt %s --convert-nm-to-linalg | FileCheck %s --check-prefix=DEFAULT
// RUN: nm-opt %s --convert-nm-to-linalg="channel-alignment=8" | FileCheck %s --check-prefix=ALIGN8
// RUN: nm-opt %s --convert-nm-to-linalg="channel-alignment=1" | FileCheck %s --check-prefix=NOPAD
// RUN: nm-opt %s --convert-nm-to-linalg="max-unpadded-channels=20" | FileCheck %s --check-prefix=NOPAD
// RUN: nm-opt %s --convert-nm-to-linalg="keep-channels-last=false" | FileCheck %s --check-prefix=TAGORDER
// RUN: not nm-opt %s --convert-nm-to-linalg="channel-alignment=0" 2>&1 | FileCheck %s --check-prefix=BAD

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x20x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
!p = tensor<1x20x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2]>>

// DEFAULT: tensor.pad {{.*}} high[0, 0, 0, 0, 12]
// DEFAULT: tensor<1x3x3x4x20xf32> to tensor<1x3x3x4x32xf32>
// DEFAULT: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x8x8x32xf32>
// DEFAULT: linalg.pooling_ndhwc_max {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x6x8x8x32xf32>, tensor<1x2x2xf32>)
// DEFAULT: tensor.extract_slice {{.*}} : tensor<1x6x4x4x32xf32> to tensor<1x6x4x4x20xf32>

// ALIGN8: tensor.pad {{.*}} low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 4]
// ALIGN8: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x8x8x24xf32>
// ALIGN8: linalg.pooling_ndhwc_max {{.*}} -> tensor<1x6x4x4x24xf32>

// NOPAD-NOT: tensor.pad
// NOPAD: linalg.conv_3d_ndhwc_dhwcf {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x6x10x10x4xf32>, tensor<1x3x3x4x20xf32>) {{.*}} -> tensor<1x6x8x8x20xf32>
// NOPAD-NOT: tensor.extract_slice
// NOPAD: linalg.pooling_ndhwc_max {{.*}} -> tensor<1x6x4x4x20xf32>
// NOPAD-NOT: tensor.extract_slice

// Without keep-channels-last the pool reads the tag-order value (its
// transpose cancels, leaving the slice to 20 channels).
// TAGORDER: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x8x8x32xf32>
// TAGORDER: %[[S:.*]] = tensor.extract_slice {{.*}} : tensor<1x6x8x8x32xf32> to tensor<1x6x8x8x20xf32>
// TAGORDER: linalg.pooling_ndhwc_max {{.*}} ins(%[[S]], %{{.*}} : tensor<1x6x8x8x20xf32>, tensor<1x2x2xf32>)

// BAD: error: convert-nm-to-linalg: channel-alignment must be >= 1
func.func @conv_then_pool(%x: !x, %w: tensor<20x4x1x3x3xf32>, %b: tensor<20xf32>) -> !p {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<relu>} : (!x, tensor<20x4x1x3x3xf32>, tensor<20xf32>) -> !y
  %1 = nm.pool %0 {pool = array<i64: 1, 2, 2>} : (!y) -> !p
  return %1 : !p
}
