/*
 * norvalt-migrate.c - apply and roll back the numbered SQL migrations
 *
 *	norvalt-migrate [--dir DIR] up | down [N] | status
 *
 * Files.  The directory (--dir, else $NORVALT_MIGRATIONS_DIR, else
 * sql/migrations) holds NNN_name.sql and optional NNN_name.down.sql, NNN
 * being three or more digits and name [A-Za-z0-9_-]+.  Dot files and names
 * not ending in ".sql" are ignored; any other *.sql name, a duplicate
 * version, or a down file without its up file is an error naming the file.
 * The whole directory is scanned, read and checksummed before we connect, so
 * a broken directory never touches the database.  Files must be UTF-8
 * without NUL bytes (PQexec takes a C string); a leading BOM is skipped when
 * executing but is part of the checksum.
 *
 * Records.  schema_migrations holds one row per applied file: version, name
 * (the part after "NNN_"), checksum (hex SHA-256 of the up file's bytes),
 * applied_at and execution_ms.  up and down refuse to run when an applied
 * file they rely on has changed, been renamed or gone missing.
 *
 * Concurrency.  up and down hold a session advisory lock on a fixed key for
 * the whole run.  The table is created only after the lock is taken, since
 * two concurrent CREATE TABLE IF NOT EXISTS can still collide on the
 * catalogs, and the applied set is read only after it, so a run that waited
 * finds the winner's work and has nothing left to do.  status takes no lock
 * and writes nothing, not even the table.
 *
 * Transactions.  Each file runs in its own transaction: BEGIN, the file's
 * whole text through PQexec (the simple query protocol is the only one that
 * takes several statements), the bookkeeping row, COMMIT.  Every statement
 * of our own goes through PQexecParams.  A file must not manage the
 * transaction itself: one that starts with BEGIN is refused before anything
 * runs, and one that leaves the transaction closed is reported, because its
 * work may already be committed without a record.  Before the bookkeeping
 * statement we RESET ALL and RESET ROLE inside the transaction, so a
 * "SET search_path" or "SET ROLE" in one file can neither redirect the
 * INSERT into schema_migrations nor leak into the next file.
 *
 * Output.  Progress goes to stdout, errors and server warnings to stderr
 * prefixed "norvalt-migrate: ".  NOTICEs are suppressed with
 * client_min_messages = warning unless NORVALT_LOG_LEVEL=debug, which shows
 * every server message.  The connection string is never printed: an
 * unparsable one is reported without libpq's message, which quotes it.
 *
 * Exit status: 0 success, 1 failure (database, migration, verification or
 * file problem), 2 usage or configuration error.
 *
 * Memory: a short-lived process, so plain malloc; out of memory aborts, as
 * palloc does, and callers never check.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#define NV_MIGRATE_PROG		"norvalt-migrate"
#define NV_MIGRATE_DEFAULT_DIR	"sql/migrations"
/* 0x4e6f7276616c74, "Norvalt" in ASCII: fixed, unlike hashtext(). */
#define NV_MIGRATE_LOCK_KEY	"22077585586482292"
#define NV_MIGRATE_FILE_MAX	(64L * 1024 * 1024)
#define NV_MIGRATE_NAME_MAX	200
#define NV_MIGRATE_SUM_LEN	64
#define NV_MIGRATE_SUM_SHOW	12
#define NV_MIGRATE_LINE_SHOW	160

enum migrate_rc {
	NV_MIGRATE_OK = 0,
	NV_MIGRATE_FAIL = 1,
	NV_MIGRATE_USAGE = 2
};

enum migrate_kind {
	NV_MIGRATE_IGNORE,
	NV_MIGRATE_UP,
	NV_MIGRATE_DOWN,
	NV_MIGRATE_BAD
};

enum migrate_state {
	NV_MIGRATE_APPLIED,
	NV_MIGRATE_PENDING,
	NV_MIGRATE_CHANGED,
	NV_MIGRATE_MISSING
};

/* One NNN_name.sql with its optional down file; owns every pointer. */
struct migrate_file {
	int	 version;
	char	*name;		/* "initial_schema" */
	char	*file;		/* "001_initial_schema.sql" */
	char	*down;		/* "001_initial_schema.down.sql" or NULL */
	char	*sql;		/* the up file's bytes, NUL-terminated */
	size_t	 len;
	char	 checksum[NV_MIGRATE_SUM_LEN + 1];
};

/* A directory entry that looks like a migration, before pairing. */
struct migrate_entry {
	char			*fname;
	enum migrate_kind	 kind;
	int			 version;
	const char		*why;	/* for NV_MIGRATE_BAD */
};

/* One row of schema_migrations; the strings point into ctx->applied. */
struct migrate_row {
	int		 version;
	const char	*name;
	const char	*checksum;
	const char	*applied_at;
};

struct migrate_ctx {
	const char		*dir;
	struct migrate_file	*files;		/* sorted by version */
	size_t			 nfiles;
	PGconn			*conn;
	int			 debug;
	int			 locked;
	int			 broken;	/* connection unusable */
	const char		*current;	/* file being run, for notices */
	PGresult		*applied;
	struct migrate_row	*rows;		/* sorted by version */
	size_t			 nrows;
};

static const char sql_quiet[] =
	"SET client_min_messages = warning";
static const char sql_try_lock[] =
	"SELECT pg_try_advisory_lock($1::bigint)";
static const char sql_lock[] =
	"SELECT pg_advisory_lock($1::bigint)";
static const char sql_unlock[] =
	"SELECT pg_advisory_unlock($1::bigint)";
static const char sql_create[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version integer PRIMARY KEY,"
	" name text NOT NULL,"
	" checksum text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now(),"
	" execution_ms integer NOT NULL)";
static const char sql_exists[] =
	"SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char sql_applied[] =
	"SELECT version, name, checksum,"
	" to_char(applied_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	" FROM schema_migrations ORDER BY version";
static const char sql_begin[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_reset_all[] = "RESET ALL";
static const char sql_reset_role[] = "RESET ROLE";
static const char sql_insert[] =
	"INSERT INTO schema_migrations (version, name, checksum, execution_ms)"
	" VALUES ($1, $2, $3, $4)";
static const char sql_delete[] =
	"DELETE FROM schema_migrations WHERE version = $1";

static const char migrate_usage_text[] =
	"usage: " NV_MIGRATE_PROG " [--dir DIR] up | down [N] | status\n"
	"  up        apply every pending migration, oldest first\n"
	"  down [N]  roll back the N newest applied migrations (default 1)\n"
	"  status    list every migration and its state\n"
	"environment: NORVALT_DATABASE_OWNER_URL (else DATABASE_URL),\n"
	"  NORVALT_MIGRATIONS_DIR (else " NV_MIGRATE_DEFAULT_DIR "),"
	" NORVALT_LOG_LEVEL=debug\n";

/* Print "norvalt-migrate: <message>\n" on stderr. */
static void migrate_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void
migrate_err(const char *fmt, ...)
{
	va_list ap;

	fputs(NV_MIGRATE_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
migrate_oom(void)
{
	fputs(NV_MIGRATE_PROG ": out of memory\n", stderr);
	abort();
}

/* malloc that never returns NULL. */
static void *
migrate_alloc(size_t n)
{
	void *p;

	p = malloc(n == 0 ? 1 : n);
	if (p == NULL)
		migrate_oom();
	return p;
}

/* strdup of the first n bytes that never returns NULL. */
static char *
migrate_strndup(const char *s, size_t n)
{
	char *p;

	p = migrate_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Array growth for n elements of size sz; never returns NULL. */
static void *
migrate_grow(void *p, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > SIZE_MAX / sz)
		migrate_oom();
	p = realloc(p, ncap * sz);
	if (p == NULL)
		migrate_oom();
	*cap = ncap;
	return p;
}

/*
 * Parse a decimal integer in [lo, hi]: digits only, with an optional
 * leading '-'.  Returns NV_MIGRATE_FAIL on anything else, leaving *out
 * untouched.
 */
static enum migrate_rc
migrate_parse_long(const char *s, long lo, long hi, long *out)
{
	const char	*p;
	char		*end;
	long		 v;

	p = (*s == '-') ? s + 1 : s;
	if (*p < '0' || *p > '9')
		return NV_MIGRATE_FAIL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return NV_MIGRATE_FAIL;
	*out = v;
	return NV_MIGRATE_OK;
}

static long
migrate_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Write a libpq message on one line: trailing whitespace dropped, each
 * newline and the indentation after it folded into one space.
 */
static void
migrate_put_oneline(FILE *fp, const char *s)
{
	size_t len;

	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	while (len > 0) {
		if (*s == '\n') {
			fputc(' ', fp);
			s++;
			len--;
			while (len > 0 && (*s == ' ' || *s == '\t')) {
				s++;
				len--;
			}
			continue;
		}
		fputc(*s, fp);
		s++;
		len--;
	}
}

/* Write "  label: text" on stderr, indenting continuation lines. */
static void
migrate_put_field(const char *label, const char *text)
{
	const char *p;

	fprintf(stderr, "  %s: ", label);
	for (p = text; *p != '\0'; p++) {
		if (*p == '\n') {
			if (p[1] == '\0')
				break;
			fputs("\n    ", stderr);
		} else
			fputc(*p, stderr);
	}
	fputc('\n', stderr);
}

/*
 * Print where a 1-based character position (PG_DIAG_STATEMENT_POSITION)
 * falls in sql: line, column and the line itself.  Positions count
 * characters, not bytes, so UTF-8 continuation bytes are skipped.
 */
static void
migrate_put_position(const char *sql, const char *posstr)
{
	const char	*p, *start, *end;
	long		 pos, chars, line, col;
	size_t		 len;

	if (migrate_parse_long(posstr, 1, LONG_MAX, &pos) != NV_MIGRATE_OK)
		return;
	p = start = sql;
	line = col = chars = 1;
	while (*p != '\0' && chars < pos) {
		if (*p == '\n') {
			line++;
			col = 1;
			start = p + 1;
		} else
			col++;
		p++;
		while (((unsigned char)*p & 0xC0) == 0x80)
			p++;
		chars++;
	}
	end = strchr(start, '\n');
	len = end != NULL ? (size_t)(end - start) : strlen(start);
	if (len > 0 && start[len - 1] == '\r')
		len--;
	if (len > NV_MIGRATE_LINE_SHOW) {
		len = NV_MIGRATE_LINE_SHOW;
		while (len > 0 && ((unsigned char)start[len] & 0xC0) == 0x80)
			len--;
	}
	fprintf(stderr, "  at line %ld, column %ld: %.*s\n", line, col,
	    (int)len, start);
}

/*
 * Report a failed statement: "<what> failed: <message> (SQLSTATE xxxxx)",
 * then position in sql (when given), detail, hint and context.  res may be
 * NULL, in which case the connection's message is used.  Marks the
 * connection broken when it was lost.
 */
static void
migrate_report(struct migrate_ctx *ctx, const char *what,
    const PGresult *res, const char *sql)
{
	const char *msg, *state, *pos, *detail, *hint, *context;

	msg = state = pos = detail = hint = context = NULL;
	if (res != NULL) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		context = PQresultErrorField(res, PG_DIAG_CONTEXT);
		if (msg == NULL)
			msg = PQresultErrorMessage(res);
	}
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(ctx->conn);
	if (msg == NULL || *msg == '\0')
		msg = "unknown error";

	fprintf(stderr, NV_MIGRATE_PROG ": %s failed: ", what);
	migrate_put_oneline(stderr, msg);
	if (state != NULL)
		fprintf(stderr, " (SQLSTATE %s)", state);
	fputc('\n', stderr);
	if (sql != NULL && pos != NULL)
		migrate_put_position(sql, pos);
	if (detail != NULL)
		migrate_put_field("detail", detail);
	if (hint != NULL)
		migrate_put_field("hint", hint);
	if (context != NULL)
		migrate_put_field("context", context);
	if (PQstatus(ctx->conn) != CONNECTION_OK)
		ctx->broken = 1;
}

/*
 * Run one of our own statements with PQexecParams.  Returns the result,
 * which the caller PQclears, or NULL after reporting "<what> failed".
 */
static PGresult *
migrate_exec(struct migrate_ctx *ctx, const char *what, const char *sql,
    int nparams, const char *const *params)
{
	PGresult		*res;
	ExecStatusType		 st;

	if (ctx->broken) {
		migrate_err("%s skipped: the database connection was lost",
		    what);
		return NULL;
	}
	res = PQexecParams(ctx->conn, sql, nparams, NULL, params, NULL, NULL,
	    0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	migrate_report(ctx, what, res, NULL);
	PQclear(res);
	return NULL;
}

/* migrate_exec for statements whose result is not needed. */
static enum migrate_rc
migrate_run(struct migrate_ctx *ctx, const char *what, const char *sql,
    int nparams, const char *const *params)
{
	PGresult *res;

	res = migrate_exec(ctx, what, sql, nparams, params);
	if (res == NULL)
		return NV_MIGRATE_FAIL;
	PQclear(res);
	return NV_MIGRATE_OK;
}

/*
 * Notice receiver: server WARNINGs always reach stderr; NOTICE, INFO and
 * the rest only with NORVALT_LOG_LEVEL=debug.
 */
static void
migrate_notice(void *arg, const PGresult *res)
{
	const struct migrate_ctx	*ctx = arg;
	const char			*sev, *msg, *detail;
	char				 low[16];
	size_t				 i;

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (sev == NULL)
		sev = "NOTICE";
	if (!ctx->debug && strcmp(sev, "WARNING") != 0)
		return;
	for (i = 0; sev[i] != '\0' && i < sizeof(low) - 1; i++)
		low[i] = (sev[i] >= 'A' && sev[i] <= 'Z') ?
		    (char)(sev[i] - 'A' + 'a') : sev[i];
	low[i] = '\0';
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQresultErrorMessage(res);
	if (ctx->current != NULL)
		fprintf(stderr, NV_MIGRATE_PROG ": %s in %s: ", low,
		    ctx->current);
	else
		fprintf(stderr, NV_MIGRATE_PROG ": %s: ", low);
	migrate_put_oneline(stderr, msg);
	fputc('\n', stderr);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	if (detail != NULL)
		migrate_put_field("detail", detail);
}

/*
 * Classify a directory entry name.  NV_MIGRATE_UP and NV_MIGRATE_DOWN fill
 * *version; NV_MIGRATE_BAD sets *why; NV_MIGRATE_IGNORE is anything that is
 * not a migration at all (dot files, names not ending in ".sql").
 */
static enum migrate_kind
migrate_classify(const char *fname, int *version, const char **why)
{
	enum migrate_kind	 kind;
	size_t			 len, end, ndig, i;
	long			 v;

	len = strlen(fname);
	if (fname[0] == '.' || len < 4 || strcmp(fname + len - 4, ".sql") != 0)
		return NV_MIGRATE_IGNORE;
	end = len - 4;
	kind = NV_MIGRATE_UP;
	if (end >= 5 && memcmp(fname + end - 5, ".down", 5) == 0) {
		end -= 5;
		kind = NV_MIGRATE_DOWN;
	}
	for (ndig = 0; ndig < end && fname[ndig] >= '0' && fname[ndig] <= '9';
	    ndig++)
		;
	if (ndig < 3 || ndig + 1 >= end || fname[ndig] != '_') {
		*why = "does not match NNN_name.sql";
		return NV_MIGRATE_BAD;
	}
	if (end - ndig - 1 > NV_MIGRATE_NAME_MAX) {
		*why = "has a name longer than 200 characters";
		return NV_MIGRATE_BAD;
	}
	for (i = ndig + 1; i < end; i++) {
		char c = fname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-')) {
			*why = "does not match NNN_name.sql (name may hold "
			    "only letters, digits, '_' and '-')";
			return NV_MIGRATE_BAD;
		}
	}
	v = 0;
	for (i = 0; i < ndig; i++) {
		v = v * 10 + (fname[i] - '0');
		if (v > INT_MAX) {
			*why = "has a version larger than 2147483647";
			return NV_MIGRATE_BAD;
		}
	}
	*version = (int)v;
	return kind;
}

/* "dir/fname" in a new string, owned by the caller. */
static char *
migrate_path(const char *dir, const char *fname)
{
	const char	*sep;
	size_t		 n;
	char		*p;
	int		 len;

	n = strlen(dir);
	sep = (n > 0 && dir[n - 1] == '/') ? "" : "/";
	len = snprintf(NULL, 0, "%s%s%s", dir, sep, fname);
	if (len < 0)
		migrate_oom();
	p = migrate_alloc((size_t)len + 1);
	snprintf(p, (size_t)len + 1, "%s%s%s", dir, sep, fname);
	return p;
}

/*
 * Read a whole regular file of at most NV_MIGRATE_FILE_MAX bytes without NUL
 * bytes into a new NUL-terminated buffer (*buf, owned by the caller).
 * Returns NV_MIGRATE_FAIL after reporting the problem, naming fname.
 */
static enum migrate_rc
migrate_read_file(const char *dir, const char *fname, char **buf,
    size_t *len)
{
	enum migrate_rc	 rc = NV_MIGRATE_FAIL;
	struct stat	 st;
	char		*path, *p = NULL;
	size_t		 size, got = 0;
	ssize_t		 n;
	int		 fd = -1;

	path = migrate_path(dir, fname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		migrate_err("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		migrate_err("%s is not a regular file", path);
		goto out;
	}
	if (st.st_size > NV_MIGRATE_FILE_MAX) {
		migrate_err("%s is larger than %ld bytes", path,
		    NV_MIGRATE_FILE_MAX);
		goto out;
	}
	size = (size_t)st.st_size;
	p = migrate_alloc(size + 1);
	while (got < size) {
		n = read(fd, p + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			migrate_err("cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	p[got] = '\0';
	if (memchr(p, '\0', got) != NULL) {
		migrate_err("%s contains a NUL byte", path);
		goto out;
	}
	*buf = p;
	*len = got;
	p = NULL;
	rc = NV_MIGRATE_OK;
out:
	free(p);
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

/* Hex SHA-256 of buf into out (NV_MIGRATE_SUM_LEN + 1 bytes). */
static enum migrate_rc
migrate_checksum(const char *buf, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 != NV_MIGRATE_SUM_LEN) {
		migrate_err("sha-256 digest failed");
		return NV_MIGRATE_FAIL;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[NV_MIGRATE_SUM_LEN] = '\0';
	return NV_MIGRATE_OK;
}

static int
migrate_cmp_entry(const void *a, const void *b)
{
	const struct migrate_entry *x = a, *y = b;

	return strcmp(x->fname, y->fname);
}

static int
migrate_cmp_file(const void *a, const void *b)
{
	const struct migrate_file *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* The file for version, or NULL when there is none. */
static struct migrate_file *
migrate_find_file(const struct migrate_ctx *ctx, int version)
{
	size_t lo = 0, hi = ctx->nfiles, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ctx->files[mid].version == version)
			return &ctx->files[mid];
		if (ctx->files[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The applied row for version, or NULL when it is not applied. */
static const struct migrate_row *
migrate_find_row(const struct migrate_ctx *ctx, int version)
{
	size_t lo = 0, hi = ctx->nrows, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ctx->rows[mid].version == version)
			return &ctx->rows[mid];
		if (ctx->rows[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Scan ctx->dir into ctx->files, sorted by version, reading and
 * checksumming every up file.  Returns NV_MIGRATE_USAGE when the directory
 * cannot be opened, NV_MIGRATE_FAIL (after naming the file) for a bad name,
 * a duplicate version, an orphan down file or an unreadable file.
 */
static enum migrate_rc
migrate_scan(struct migrate_ctx *ctx)
{
	enum migrate_rc		 rc = NV_MIGRATE_FAIL;
	struct migrate_entry	*ents = NULL, *e;
	struct migrate_file	*f;
	struct dirent		*de;
	DIR			*d;
	size_t			 nents = 0, cap = 0, fcap = 0, i, stem;
	int			 version = 0;
	const char		*why = NULL;

	d = opendir(ctx->dir);
	if (d == NULL) {
		if (errno == ENOENT)
			migrate_err("migrations directory %s does not exist",
			    ctx->dir);
		else
			migrate_err("cannot open migrations directory %s: %s",
			    ctx->dir, strerror(errno));
		return NV_MIGRATE_USAGE;
	}
	for (;;) {
		enum migrate_kind kind;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		kind = migrate_classify(de->d_name, &version, &why);
		if (kind == NV_MIGRATE_IGNORE)
			continue;
		ents = migrate_grow(ents, &cap, nents, sizeof(*ents));
		e = &ents[nents++];
		e->fname = migrate_strndup(de->d_name, strlen(de->d_name));
		e->kind = kind;
		e->version = version;
		e->why = why;
	}
	if (errno != 0) {
		migrate_err("cannot read migrations directory %s: %s",
		    ctx->dir, strerror(errno));
		goto out;
	}

	/* readdir order is arbitrary; sort so errors are reproducible. */
	if (nents > 0)
		qsort(ents, nents, sizeof(*ents), migrate_cmp_entry);
	for (i = 0; i < nents; i++) {
		e = &ents[i];
		if (e->kind == NV_MIGRATE_BAD) {
			migrate_err("migration file %s %s", e->fname, e->why);
			goto out;
		}
		if (e->kind != NV_MIGRATE_UP)
			continue;
		/* ctx owns each file at once, so main frees it on error. */
		ctx->files = migrate_grow(ctx->files, &fcap, ctx->nfiles,
		    sizeof(*ctx->files));
		f = &ctx->files[ctx->nfiles++];
		memset(f, 0, sizeof(*f));
		f->version = e->version;
		f->file = e->fname;
		e->fname = NULL;
		/* "NNN_" is all digits, so the name runs from the first '_'. */
		stem = (size_t)(strchr(f->file, '_') - f->file) + 1;
		f->name = migrate_strndup(f->file + stem,
		    strlen(f->file) - stem - strlen(".sql"));
	}
	if (ctx->nfiles > 0)
		qsort(ctx->files, ctx->nfiles, sizeof(*ctx->files),
		    migrate_cmp_file);
	for (i = 1; i < ctx->nfiles; i++) {
		f = &ctx->files[i];
		if (f->version == f[-1].version) {
			migrate_err("duplicate migration version %d: %s and %s",
			    f->version, f[-1].file, f->file);
			goto out;
		}
	}

	/* Pair each down file with the up file of the same stem. */
	for (i = 0; i < nents; i++) {
		e = &ents[i];
		if (e->kind != NV_MIGRATE_DOWN)
			continue;
		stem = strlen(e->fname) - strlen(".down.sql");
		f = migrate_find_file(ctx, e->version);
		if (f == NULL || strlen(f->file) != stem + 4 ||
		    strncmp(f->file, e->fname, stem) != 0) {
			migrate_err("down migration %s has no up migration "
			    "%.*s.sql", e->fname, (int)stem, e->fname);
			goto out;
		}
		f->down = e->fname;
		e->fname = NULL;
	}

	for (i = 0; i < ctx->nfiles; i++) {
		f = &ctx->files[i];
		if (migrate_read_file(ctx->dir, f->file, &f->sql, &f->len) !=
		    NV_MIGRATE_OK ||
		    migrate_checksum(f->sql, f->len, f->checksum) !=
		    NV_MIGRATE_OK)
			goto out;
	}
	rc = NV_MIGRATE_OK;
out:
	for (i = 0; i < nents; i++)
		free(ents[i].fname);
	free(ents);
	closedir(d);
	return rc;
}

/*
 * The file's text as sent to the server: the bytes after a UTF-8 byte order
 * mark, which the checksum still covers.
 */
static const char *
migrate_body(const char *sql)
{
	if ((unsigned char)sql[0] == 0xEF && (unsigned char)sql[1] == 0xBB &&
	    (unsigned char)sql[2] == 0xBF)
		return sql + 3;
	return sql;
}

/*
 * Refuse a file whose first statement is transaction control: it would
 * commit our transaction early and leave the file applied but unrecorded.
 * Skips whitespace and comments to the first word.  Returns NV_MIGRATE_FAIL
 * after naming the file.
 */
static enum migrate_rc
migrate_check_txn(const char *fname, const char *sql)
{
	static const char *const words[] = {
		"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", NULL
	};
	const char	*p = migrate_body(sql);
	char		 word[16];
	size_t		 n = 0, i;
	int		 depth;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\f' || *p == '\v')
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			/* PostgreSQL block comments nest. */
			depth = 1;
			p += 2;
			while (*p != '\0' && depth > 0) {
				if (p[0] == '/' && p[1] == '*') {
					depth++;
					p += 2;
				} else if (p[0] == '*' && p[1] == '/') {
					depth--;
					p += 2;
				} else
					p++;
			}
			continue;
		}
		break;
	}
	while (n < sizeof(word) - 1 && ((*p >= 'a' && *p <= 'z') ||
	    (*p >= 'A' && *p <= 'Z'))) {
		word[n++] = (*p >= 'a' && *p <= 'z') ?
		    (char)(*p - 'a' + 'A') : *p;
		p++;
	}
	word[n] = '\0';
	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '_')
		return NV_MIGRATE_OK;
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(word, words[i]) == 0) {
			migrate_err("migration %s starts with %s: remove its "
			    "BEGIN/COMMIT, each migration already runs in "
			    "its own transaction", fname, word);
			return NV_MIGRATE_FAIL;
		}
	}
	return NV_MIGRATE_OK;
}

/*
 * Connect with the owner connection string from the environment.  Returns
 * NV_MIGRATE_USAGE when it is unset or unparsable, NV_MIGRATE_FAIL when the
 * server cannot be reached.  Never prints the string itself.
 */
static enum migrate_rc
migrate_connect(struct migrate_ctx *ctx)
{
	const char *const	 keys[] = {
		"fallback_application_name", "client_encoding", "dbname", NULL
	};
	const char		*vals[4];
	const char		*var, *url;
	PQconninfoOption	*opts;
	char			*err = NULL;

	var = "NORVALT_DATABASE_OWNER_URL";
	url = getenv(var);
	if (url == NULL || *url == '\0') {
		var = "DATABASE_URL";
		url = getenv(var);
	}
	if (url == NULL || *url == '\0') {
		migrate_err("NORVALT_DATABASE_OWNER_URL is not set (nor "
		    "DATABASE_URL): set it to the owner role's connection "
		    "string");
		return NV_MIGRATE_USAGE;
	}
	/* libpq expands dbname the same way: a URI or key=value pairs. */
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0 || strchr(url, '=') != NULL) {
		opts = PQconninfoParse(url, &err);
		if (opts == NULL) {
			/* err quotes the string, which may hold a password. */
			if (err == NULL)
				migrate_oom();
			PQfreemem(err);
			migrate_err("%s is not a valid connection string", var);
			return NV_MIGRATE_USAGE;
		}
		PQconninfoFree(opts);
	}

	vals[0] = NV_MIGRATE_PROG;
	vals[1] = "UTF8";
	vals[2] = url;
	vals[3] = NULL;
	ctx->conn = PQconnectdbParams(keys, vals, 1);
	if (ctx->conn == NULL)
		migrate_oom();
	if (PQstatus(ctx->conn) != CONNECTION_OK) {
		fputs(NV_MIGRATE_PROG ": cannot connect to the database: ",
		    stderr);
		migrate_put_oneline(stderr, PQerrorMessage(ctx->conn));
		fputc('\n', stderr);
		return NV_MIGRATE_FAIL;
	}
	PQsetNoticeReceiver(ctx->conn, migrate_notice, ctx);
	return NV_MIGRATE_OK;
}

/*
 * Session settings: quiet NOTICEs unless debugging.  Run at connect and
 * again after every RESET ALL.
 */
static enum migrate_rc
migrate_session(struct migrate_ctx *ctx)
{
	if (ctx->debug)
		return NV_MIGRATE_OK;
	return migrate_run(ctx, "setting client_min_messages", sql_quiet, 0,
	    NULL);
}

/*
 * Take the session advisory lock, saying so when another run holds it.
 * Blocks until it is ours.
 */
static enum migrate_rc
migrate_lock(struct migrate_ctx *ctx)
{
	const char *const	 params[] = { NV_MIGRATE_LOCK_KEY };
	PGresult		*res;
	int			 got;

	res = migrate_exec(ctx, "taking the migration lock", sql_try_lock, 1,
	    params);
	if (res == NULL)
		return NV_MIGRATE_FAIL;
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got) {
		printf("waiting for another migration run\n");
		fflush(stdout);
		if (migrate_run(ctx, "taking the migration lock", sql_lock, 1,
		    params) != NV_MIGRATE_OK)
			return NV_MIGRATE_FAIL;
	}
	ctx->locked = 1;
	return NV_MIGRATE_OK;
}

/* Release the advisory lock if we hold it and can still talk. */
static void
migrate_unlock(struct migrate_ctx *ctx)
{
	const char *const params[] = { NV_MIGRATE_LOCK_KEY };

	if (!ctx->locked || ctx->broken ||
	    PQtransactionStatus(ctx->conn) != PQTRANS_IDLE)
		return;	/* PQfinish ends the session, and the lock with it */
	if (migrate_run(ctx, "releasing the migration lock", sql_unlock, 1,
	    params) == NV_MIGRATE_OK)
		ctx->locked = 0;
}

/*
 * Load schema_migrations into ctx->rows.  With create, make the table
 * first; without it, a database that has no table yet has no rows and
 * nothing is written.
 */
static enum migrate_rc
migrate_load(struct migrate_ctx *ctx, int create)
{
	PGresult	*res;
	size_t		 i;
	long		 v;
	int		 exists;

	if (create) {
		if (migrate_run(ctx, "creating schema_migrations", sql_create,
		    0, NULL) != NV_MIGRATE_OK)
			return NV_MIGRATE_FAIL;
	} else {
		res = migrate_exec(ctx, "looking up schema_migrations",
		    sql_exists, 0, NULL);
		if (res == NULL)
			return NV_MIGRATE_FAIL;
		exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (!exists)
			return NV_MIGRATE_OK;
	}
	res = migrate_exec(ctx, "reading schema_migrations", sql_applied, 0,
	    NULL);
	if (res == NULL)
		return NV_MIGRATE_FAIL;
	ctx->applied = res;
	ctx->nrows = (size_t)PQntuples(res);
	ctx->rows = migrate_alloc(ctx->nrows * sizeof(*ctx->rows));
	for (i = 0; i < ctx->nrows; i++) {
		if (migrate_parse_long(PQgetvalue(res, (int)i, 0), INT_MIN,
		    INT_MAX, &v) != NV_MIGRATE_OK) {
			migrate_err("schema_migrations holds a bad version "
			    "\"%s\"", PQgetvalue(res, (int)i, 0));
			return NV_MIGRATE_FAIL;
		}
		ctx->rows[i].version = (int)v;
		ctx->rows[i].name = PQgetvalue(res, (int)i, 1);
		ctx->rows[i].checksum = PQgetvalue(res, (int)i, 2);
		ctx->rows[i].applied_at = PQgetvalue(res, (int)i, 3);
	}
	return NV_MIGRATE_OK;
}

/*
 * Compare an applied row with its file.  Returns NV_MIGRATE_APPLIED when
 * the file is there unchanged, NV_MIGRATE_MISSING or NV_MIGRATE_CHANGED
 * otherwise, printing why on stderr when report is set.
 */
static enum migrate_state
migrate_check_row(const struct migrate_ctx *ctx, const struct migrate_row *r,
    int report)
{
	const struct migrate_file *f;

	f = migrate_find_file(ctx, r->version);
	if (f == NULL) {
		if (report)
			migrate_err("applied migration %03d_%s is missing "
			    "from %s", r->version, r->name, ctx->dir);
		return NV_MIGRATE_MISSING;
	}
	if (strcmp(f->name, r->name) != 0) {
		if (report)
			migrate_err("migration %s does not match applied "
			    "migration %03d_%s (renamed since it was "
			    "applied)", f->file, r->version, r->name);
		return NV_MIGRATE_CHANGED;
	}
	if (strcmp(f->checksum, r->checksum) != 0) {
		if (report)
			migrate_err("migration %s has changed since it was "
			    "applied (checksum %.*s... != %.*s...)", f->file,
			    NV_MIGRATE_SUM_SHOW, f->checksum,
			    NV_MIGRATE_SUM_SHOW, r->checksum);
		return NV_MIGRATE_CHANGED;
	}
	return NV_MIGRATE_APPLIED;
}

/* Roll back an open or failed transaction, if there is one. */
static void
migrate_abort(struct migrate_ctx *ctx)
{
	PGTransactionStatusType ts;

	if (ctx->broken)
		return;
	ts = PQtransactionStatus(ctx->conn);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		(void)migrate_run(ctx, "ROLLBACK", sql_rollback, 0, NULL);
}

/*
 * Run one migration body (an up or down file) inside the open transaction
 * and put the session back to its defaults.  what names it in messages
 * ("migration 001_x.sql").  Returns NV_MIGRATE_FAIL after reporting; the
 * caller rolls back.
 */
static enum migrate_rc
migrate_body_run(struct migrate_ctx *ctx, const char *what,
    const char *fname, const char *sql)
{
	enum migrate_rc		 rc = NV_MIGRATE_FAIL;
	ExecStatusType		 st;
	PGresult		*res;
	const char		*body;

	body = migrate_body(sql);
	ctx->current = fname;
	res = PQexec(ctx->conn, body);
	ctx->current = NULL;
	st = PQresultStatus(res);
	switch (st) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		break;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		migrate_err("%s failed: COPY FROM STDIN and COPY TO STDOUT "
		    "cannot run from a migration", what);
		/* The protocol is mid-COPY: drop the connection instead. */
		ctx->broken = 1;
		goto out;
	default:
		migrate_report(ctx, what, res, body);
		goto out;
	}
	if (PQtransactionStatus(ctx->conn) != PQTRANS_INTRANS) {
		migrate_err("%s ended its own transaction (COMMIT or ROLLBACK "
		    "in the file): part of it may be committed, and "
		    "schema_migrations was not updated; repair by hand", what);
		goto out;
	}
	if (migrate_run(ctx, "RESET ALL", sql_reset_all, 0, NULL) !=
	    NV_MIGRATE_OK ||
	    migrate_run(ctx, "RESET ROLE", sql_reset_role, 0, NULL) !=
	    NV_MIGRATE_OK ||
	    migrate_session(ctx) != NV_MIGRATE_OK)
		goto out;
	rc = NV_MIGRATE_OK;
out:
	PQclear(res);
	return rc;
}

/*
 * Apply one pending file in its own transaction and record it.  *ms gets
 * the file's execution time.  On failure the transaction is rolled back and
 * NV_MIGRATE_FAIL returned after reporting.
 */
static enum migrate_rc
migrate_apply(struct migrate_ctx *ctx, const struct migrate_file *f,
    long *ms)
{
	enum migrate_rc		 rc = NV_MIGRATE_FAIL;
	struct timespec		 t0;
	const char		*params[4];
	char			 vbuf[16], msbuf[24], what[320], step[340];
	long			 elapsed;

	snprintf(what, sizeof(what), "migration %s", f->file);
	if (migrate_run(ctx, "BEGIN", sql_begin, 0, NULL) != NV_MIGRATE_OK)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (migrate_body_run(ctx, what, f->file, f->sql) != NV_MIGRATE_OK)
		goto out;
	elapsed = migrate_ms_since(&t0);
	if (elapsed > INT_MAX)
		elapsed = INT_MAX;
	snprintf(vbuf, sizeof(vbuf), "%d", f->version);
	snprintf(msbuf, sizeof(msbuf), "%ld", elapsed);
	params[0] = vbuf;
	params[1] = f->name;
	params[2] = f->checksum;
	params[3] = msbuf;
	snprintf(step, sizeof(step), "recording %s", what);
	if (migrate_run(ctx, step, sql_insert, 4, params) != NV_MIGRATE_OK)
		goto out;
	/* Deferred constraints fire here, so name the file. */
	if (migrate_run(ctx, what, sql_commit, 0, NULL) != NV_MIGRATE_OK)
		goto out;
	*ms = elapsed;
	rc = NV_MIGRATE_OK;
out:
	if (rc != NV_MIGRATE_OK)
		migrate_abort(ctx);
	return rc;
}

/*
 * Roll back one applied migration with its down file (sql) in its own
 * transaction and delete its row.  Same contract as migrate_apply.
 */
static enum migrate_rc
migrate_revert(struct migrate_ctx *ctx, const struct migrate_file *f,
    const char *sql, long *ms)
{
	enum migrate_rc		 rc = NV_MIGRATE_FAIL;
	struct timespec		 t0;
	const char		*params[1];
	PGresult		*res;
	char			 vbuf[16], what[320], step[340];
	long			 elapsed;

	snprintf(what, sizeof(what), "down migration %s", f->down);
	if (migrate_run(ctx, "BEGIN", sql_begin, 0, NULL) != NV_MIGRATE_OK)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (migrate_body_run(ctx, what, f->down, sql) != NV_MIGRATE_OK)
		goto out;
	elapsed = migrate_ms_since(&t0);
	snprintf(vbuf, sizeof(vbuf), "%d", f->version);
	params[0] = vbuf;
	snprintf(step, sizeof(step), "unrecording %s", what);
	res = migrate_exec(ctx, step, sql_delete, 1, params);
	if (res == NULL)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		migrate_err("%s removed the schema_migrations row of version "
		    "%d itself", what, f->version);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	if (migrate_run(ctx, what, sql_commit, 0, NULL) != NV_MIGRATE_OK)
		goto out;
	*ms = elapsed;
	rc = NV_MIGRATE_OK;
out:
	if (rc != NV_MIGRATE_OK)
		migrate_abort(ctx);
	return rc;
}

/*
 * up: verify every applied migration, then apply each pending file in
 * version order.  Returns NV_MIGRATE_FAIL when verification fails (nothing
 * applied) or a file fails (earlier ones stay applied).
 */
static enum migrate_rc
migrate_up(struct migrate_ctx *ctx)
{
	enum migrate_rc		 rc = NV_MIGRATE_FAIL;
	struct timespec		 t0;
	size_t			 i, bad = 0, pending = 0, done = 0;
	long			 ms = 0;
	int			 top = 0, any = 0;

	if (migrate_lock(ctx) != NV_MIGRATE_OK ||
	    migrate_load(ctx, 1) != NV_MIGRATE_OK)
		goto out;
	for (i = 0; i < ctx->nrows; i++) {
		if (migrate_check_row(ctx, &ctx->rows[i], 1) !=
		    NV_MIGRATE_APPLIED)
			bad++;
		top = ctx->rows[i].version;
		any = 1;
	}
	if (bad > 0) {
		migrate_err("refusing to apply anything until the applied "
		    "migrations match their files");
		goto out;
	}
	for (i = 0; i < ctx->nfiles; i++) {
		if (migrate_find_row(ctx, ctx->files[i].version) != NULL)
			continue;
		pending++;
		if (migrate_check_txn(ctx->files[i].file, ctx->files[i].sql) !=
		    NV_MIGRATE_OK)
			bad++;
	}
	if (bad > 0)
		goto out;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ctx->nfiles; i++) {
		const struct migrate_file *f = &ctx->files[i];

		if (migrate_find_row(ctx, f->version) != NULL)
			continue;
		if (migrate_apply(ctx, f, &ms) != NV_MIGRATE_OK) {
			migrate_err("stopped after applying %zu of %zu "
			    "pending migrations", done, pending);
			goto out;
		}
		printf("applied %s (%ld ms)\n", f->file, ms);
		done++;
	}
	if (ctx->nfiles > 0 && ctx->files[ctx->nfiles - 1].version > top) {
		top = ctx->files[ctx->nfiles - 1].version;
		any = 1;
	}
	if (done > 0)
		printf("applied %zu migration%s in %ld ms (version %d)\n",
		    done, done == 1 ? "" : "s", migrate_ms_since(&t0), top);
	else if (any)
		printf("database is up to date (version %d)\n", top);
	else
		printf("database is up to date (no migrations)\n");
	rc = NV_MIGRATE_OK;
out:
	migrate_unlock(ctx);
	return rc;
}

/*
 * down: roll back the n newest applied migrations, newest first, after
 * checking that each one's up file is unchanged and its down file exists
 * and reads.  Nothing applied is success; fewer than n applied is refused.
 */
static enum migrate_rc
migrate_down(struct migrate_ctx *ctx, long n)
{
	enum migrate_rc		 rc = NV_MIGRATE_FAIL;
	struct timespec		 t0;
	struct migrate_file	*f;
	char			**sql = NULL;
	size_t			 i, k, len, bad = 0, done = 0, want = 0;
	long			 ms = 0;

	if (migrate_lock(ctx) != NV_MIGRATE_OK ||
	    migrate_load(ctx, 0) != NV_MIGRATE_OK)
		goto out;
	if (ctx->nrows == 0) {
		printf("nothing to roll back (no migrations applied)\n");
		rc = NV_MIGRATE_OK;
		goto out;
	}
	if ((unsigned long)n > ctx->nrows) {
		migrate_err("cannot roll back %ld migrations: only %zu %s "
		    "applied", n, ctx->nrows, ctx->nrows == 1 ? "is" : "are");
		goto out;
	}
	want = (size_t)n;
	sql = calloc(want, sizeof(*sql));
	if (sql == NULL)
		migrate_oom();

	/* Check everything before touching anything. */
	for (k = 0; k < want; k++) {
		const struct migrate_row *r = &ctx->rows[ctx->nrows - 1 - k];

		if (migrate_check_row(ctx, r, 1) != NV_MIGRATE_APPLIED) {
			bad++;
			continue;
		}
		f = migrate_find_file(ctx, r->version);
		if (f->down == NULL) {
			migrate_err("migration %s has no down file "
			    "%.*s.down.sql", f->file,
			    (int)(strlen(f->file) - 4), f->file);
			bad++;
			continue;
		}
		if (migrate_read_file(ctx->dir, f->down, &sql[k], &len) !=
		    NV_MIGRATE_OK ||
		    migrate_check_txn(f->down, sql[k]) != NV_MIGRATE_OK)
			bad++;
	}
	if (bad > 0) {
		migrate_err("refusing to roll back anything");
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < want; k++) {
		f = migrate_find_file(ctx,
		    ctx->rows[ctx->nrows - 1 - k].version);
		if (migrate_revert(ctx, f, sql[k], &ms) != NV_MIGRATE_OK) {
			migrate_err("stopped after rolling back %zu of %zu "
			    "migrations", done, want);
			goto out;
		}
		printf("rolled back %s (%ld ms)\n", f->file, ms);
		done++;
	}
	if (ctx->nrows > want)
		printf("rolled back %zu migration%s in %ld ms (version %d)\n",
		    done, done == 1 ? "" : "s", migrate_ms_since(&t0),
		    ctx->rows[ctx->nrows - 1 - want].version);
	else
		printf("rolled back %zu migration%s in %ld ms (no migrations "
		    "applied)\n", done, done == 1 ? "" : "s",
		    migrate_ms_since(&t0));
	rc = NV_MIGRATE_OK;
out:
	if (sql != NULL) {
		for (i = 0; i < want; i++)
			free(sql[i]);
		free(sql);
	}
	migrate_unlock(ctx);
	return rc;
}

static const char *
migrate_state_str(enum migrate_state s)
{
	switch (s) {
	case NV_MIGRATE_APPLIED:
		return "applied";
	case NV_MIGRATE_PENDING:
		return "pending";
	case NV_MIGRATE_CHANGED:
		return "changed";
	case NV_MIGRATE_MISSING:
		return "missing";
	}
	return "unknown";
}

/*
 * status: one line per known version (files and rows merged), then a
 * count, then the reason for every changed or missing one on stderr.
 * Writes nothing to the database.  NV_MIGRATE_FAIL when any is changed
 * or missing.
 */
static enum migrate_rc
migrate_status(struct migrate_ctx *ctx)
{
	const struct migrate_row	*r;
	const struct migrate_file	*f;
	enum migrate_state		 s;
	size_t				 fi, ri, width, counts[4] = { 0 };
	int				 v, pass;

	if (migrate_load(ctx, 0) != NV_MIGRATE_OK)
		return NV_MIGRATE_FAIL;

	/* Pass 0 sizes the name column, pass 1 prints, pass 2 explains. */
	width = strlen("name");
	for (pass = 0; pass < 3; pass++) {
		if (pass == 1)
			printf("%7s  %-*s  %-7s  %s\n", "version", (int)width,
			    "name", "state", "applied_at");
		fi = ri = 0;
		while (fi < ctx->nfiles || ri < ctx->nrows) {
			f = fi < ctx->nfiles ? &ctx->files[fi] : NULL;
			r = ri < ctx->nrows ? &ctx->rows[ri] : NULL;
			if (r == NULL || (f != NULL && f->version < r->version))
				r = NULL;
			else if (f == NULL || r->version < f->version)
				f = NULL;
			v = r != NULL ? r->version : f->version;
			if (f != NULL)
				fi++;
			if (r != NULL)
				ri++;
			if (r == NULL) {
				s = NV_MIGRATE_PENDING;
			} else
				s = migrate_check_row(ctx, r, pass == 2);
			if (pass == 0) {
				const char *nm = r != NULL ? r->name : f->name;

				if (strlen(nm) > width)
					width = strlen(nm);
				counts[s]++;
			} else if (pass == 1) {
				printf("%7.3d  %-*s  %-7s  %s\n", v,
				    (int)width, r != NULL ? r->name : f->name,
				    migrate_state_str(s),
				    r != NULL ? r->applied_at : "-");
			}
		}
		if (pass == 1)
			printf("%zu applied, %zu pending, %zu changed, "
			    "%zu missing\n", counts[NV_MIGRATE_APPLIED],
			    counts[NV_MIGRATE_PENDING],
			    counts[NV_MIGRATE_CHANGED],
			    counts[NV_MIGRATE_MISSING]);
	}
	if (counts[NV_MIGRATE_CHANGED] + counts[NV_MIGRATE_MISSING] > 0)
		return NV_MIGRATE_FAIL;
	return NV_MIGRATE_OK;
}

/* Print "norvalt-migrate: <why>" and the usage on stderr. */
static enum migrate_rc migrate_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static enum migrate_rc
migrate_usage(const char *fmt, ...)
{
	va_list ap;

	fputs(NV_MIGRATE_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(migrate_usage_text, stderr);
	return NV_MIGRATE_USAGE;
}

int
main(int argc, char **argv)
{
	struct migrate_ctx	 ctx;
	enum migrate_rc		 rc;
	const char		*cmd = NULL, *narg = NULL, *dir = NULL, *lvl;
	long			 n = 1;
	size_t			 i;
	int			 a;

	memset(&ctx, 0, sizeof(ctx));
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (a = 1; a < argc; a++) {
		const char *arg = argv[a];

		if (strcmp(arg, "--dir") == 0) {
			if (a + 1 >= argc) {
				rc = migrate_usage("--dir needs a directory");
				goto out;
			}
			dir = argv[++a];
		} else if (strncmp(arg, "--dir=", 6) == 0) {
			dir = arg + 6;
		} else if (strcmp(arg, "-h") == 0 ||
		    strcmp(arg, "--help") == 0) {
			fputs(migrate_usage_text, stdout);
			rc = NV_MIGRATE_OK;
			goto out;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			rc = migrate_usage("unknown option %s", arg);
			goto out;
		} else if (cmd == NULL) {
			cmd = arg;
		} else if (narg == NULL && strcmp(cmd, "down") == 0) {
			narg = arg;
		} else {
			rc = migrate_usage("unexpected argument %s", arg);
			goto out;
		}
	}
	if (cmd == NULL) {
		rc = migrate_usage("no command given");
		goto out;
	}
	if (strcmp(cmd, "up") != 0 && strcmp(cmd, "down") != 0 &&
	    strcmp(cmd, "status") != 0) {
		rc = migrate_usage("unknown command %s", cmd);
		goto out;
	}
	if (narg != NULL &&
	    migrate_parse_long(narg, 1, INT_MAX, &n) != NV_MIGRATE_OK) {
		rc = migrate_usage("down takes a positive number of "
		    "migrations, not %s", narg);
		goto out;
	}
	if (dir == NULL) {
		dir = getenv("NORVALT_MIGRATIONS_DIR");
		if (dir == NULL || *dir == '\0')
			dir = NV_MIGRATE_DEFAULT_DIR;
	}
	if (*dir == '\0') {
		rc = migrate_usage("--dir needs a directory");
		goto out;
	}
	ctx.dir = dir;
	lvl = getenv("NORVALT_LOG_LEVEL");
	ctx.debug = lvl != NULL && strcmp(lvl, "debug") == 0;

	if ((rc = migrate_scan(&ctx)) != NV_MIGRATE_OK ||
	    (rc = migrate_connect(&ctx)) != NV_MIGRATE_OK ||
	    (rc = migrate_session(&ctx)) != NV_MIGRATE_OK)
		goto out;
	if (strcmp(cmd, "up") == 0)
		rc = migrate_up(&ctx);
	else if (strcmp(cmd, "down") == 0)
		rc = migrate_down(&ctx, n);
	else
		rc = migrate_status(&ctx);
out:
	free(ctx.rows);
	PQclear(ctx.applied);
	if (ctx.conn != NULL)
		PQfinish(ctx.conn);
	for (i = 0; i < ctx.nfiles; i++) {
		free(ctx.files[i].name);
		free(ctx.files[i].file);
		free(ctx.files[i].down);
		free(ctx.files[i].sql);
	}
	free(ctx.files);
	return (int)rc;
}
