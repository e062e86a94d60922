/* The attention body (zk_attention_body.h) once per KV cache element type, for the instruction
   set zk_vector.c has selected: f32 (functions zka_*_<isa>), and IEEE f16 (zka_*_f16_<isa>) read
   through ZKA_HALF with ZKA_HALF_LOAD widening one element to f32 (exact). */
#define ZKA_NAME(f) ZKV_NAME(f)
#define ZKA_STORE float
#define ZKA_KV float
#define ZKA_LOAD(x) (x)
#include "zk_attention_body.h"
#undef ZKA_NAME
#undef ZKA_STORE
#undef ZKA_KV
#undef ZKA_LOAD

#define ZKA_NAME(f) ZKV_NAME(f##_f16)
#define ZKA_STORE uint16_t
#define ZKA_KV ZKA_HALF
#define ZKA_LOAD(x) ZKA_HALF_LOAD(x)
#include "zk_attention_body.h"
#undef ZKA_NAME
#undef ZKA_STORE
#undef ZKA_KV
#undef ZKA_LOAD
