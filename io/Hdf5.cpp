//===- Hdf5.cpp - HDF5 handles and types shared by all readers ----------===//
#include "neuromancer/io/Hdf5.h"

namespace nm::h5 {

void silenceErrors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

hid_t nativeType(DType dtype) {
  switch (dtype) {
  case DType::Float32:
    return H5T_NATIVE_FLOAT;
  case DType::Float64:
    return H5T_NATIVE_DOUBLE;
  case DType::Int8:
    return H5T_NATIVE_INT8;
  case DType::Int16:
    return H5T_NATIVE_INT16;
  case DType::Int32:
    return H5T_NATIVE_INT32;
  case DType::Int64:
    return H5T_NATIVE_INT64;
  case DType::UInt8:
  case DType::Bool:
    return H5T_NATIVE_UINT8;
  case DType::UInt16:
    return H5T_NATIVE_UINT16;
  case DType::UInt32:
    return H5T_NATIVE_UINT32;
  case DType::UInt64:
    return H5T_NATIVE_UINT64;
  }
  return H5T_NATIVE_FLOAT;
}

} // namespace nm::h5
