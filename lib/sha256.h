/* sha256.h: SHA-256 (FIPS 180-4) of a file, for the identities recorded in plan files. */
#ifndef ATTN_SHA256_H
#define ATTN_SHA256_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
void sha256_buffer(const void *data, size_t len, char hex[65]);
int sha256_file(const char *path, char hex[65]); /* 0 ok, -1 on I/O error */
#ifdef __cplusplus
}
#endif
#endif
