/*
 * test-e2e-paths.c - commands that create a folder or a file make the
 * folders missing above it, or say in French which one cannot be made.
 */
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "harness.h"
#include "test.h"

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static struct h_out *relaisd(const char *a, const char *b, const char *c, const char *d,
			     const char *e)
{
	char *argv[] = { (char *)h_bin("relaisd"), (char *)a, (char *)b, (char *)c, (char *)d,
			 (char *)e, NULL };
	return h_runv(argv, H_TIMEOUT_MS);
}

TEST(e2e_paths_missing_folders_are_made)
{
	struct h_daemon d;
	char tok[H_TOKEN];
	h_setup();
	/* The server's data under folders that do not exist yet. */
	const char *data = h_path("srv/relais/data");
	struct h_out *o = relaisd("init", "--data", data, NULL, NULL);
	CHECK_INT(o->status, 0);
	CHECK(is_dir(data));
	CHECK(h_daemon_init(&d, "serveur") == 0);
	CHECK(h_daemon_user(&d, "coord", "65", "coordinateur", tok) == 0);
	CHECK(h_daemon_serve(&d) == 0);
	/* A replica in a home whose parents are missing. */
	const char *home = h_path("Documents/relais/65");
	CHECK(h_relais_ok(home, "init", "--server", d.url, "--token", tok, (char *)NULL) != NULL);
	CHECK(is_file(h_strf("%s/replica.db", home)));
	CHECK(h_relais_ok(home, "promeneur", "add", "--prenom", "Léa", "--nom", "Martin", "--email",
			  "lea@example.org", "--structure",
			  h_relais_ok(home, "structure", "add", "--nom", "MJC", "--commune", "Tarbes",
				      (char *)NULL), "--statut", "labellise", (char *)NULL) != NULL);
	/* An export and a backup into folders that do not exist yet. */
	const char *csv = h_path("exports/2026/annuaire.csv");
	CHECK(h_relais_ok(home, "export", "annuaire", "--format", "csv", "--sortie", csv, (char *)NULL) != NULL);
	CHECK(is_file(csv));
	const char *bak = h_path("sauvegardes/relais/x.db");
	o = relaisd("backup", "--data", d.data, "--to", bak);
	CHECK_INT(o->status, 0);
	CHECK(is_file(bak));
	/* A folder that cannot be made: said in French, naming it. */
	const char *blocker = h_path("fichier");
	CHECK(h_relais_ok(home, "export", "annuaire", "--format", "csv", "--sortie", blocker, (char *)NULL) != NULL);
	o = h_relais(home, "export", "annuaire", "--format", "csv", "--sortie",
		     h_strf("%s/sous/annuaire.csv", blocker), (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "n'est pas un dossier") && strstr(o->err, "fichier"));
	o = relaisd("init", "--data", h_strf("%s/data", blocker), NULL, NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "n'est pas un dossier") != NULL);
	CHECK_INT(h_daemon_stop(&d), 0);
}

/* relais ui and the commands share the replica: a command runs while the
 * interface is open, and the interface shows it on its next page; a
 * command left waiting says who holds the replica. */
TEST(e2e_paths_ui_and_commands_share_the_replica)
{
	struct h_daemon d;
	char tok[H_TOKEN];
	h_setup();
	CHECK(h_daemon_start(&d, "partage") == 0);
	CHECK(h_daemon_user(&d, "coord", "65", "coordinateur", tok) == 0);
	const char *home = h_replica(&d, "poste", tok);
	CHECK(home != NULL);
	struct h_uip u;
	struct h_http r;
	CHECK(h_uip_open(home, &u) == 0);
	CHECK(h_uip_get(&u, "/annuaire?q=Lannemezan", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "MJC de Lannemezan") == NULL);
	/* While the interface is open. */
	const char *s = h_relais_ok(home, "structure", "add", "--nom", "MJC de Lannemezan", "--commune",
				    "Lannemezan", (char *)NULL);
	CHECK(s != NULL);
	CHECK(h_uip_get(&u, "/annuaire?q=Lannemezan", &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "MJC de Lannemezan") != NULL);
	CHECK(h_uip_get(&u, h_strf("/structures/%s", s), &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK_INT(h_uip_close(&u), 0);

	/* A command that holds the replica, and another left waiting. */
	int fd = open(h_strf("%s/lock", home), O_RDWR);
	CHECK(fd >= 0);
	CHECK(flock(fd, LOCK_EX) == 0);
	FILE *who = fopen(h_strf("%s/lock.who", home), "w");
	CHECK(who != NULL);
	fputs("« relais sync » (processus 4242)\n", who);
	fclose(who);
	const char *env[] = { "RELAIS_ATTENTE_VERROU=1", NULL };
	struct h_out *o = h_relais_with(home, NULL, env, "status", (char *)NULL);
	close(fd);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "occupé par « relais sync » (processus 4242)") != NULL);
	CHECK_INT(h_daemon_stop(&d), 0);
}
