/* Test-only control surface of the NVENC and CUDA driver doubles.
 *
 * The adapter under test never sees these: it reaches the doubles only through
 * VIDEOHW_NVENC_LIBRARY / VIDEOHW_CUDA_LIBRARY and NVIDIA's own entry points. Tests dlopen the
 * same paths (the loaded copy is shared, so state is shared) and dlsym the functions below.
 *
 * Every returned string is a snapshot owned by the double; it stays valid until the next call
 * of the same function from any thread. Every function is thread-safe.
 */
#ifndef VIDEOHW_NVENC_DOUBLE_CONTROL_H
#define VIDEOHW_NVENC_DOUBLE_CONTROL_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- libvideohw_nvenc_double.so ------------------------------------------------------- */

/* Forgets every session, buffer, log line, violation and fault, then re-reads the
 * VIDEOHW_NVENC_DOUBLE_* environment variables (as NvEncodeAPICreateInstance also does).
 * Handles from before the reset become unknown handles. */
void videohw_nvenc_double_reset(void);

/* Replaces the fault list, with the syntax of VIDEOHW_NVENC_DOUBLE_FAULTS:
 * comma-separated names from open, initialize, reconfigure, create_input, create_bitstream,
 * encode, lock_bitstream, lock_input, register (nvEncRegisterResource,
 * NV_ENC_ERR_RESOURCE_REGISTER_FAILED), map (nvEncMapInputResource, NV_ENC_ERR_MAP_FAILED);
 * "name" fails every call of that function, "name@N" only
 * its N-th call (1-based, counted from this call). NULL or "" clears the faults.
 * Returns 0 on success, -1 when the list has an unknown name (nothing is changed then). */
int videohw_nvenc_double_set_faults(const char* faults);

/* One line per API call, oldest first: "<function> <key=value args> -> <NVENCSTATUS name>". */
const char* videohw_nvenc_double_call_log(void);

/* One line per broken API rule (see docs/nvenc_double.md); "" when none. */
const char* videohw_nvenc_double_violations(void);

/* Encoders opened and not yet destroyed. */
int videohw_nvenc_double_open_sessions(void);

/* Device input (nvEncRegisterResource with NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR), over the
 * open encoders: resources registered and not yet unregistered, and those of them mapped now. */
int videohw_nvenc_double_registered_resources(void);
int videohw_nvenc_double_mapped_resources(void);

/* Pictures nvEncEncodePicture took since the last reset (SUCCESS or NEED_MORE_INPUT), by
 * where their pixels came from: a mapped CUDA device pointer, read through the loaded CUDA
 * driver, or a host input buffer (nvEncCreateInputBuffer / nvEncLockInputBuffer). */
long videohw_nvenc_double_device_input_pictures(void);
long videohw_nvenc_double_host_input_pictures(void);

/* ---- libvideohw_cuda_double.so -------------------------------------------------------- */

/* Forgets contexts, log, faults and violations; re-reads VIDEOHW_CUDA_DOUBLE_* variables.
 * cuInit stays in effect, primary contexts, memory, streams and modules stay. */
void videohw_cuda_double_reset(void);

/* Fault list with the syntax above; names: init, ctx_create, copy_async, event_record,
 * event_sync. Returns 0, or -1 on a bad name. */
int videohw_cuda_double_set_faults(const char* faults);

/* One line per CUDA call: "<function> <args> -> <CUresult name>". */
const char* videohw_cuda_double_call_log(void);

/* Contexts made by cuCtxCreate_v2 and not yet destroyed (primary contexts not counted). */
int videohw_cuda_double_live_contexts(void);

/* 1 when ctx was returned by cuCtxCreate_v2 and not destroyed since, or is a primary context
 * retained more often than released; the NVENC double calls this to check the device handed
 * to nvEncOpenEncodeSessionEx. */
int videohw_cuda_double_context_is_live(const void* ctx);

/* Events made by cuEventCreate and not yet destroyed. */
int videohw_cuda_double_live_events(void);

/* cuDevicePrimaryCtxRetain calls on device dev not yet matched by a release. */
int videohw_cuda_double_primary_retains(int dev);

#ifdef __cplusplus
}
#endif

#endif /* VIDEOHW_NVENC_DOUBLE_CONTROL_H */
