/*
 * vehicle.h - a dealership's stock (SPEC section 4, vehicles).
 * Prices are NOK in øre (integer).  Run inside nv_db_tx with RLS context.
 */
#ifndef NV_VEHICLE_H
#define NV_VEHICLE_H

#include <cjson/cJSON.h>

#include "../arena.h"
#include "../err.h"

extern const char *const nv_vehicle_stock_statuses[];

/* Create from make, model (required), year, vin, stock_number, price_ore,
 * stock_status, metadata.  NV_ERR_CONFLICT on a VIN already in stock. */
enum nv_err nv_vehicle_create(struct nv_arena *a, struct nv_diag *d,
    const cJSON *in, char **out);

enum nv_err nv_vehicle_get(struct nv_arena *a, struct nv_diag *d,
    const char *id, char **out);

/* All vehicles, newest first; stock_status NULL for any. */
enum nv_err nv_vehicle_list(struct nv_arena *a, struct nv_diag *d,
    const char *stock_status, char **out);

enum nv_err nv_vehicle_update(struct nv_arena *a, struct nv_diag *d,
    const char *id, const cJSON *patch, char **out);

enum nv_err nv_vehicle_delete(struct nv_arena *a, struct nv_diag *d,
    const char *id);

#endif /* NV_VEHICLE_H */
