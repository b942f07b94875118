/*
 * tables.c - the descriptions of the replicated tables and their look-ups.
 *
 * Every column below follows the generated "id" and "dept". Enumerations use
 * ASCII lower-case canonical spellings with underscores, so that they read
 * the same in SQL, in exports and on a command line; model_check_value()
 * forgives case, accents and spacing when a person types them.
 */
#include <string.h>
#include "model.h"

/* A column's since is left 0 ("with its table"); columns added to an older
 * table later say .since (see AT). */
#define COL(n, k, l, f) .name = (n), .kind = (k), .label = (l), .flags = (f)

#define C_TEXT(n, l, f)             { COL(n, MODEL_TEXT, l, f) }
#define C_DATE(n, l, f)             { COL(n, MODEL_DATE, l, f) }
#define C_EMAIL(n, l, f)            { COL(n, MODEL_EMAIL, l, f) }
#define C_PHONE(n, l, f)            { COL(n, MODEL_PHONE, l, f) }
#define C_URL(n, l, f)              { COL(n, MODEL_URL, l, f) }
#define C_INT(n, l, lo, hi, f, d)   { COL(n, MODEL_INT, l, f), .min = (lo), .max = (hi), .def = (d) }
#define C_BOOL(n, l, f, d)          { COL(n, MODEL_BOOL, l, f), .min = 0, .max = 1, .def = (d) }
#define C_ENUM(n, l, v, f, d)       { COL(n, MODEL_ENUM, l, f), .values = (v), .def = (d) }
#define C_REF(n, l, r, f)           { COL(n, MODEL_REF, l, f), .ref = (r) }
/* An enumeration whose list grew at schema version w (before: the old list). */
#define C_ENUM_WIDENED(n, l, v, before, w, f, d) \
	{ COL(n, MODEL_ENUM, l, f), .values = (v), .def = (d), .widened = (w), .values_before = (before) }
/* A column added to an existing table at schema version s. */
#define AT(s) .since = (s)

#define REQ MODEL_REQUIRED
#define PERS MODEL_PERSONAL
#define LIST MODEL_LISTED
#define SRV MODEL_SERVER
#define MULTI MODEL_MULTILINE

/* Counters of a bilan: generous, but a typo of three extra zeros is caught. */
#define COUNT_MAX 1000000

/* ---- enumerations ---- */

static const char *const structure_types[] = {
	"centre_social", "mjc", "pij", "mission_locale", "fjt", "mda", "ime",
	"etablissement_scolaire", "collectivite", "association", "autre", NULL
};
static const char *const convention_statuts[] = {
	"aucune", "en_preparation", "signee", "expiree", "resiliee", NULL
};
static const char *const publics[] = { "jeunesse", "parentalite", NULL };
static const char *const promeneur_statuts_v2[] = {
	"candidat", "labellise", "suspendu", "delabellise", NULL
};
/* Schema 3: a candidate the comité refused is no longer a candidate. */
static const char *const promeneur_statuts[] = {
	"candidat", "labellise", "suspendu", "delabellise", "non_retenu", NULL
};
static const char *const reseaux[] = {
	"facebook", "instagram", "snapchat", "tiktok", "discord", "x", "youtube",
	"twitch", "whatsapp", "linkedin", "autre", NULL
};
static const char *const decisions[] = {
	"en_attente", "acceptee", "refusee", "ajournee", NULL
};
static const char *const periodes[] = { "annee", "semestre1", "semestre2", NULL };
static const char *const event_types_v2[] = {
	"comite_pilotage", "comite_technique", "comite_financeurs",
	"reunion_departementale", "regroupement", "formation_initiale",
	"formation_thematique", "echange_pratiques", "reunion_inter_structures", NULL
};
static const char *const event_types[] = {
	"comite_pilotage", "comite_technique", "comite_financeurs",
	"reunion_departementale", "regroupement", "formation_initiale",
	"formation_thematique", "echange_pratiques", "reunion_inter_structures",
	"journee_nationale", "reunion_regionale", "reunion_interdepartementale",
	"reunion_caf", "colloque", "bilan_individuel", NULL
};
static const char *const mail_resultats[] = {
	"en_cours", "enregistre", "rejete", "quarantaine", "ignore", NULL
};
static const char *const mail_types[] = { "candidature", "bilan", "inconnu", NULL };
static const char *const mail_reponses[] = { "aucune", "a_envoyer", "envoyee", NULL };
static const char *const mail_traitements[] = { "a_traiter", "rattache", "classe", NULL };
static const char *const sujets[] = {
	"juridique", "technique", "posture", "orientation_detresse", "autre", NULL
};
static const char *const request_statuts[] = { "ouverte", "traitee", NULL };
static const char *const changement_natures_v2[] = { "ajout", "modification", "retrait", NULL };
static const char *const changement_natures[] = {
	"ajout", "modification", "suspension", "reprise", "retrait", NULL
};
static const char *const procedure_natures[] = { "delabellisation", "suspension", NULL };
static const char *const procedure_etapes[] = {
	"signalement", "accompagnement", "decision", "retrait", "terminee", NULL
};
static const char *const procedure_decisions[] = {
	"maintien", "suspension", "delabellisation", NULL
};
static const char *const partenaire_types[] = {
	"departement", "sdjes", "education_nationale", "caf", "msa", "collectivite",
	"association", "structure", "autre", NULL
};
static const char *const partenaire_relations[] = { "partenaire", "prospect", NULL };
static const char *const besoin_statuts[] = { "exprime", "planifie", "satisfait", NULL };
static const char *const relance_objets[] = { "bilan", NULL };
static const char *const relance_statuts[] = { "a_envoyer", "envoyee", NULL };

/* ---- tables ---- */

static const struct model_column structure_cols[] = {
	C_TEXT("nom", "Nom", REQ | LIST),
	C_ENUM("type", "Type de structure", structure_types, 0, NULL),
	C_TEXT("commune", "Commune", REQ | LIST),
	C_TEXT("adresse", "Adresse", 0),
	C_TEXT("code_postal", "Code postal", MODEL_POSTCODE),
	C_EMAIL("email", "Courriel", 0),
	C_PHONE("telephone", "Téléphone", 0),
	C_URL("site_web", "Site web", 0),
	C_TEXT("referent", "Personne référente", PERS),
	C_DATE("convention_debut", "Début de la convention Caf", 0),
	C_DATE("convention_fin", "Fin de la convention Caf", 0),
	C_ENUM("convention_statut", "Statut de la convention Caf", convention_statuts, 0, NULL),
	C_DATE("charte_nationale", "Signature de la charte nationale", 0),
	C_DATE("charte_departementale", "Signature de la charte départementale", 0),
	C_INT("subvention_equipement", "Subvention d'équipement (euros)", 0, COUNT_MAX, 0, NULL),
	C_TEXT("commentaire", "Commentaire", MULTI),
	/* Schema 3: the CAF's person for this structure's convention. */
	{ COL("referent_caf", MODEL_TEXT, "Référent Caf de la structure", PERS), AT(3) },
};

static const struct model_column promeneur_cols[] = {
	C_TEXT("prenom", "Prénom", REQ | LIST | PERS),
	C_TEXT("nom", "Nom", REQ | LIST | PERS),
	C_EMAIL("email", "Courriel", REQ | PERS),
	C_PHONE("telephone", "Téléphone", PERS),
	C_REF("structure", "Structure", "structure", REQ | LIST),
	C_TEXT("fonction", "Fonction", 0),
	C_ENUM("public", "Public", publics, 0, NULL),
	C_ENUM_WIDENED("statut", "Statut", promeneur_statuts, promeneur_statuts_v2, 3, LIST,
		       "'candidat'"),
	C_DATE("date_candidature", "Date de candidature", 0),
	C_DATE("date_labellisation", "Date de labellisation", 0),
	C_DATE("date_delabellisation", "Date de délabellisation", 0),
	C_TEXT("motif_delabellisation", "Motif de délabellisation", MULTI),
	C_BOOL("formation_initiale", "Formation initiale suivie", 0, "0"),
	C_BOOL("regles_profil", "Règles du profil vérifiées", 0, "0"),
	C_INT("heures_hebdo", "Heures en ligne par semaine", 0, 40, 0, NULL),
};

/* A profile name and its address name the person: personal data, erased with
 * the promeneur's own (clients/followup.c, relais rgpd effacer). */
static const struct model_column presence_cols[] = {
	C_REF("promeneur", "Promeneur", "promeneur", REQ | LIST),
	C_ENUM("reseau", "Réseau social", reseaux, REQ | LIST, NULL),
	C_TEXT("nom_profil", "Nom de profil", REQ | LIST | PERS),
	C_URL("url", "Adresse du profil", PERS),
};

static const struct model_column candidature_cols[] = {
	C_REF("structure", "Structure", "structure", REQ | LIST),
	C_REF("promeneur", "Promeneur", "promeneur", LIST),
	C_DATE("date_depot", "Date de dépôt", 0),
	C_TEXT("motivation", "Motivation", MULTI),
	/* The jury scores each criterion from 0 (absent) to 3 (fully met). */
	C_INT("pertinence", "Pertinence de la démarche (0 à 3)", 0, 3, 0, NULL),
	C_INT("adequation_projet", "Adéquation au projet de la structure (0 à 3)", 0, 3, 0, NULL),
	C_INT("comprehension", "Compréhension de la mission (0 à 3)", 0, 3, 0, NULL),
	C_INT("territoire", "Territoire et nombre de jeunes (0 à 3)", 0, 3, 0, NULL),
	C_INT("qualification", "Qualification (0 à 3)", 0, 3, 0, NULL),
	C_INT("contrat", "Contrat de travail (0 à 3)", 0, 3, 0, NULL),
	C_INT("disponibilite", "Disponibilité (0 à 3)", 0, 3, 0, NULL),
	C_ENUM("decision", "Décision", decisions, LIST, "'en_attente'"),
	C_DATE("date_comite", "Date du comité", LIST),
	C_TEXT("avis", "Avis du jury", MULTI),
};

static const struct model_column bilan_cols[] = {
	C_REF("structure", "Structure", "structure", REQ | LIST),
	C_REF("promeneur", "Promeneur", "promeneur", LIST),
	C_INT("annee", "Année", 2000, 2100, REQ | LIST, NULL),
	C_ENUM("periode", "Période", periodes, LIST, "'annee'"),
	C_DATE("date_reception", "Date de réception", 0),
	C_INT("jeunes_connectes", "Jeunes connectés", 0, COUNT_MAX, 0, NULL),
	C_INT("interventions_information", "Interventions : information", 0, COUNT_MAX, 0, NULL),
	C_INT("interventions_lien_social", "Interventions : lien social", 0, COUNT_MAX, 0, NULL),
	C_INT("interventions_contact", "Interventions : prise de contact", 0, COUNT_MAX, 0, NULL),
	C_INT("interventions_projet", "Interventions : accompagnement de projet", 0, COUNT_MAX, 0, NULL),
	C_INT("interventions_ecoute", "Interventions : écoute", 0, COUNT_MAX, 0, NULL),
	C_INT("jeunes_rencontres", "Jeunes rencontrés après un contact en ligne", 0, COUNT_MAX, 0, NULL),
	C_INT("projets_inities", "Projets initiés", 0, COUNT_MAX, 0, NULL),
	C_INT("heures_en_ligne", "Heures en ligne", 0, COUNT_MAX, 0, NULL),
	C_TEXT("commentaire", "Commentaire", MULTI),
	/* Schema 3: the qualitative part the comité reads. */
	{ COL("articulation", MODEL_TEXT, "Articulation entre la vie de la structure et le travail "
	      "du promeneur", MULTI), AT(3) },
};

static const struct model_column event_cols[] = {
	C_ENUM_WIDENED("type", "Type d'événement", event_types, event_types_v2, 3, REQ | LIST, NULL),
	C_TEXT("titre", "Titre", REQ | LIST),
	C_DATE("date", "Date", REQ | LIST),
	C_TEXT("lieu", "Lieu", 0),
	C_TEXT("compte_rendu", "Compte rendu", MULTI),
	{ COL("ordre_du_jour", MODEL_TEXT, "Ordre du jour", MULTI), AT(3) },
	{ COL("diffusion", MODEL_TEXT, "Compte rendu diffusé à", MULTI), AT(3) },
	{ COL("date_diffusion", MODEL_DATE, "Compte rendu diffusé le", 0), AT(3) },
};

static const struct model_column attendance_cols[] = {
	C_REF("event", "Événement", "event", REQ | LIST),
	C_REF("promeneur", "Promeneur", "promeneur", REQ | LIST),
	C_BOOL("presence_effective", "Présence à l'événement", LIST, NULL),
};

static const struct model_column request_cols[] = {
	C_REF("promeneur", "Promeneur", "promeneur", LIST),
	C_ENUM("sujet", "Sujet", sujets, REQ | LIST, NULL),
	C_TEXT("question", "Question", REQ | MULTI),
	C_DATE("date_demande", "Date de la demande", LIST),
	C_TEXT("reponse", "Réponse", MULTI),
	C_DATE("date_reponse", "Date de la réponse", 0),
	C_ENUM("statut", "Statut", request_statuts, LIST, "'ouverte'"),
	/* Schema 3: a structure or a partner may ask too, and a request may be
	 * referred to a resource person. */
	{ COL("structure", MODEL_REF, "Structure", 0), .ref = "structure", AT(3) },
	{ COL("contact", MODEL_REF, "Demandeur (contact d'un partenaire)", 0), .ref = "contact",
	  AT(3) },
	{ COL("ressource", MODEL_REF, "Orientée vers", 0), .ref = "resource", AT(3) },
	{ COL("date_orientation", MODEL_DATE, "Date de l'orientation", 0), AT(3) },
};

static const struct model_column resource_cols[] = {
	C_TEXT("nom", "Nom", REQ | LIST | PERS),
	C_TEXT("organisme", "Organisme", LIST),
	C_TEXT("domaine", "Domaine", 0),
	C_EMAIL("email", "Courriel", PERS),
	C_PHONE("telephone", "Téléphone", PERS),
	C_TEXT("commentaire", "Commentaire", MULTI),
	/* Schema 3: from this date the person is no longer a resource; their
	 * personal data is erased after the retention (relais rgpd effacer). */
	{ COL("date_fin", MODEL_DATE, "Ne fait plus partie des ressources depuis le", 0), AT(3) },
};

/*
 * The mail gateway's journal: one row per message seen in the mailbox, so
 * that coordinators see on their replicas what came in, what it became, and
 * the messages waiting in quarantine for a person. Written by relaisd only;
 * the raw message stays on the server (mail_archive, not replicated).
 */
static const struct model_column inbound_mail_cols[] = {
	C_TEXT("message_id", "Identifiant du message", SRV),
	C_TEXT("expediteur", "Expéditeur", LIST | PERS),
	C_TEXT("nom_expediteur", "Nom de l'expéditeur", PERS),
	C_TEXT("sujet", "Objet", LIST | SRV),
	C_TEXT("recu_le", "Reçu le", LIST | SRV),
	C_TEXT("empreinte", "Empreinte SHA-256", SRV),
	C_ENUM("resultat", "Résultat", mail_resultats, LIST | REQ | SRV, "'en_cours'"),
	C_ENUM("type", "Type", mail_types, SRV, NULL),
	C_TEXT("enregistrements", "Enregistrements", MULTI | SRV),
	C_TEXT("problemes", "Problèmes", MULTI | SRV),
	C_TEXT("raison", "Raison", SRV),
	C_TEXT("texte", "Texte du message", MULTI | PERS),
	C_ENUM("reponse", "Réponse", mail_reponses, SRV, "'aucune'"),
	C_TEXT("reponse_id", "Identifiant de la réponse", SRV),
	C_ENUM("traitement", "Suite donnée", mail_traitements, 0, NULL),
	C_TEXT("rattache_a", "Rattaché à", 0),
	/* Why no answer went: the rule that withheld it, or the SMTP server's
	 * refusal ("550 5.1.1 <address>: …") when it refused for good. Servers
	 * quote the address: personal, erased with the sender's. */
	{ .name = "reponse_motif", .kind = MODEL_TEXT, .label = "Motif de l'absence de réponse",
	  .flags = PERS, .since = 2 },
};

/*
 * Changes of the national directory still to transmit: a labellisation adds
 * the promeneur, a délabellisation removes them. Written by the client when a
 * coordinator decides (relais candidature decider, relais promeneur
 * delabelliser); the digest lists those not transmitted yet (docs/suivi.md).
 */
static const struct model_column directory_change_cols[] = {
	C_REF("promeneur", "Promeneur", "promeneur", REQ | LIST),
	C_ENUM_WIDENED("nature", "Nature du changement", changement_natures, changement_natures_v2, 3,
		       REQ | LIST, NULL),
	C_DATE("date", "Date", REQ | LIST),
	C_BOOL("transmis", "Transmis à l'annuaire national", LIST, "0"),
	C_DATE("date_transmission", "Date de transmission", 0),
	/* Schema 3: what changed, and the CAF's confirmation that the national
	 * site shows it (transmitted is not published). */
	{ COL("champs", MODEL_TEXT, "Champs modifiés", 0), AT(3) },
	{ COL("publie", MODEL_BOOL, "Publié dans l'annuaire national", LIST), .min = 0, .max = 1,
	  .def = "0", AT(3) },
	{ COL("date_publication", MODEL_DATE, "Date de publication", 0), AT(3) },
};

/*
 * Reminders queued by the coordinator (relais relance bilans) and sent by
 * relaisd after the next sync, once each (docs/suivi.md).
 */
static const struct model_column reminder_cols[] = {
	C_REF("structure", "Structure", "structure", REQ | LIST),
	C_INT("annee", "Année", 2000, 2100, REQ | LIST, NULL),
	C_ENUM("objet", "Objet de la relance", relance_objets, REQ | LIST, "'bilan'"),
	C_EMAIL("email", "Courriel", REQ | LIST),
	C_ENUM("statut", "Statut", relance_statuts, REQ | LIST, "'a_envoyer'"),
	C_DATE("cree_le", "Créée le", 0),
	C_TEXT("envoyee_le", "Envoyée le", 0),
};

/*
 * The attachments of the journal's messages (schema 2). The server keeps
 * their bytes (not replicated: document_blob) and writes these rows when a
 * message is journaled; a coordinator attaches one to a structure, a
 * promeneur or a candidature, and any replica of the département fetches
 * the bytes by their SHA-256 when someone opens it (docs/mailgw.md).
 */
static const char *const rattachements_v2[] = { "structure", "promeneur", "candidature", NULL };
static const char *const rattachements[] = {
	"structure", "promeneur", "candidature", "event", "partenaire", "procedure", NULL
};
static const struct model_column document_cols[] = {
	{ .name = "courrier", .kind = MODEL_REF, .label = "Courrier", .ref = "inbound_mail",
	  .flags = LIST | SRV, .since = 2 },
	{ .name = "nom", .kind = MODEL_TEXT, .label = "Nom du fichier", .flags = LIST | SRV, .since = 2 },
	{ .name = "type", .kind = MODEL_TEXT, .label = "Type", .flags = SRV, .since = 2 },
	{ .name = "taille", .kind = MODEL_INT, .label = "Taille (octets)", .min = 0,
	  .max = 1LL << 40, .flags = LIST | SRV, .since = 2 },
	{ .name = "empreinte", .kind = MODEL_TEXT, .label = "Empreinte SHA-256", .flags = SRV, .since = 2 },
	{ .name = "rattache_table", .kind = MODEL_ENUM, .label = "Rattaché à (fiche)",
	  .values = rattachements, .flags = LIST, .since = 2, .widened = 3,
	  .values_before = rattachements_v2 },
	{ .name = "rattache_id", .kind = MODEL_TEXT, .label = "Identifiant de la fiche", .since = 2 },
};

/*
 * Schema 3: the procedures of the livret (a délabellisation from the problem
 * reported to the withdrawal, a suspension with its reason and dates), each
 * step dated. etape and decision are workflow columns (model/domain.c).
 */
static const struct model_column procedure_cols[] = {
	C_REF("promeneur", "Promeneur", "promeneur", REQ | LIST),
	C_ENUM("nature", "Procédure", procedure_natures, REQ | LIST, NULL),
	C_ENUM("etape", "Étape", procedure_etapes, LIST, "'signalement'"),
	C_TEXT("motif", "Motif (problème constaté)", REQ | MULTI),
	C_DATE("date_signalement", "Signalé le", LIST),
	C_DATE("date_information_caf", "Référent Caf informé le", 0),
	C_TEXT("mesures", "Mesures d'accompagnement convenues", MULTI),
	C_TEXT("suivi_mesures", "Suivi des mesures", MULTI),
	C_DATE("date_decision", "Décision prise avec la Caf le", 0),
	C_ENUM("decision", "Décision", procedure_decisions, 0, NULL),
	C_DATE("date_debut", "Début de la suspension", 0),
	C_DATE("date_fin", "Fin de la suspension", 0),
	C_DATE("date_retrait", "Retrait achevé le", 0),
};

/* Schema 3: things to do, with a due date; the withdrawal of a
 * délabellisation makes one per profile of the person. */
static const struct model_column task_cols[] = {
	C_TEXT("libelle", "Tâche", REQ | LIST),
	C_REF("promeneur", "Promeneur", "promeneur", LIST),
	C_REF("presence", "Présence en ligne", "presence", 0),
	C_REF("procedure", "Procédure", "procedure", 0),
	C_DATE("echeance", "Échéance", LIST),
	C_BOOL("faite", "Faite", LIST, "0"),
	C_DATE("date_faite", "Faite le", 0),
};

/* Schema 3: every decision of the comité on a candidature, in order
 * (ajournée, then acceptée); written by the decision workflow. */
static const struct model_column decision_cols[] = {
	C_REF("candidature", "Candidature", "candidature", REQ | LIST),
	C_ENUM("decision", "Décision", decisions, REQ | LIST, NULL),
	C_DATE("date_comite", "Date du comité", LIST),
	C_TEXT("avis", "Avis du jury", MULTI),
};

/* Schema 3: the institutions around the network and the structures
 * approached that are not in it yet (prospects). */
static const struct model_column partner_cols[] = {
	C_TEXT("nom", "Nom", REQ | LIST),
	C_ENUM("type", "Type de partenaire", partenaire_types, LIST, NULL),
	C_ENUM("relation", "Relation", partenaire_relations, LIST, "'partenaire'"),
	C_TEXT("commune", "Commune", 0),
	C_EMAIL("email", "Courriel", 0),
	C_PHONE("telephone", "Téléphone", 0),
	C_URL("site_web", "Site web", 0),
	C_TEXT("partenariat", "Partenariat suivi", MULTI),
	C_DATE("dernier_contact", "Dernier contact le", 0),
	C_TEXT("commentaire", "Commentaire", MULTI),
};

/* Schema 3: people of a partner or of a structure. */
static const struct model_column contact_cols[] = {
	C_TEXT("prenom", "Prénom", LIST | PERS),
	C_TEXT("nom", "Nom", REQ | LIST | PERS),
	C_REF("partenaire", "Partenaire", "partenaire", LIST),
	C_REF("structure", "Structure", "structure", 0),
	C_TEXT("fonction", "Fonction", LIST),
	C_EMAIL("email", "Courriel", PERS),
	C_PHONE("telephone", "Téléphone", PERS),
	C_TEXT("commentaire", "Commentaire", MULTI | PERS),
	/* Gone from the partner or the structure: personal data erased after
	 * the retention (relais rgpd effacer). */
	C_DATE("date_fin", "N'est plus l'interlocuteur depuis le", 0),
};

/* Schema 3: a partner's contact at an event or a governance meeting. */
static const struct model_column guest_cols[] = {
	C_REF("event", "Événement", "event", REQ | LIST),
	C_REF("contact", "Contact", "contact", REQ | LIST),
	C_BOOL("presence_effective", "Présence à l'événement", LIST, NULL),
};

/* Schema 3: training needs noted from exchanges, and the training that
 * answers them (the year's training plan). */
static const struct model_column need_cols[] = {
	C_TEXT("theme", "Thème", REQ | LIST),
	C_REF("promeneur", "Promeneur", "promeneur", LIST),
	C_DATE("date", "Noté le", LIST),
	C_TEXT("origine", "Noté lors de", 0),
	C_REF("event", "Formation prévue", "event", 0),
	C_ENUM("statut", "Statut", besoin_statuts, LIST, "'exprime'"),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))
#define TABLE(n, cmd, l, pl, cols) { (n), (cmd), (l), (pl), (cols), NCOLS(cols), 1, 0 }
#define TABLE3(n, cmd, l, pl, cols) { (n), (cmd), (l), (pl), (cols), NCOLS(cols), 3, 0 }
#define SERVER_TABLE(n, cmd, l, pl, cols) \
	{ (n), (cmd), (l), (pl), (cols), NCOLS(cols), 1, MODEL_TABLE_SERVER_ROWS }

const struct model_table model_tables[] = {
	TABLE("structure", "structure", "la structure", "structures", structure_cols),
	TABLE("promeneur", "promeneur", "le promeneur", "promeneurs", promeneur_cols),
	TABLE("presence", "presence", "la présence en ligne", "présences en ligne", presence_cols),
	TABLE("candidature", "candidature", "la candidature", "candidatures", candidature_cols),
	TABLE("bilan", "bilan", "le bilan", "bilans", bilan_cols),
	TABLE("event", "evenement", "l'événement", "événements", event_cols),
	TABLE("attendance", "participation", "la participation", "participations", attendance_cols),
	TABLE("resource", "ressource", "la ressource", "ressources", resource_cols),
	TABLE3("partenaire", "partenaire", "le partenaire", "partenaires", partner_cols),
	TABLE3("contact", "contact", "le contact", "contacts", contact_cols),
	TABLE("request", "demande", "la demande", "demandes", request_cols),
	SERVER_TABLE("inbound_mail", "courrier", "le courrier", "courriers", inbound_mail_cols),
	TABLE("directory_change", "changement", "le changement d'annuaire",
	      "changements d'annuaire", directory_change_cols),
	TABLE("reminder", "relance", "la relance", "relances", reminder_cols),
	{ "document", "document", "le document", "documents", document_cols, NCOLS(document_cols), 2,
	  MODEL_TABLE_SERVER_ROWS },
	TABLE3("procedure", "procedure", "la procédure", "procédures", procedure_cols),
	TABLE3("task", "tache", "la tâche", "tâches", task_cols),
	TABLE3("decision", "decision", "la décision", "décisions", decision_cols),
	TABLE3("guest", "invite", "l'invité", "invités", guest_cols),
	TABLE3("need", "besoin", "le besoin de formation", "besoins de formation", need_cols),
};
const size_t model_ntables = NCOLS(model_tables);

const char *const model_table_names[] = {
	"structure", "promeneur", "presence", "candidature", "bilan",
	"event", "attendance", "resource", "partenaire", "contact", "request",
	"inbound_mail", "directory_change", "reminder", "document", "procedure", "task",
	"decision", "guest", "need",
};

_Static_assert(NCOLS(model_table_names) == NCOLS(model_tables),
	       "model_table_names must list every table");

const struct model_table *model_table_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < model_ntables; i++)
		if (!strcmp(model_tables[i].name, name))
			return &model_tables[i];
	return NULL;
}

const struct model_table *model_table_by_command(const char *command)
{
	if (!command)
		return NULL;
	for (size_t i = 0; i < model_ntables; i++)
		if (!strcmp(model_tables[i].command, command))
			return &model_tables[i];
	return NULL;
}

const struct model_column *model_column_by_name(const struct model_table *t, const char *name)
{
	if (!t || !name)
		return NULL;
	for (size_t i = 0; i < t->ncolumns; i++)
		if (!strcmp(t->columns[i].name, name))
			return &t->columns[i];
	return NULL;
}

/* A flag matches a column name when they differ only by '-' for '_'. */
static int flag_matches(const char *name, const char *flag)
{
	for (; *name && *flag; name++, flag++) {
		char f = *flag == '-' ? '_' : *flag;
		if (*name != f)
			return 0;
	}
	return !*name && !*flag;
}

const struct model_column *model_column_by_flag(const struct model_table *t, const char *flag)
{
	if (!t || !flag)
		return NULL;
	for (size_t i = 0; i < t->ncolumns; i++)
		if (flag_matches(t->columns[i].name, flag))
			return &t->columns[i];
	return NULL;
}

int model_column_flag(const struct model_column *c, char *out, size_t outlen)
{
	size_t n = strlen(c->name);
	if (n >= outlen)
		return RELAIS_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		out[i] = c->name[i] == '_' ? '-' : c->name[i];
	out[n] = 0;
	return 0;
}

/* ---- words people read ---- */

static const struct {
	const char *value, *label;
} value_labels[] = {
	{ "candidat", "candidat" }, { "labellise", "labellisé" }, { "suspendu", "suspendu" },
	{ "delabellise", "délabellisé" }, { "jeunesse", "jeunesse" },
	{ "parentalite", "parentalité" }, { "centre_social", "centre social" },
	{ "mjc", "MJC" }, { "pij", "PIJ" }, { "mission_locale", "mission locale" },
	{ "fjt", "FJT" }, { "mda", "MDA" }, { "ime", "IME" },
	{ "etablissement_scolaire", "établissement scolaire" },
	{ "collectivite", "collectivité" }, { "association", "association" },
	{ "autre", "autre" }, { "aucune", "aucune" }, { "en_preparation", "en préparation" },
	{ "signee", "signée" }, { "expiree", "expirée" }, { "resiliee", "résiliée" },
	{ "en_attente", "en attente" }, { "acceptee", "acceptée" }, { "refusee", "refusée" },
	{ "ajournee", "ajournée" }, { "annee", "année" }, { "semestre1", "1er semestre" },
	{ "semestre2", "2e semestre" }, { "comite_pilotage", "comité de pilotage" },
	{ "comite_technique", "comité technique" },
	{ "comite_financeurs", "comité des financeurs" },
	{ "reunion_departementale", "réunion départementale" },
	{ "regroupement", "regroupement" }, { "formation_initiale", "formation initiale" },
	{ "formation_thematique", "formation thématique" },
	{ "echange_pratiques", "échange de pratiques" },
	{ "reunion_inter_structures", "réunion inter-structures" },
	{ "orientation_detresse", "orientation (détresse)" }, { "ouverte", "ouverte" },
	{ "traitee", "traitée" }, { "x", "X (Twitter)" },
	{ "ajout", "ajout" }, { "modification", "modification" }, { "retrait", "retrait" },
	{ "a_envoyer", "à envoyer" }, { "envoyee", "envoyée" }, { "en_cours", "en cours" },
	{ "enregistre", "enregistré" }, { "rejete", "rejeté" }, { "quarantaine", "en quarantaine" },
	{ "ignore", "ignoré" }, { "a_traiter", "à traiter" }, { "rattache", "rattaché" },
	{ "classe", "classé" }, { "inconnu", "inconnu" }, { "juridique", "juridique" },
	{ "technique", "technique" }, { "posture", "posture" }, { "facebook", "Facebook" },
	{ "instagram", "Instagram" }, { "snapchat", "Snapchat" }, { "tiktok", "TikTok" },
	{ "discord", "Discord" }, { "youtube", "YouTube" }, { "twitch", "Twitch" },
	{ "whatsapp", "WhatsApp" }, { "linkedin", "LinkedIn" },
	{ "non_retenu", "non retenu" }, { "journee_nationale", "journée nationale" },
	{ "reunion_regionale", "réunion régionale" },
	{ "reunion_interdepartementale", "réunion interdépartementale" },
	{ "reunion_caf", "réunion avec la Caf" }, { "colloque", "colloque" },
	{ "bilan_individuel", "bilan individuel" }, { "suspension", "suspension" },
	{ "reprise", "reprise" }, { "delabellisation", "délabellisation" },
	{ "signalement", "signalement" }, { "accompagnement", "accompagnement" },
	{ "decision", "décision" }, { "terminee", "terminée" }, { "maintien", "maintien" },
	{ "departement", "Département" }, { "sdjes", "SDJES" },
	{ "education_nationale", "Éducation nationale" }, { "caf", "Caf" }, { "msa", "MSA" },
	{ "structure", "structure" }, { "partenaire", "partenaire" }, { "prospect", "prospect" },
	{ "exprime", "exprimé" }, { "planifie", "planifié" }, { "satisfait", "satisfait" },
	{ "event", "événement" }, { "promeneur", "promeneur" }, { "candidature", "candidature" },
	{ "procedure", "procédure" },
};

const char *model_value_label(const char *value)
{
	if (!value)
		return "";
	for (size_t i = 0; i < sizeof(value_labels) / sizeof(value_labels[0]); i++)
		if (!strcmp(value_labels[i].value, value))
			return value_labels[i].label;
	return value;
}
