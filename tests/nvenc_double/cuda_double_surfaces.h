/* How the NVDEC double (tests/nvdec_double) shows its mapped output surfaces to the CUDA
 * double, which links-in both: a mapped surface is device memory that copies and kernels
 * may read until it is unmapped. Not part of NVIDIA's API; never called by the adapter. */
#ifndef VIDEOHW_CUDA_DOUBLE_SURFACES_H
#define VIDEOHW_CUDA_DOUBLE_SURFACES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* [base, base + bytes) is device memory from now on (cuvidMapVideoFrame64). */
void videohw_cuda_double_expose_surface(const void* base, size_t bytes);
/* ... and no longer (cuvidUnmapVideoFrame64): a later copy from it is a violation. */
void videohw_cuda_double_withdraw_surface(const void* base);

#ifdef __cplusplus
}
#endif

#endif
