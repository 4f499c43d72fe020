/* Minimal read-only ZIP reader over a memory buffer, enough for torch.save
 * archives: the central directory (with zip64 records and extra fields) is
 * parsed and bounds-checked, and each entry's data range is located through
 * its local header. Entries are not decompressed: torch.save writes them
 * "stored", so an entry's bytes can be used in place (mmap). */
#ifndef VKR_ZIP_READER_H
#define VKR_ZIP_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name;
    uint16_t method;    /* 0 = stored; anything else cannot be used in place */
    uint16_t flags;     /* general purpose bits; bit 0 = encrypted */
    const uint8_t *data; /* start of the entry's bytes inside the buffer */
    uint64_t size;      /* compressed size == size of `data` */
    uint64_t uncompressed_size;
} vkr_zip_entry;

typedef struct {
    const char *what;         /* file name for error messages (not owned) */
    vkr_zip_entry *entries;   /* sorted by name, names unique */
    int n_entries;
} vkr_zip;

/* Parses the archive in buf[0..len). VKR_E_DATA naming the problem (and the
 * entry, where there is one) when the directory is malformed or any range
 * falls outside the buffer. `what` names the file in messages. */
int vkr_zip_open(vkr_zip *z, const void *buf, size_t len, const char *what);
void vkr_zip_close(vkr_zip *z);

/* NULL when absent. Binary search. */
const vkr_zip_entry *vkr_zip_find(const vkr_zip *z, const char *name);

/* The entry's bytes, usable in place: VKR_E_DATA when it is compressed or
 * encrypted (names the entry and the method). */
int vkr_zip_stored(const vkr_zip *z, const vkr_zip_entry *e, const uint8_t **data, size_t *size);

#endif
