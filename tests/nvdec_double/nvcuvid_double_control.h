/* Test-only control surface of the NVDEC (cuvid) driver double, libvideohw_nvcuvid_double.so
 * (docs/nvdec_double.md). The adapter reaches the double only through
 * VIDEOHW_NVCUVID_LIBRARY and NVIDIA's entry points; tests dlopen the same path and dlsym
 * these. Returned strings are snapshots valid until the next call of the same function.
 * Every function is thread-safe. */
#ifndef VIDEOHW_NVCUVID_DOUBLE_CONTROL_H
#define VIDEOHW_NVCUVID_DOUBLE_CONTROL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Forgets log, violations, faults and the most-mapped count and re-reads VIDEOHW_NVCUVID_DOUBLE_*
 * variables. Parsers, decoders and context locks stay: the adapter may still hold them. */
void videohw_nvcuvid_double_reset(void);

/* Replaces the fault list (VIDEOHW_NVCUVID_DOUBLE_FAULTS syntax): names from create_parser,
 * parse, caps, create_decoder, decode, status, map, reconfigure; "name" fails every call,
 * "name@N" the N-th from now. NULL or "" clears. Returns 0, or -1 on an unknown name. */
int videohw_nvcuvid_double_set_faults(const char* faults);

/* One line per cuvid call: "<function> <args> -> <CUresult name>". */
const char* videohw_nvcuvid_double_call_log(void);

/* One line per broken API rule; "" when none. */
const char* videohw_nvcuvid_double_violations(void);

/* Parsers, decoders and context locks created and not yet destroyed. */
int videohw_nvcuvid_double_open_parsers(void);
int videohw_nvcuvid_double_open_decoders(void);
int videohw_nvcuvid_double_open_locks(void);

/* Frames mapped now, over every live decoder; and the most mapped at once on one decoder
 * since the last reset. */
int videohw_nvcuvid_double_mapped_frames(void);
int videohw_nvcuvid_double_max_mapped(void);

#ifdef __cplusplus
}
#endif

#endif
