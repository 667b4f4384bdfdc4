/* masd-worker's e-mail jobs (docs/architecture.md §5, "E-mail"; MAS: crates/tasks/src/email.rs):
 *
 *   send-email-authentication-code  {"user_email_authentication_id", "language"}
 *       draws a six-digit code, adds it to the authentication (five minutes), renders the
 *       verification e-mail and sends it to the address, named after the browser session's user.
 *       A code that could not be sent is removed again. Fails for good, as MAS, when the
 *       authentication is gone or completed; also when the address or the message is refused
 *       for good (mail_send's -EBADMSG). A failure that may pass retries with the queue's backoff.
 *
 *   send-account-recovery-email  {"user_recovery_session_id"}
 *       for the account that has the session's address (none: nothing is sent; a locked or
 *       deactivated one: nothing either), draws a ticket (32 letters and digits, ten minutes,
 *       stored hashed), renders the recovery e-mail with the link
 *       {public_base}account/password/recovery?ticket=… and sends it, named after the user, in
 *       the session's language. A ticket that could not be sent is removed again. A consumed
 *       session sends nothing (MAS); a session that is gone fails for good. */
#pragma once
#include "hs_sync.h" /* enum hs_job_outcome: what every job of the queue reports */
#include "storage.h"
#include "transport.h"
#include <stdbool.h>
#include <stddef.h>

struct config;

struct email_jobs {
    struct storage *st;
    const struct config *cfg; /* email (sender, transport), matrix.homeserver (the server's name) */
    struct mail_transport *mail;
};

bool email_job_handles(const char *queue);
/* Runs a claimed job of one of those queues; msg (size bytes) says what happened. */
enum hs_job_outcome email_job_run(const struct email_jobs *e, const struct storage_job *job,
                                  const char *worker_id, char *msg, size_t size);
