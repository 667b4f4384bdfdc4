/* config_load_buffer on arbitrary bytes: it must fail cleanly or load, never crash or leak.
 * File names in the input are read relative to the working directory, as in MAS. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg = NULL;
    char *error = NULL;
    int r = config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &error);
    if ((r < 0) != (cfg == NULL) || (r < 0) != (error != NULL))
        abort(); /* exactly one of a config or an error */
    free(error);
    config_free(cfg);
    return 0;
}
