// Malformed or inconsistent attributes and encodings.
// RUN: nm-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{Unknown tag 'q' in tags 'bq'; allowed tags are r, b, s, f, z, x, y}}
func.func @unknown_tag(%a: tensor<1x2xf32, #nm.tagged<b,q>>)

// -----

// expected-error @+1 {{Tag 'f' appears twice in tags 'bff'}}
func.func @duplicate_tag(%a: tensor<1x2x3xf32, #nm.tagged<b,f,f>>)

// -----

// expected-error @+1 {{tensor of rank 3 has an #nm.tagged encoding with 2 axes}}
func.func @rank_mismatch(%a: tensor<1x2x3xf32, #nm.tagged<b,f>>)

// -----

// expected-error @+1 {{axes <bfzx> have 2 spatial axes but the geometry describes 3}}
func.func @geometry_arity(%a: tensor<1x2x3x3xf32, #nm.tagged<b,f,z,x, fov = [1, 1, 1], strides = [1, 1, 1], mfp_offsets = [[0, 0, 0]]>>)

// -----

// expected-error @+1 {{geometry has 3 fov entries but 2 strides}}
func.func @fov_strides(%a: tensor<1x2x3x3x3xf32, #nm.tagged<b,f,z,x,y, fov = [1, 1, 1], strides = [1, 1]>>)

// -----

// expected-error @+1 {{fov entries must be positive or -1 (unknown), got 0}}
func.func @fov_zero(%a: tensor<1x2x3x3xf32, #nm.tagged<b,f,x,y, fov = [0, 1]>>)

// -----

// expected-error @+1 {{mfp_offsets must be non-empty rows of 2 entries (one per spatial axis)}}
func.func @mfp_rows(%a: tensor<1x2x3x3xf32, #nm.tagged<b,f,x,y, mfp_offsets = [[0, 0, 1]]>>)

// -----

// expected-error @+1 {{axis tags must come before the geometry}}
func.func @tag_order(%a: tensor<1x2xf32, #nm.tagged<b, fov = [], f>>)

// -----

// expected-error @+1 {{expected 'fov', 'strides' or 'mfp_offsets'}}
func.func @unknown_key(%a: tensor<1x2xf32, #nm.tagged<b,f, offsets = [1]>>)
