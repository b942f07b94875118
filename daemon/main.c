/*
 * main.c - relaisd's command line: init, user (add, list, rm, token, set),
 * serve, backup, restore, digest preview.
 *
 * Exit codes: 0 success, 1 bad input or refused operation, 2 usage error.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sqlite3.h>
#include <uv.h>
#include "../common/options.h"
#include "../common/file.h"
#include "../common/util.h"
#include "../mailgw/sandbox.h"
#include "../mailgw/smtp.h"
#include "../mailgw/mime.h"
#include "../model/model.h"
#include "api.h"
#include "auth.h"
#include "backup.h"
#include "config.h"
#include "datadir.h"
#include "demo.h"
#include "rgpd.h"
#include "digest.h"
#include "../net/http.h"
#include "mail.h"
#include "store.h"

#define EXIT_USAGE OPTIONS_EXIT_USAGE

/* ---- the command line ---- */

static void list_commands(FILE *f, const char *cmd);
static const struct options_prog prog = { "relaisd", list_commands };

#define DATA_HELP "dossier de données du serveur"
#define OPT_DATA(v) OPT_STRING_F(0, "donnees", (v), "DOSSIER", DATA_HELP, \
				 OPTION_REQUIRED | OPTION_NONEMPTY)
#define OPT_LOGIN(v) OPT_STRING_F(0, "identifiant", (v), "NOM", \
				  "autre façon de donner l'identifiant", OPTION_NONEMPTY)

/* Parses argv for the command name whose only option is --donnees (help as
 * in struct options_cmd) into *data: as options_parse_cmd() returns. */
static int data_cmd(const char *name, const char *help, int argc, char **argv,
		    const char **data)
{
	const struct option opts[] = { OPT_DATA(data), OPT_END() };
	const struct options_cmd c = {
		&prog, name, "--donnees DOSSIER", help, opts, NULL, 0, 0, NULL,
	};
	return options_parse_cmd(&c, argc, argv, NULL, NULL);
}

/* ---- init ---- */

static int cmd_init(int argc, char **argv)
{
	const char *data = NULL;
	char err[1024];
	int rc = data_cmd("init",
		"Crée le dossier de données (droits 0700) et la base DOSSIER/relais.db,\n"
		"ou met à jour le schéma d'une base existante.\n", argc, argv, &data);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (store_init(data, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		return 1;
	}
	fprintf(stderr, "Base prête dans « %s » (schéma %d).\n", data, MODEL_SCHEMA_VERSION);
	return 0;
}

/* ---- user ---- */

/* Opens the store of dir for an account command; prints why not. */
static int open_accounts(const char *dir, sqlite3 **db)
{
	char err[1024];
	if (store_open_single(dir, db, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		return 1;
	}
	if (auth_check(*db)) {
		fprintf(stderr, "relaisd : la base de « %s » n'a pas de table des comptes : lancez "
			"« relaisd init --donnees %s ».\n", dir, dir);
		sqlite3_close(*db);
		*db = NULL;
		return 1;
	}
	return 0;
}

/* One change to the accounts, as its command's options fill it in: the
 * data folder, the account and its new values; the new token (ADD, TOKEN)
 * and the account as it was (SET) come back in it. */
struct account_op {
	enum { ACCOUNT_ADD, ACCOUNT_RM, ACCOUNT_TOKEN, ACCOUNT_SET } kind;
	const char *data, *login, *dept, *role;
	char token[AUTH_TOKEN_LEN + 1];
	struct auth_account was;
};

/*
 * Parses the options of rm, token and set: the login comes as the operand
 * or as --identifiant (*login on entry, from the option's target). Returns 0 with
 * *login set, -1 after --help, or an exit status.
 */
static int parse_login_cmd(const struct options_cmd *c, int argc, char **argv,
			   const char **login)
{
	const char *operand = NULL;
	int n = 0;
	int rc = options_parse_cmd(c, argc, argv, &operand, &n);
	if (rc)
		return rc;
	if (operand && *login && strcmp(operand, *login)) {
		options_usage_error(c, "deux identifiants donnés (« %s » et --identifiant)", operand);
		return EXIT_USAGE;
	}
	if (operand)
		*login = operand;
	if (!*login || !**login) {
		options_usage_error(c, "indiquez l'identifiant du compte");
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * The body every account command shares: parses argv by c (whose options
 * fill op), opens the store, runs op and closes it. Returns 0 when op was
 * done, -1 after --help, else an exit status once the reason is printed.
 */
static int account_cmd(const struct options_cmd *c, int argc, char **argv,
		       struct account_op *op)
{
	char err[1024];
	sqlite3 *db = NULL;
	int rc = op->kind == ACCOUNT_ADD ? options_parse_cmd(c, argc, argv, NULL, NULL)
					 : parse_login_cmd(c, argc, argv, &op->login);
	if (rc)
		return rc;
	if (op->kind == ACCOUNT_SET && !op->dept && !op->role) {
		options_usage_error(c, "indiquez --departement, --role ou les deux");
		return EXIT_USAGE;
	}
	if (open_accounts(op->data, &db))
		return 1;
	switch (op->kind) {
	case ACCOUNT_ADD:
		rc = auth_user_add(db, op->login, op->dept, op->role, op->token, err, sizeof(err));
		break;
	case ACCOUNT_RM:
		rc = auth_user_rm(db, op->login, err, sizeof(err));
		break;
	case ACCOUNT_TOKEN:
		rc = auth_user_token(db, op->login, op->token, err, sizeof(err));
		break;
	case ACCOUNT_SET:
		rc = auth_user_set(db, op->login, op->dept, op->role, &op->was, err, sizeof(err));
		break;
	}
	sqlite3_close(db);
	if (rc)
		fprintf(stderr, "relaisd : %s\n", err);
	return rc ? 1 : 0;
}

static int user_add(int argc, char **argv)
{
	struct account_op op = { .kind = ACCOUNT_ADD };
	const unsigned req = OPTION_REQUIRED | OPTION_NONEMPTY;
	const struct option opts[] = {
		OPT_DATA(&op.data),
		OPT_STRING_F(0, "identifiant", &op.login, "NOM",
			     "identifiant du compte (lettres, chiffres, . _ @ -)", req),
		OPT_STRING_F(0, "departement", &op.dept, "CODE",
			     "département (01 à 95, 2A, 2B, 971 à 976, 99 = démonstration)", req),
		OPT_STRING_F(0, "role", &op.role, "RÔLE", "coordinateur, caf (lecture seule) ou admin",
			     req),
		OPT_END(),
	};
	const struct options_cmd c = {
		&prog, "compte ajouter", "--donnees DOSSIER --identifiant NOM --departement CODE --role RÔLE",
		"Crée un compte et affiche son jeton, seul sur une ligne. Le jeton n'est\n"
		"affiché qu'une fois : seule son empreinte est conservée.\n", opts, NULL, 0, 0, NULL,
	};
	int rc = account_cmd(&c, argc, argv, &op);
	if (!rc)
		printf("%s\n", op.token);
	explicit_bzero(op.token, sizeof(op.token));
	return rc < 0 ? 0 : rc;
}

/* Prints one row of the account table: each cell padded to its column's
 * width and two spaces, the last one bare. */
static void print_row(const char *const cells[4], const size_t widths[4])
{
	for (size_t k = 0; k < 4; k++) {
		fputs(cells[k], stdout);
		if (k < 3)
			printf("%*s", (int)(widths[k] - util_utf8_width(cells[k]) + 2), "");
	}
	putchar('\n');
}

static int user_list(int argc, char **argv)
{
	const char *data = NULL;
	static const char *const heads[4] = { "Identifiant", "Département", "Rôle", "Créé le" };
	struct auth_account *v = NULL;
	size_t n = 0, widths[4];
	sqlite3 *db = NULL;
	int rc = data_cmd("compte liste",
		"Liste les comptes : identifiant, département, rôle et date de création.\n"
		"Les jetons n'y figurent pas : le serveur n'en garde que l'empreinte.\n", argc, argv,
		&data);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (open_accounts(data, &db))
		return 1;
	rc = auth_user_list(db, &v, &n);
	sqlite3_close(db);
	if (rc) {
		fprintf(stderr, "relaisd : lecture des comptes impossible : %s.\n", relais_strerror(rc));
		return 1;
	}
	if (!n) {
		printf("Aucun compte : « relaisd compte ajouter --help » dit comment en créer un.\n");
		return 0;
	}
	for (size_t k = 0; k < 4; k++)
		widths[k] = util_utf8_width(heads[k]);
	for (size_t i = 0; i < n; i++) {
		const char *cells[4] = { v[i].login, v[i].dept, v[i].role, v[i].created };
		for (size_t k = 0; k < 4; k++)
			if (util_utf8_width(cells[k]) > widths[k])
				widths[k] = util_utf8_width(cells[k]);
	}
	print_row(heads, widths);
	for (size_t i = 0; i < n; i++)
		print_row((const char *const[4]){ v[i].login, v[i].dept, v[i].role, v[i].created },
			  widths);
	free(v);
	return 0;
}

/* account_cmd for a command whose only options are the data folder and
 * the account (name and help as in struct options_cmd). */
static int login_cmd(struct account_op *op, const char *name, const char *help, int argc,
		     char **argv)
{
	const struct option opts[] = { OPT_DATA(&op->data), OPT_LOGIN(&op->login), OPT_END() };
	const struct options_cmd c = {
		&prog, name, "IDENTIFIANT --donnees DOSSIER", help, opts, NULL, 0, 1, NULL,
	};
	return account_cmd(&c, argc, argv, op);
}

static int user_rm(int argc, char **argv)
{
	struct account_op op = { .kind = ACCOUNT_RM };
	int rc = login_cmd(&op, "compte supprimer",
		"Supprime le compte IDENTIFIANT. Son jeton est refusé (401) dès la requête\n"
		"suivante, même par un relaisd en marche. Les données qu'il a envoyées restent.\n",
		argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	printf("Compte « %s » supprimé : son jeton est refusé dès maintenant.\n", op.login);
	return 0;
}

static int user_token(int argc, char **argv)
{
	struct account_op op = { .kind = ACCOUNT_TOKEN };
	int rc = login_cmd(&op, "compte jeton",
		"Remplace le jeton du compte IDENTIFIANT et affiche le nouveau, seul sur une\n"
		"ligne et une seule fois. L'ancien est refusé dès la requête suivante, même\n"
		"par un relaisd en marche. Sur le poste du compte, « relais jeton » installe\n"
		"le nouveau jeton dans le réplica sans perdre les modifications en attente.\n",
		argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	/* stdout holds the token alone, as for user add; the advice goes to stderr. */
	printf("%s\n", op.token);
	explicit_bzero(op.token, sizeof(op.token));
	fprintf(stderr, "Nouveau jeton du compte « %s », affiché cette seule fois ; l'ancien est "
		"refusé dès maintenant. Sur le poste du compte, « relais jeton » l'installe sans "
		"perdre les modifications en attente.\n", op.login);
	return 0;
}

static int user_set(int argc, char **argv)
{
	struct account_op op = { .kind = ACCOUNT_SET };
	const struct option opts[] = {
		OPT_DATA(&op.data),
		OPT_STRING(0, "departement", &op.dept, "CODE",
			   "nouveau département (01 à 95, 2A, 2B, 971 à 976, 99)"),
		OPT_STRING(0, "role", &op.role, "RÔLE",
			   "nouveau rôle : coordinateur, caf (lecture seule) ou admin"),
		OPT_LOGIN(&op.login),
		OPT_END(),
	};
	const struct options_cmd c = {
		&prog, "compte modifier", "IDENTIFIANT --donnees DOSSIER [--departement CODE] [--role RÔLE]",
		"Change le département ou le rôle du compte IDENTIFIANT, dès la requête\n"
		"suivante. Le jeton ne change pas.\n"
		"\n"
		"Après un changement de département, les réplicas de ce compte contiennent\n"
		"les données de l'ancien : le serveur les refuse (409) à leur prochaine\n"
		"synchronisation, et le compte initialise un nouveau réplica (« relais init »).\n"
		"Ce que l'ancien réplica n'avait pas envoyé n'est plus envoyable avec ce compte.\n",
		opts, NULL, 0, 1, NULL,
	};
	int rc = account_cmd(&c, argc, argv, &op);
	if (rc)
		return rc < 0 ? 0 : rc;
	const char *login = op.login, *dept = op.dept, *role = op.role;
	const struct auth_account *was = &op.was;
	int moved = dept && strcmp(dept, was->dept), recast = role && strcmp(role, was->role);
	if (!moved && !recast) {
		printf("Compte « %s » inchangé (département %s, rôle %s).\n", login, was->dept,
		       was->role);
		return 0;
	}
	printf("Compte « %s » :", login);
	if (moved)
		printf(" département %s → %s%s", was->dept, dept, recast ? "," : ".");
	if (recast)
		printf(" rôle %s → %s.", was->role, role);
	putchar('\n');
	if (moved)
		printf("Ses réplicas du département %s sont refusés dès leur prochaine "
		       "synchronisation : ce compte doit en initialiser un nouveau (« relais init »). Ce qu'ils "
		       "n'avaient pas envoyé ne peut plus l'être avec ce compte.\n", was->dept);
	if (recast && !auth_role_can_write(role))
		printf("Ce compte ne peut plus envoyer de modifications (lecture seule).\n");
	return 0;
}

/* ---- configuration ---- */

/* Reads the configuration file config, or DIR/relaisd.conf when it exists;
 * 0, or 1 once the reason is printed (conf then needs config_free()). */
static int load_config(const char *config, const char *dir, struct config *conf)
{
	char path[4096], err[1024];
	if (config) {
		snprintf(path, sizeof(path), "%s", config);
	} else if (snprintf(path, sizeof(path), "%s/%s", dir, CONFIG_DEFAULT_NAME) >=
		   (int)sizeof(path)) {
		fprintf(stderr, "relaisd : chemin du dossier de données trop long.\n");
		return 1;
	}
	if (config_load(path, config != NULL, conf, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		return 1;
	}
	return 0;
}

/* ---- serve ---- */

struct serve_ctx {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	struct http_server *http;
	struct mail_gateway *mail;
	struct digest *digest;
	int stopping;
};

static void on_http_closed(void *arg)
{
	struct serve_ctx *s = arg;
	s->http = NULL;
	/* Signals stay watched until now, so a second one does not kill a
	 * daemon that is finishing requests. */
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct serve_ctx *s = h->data;
	if (s->stopping)
		return;
	s->stopping = 1;
	fprintf(stderr, "Signal %d reçu : arrêt après les requêtes en cours.\n", signum);
	/* The gateway finishes its step meanwhile; it is joined before the
	 * store closes. */
	mail_gateway_request_stop(s->mail);
	digest_request_stop(s->digest);
	http_server_close(s->http, on_http_closed, s);
}

static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	long long p;
	if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
		return RELAIS_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	if (!strcmp(host, "localhost"))
		snprintf(host, hostlen, "127.0.0.1");
	if (util_parse_ll(colon + 1, 0, 65535, &p))
		return RELAIS_EINVAL;
	*port = (int)p;
	return 0;
}

/* Writes the port to a temporary name and renames it, so that a reader
 * never sees half a number. */
/*
 * The command a person types to reach the client: the relais built beside
 * this relaisd when there is one (as after "make run", where it is not on
 * PATH), relative to the working directory when under it; else "relais".
 */
static void client_path(char *out, size_t outlen)
{
	char exe[PATH_MAX], cwd[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	snprintf(out, outlen, "relais");
	if (n <= 0)
		return;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	char candidate[PATH_MAX + 8];
	snprintf(candidate, sizeof(candidate), "%s/relais", exe);
	if (access(candidate, X_OK) != 0)
		return;
	size_t clen = getcwd(cwd, sizeof(cwd)) ? strlen(cwd) : 0;
	int w = clen && !strncmp(candidate, cwd, clen) && candidate[clen] == '/'
			? snprintf(out, outlen, ".%s", candidate + clen)
			: snprintf(out, outlen, "%s", candidate);
	if (w < 0 || (size_t)w >= outlen)
		snprintf(out, outlen, "relais");
}

static int write_port_file(const char *path, int port)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%d\n", port);
	return file_replace(path, text, (size_t)n, 0644);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/*
 * Each pull answer allocates a zlib stream of ~256 KiB; without a higher
 * trim threshold glibc returns that memory to the system after every answer
 * and faults it in again for the next one (docs/bench.md).
 */
static void tune_for_load(void)
{
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

/* What replicas erased since the last start leaves the conflicts and the
 * mail archive too (daemon/rgpd.h); a failure is said, not fatal. */
static void rgpd_at_start(struct store *st)
{
	struct rgpd_counts c;
	int rc = rgpd_scrub(store_writer_acquire(st), store_tables(st), &c);
	store_writer_release(st);
	if (rc)
		fprintf(stderr, "relaisd : effacement RGPD côté serveur impossible : %s.\n",
			relais_strerror(rc));
	else if (c.conflicts || c.archives)
		fprintf(stderr, "RGPD : %lld conflit%s vidé%s, %lld message%s brut%s effacé%s.\n",
			c.conflicts, util_pluriel(c.conflicts), util_pluriel(c.conflicts), c.archives,
			util_pluriel(c.archives), util_pluriel(c.archives), util_pluriel(c.archives));
}

static int cmd_serve(int argc, char **argv)
{
	const char *data = NULL, *listen = NULL, *port_file = NULL, *config = NULL,
		   *horloge_opt = NULL;
	int demo = 0, quiet = 0;
	long long speed = 1, idle = 30;
	const struct option opts[] = {
		OPT_DATA(&data),
		OPT_STRING_F(0, "ecoute", &listen, "ADR:PORT",
			     "adresse IPv4 et port d'écoute (port 0 : un port libre)",
			     OPTION_REQUIRED | OPTION_NONEMPTY),
		OPT_STRING(0, "fichier-port", &port_file, "FICHIER",
			   "écrit le port choisi dans FICHIER une fois à l'écoute"),
		OPT_FLAG(0, "demo", &demo,
			 "crée au besoin une base de démonstration (département 99)"),
		OPT_INTEGER(0, "inactivite", &idle, "SEC",
			    "ferme une connexion inactive après SEC secondes (30)", 1, 86400),
		OPT_FLAG(0, "silencieux", &quiet, "ne journalise pas les requêtes"),
		OPT_STRING(0, "config", &config, "FICHIER",
			   "fichier de configuration (par défaut DOSSIER/relaisd.conf\n"
			   "s'il existe) ; sa section [courrier] démarre la passerelle\n"
			   "courrier, sa section [digest] la synthèse Caf, sa section\n"
			   "[securite] règle la limite d'échecs, le proxy de confiance,\n"
			   "les connexions par adresse et les délais des requêtes"),
		OPT_GROUP("Options d'essai (docs/digest.md) :"),
		OPT_STRING(0, "horloge", &horloge_opt, "AAAA-MM-JJTHH:MM:SSZ",
			   "horloge de la synthèse et des relances\n"
			   "(aussi la variable RELAIS_TEST_NOW)"),
		OPT_INTEGER(0, "horloge-vitesse", &speed, "N",
			    "cette horloge avance N fois plus vite (1 à 3600)", 1, 3600),
		OPT_END(),
	};
	const struct options_cmd c = {
		&prog, "servir", "--donnees DOSSIER --ecoute ADRESSE:PORT [OPTIONS]",
		"Sert l'API de synchronisation au premier plan ; SIGTERM ou SIGINT\n"
		"termine les requêtes en cours puis arrête le serveur.\n"
		"\n"
		"Le dossier de données doit être en 0700 et la base en 0600 ; un seul relaisd\n"
		"sert un dossier à la fois (verrou DOSSIER/relaisd.lock).\n", opts, NULL, 0, 0, NULL,
	};
	struct serve_ctx s;
	struct digest_clock clk = { 0, 0, 1 };
	struct config conf;
	struct store *st = NULL;
	struct api *api = NULL;
	char host[256], err[1024], token[AUTH_TOKEN_LEN + 1] = "";
	int port, bound = 0, created = 0, loop_ok = 0, lock = -1, rc;

	memset(&conf, 0, sizeof(conf));
	rc = options_parse_cmd(&c, argc, argv, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (parse_listen(listen, host, sizeof(host), &port)) {
		options_usage_error(&c, "adresse d'écoute « %s » invalide (attendu : "
				    "127.0.0.1:PORT)", listen);
		return EXIT_USAGE;
	}
	const char *horloge = horloge_opt ? horloge_opt : getenv("RELAIS_TEST_NOW");
	if (horloge && *horloge) {
		if (digest_parse_time(horloge, &clk.base_ms)) {
			options_usage_error(&c, "horloge « %s » invalide (attendu : "
					    "AAAA-MM-JJTHH:MM:SSZ)", horloge);
			return EXIT_USAGE;
		}
		clk.real_ms = util_now_ms();
	}
	clk.speed = (int)speed;
	const char *dir = data;

	memset(&s, 0, sizeof(s));
	rc = 1;
	/* The configuration is read first: a mistake in it stops relaisd
	 * before anything is created or served. */
	if (load_config(config, dir, &conf))
		goto out;
	/* Before any thread: localtime_r and mktime read TZ (docs/digest.md). */
	if (conf.digest.enabled && digest_set_zone(conf.digest.fuseau)) {
		fprintf(stderr, "relaisd : mémoire insuffisante.\n");
		goto out;
	}
	if (demo && !store_exists(dir)) {
		if (store_init(dir, err, sizeof(err))) {
			fprintf(stderr, "relaisd : %s\n", err);
			goto out;
		}
		created = 1;
	}
	/* Checked and locked before the store opens: a store that others may
	 * read is refused, and a restore cannot swap it under a running daemon. */
	if (store_exists(dir) && (datadir_check(dir, err, sizeof(err)) ||
				  datadir_lock(dir, &lock, err, sizeof(err)))) {
		fprintf(stderr, "relaisd : %s\n", err);
		goto out;
	}
	if (store_open(dir, &st, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		goto out;
	}
	if (created && demo_populate(st, token, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		goto out;
	}
	if (demo && !created)
		fprintf(stderr, "La base de « %s » existe déjà : pas de nouvelles données de "
			"démonstration (le jeton a été affiché à sa création).\n", dir);
	rgpd_at_start(st);
	tune_for_load();
	if (uv_loop_init(&s.loop)) {
		fprintf(stderr, "relaisd : impossible de démarrer la boucle d'événements.\n");
		goto out;
	}
	loop_ok = 1;
	/* Each connection costs a descriptor: take all the system allows, and
	 * cap connections below it so that the store and a newcomer always
	 * find one. */
	unsigned long nofile = 1024, nofile_max = 1024;
	if (util_raise_nofile(&nofile, &nofile_max))
		fprintf(stderr, "relaisd : limite de fichiers ouverts illisible, 1024 supposée.\n");
	struct http_server_config cfg = {
		.idle_timeout_ms = (unsigned)(idle * 1000), .quiet = quiet,
		.head_timeout_ms = conf.security.delai_entete * 1000,
		.body_timeout_ms = conf.security.delai_corps * 1000,
		.max_conns_per_addr = conf.security.connexions_par_adresse
					      ? conf.security.connexions_par_adresse
					      : HTTP_MAX_CONNS_PER_ADDR,
		.max_conns = http_conns_for_fds(nofile),
	};
	fprintf(stderr, "Fichiers ouverts : %lu (plafond du système : %lu) ; connexions : %u au "
		"plus, %u par adresse.\n", nofile, nofile_max, cfg.max_conns, cfg.max_conns_per_addr);
	if (http_server_new(&s.loop, &cfg, &s.http) || api_new(&s.loop, st, s.http, &api)) {
		fprintf(stderr, "relaisd : mémoire insuffisante.\n");
		goto out;
	}
	api_set_security(api, &conf.security);
	int lrc = http_server_listen(s.http, host, port, &bound);
	if (lrc) {
		fprintf(stderr, "relaisd : impossible d'écouter sur %s : %s.\n", listen,
			lrc == RELAIS_EINVAL ? "adresse invalide (IPv4 attendue)"
					     : "port occupé ou interdit");
		goto out;
	}
	if (port_file && write_port_file(port_file, bound)) {
		fprintf(stderr, "relaisd : impossible d'écrire le port dans « %s ».\n", port_file);
		goto out;
	}
	uv_signal_init(&s.loop, &s.sigterm);
	uv_signal_init(&s.loop, &s.sigint);
	s.sigterm.data = s.sigint.data = &s;
	uv_signal_start(&s.sigterm, on_signal, SIGTERM);
	uv_signal_start(&s.sigint, on_signal, SIGINT);
	if ((conf.mail.enabled || conf.digest.enabled) && mailgw_smtp_global_init()) {
		fprintf(stderr, "relaisd : impossible d'initialiser l'envoi de courrier.\n");
		goto out;
	}
	if (conf.digest.enabled) {
		if (digest_start(st, &conf.digest, &clk, &s.digest, err, sizeof(err))) {
			fprintf(stderr, "relaisd : %s\n", err);
			goto out;
		}
		fprintf(stderr, "Synthèse Caf activée (département %s, fuseau %s).\n",
			conf.digest.departement, conf.digest.fuseau);
	}
	if (conf.mail.enabled) {
		if (mail_gateway_start(st, &conf.mail, &s.mail, err, sizeof(err))) {
			fprintf(stderr, "relaisd : %s\n", err);
			goto out;
		}
		fprintf(stderr, "Passerelle courrier démarrée (département %s, %s).\n",
			conf.mail.departement, conf.mail.imap_hote);
	}

	if (created) {
		printf("Jeton du compte %s : %s\n", DEMO_LOGIN, token);
		printf("Pour commencer, tapez :\n");
		char client[PATH_MAX];
		client_path(client, sizeof(client));
		printf("%s --dossier ./relais-demo init --serveur http://%s:%d --jeton %s\n",
		       client, host, bound, token);
		fflush(stdout);
	}
	fprintf(stderr, "relaisd %s à l'écoute sur http://%s:%d (données : %s)\n", RELAIS_VERSION,
		host, bound, dir);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	fprintf(stderr, "relaisd arrêté.\n");
	rc = 0;
out:
	/* Joined before the store closes: the thread writes through it. */
	mail_gateway_stop(s.mail);
	s.mail = NULL;
	digest_stop(s.digest);
	s.digest = NULL;
	if (loop_ok) {
		/* On an early failure the server and handles are still open: close
		 * them and run the loop dry so that nothing leaks. */
		if (s.http)
			http_server_close(s.http, NULL, NULL);
		uv_walk(&s.loop, close_walk, NULL);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&s.loop))
			rc = 1;
	}
	api_free(api);
	store_close(st);
	datadir_unlock(lock);
	config_free(&conf);
	memset(token, 0, sizeof(token));
	return rc;
}

/* ---- backup, restore ---- */

static void print_summary(const struct backup_summary *sum)
{
	printf("  taille : %lld octet%s ; schéma %d ; %lld ligne%s ; %lld compte%s ; "
	       "séquence %lld\n", sum->bytes, util_pluriel(sum->bytes), sum->schema, sum->rows,
	       sum->rows > 1 ? "s" : "",
	       sum->accounts, sum->accounts > 1 ? "s" : "", sum->seq);
}

static int cmd_backup(int argc, char **argv)
{
	const char *data = NULL, *to = NULL;
	const struct option opts[] = {
		OPT_DATA(&data),
		OPT_STRING_F(0, "vers", &to, "FICHIER", "fichier de sauvegarde à écrire",
			     OPTION_REQUIRED | OPTION_NONEMPTY),
		OPT_END(),
	};
	const struct options_cmd c = {
		&prog, "sauvegarde", "--donnees DOSSIER --vers FICHIER",
		"Copie la base DOSSIER/relais.db dans FICHIER (droits 0600), même pendant\n"
		"que relaisd sert ce dossier : la copie contient tout ce qui était validé\n"
		"quand elle a commencé. FICHIER n'apparaît qu'une fois complet et vérifié\n"
		"(PRAGMA integrity_check) ; un FICHIER existant est remplacé.\n", opts, NULL, 0, 0,
		NULL,
	};
	struct backup_summary sum;
	char err[1024];
	int rc = options_parse_cmd(&c, argc, argv, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (datadir_check(data, err, sizeof(err)) ||
	    backup_run(data, to, &sum, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		return 1;
	}
	printf("Sauvegarde de « %s » écrite dans « %s » (droits 0600), intégrité vérifiée.\n",
	       data, to);
	print_summary(&sum);
	return 0;
}

static int cmd_restore(int argc, char **argv)
{
	const char *from = NULL, *data = NULL;
	int force = 0;
	const struct option opts[] = {
		OPT_STRING_F(0, "depuis", &from, "FICHIER", "sauvegarde faite par « relaisd sauvegarde »",
			     OPTION_REQUIRED | OPTION_NONEMPTY),
		OPT_DATA(&data),
		OPT_FLAG(0, "forcer", &force, "remplace la base existante (son contenu est perdu)"),
		OPT_END(),
	};
	const struct options_cmd c = {
		&prog, "restauration", "--depuis FICHIER --donnees DOSSIER [--forcer]",
		"Vérifie la sauvegarde FICHIER (intégrité, schéma) puis l'installe comme\n"
		"base de DOSSIER (créé en 0700 au besoin). Refuse tant qu'un relaisd sert\n"
		"DOSSIER, et refuse de remplacer une base existante sans --force.\n"
		"\n"
		"Ce qui a été validé après la sauvegarde n'est plus sur le serveur, mais les\n"
		"réplicas qui l'ont reçu le gardent : ils seront refusés à leur prochaine\n"
		"synchronisation, avec la marche à suivre (« relais sync --help »).\n"
		"Les comptes aussi reviennent à la sauvegarde : refaites les suppressions et\n"
		"les remplacements de jetons faits depuis (« relaisd compte --help »).\n", opts, NULL, 0,
		0, NULL,
	};
	struct backup_summary sum;
	char err[1024];
	int rc = options_parse_cmd(&c, argc, argv, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (backup_restore(from, data, force, &sum, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		return 1;
	}
	printf("Sauvegarde « %s » vérifiée et installée dans « %s ».\n", from,
	       data);
	print_summary(&sum);
	if (sum.accounts)
		printf("Les comptes sont ceux de la sauvegarde : un compte supprimé ou un jeton "
		       "remplacé depuis est revenu. Vérifiez avec « relaisd compte liste --donnees %s » "
		       "et refaites « relaisd compte supprimer » ou « relaisd compte jeton ».\n", data);
	if (sum.schema < MODEL_SCHEMA_VERSION)
		printf("Elle est au schéma %d : lancez « relaisd init --donnees %s » pour la mettre à "
		       "jour avant de la servir.\n", sum.schema, data);
	return 0;
}

/* ---- digest preview ---- */

/* The digest as its reader sees it: decoded headers, the text part, each
 * attachment's name and content (a CSV's rows). 0, or 1 after a message. */
static int print_as_read(const struct buf *msg)
{
	struct mailgw_mime_limits lim;
	struct mailgw_mime_msg *m = NULL;
	mailgw_mime_limits_default(&lim);
	if (mailgw_mime_parse(msg->data, msg->len, &lim, &m) || !m) {
		fprintf(stderr, "relaisd : la synthèse construite ne se relit pas ; voir --brut.\n");
		mailgw_mime_free(m);
		return 1;
	}
	const char *to = strstr(buf_str(msg), "\nTo: ");
	printf("De : %s%s%s%s\n", m->from_name && *m->from_name ? m->from_name : "",
	       m->from_name && *m->from_name ? " <" : "", m->from_addr ? m->from_addr : "",
	       m->from_name && *m->from_name ? ">" : "");
	if (to)
		printf("À : %.*s\n", (int)strcspn(to + 5, "\r\n"), to + 5);
	printf("Objet : %s\nDate : %s\n\n%s\n", m->subject ? m->subject : "",
	       m->date ? m->date : "", m->body ? m->body : "");
	for (size_t i = 0; i < m->n_attachments; i++) {
		const struct mailgw_attachment *a = &m->attachments[i];
		printf("\n— Pièce jointe : %s (%s, %zu octet%s)\n", a->filename && *a->filename ?
		       a->filename : "sans nom", a->mime_type ? a->mime_type : "?", a->len,
		       util_pluriel((long long)a->len));
		if (a->mime_type && (!strcmp(a->mime_type, "text/csv") || !strncmp(a->mime_type, "text/", 5))) {
			const unsigned char *p = a->data;
			size_t n = a->len;
			if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
				p += 3, n -= 3; /* the BOM spreadsheets want */
			for (size_t k = 0; k < n; k++)
				if (p[k] != '\r')
					putchar(p[k]);
		}
	}
	mailgw_mime_free(m);
	return fflush(stdout) ? 1 : 0;
}

static int digest_preview(int argc, char **argv)
{
	const char *data = NULL, *dept = NULL, *config = NULL, *horloge_opt = NULL;
	int raw = 0;
	const struct option opts[] = {
		OPT_DATA(&data),
		OPT_STRING_F(0, "departement", &dept, "CODE", "département", OPTION_REQUIRED | OPTION_NONEMPTY),
		OPT_STRING(0, "config", &config, "FICHIER",
			   "fichier de configuration (par défaut DOSSIER/relaisd.conf\n"
			   "s'il existe) : destinataires, jour, heure, fuseau"),
		OPT_STRING(0, "horloge", &horloge_opt, "DATE", "AAAA-MM-JJTHH:MM:SSZ au lieu de maintenant"),
		OPT_FLAG(0, "brut", &raw, "le message tel qu'il part (RFC 5322, corps encodés)"),
		OPT_END(),
	};
	const struct options_cmd c = {
		&prog, "synthese apercu", "--donnees DOSSIER --departement CODE [--config FICHIER] [--brut]",
		"Affiche la synthèse de la dernière semaine échue telle que la référente Caf\n"
		"la lit (en-têtes, texte, nom et lignes de la pièce jointe), sans l'envoyer ni\n"
		"rien marquer comme transmis ; --brut donne le message tel qu'il part.\n", opts, NULL,
		0, 0, NULL,
	};
	struct config conf;
	struct config_digest dc;
	struct buf msg = BUF_INIT(DIGEST_MAX_MESSAGE);
	char err[1024];
	sqlite3 *db = NULL;
	int64_t now;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = options_parse_cmd(&c, argc, argv, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!model_dept_valid(dept)) {
		options_usage_error(&c, "département « %s » invalide", dept);
		return EXIT_USAGE;
	}
	const char *horloge = horloge_opt ? horloge_opt : getenv("RELAIS_TEST_NOW");
	now = util_now_ms();
	if (horloge && *horloge && digest_parse_time(horloge, &now)) {
		options_usage_error(&c, "horloge « %s » invalide (attendu : AAAA-MM-JJTHH:MM:SSZ)",
				    horloge);
		return EXIT_USAGE;
	}
	rc = 1;
	if (load_config(config, data, &conf))
		goto out;
	/* Without a [digest] section: Monday 08:00, Europe/Paris, as documented. */
	memset(&dc, 0, sizeof(dc));
	if (conf.digest.enabled)
		dc = conf.digest;
	else {
		dc.jour = 1;
		dc.heure = 8 * 60;
		dc.fuseau = (char *)(uintptr_t)"Europe/Paris";
		dc.adresse = (char *)(uintptr_t)"relais@localhost";
		dc.destinataires = (char *)(uintptr_t)"undisclosed-recipients:;";
	}
	dc.departement = (char *)(uintptr_t)dept;
	if (digest_set_zone(dc.fuseau))
		goto out;
	if (store_open_single(data, &db, err, sizeof(err))) {
		fprintf(stderr, "relaisd : %s\n", err);
		goto out;
	}
	int brc = digest_build(db, &dc, now, &msg, NULL);
	if (brc) {
		fprintf(stderr, "relaisd : synthèse impossible : %s.\n", relais_strerror(brc));
		goto out;
	}
	if (!raw) {
		rc = print_as_read(&msg);
		goto out;
	}
	if (fwrite(msg.data, 1, msg.len, stdout) != msg.len || fflush(stdout)) {
		fprintf(stderr, "relaisd : écriture impossible.\n");
		goto out;
	}
	rc = 0;
out:
	if (db)
		sqlite3_close(db);
	buf_release(&msg);
	config_free(&conf);
	return rc;
}

/* ---- commands ---- */

/* Every command and sub-command: the program's help and dispatch. An entry
 * without run is a group of sub-commands (its about opens its help). */
static const struct command {
	struct options_command doc;
	int (*run)(int argc, char **argv);
	const char *about;
} commands[] = {
	{ { "init", "crée ou met à jour la base de données" }, cmd_init, NULL },
	{ { "compte", "comptes du serveur (sous-commandes ci-dessous)" }, NULL,
	  "Comptes du serveur : un compte a un identifiant, un département, un rôle et\n"
	  "un jeton. Chaque changement vaut dès la requête suivante, même pour un\n"
	  "relaisd en marche.\n" },
	{ { "compte ajouter", "crée un compte et affiche son jeton" }, user_add, NULL },
	{ { "compte liste", "liste les comptes (jamais leurs jetons)" }, user_list, NULL },
	{ { "compte supprimer", "supprime un compte : son jeton est refusé" }, user_rm, NULL },
	{ { "compte jeton", "remplace le jeton d'un compte et affiche le nouveau" }, user_token, NULL },
	{ { "compte modifier", "change le département ou le rôle d'un compte" }, user_set, NULL },
	{ { "servir", "sert l'API de synchronisation" }, cmd_serve, NULL },
	{ { "sauvegarde", "sauvegarde la base, même pendant que relaisd sert" }, cmd_backup, NULL },
	{ { "restauration", "installe une sauvegarde (relaisd arrêté)" }, cmd_restore, NULL },
	{ { "synthese", "synthèse Caf (sous-commande ci-dessous)" }, NULL,
	  "La synthèse hebdomadaire envoyée au référent de la Caf.\n" },
	{ { "synthese apercu", "affiche la synthèse Caf sans l'envoyer" }, digest_preview, NULL },
};

static void list_commands(FILE *f, const char *cmd)
{
	options_list_commands(f, commands, sizeof(commands) / sizeof(commands[0]),
			      sizeof(commands[0]), cmd);
}

static const struct options_cmd main_cmd = {
	&prog, NULL, "COMMANDE [OPTIONS]",
	"Serveur de synchronisation du réseau Promeneurs du Net.\n", NULL,
	"  relaisd COMMANDE --help   aide d'une commande\n"
	"  relaisd --version         version du programme\n", 0, 0, NULL,
};

/* The words of earlier releases, still understood (scripts, units). */
static const struct options_alias english[] = {
	{ 0, NULL, "user", "compte" }, { 0, NULL, "serve", "servir" },
	{ 0, NULL, "backup", "sauvegarde" }, { 0, NULL, "restore", "restauration" },
	{ 0, NULL, "digest", "synthese" }, { 1, "synthese", "preview", "apercu" },
	{ 1, "compte", "add", "ajouter" }, { 1, "compte", "list", "liste" },
	{ 1, "compte", "rm", "supprimer" }, { 1, "compte", "token", "jeton" },
	{ 1, "compte", "set", "modifier" },
	{ -1, NULL, "--data", "--donnees" }, { -1, NULL, "--login", "--identifiant" },
	{ -1, NULL, "--dept", "--departement" }, { -1, NULL, "--listen", "--ecoute" },
	{ -1, NULL, "--port-file", "--fichier-port" }, { -1, NULL, "--idle-timeout", "--inactivite" },
	{ -1, NULL, "--quiet", "--silencieux" }, { -1, NULL, "--to", "--vers" },
	{ -1, NULL, "--from", "--depuis" }, { -1, NULL, "--force", "--forcer" },
};

int main(int argc, char **argv)
{
	/* Before anything else: this may be the mail gateway's MIME worker. */
	mailgw_sandbox_main(argc, argv);
	/* A peer that hangs up mid-answer must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	/* SQLite's memory statistics take one process-wide mutex on every
	 * allocation: the pool threads would queue on it. Nothing reads them. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		options_help(stderr, &main_cmd);
		return EXIT_USAGE;
	}
	options_translate(argc - 1, argv + 1, english, sizeof(english) / sizeof(english[0]));
	const char *word = argv[1];
	if (!strcmp(word, "--help") || !strcmp(word, "-h") || !strcmp(word, "help")) {
		options_help(stdout, &main_cmd);
		return 0;
	}
	if (!strcmp(word, "--version")) {
		printf("relaisd %s (schéma %d)\n", RELAIS_VERSION, MODEL_SCHEMA_VERSION);
		return 0;
	}
	int words;
	const struct command *c = options_find_command(
		commands, sizeof(commands) / sizeof(commands[0]), sizeof(commands[0]), argc - 1,
		argv + 1, &words);
	if (!c) {
		fprintf(stderr, "relaisd : commande inconnue « %s » (voir relaisd --help).\n", word);
		return EXIT_USAGE;
	}
	if (c->run)
		return c->run(argc - 1 - words, argv + 1 + words);
	/* A group: its help, or which sub-command is missing. */
	const struct options_cmd group = {
		&prog, c->doc.name, "SOUS-COMMANDE [OPTIONS]", c->about, NULL,
		"  relaisd COMMANDE SOUS-COMMANDE --help   aide d'une sous-commande\n", 0, 0, NULL,
	};
	return options_group(&group, argc - 1 - words, argv + 1 + words);
}
