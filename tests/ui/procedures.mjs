// procedures.mjs - the coordinator's procedures in a browser: a délabellisation
// walked from the person's page (each step's form opened from its disclosure,
// the next step only), the withdrawal's tasks ticked, the comité's successive
// decisions on a candidature, a request referred to a resource person from
// /demandes, the partners' list and a partner's page. Every screen is checked
// (one h1, landmarks, axe-core) and photographed.
//
// Environment (besides lib.mjs's): RELAIS_UI_PROMENEUR (a labelled promeneur
// with two online profiles), RELAIS_UI_CANDIDATURE (a candidature waiting for
// the comité), RELAIS_UI_PARTENAIRE (a partner with a contact).

import {
	scenario, openUi, go, shot, submit, check, checkLayout, checkAxe, field, selectByText, need, step,
} from './lib.mjs';

// Opens the disclosure named summary in scope and returns its form.
async function openStep(scope, summary) {
	const details = scope.locator('details', { has: scope.page().locator('summary', { hasText: summary }) }).first();
	await details.locator('summary').click();
	return details.locator('form');
}

await scenario('procedures', async (browser, state) => {
	const promeneur = need('RELAIS_UI_PROMENEUR');
	const candidature = need('RELAIS_UI_CANDIDATURE');
	const partenaire = need('RELAIS_UI_PARTENAIRE');
	const { page } = await openUi(browser);
	state.page = page;
	const main = page.getByRole('main');
	const shots = [];

	// The problem reported, the CAF referent told, measures and a follow-up.
	await go(page, `/promeneurs/${promeneur}`);
	let form = await openStep(main, 'Signaler un problème');
	await field(form, 'Problème constaté').fill('Publications sans lien avec la mission');
	await field(form, 'Signalé le').fill('2026-02-02');
	await submit(page, form, /ouvrir la procédure/i);
	check((await main.innerText()).includes('2 février 2026'), 'the report\'s date is not shown in French');
	step('reported');
	check(await main.getByText('Ajouter des mesures').count() === 0,
		'measures are offered before the CAF referent is told');
	form = await openStep(main, 'Informer le référent Caf');
	await field(form, 'Référent Caf informé le').fill('2026-02-03');
	await submit(page, form, /noter l'information/i);
	form = await openStep(main, 'Ajouter des mesures');
	await field(form, 'Mesures d\'accompagnement convenues').fill('Relecture des publications avec la référente de structure');
	await field(form, 'Convenues le').fill('2026-02-10');
	await submit(page, form, /ajouter les mesures/i);
	form = await openStep(main, 'Ajouter un suivi');
	await field(form, 'Ce qui a été constaté').fill('Pas d\'amélioration après un mois');
	await field(form, 'Date du suivi').fill('2026-03-10');
	await submit(page, form, /ajouter le suivi/i);
	step('measures followed');
	await checkLayout(page, 'procédure');
	await checkAxe(page, 'procédure');
	await page.locator('summary', { hasText: 'Décider avec la Caf' }).click();
	shots.push(await shot(page, 'promeneur-procedure'));

	// The decision taken with the CAF, then the withdrawal's tasks.
	form = page.locator('details', { has: page.locator('summary', { hasText: 'Décider avec la Caf' }) }).locator('form');
	await field(form, 'Décision prise avec la Caf').selectOption('delabellisation');
	await field(form, 'Décidée le').fill('2026-03-20');
	await submit(page, form, /enregistrer la décision/i);
	const text = await main.innerText();
	check(text.includes('20 mars 2026') && /retrait/.test(text), 'the decision and the withdrawal step are not shown');
	const tasks = main.getByRole('button', { name: /marquer comme faite/i });
	check(await tasks.count() === 2, `${await tasks.count()} tasks to tick, expected one per profile (2)`);
	await checkAxe(page, 'retrait');
	shots.push(await shot(page, 'promeneur-retrait'));
	await submit(page, main, /marquer comme faite/i);
	await submit(page, main, /marquer comme faite/i);
	check((await main.innerText()).includes('terminée'), 'the last task did not end the procedure');
	step('withdrawal done');

	// The comité's decisions on a candidature: adjourned, with the jury's opinion.
	await go(page, `/fiches/candidature/${candidature}`);
	await checkLayout(page, 'candidature');
	form = main.locator(`form[action="/fiches/candidature/${candidature}/decider"]`);
	await field(form, 'Décision').selectOption('ajournee');
	await field(form, 'Date du comité').fill('2026-01-15');
	await field(form, 'Avis du jury').fill('Contrat de travail à joindre au dossier.');
	await submit(page, form, /enregistrer la décision/i);
	check((await main.innerText()).includes('15 janvier 2026'), 'the decision\'s history does not show the comité');
	await checkAxe(page, 'candidature');
	shots.push(await shot(page, 'candidature'));
	step('candidature adjourned');

	// The requests' queue: one referred to a resource person.
	await go(page, '/demandes');
	await checkLayout(page, 'demandes');
	await checkAxe(page, 'demandes');
	const row = main.locator('tr', { hasText: 'Droit à l\'image' });
	await selectByText(row, 'Orienter vers', 'Maître Durand');
	await submit(page, row, /^orienter$/i);
	check((await main.locator('tr', { hasText: 'Droit à l\'image' }).innerText()).includes('orientée vers'),
		'the request does not say where it was referred');
	shots.push(await shot(page, 'demandes'));
	step('request referred');

	// Partners: the list and one partner with its contacts.
	await go(page, '/fiches/partenaire');
	await checkLayout(page, 'partenaires');
	await checkAxe(page, 'partenaires');
	shots.push(await shot(page, 'partenaires'));
	await go(page, `/fiches/partenaire/${partenaire}`);
	await checkAxe(page, 'partenaire');
	shots.push(await shot(page, 'partenaire'));

	// The home page: open requests and tasks.
	await go(page, '/');
	await checkAxe(page, 'accueil');
	shots.push(await shot(page, 'accueil-demandes'));
	step('partners and home');
	return { shots };
});
