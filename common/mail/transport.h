/* Sending a composed message through the transport of the email section (docs/architecture.md
 * §5, "E-mail"; MAS: crates/email/src/transport.rs):
 *
 *   blackhole  nothing is sent; a warning says so (MAS's default)
 *   smtp       libcurl: plain (no TLS), STARTTLS (required: a server that does not offer it is a
 *              failure, never a fall-back to plain text) or TLS from the first byte; the server's
 *              certificate is verified against the system's CAs (or SSL_CERT_FILE's, read at
 *              open); AUTH with username and password when configured, with the mechanism the
 *              server offers; MAIL_CONNECT_TIMEOUT_MS to connect, MAIL_TIMEOUT_MS in all
 *   sendmail   the command run without a shell as COMMAND -i -f FROM -- TO (lettre's argument
 *              vector), the message on its standard input, MAIL_TIMEOUT_MS in all, then killed
 *
 * Sending blocks: only masd-worker links this library, so no request's event loop can ever wait
 * on a mail server (docs/architecture.md §4). */
#pragma once
#include "config.h"
#include "mail_address.h"
#include <stddef.h>

#define MAIL_CONNECT_TIMEOUT_MS 10000
#define MAIL_TIMEOUT_MS         60000 /* lettre's default; below masd-worker's job lease */

struct mail_transport;

/* curl_global_init: once, before any thread sends (masd-worker's main). */
int mail_global_init(void);

/* The transport of cfg (which must outlive it). Reads SSL_CERT_FILE from the environment.
 * Returns 0 or -ENOMEM. */
int mail_transport_open(const struct config_email *cfg, struct mail_transport **out);
void mail_transport_close(struct mail_transport *t);
/* For tests: the overall timeout (connect, send, or sendmail's run), MAIL_TIMEOUT_MS by default. */
void mail_transport_set_timeout(struct mail_transport *t, long timeout_ms);

/* Sends msg (mail_compose()) from the envelope sender `from` to `to`. Thread-safe; blocks up to
 * the timeout. Returns
 *   0        sent (handed to the server or to sendmail; with blackhole: dropped, with a warning);
 *   -EAGAIN  a failure that may pass: no connection, a timeout, TLS, authentication, a 4xx
 *            answer, sendmail killed or failing with a temporary status — send it again later;
 *   -EBADMSG a failure that will not pass: the server refused the sender, the recipient or the
 *            message with a 5xx answer, or sendmail said the address or the data is wrong
 *            (EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOHOST) — do not send it again;
 *   -ENOMEM.
 * why (size bytes) says what happened, with the server's last answer when there was one. The
 * caller ignores SIGPIPE or not: a sendmail that exits early never raises it here. */
int mail_send(struct mail_transport *t, const struct mail_address *from, const struct mail_address *to,
              const char *msg, size_t len, char *why, size_t size);
