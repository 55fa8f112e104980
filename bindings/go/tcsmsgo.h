/* C declarations shared by the cgo preambles of this package (each Go file's preamble
   is its own C translation unit). */
#ifndef TCSMSGO_H
#define TCSMSGO_H

#include <stdint.h>

/* What a call returns: its status and its out-string, returned by value so that the
   out-parameter lives in C memory and no Go pointer is passed to C. */
typedef struct {
	int32_t status;
	char *json;
} tcsmsgo_result;

#endif
