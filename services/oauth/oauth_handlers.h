#pragma once

#include "server.h"

struct config;
struct storage;

void oauth_keys(struct masd_request *r);
void oauth_introspect(struct masd_request *r);
void oauth_revoke(struct masd_request *r);
int oauth_handlers_setup(const struct config *cfg, struct storage *st);
/* For masd_service.shutdown: writes the session activity still held in memory. */
void oauth_handlers_shutdown(void);
