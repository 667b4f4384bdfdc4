/* The argon2id bound for logins: how many hashes per second one thread computes with MAS's
 * parameters (m=19456 KiB, t=2, p=1), through the same code masd logs in with (passwords.c,
 * libargon2 with mmap'd memory), configured by the defaults of the passwords section.
 *
 *   build/bench/argon2_bound [N]   (default 40) */
#include "config.h"
#include "passwords.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 40;
    struct config *cfg = NULL;
    char *err = NULL;
    static const char yaml[] = "passwords: {enabled: true}\n";
    if (n <= 0 || config_load_buffer("bench", yaml, strlen(yaml), &cfg, &err) < 0) {
        fprintf(stderr, "usage: %s [N] (%s)\n", argv[0], err ? err : "");
        return 2;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        char *hash = NULL;
        unsigned version;
        static const char pw[] = "correct horse battery staple";
        if (password_hash(&cfg->passwords, pw, sizeof(pw) - 1, &hash, &version) < 0)
            return 1;
        free(hash);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("argon2id (m=19456 KiB, t=2, p=1), one thread: %.2f hashes/s (%d in %.2f s)\n", n / s, n, s);
    config_free(cfg);
    return 0;
}
