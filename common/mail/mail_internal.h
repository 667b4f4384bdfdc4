/* Shared by the files of common/mail/; not for its users. */
#pragma once
#include "mail_address.h"
#include <stddef.h>

/* The sendmail transport (sendmail.c), as mail_send() answers. */
int mail_sendmail(const char *command, const struct mail_address *from, const struct mail_address *to,
                  const char *msg, size_t len, long timeout_ms, char *why, size_t size);
