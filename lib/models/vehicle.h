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

#define NV_VEHICLE_LIST_MAX	200
#define NV_VEHICLE_LIST_DEFAULT	50

struct nv_vehicle_filter {
	const char	*stock_status;	/* NULL: any */
	const char	*q;		/* make, model or VIN contains; NULL: any */
	int		 limit;		/* 1..NV_VEHICLE_LIST_MAX */
};

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

/*
 * At most f->limit vehicles matching f, newest first, as a JSON array.
 * NV_ERR_BAD_REQUEST naming "stock_status" for an unknown status.
 */
enum nv_err nv_vehicle_search(struct nv_arena *a, struct nv_diag *d,
    const struct nv_vehicle_filter *f, char **out);

#endif /* NV_VEHICLE_H */
