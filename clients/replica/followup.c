/*
 * followup.c - the to-do list of the coordinator's follow-up work
 * (followup.h), read from the replica for "relais suivi" and the home page
 * of relais ui.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "followup.h"
#include "replica.h"

/* How far ahead the end of a Caf convention is announced. */
#define CONVENTION_NOTICE "+60 days"

/* What each section's SQL takes and gives is said in followup.h. */
const struct followup_section followup_sections[] = {
	{ "bilans_manquants", "Structures sans bilan pour %s", "relais relance bilans --annee",
	  "SELECT s.id AS structure, s.nom AS nom, s.commune AS commune, ?2 AS annee, "
	  "s.nom || ' (' || s.commune || ')' || CASE WHEN EXISTS (SELECT 1 FROM bilan b "
	  "WHERE b.structure = s.id AND b.annee = ?2 AND b.periode = 'semestre1') "
	  "THEN ' : bilan intermédiaire (1er semestre) reçu, bilan annuel ou du 2e semestre attendu' ELSE '' END "
	  "AS libelle FROM structure s WHERE " FOLLOWUP_OWES_BILAN_SQL
	  " ORDER BY s.nom, s.id" },
	{ "formation", "Promeneurs labellisés sans formation initiale ou aux règles du profil "
	  "non vérifiées", NULL,
	  "SELECT p.id AS promeneur, p.prenom AS prenom, p.nom AS nom, "
	  "coalesce(p.formation_initiale, 0) AS formation_initiale, "
	  "coalesce(p.regles_profil, 0) AS regles_profil, "
	  "p.prenom || ' ' || p.nom || ' (' || coalesce(s.nom, p.structure) || ') : ' || "
	  "CASE WHEN coalesce(p.formation_initiale, 0) = 0 AND coalesce(p.regles_profil, 0) = 0 "
	  "THEN 'formation initiale non suivie, règles du profil non vérifiées' "
	  "WHEN coalesce(p.formation_initiale, 0) = 0 THEN 'formation initiale non suivie' "
	  "ELSE 'règles du profil non vérifiées' END AS libelle "
	  "FROM promeneur p LEFT JOIN structure s ON s.id = p.structure "
	  "WHERE p.statut = 'labellise' AND (coalesce(p.formation_initiale, 0) = 0 "
	  "OR coalesce(p.regles_profil, 0) = 0) ORDER BY p.nom, p.prenom, p.id" },
	{ "conventions", "Conventions Caf terminées ou se terminant dans les 60 jours", NULL,
	  "SELECT id AS structure, nom, convention_fin, "
	  "CASE WHEN convention_fin < ?1 THEN 'terminee' ELSE 'bientot' END AS etat, "
	  "nom || ' (' || commune || ') : ' || CASE WHEN convention_fin < ?1 "
	  "THEN 'terminée le ' ELSE 'se termine le ' END || convention_fin AS libelle "
	  "FROM structure WHERE convention_fin IS NOT NULL "
	  "AND convention_fin <= date(?1, '" CONVENTION_NOTICE "') "
	  "AND coalesce(convention_statut, '') NOT IN ('expiree', 'resiliee') "
	  "ORDER BY convention_fin, nom, id" },
	{ "chartes", "Signatures de charte manquantes", NULL,
	  "SELECT s.id AS structure, s.nom AS nom, "
	  "s.charte_nationale IS NULL AS nationale_manquante, "
	  "s.charte_departementale IS NULL AS departementale_manquante, "
	  "s.nom || ' (' || s.commune || ') : ' || CASE WHEN s.charte_nationale IS NULL "
	  "AND s.charte_departementale IS NULL THEN 'chartes nationale et départementale non signées' "
	  "WHEN s.charte_nationale IS NULL THEN 'charte nationale non signée' "
	  "ELSE 'charte départementale non signée' END AS libelle FROM structure s "
	  "WHERE (s.charte_nationale IS NULL OR s.charte_departementale IS NULL) "
	  "AND (EXISTS (SELECT 1 FROM promeneur p WHERE p.structure = s.id "
	  "AND p.statut = 'labellise') OR EXISTS (SELECT 1 FROM candidature c "
	  "WHERE c.structure = s.id AND coalesce(c.decision, 'en_attente') = 'en_attente')) "
	  "ORDER BY s.nom, s.id" },
	{ "candidatures", "Candidatures en attente de décision", "relais candidature decider",
	  "SELECT c.id AS candidature, c.structure AS structure, c.promeneur AS promeneur, "
	  "c.date_depot AS date_depot, coalesce(s.nom, c.structure) || "
	  "coalesce(' — ' || p.prenom || ' ' || p.nom, '') || "
	  "coalesce(', déposée le ' || c.date_depot, '') AS libelle FROM candidature c "
	  "LEFT JOIN structure s ON s.id = c.structure LEFT JOIN promeneur p ON p.id = c.promeneur "
	  "WHERE coalesce(c.decision, 'en_attente') = 'en_attente' "
	  "ORDER BY c.date_depot, c.id" },
	{ "demandes", "Demandes ouvertes", "relais demande",
	  "SELECT r.id AS demande, r.promeneur AS promeneur, r.structure AS structure, "
	  "r.contact AS contact, r.sujet AS sujet, r.date_demande AS date_demande, "
	  "coalesce(r.date_demande || ' ', '') || coalesce(p.prenom || ' ' || p.nom || ' : ', "
	  "coalesce(c.prenom || ' ', '') || c.nom || coalesce(' (' || pa.nom || ')', '') || ' : ', "
	  "s.nom || ' : ', '') || '[' || CASE r.sujet WHEN 'juridique' THEN 'juridique' "
	  "WHEN 'technique' THEN 'technique' WHEN 'posture' THEN 'posture' "
	  "WHEN 'orientation_detresse' THEN 'orientation (détresse)' ELSE 'autre' END || '] ' || "
	  "replace(substr(r.question, 1, 120), char(10), ' ') || "
	  "coalesce(' — orientée vers ' || rs.nom, '') AS libelle FROM request r "
	  "LEFT JOIN promeneur p ON p.id = r.promeneur LEFT JOIN structure s ON s.id = r.structure "
	  "LEFT JOIN contact c ON c.id = r.contact LEFT JOIN partenaire pa ON pa.id = c.partenaire "
	  "LEFT JOIN resource rs ON rs.id = r.ressource "
	  "WHERE coalesce(r.statut, 'ouverte') = 'ouverte' ORDER BY r.date_demande, r.id" },
	{ "taches", "Tâches à faire", "relais tache faite",
	  "SELECT t.id AS tache, t.echeance AS echeance, t.promeneur AS promeneur, "
	  "coalesce('pour le ' || t.echeance || ' : ', '') || t.libelle || "
	  "coalesce(' — ' || p.prenom || ' ' || p.nom, '') || "
	  "CASE WHEN t.echeance < ?1 THEN ' (en retard)' ELSE '' END AS libelle FROM task t "
	  "LEFT JOIN promeneur p ON p.id = t.promeneur WHERE coalesce(t.faite, 0) = 0 "
	  "ORDER BY t.echeance IS NULL, t.echeance, t.id" },
	{ "procedures", "Procédures en cours", "relais procedure",
	  "SELECT pr.id AS procedure, pr.promeneur AS promeneur, pr.nature AS nature, "
	  "coalesce(pr.etape, 'signalement') AS etape, p.prenom || ' ' || p.nom || ' : ' || "
	  "CASE WHEN pr.nature = 'suspension' THEN 'suspendu depuis le ' || "
	  "coalesce(pr.date_debut, '?') || coalesce(', jusqu''au ' || pr.date_fin, '') || "
	  "' (relais promeneur retablir)' "
	  "WHEN pr.etape = 'retrait' THEN 'délabellisé le ' || coalesce(pr.date_decision, '?') || "
	  "', retrait en cours (relais tache faite)' "
	  "WHEN pr.date_information_caf IS NULL THEN 'problème signalé le ' || "
	  "coalesce(pr.date_signalement, '?') || ', référent Caf à informer (relais procedure caf)' "
	  "WHEN pr.mesures IS NULL THEN 'référent Caf informé le ' || pr.date_information_caf || "
	  "', mesures d''accompagnement à convenir (relais procedure mesures)' "
	  "ELSE 'accompagnement en cours, décision à prendre avec la Caf (relais procedure "
	  "decider)' END AS libelle FROM procedure pr JOIN promeneur p ON p.id = pr.promeneur "
	  "WHERE coalesce(pr.etape, 'signalement') <> 'terminee' "
	  "ORDER BY pr.date_signalement, pr.id" },
	{ "bilans_individuels", "Bilans individuels à faire (aucun depuis un an)",
	  "relais evenement ajouter --type bilan_individuel",
	  "SELECT id AS promeneur, dernier, nom || CASE WHEN dernier IS NULL "
	  "THEN ' : aucun bilan individuel' ELSE ' : dernier bilan individuel le ' || dernier END "
	  "AS libelle FROM (SELECT p.id, p.date_labellisation, p.prenom || ' ' || p.nom || "
	  "coalesce(' (' || s.nom || ')', '') AS nom, (SELECT max(e.date) FROM attendance a "
	  "JOIN event e ON e.id = a.event WHERE a.promeneur = p.id AND e.type = 'bilan_individuel' "
	  "AND coalesce(a.presence_effective, 1) = 1 AND e.date <= ?1) AS dernier "
	  "FROM promeneur p LEFT JOIN structure s ON s.id = p.structure "
	  "WHERE p.statut = 'labellise') "
	  "WHERE coalesce(dernier, date_labellisation, '0000-00-00') <= date(?1, '-1 year') "
	  "ORDER BY dernier IS NOT NULL, dernier, nom, id" },
	/* The targets of the seeds (docs/annee-coordination.md): two
	 * departmental meetings and about three regroupements a year, an
	 * inter-structure meeting every quarter, 2 to 3 hours a week online. */
	{ "objectifs", "Objectifs de l'année non tenus", NULL,
	  "WITH y(an) AS (SELECT strftime('%Y', ?1)), "
	  "q(n) AS (VALUES (1), (2), (3), (4)) "
	  "SELECT 'reunions_departementales' AS objectif, "
	  "'Réunions départementales : ' || (SELECT count(*) FROM event, y WHERE "
	  "type = 'reunion_departementale' AND substr(date, 1, 4) = y.an) || "
	  "' prévue(s) ou tenue(s) cette année, pour 2 par an' AS libelle "
	  "WHERE (SELECT count(*) FROM event, y WHERE type = 'reunion_departementale' "
	  "AND substr(date, 1, 4) = y.an) < 2 "
	  "UNION ALL SELECT 'regroupements', 'Journées de regroupement : ' || "
	  "(SELECT count(*) FROM event, y WHERE type = 'regroupement' AND substr(date, 1, 4) = y.an) "
	  "|| ' cette année, pour environ 3 par an' WHERE (SELECT count(*) FROM event, y "
	  "WHERE type = 'regroupement' AND substr(date, 1, 4) = y.an) < 3 "
	  "UNION ALL SELECT 'inter_structures', 'Aucune réunion inter-structures au ' || "
	  "CASE q.n WHEN 1 THEN '1er' ELSE q.n || 'e' END || ' trimestre' FROM q, y "
	  "WHERE q.n < (CAST(strftime('%m', ?1) AS INTEGER) + 2) / 3 AND NOT EXISTS "
	  "(SELECT 1 FROM event WHERE type = 'reunion_inter_structures' AND substr(date, 1, 4) = y.an "
	  "AND (CAST(substr(date, 6, 2) AS INTEGER) + 2) / 3 = q.n) "
	  "UNION ALL SELECT 'heures_en_ligne', p.prenom || ' ' || p.nom || ' : ' || p.heures_hebdo || "
	  "' h en ligne par semaine (2 à 3 h au minimum)' FROM promeneur p "
	  "WHERE p.statut = 'labellise' AND p.heures_hebdo IS NOT NULL AND p.heures_hebdo < 2" },
	{ "courriers", "Courriels en quarantaine à traiter", "relais courrier",
	  "SELECT id AS courrier, expediteur, sujet, recu_le, "
	  "coalesce(recu_le || ' ', '') || coalesce(expediteur, '?') || ' : ' || "
	  "coalesce(sujet, '(sans objet)') AS libelle FROM inbound_mail "
	  "WHERE resultat = 'quarantaine' AND (traitement IS NULL OR traitement = 'a_traiter') "
	  "ORDER BY recu_le DESC, id" },
	{ "conflits", "Conflits de synchronisation à trancher", "relais conflits",
	  "SELECT id AS conflit, tbl AS \"table\", row_id AS ligne, col AS colonne, "
	  "kind AS nature, NULL AS libelle FROM " SYNC_CONFLICT_TABLE
	  " WHERE resolution IS NULL ORDER BY created_hlc, id" },
};
const size_t followup_nsections = sizeof(followup_sections) / sizeof(followup_sections[0]);

/* The line of a conflict, in the words of the model. */
static char *conflict_line(sqlite3_stmt *st)
{
	const char *tbl = (const char *)sqlite3_column_text(st, 1);
	const char *row = (const char *)sqlite3_column_text(st, 2);
	const char *col = (const char *)sqlite3_column_text(st, 3);
	const char *kind = (const char *)sqlite3_column_text(st, 4);
	const struct model_table *t = model_table_by_name(tbl);
	const struct model_column *c = model_column_by_name(t, col);
	struct buf b = BUF_INIT(4096);
	int e = buf_printf(&b, "%s %s : ", t ? t->label : (tbl ? tbl : "?"), row ? row : "?");
	if (!e && kind && !strcmp(kind, "suppression"))
		e = buf_puts(&b, "supprimé d'un côté, modifié de l'autre");
	else if (!e)
		e = buf_printf(&b, "« %s » modifié des deux côtés", c ? c->label : (col ? col : "?"));
	if (e) {
		buf_release(&b);
		return NULL;
	}
	return (char *)buf_detach(&b, NULL);
}

/* Runs section k and appends its rows (with "libelle" filled) to arr. */
static int section_rows(sqlite3 *db, size_t k, const char *day, long long year, json_t *arr)
{
	char first[32], last[32];
	sqlite3_stmt *st = NULL;
	int s = SQLITE_DONE;
	snprintf(first, sizeof(first), "%04lld-01-01", year);
	snprintf(last, sizeof(last), "%04lld-12-31", year);
	int e = replica_prepare(db, &st, followup_sections[k].sql, "titt", day, year, first, last);
	while (!e && (s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = replica_row_json(st);
		if (!row || json_array_append_new(arr, row)) {
			e = RELAIS_ENOMEM;
			break;
		}
		if (!strcmp(followup_sections[k].key, "conflits")) {
			char *line = conflict_line(st);
			if (!line || json_object_set_new(row, "libelle", json_string(line)))
				e = RELAIS_ENOMEM;
			free(line);
		} else if (json_is_string(json_object_get(row, "libelle"))) {
			/* Lines are read by people: their dates in words. */
			const char *line = json_string_value(json_object_get(row, "libelle"));
			size_t len = strlen(line) * 2 + 64;
			char *fr = malloc(len);
			if (!fr || json_object_set_new(row, "libelle",
						       json_string(util_dates_fr(line, fr, len))))
				e = RELAIS_ENOMEM;
			free(fr);
		}
	}
	if (!e && s != SQLITE_DONE)
		e = relais_sqlite_error(s);
	sqlite3_finalize(st);
	return e;
}

int followup_suivi(sqlite3 *db, const char *day, json_t **out)
{
	char now[REPLICA_DATE_LEN + 1], year_s[8];
	long long year;
	json_t *o = NULL, *arr;
	int e = 0;

	if (!day) {
		replica_today(now);
		day = now;
	}
	/* The last full period of the bilans: the previous calendar year. */
	snprintf(year_s, sizeof(year_s), "%.4s", day);
	if (util_parse_ll(year_s, 1900, 2100, &year))
		return RELAIS_EINVAL;
	year--;
	/* One read transaction: the sections agree with each other. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	if (!(o = json_object()) || json_object_set_new(o, "date", json_string(day)) ||
	    json_object_set_new(o, "annee_bilans", json_integer(year)))
		e = RELAIS_ENOMEM;
	for (size_t k = 0; k < followup_nsections && !e; k++) {
		if (!(arr = json_array()) || json_object_set_new(o, followup_sections[k].key, arr)) {
			e = RELAIS_ENOMEM;
			break;
		}
		e = section_rows(db, k, day, year, arr);
	}
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (e) {
		json_decref(o);
		return e;
	}
	*out = o;
	return 0;
}
