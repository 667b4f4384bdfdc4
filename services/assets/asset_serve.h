/* The /assets/ request handler and the index it serves from. */
#pragma once
#include "config.h"
#include "server.h"

#define ASSETS_ROUTE "/assets/" /* main.c's route table: resource "assets", ROUTE_PREFIX */

/* Indexes every distinct assets `path` of cfg's listeners and makes that the index requests
 * see; requests still running keep the previous one until they finish. Returns 0 or a negative
 * errno (the previous index, if any, stays in service). */
int asset_serve_load(const struct config *cfg);

void asset_serve(struct masd_request *req);
