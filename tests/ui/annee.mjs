// annee.mjs - the coordinator's year in a browser: a publication confirmed on
// the national directory's list, a comité de pilotage with its agenda, its
// papers and a partner invited then marked present, a training need noted and
// planned on a training, a person's data. Every
// screen is checked (one h1, landmarks, axe-core) and photographed.
//
// Environment (besides lib.mjs's): RELAIS_UI_PROMENEUR (a labelled promeneur
// with a change of the national directory transmitted), RELAIS_UI_COMITE (a
// comité de pilotage with its agenda and a document), RELAIS_UI_CONTACT_NOM
// (a partner's contact to invite), RELAIS_UI_FORMATION (the title of a
// training event).

import {
	scenario, openUi, go, shot, submit, check, checkLayout, checkAxe, field, selectByText, need, step,
} from './lib.mjs';

await scenario('annee', async (browser, state) => {
	const promeneur = need('RELAIS_UI_PROMENEUR');
	const comite = need('RELAIS_UI_COMITE');
	const contact = need('RELAIS_UI_CONTACT_NOM');
	const formation = need('RELAIS_UI_FORMATION');
	const { page } = await openUi(browser);
	state.page = page;
	const main = page.getByRole('main');
	const shots = [];

	// The national directory: the change transmitted, its publication confirmed.
	await go(page, '/annuaire-national');
	await checkLayout(page, 'annuaire national');
	const details = main.locator('details', { has: page.locator('summary', { hasText: 'Confirmer la publication' }) }).first();
	await details.locator('summary').click();
	await checkAxe(page, 'annuaire national');
	shots.push(await shot(page, 'annuaire-national'));
	const form = details.locator('form');
	await field(form, 'Publié le').fill('2026-06-02');
	await submit(page, form, /confirmer la publication/i);
	check((await main.innerText()).includes('publié le 2 juin 2026'), 'the publication is not shown with its date');
	step('publication confirmed');

	// A comité de pilotage: its agenda, its papers, a partner invited and present.
	await go(page, `/evenements/${comite}`);
	await checkLayout(page, 'comité');
	await selectByText(main, 'Contact', contact);
	await submit(page, main, /^inviter$/i);
	const guests = main.locator('section', { has: page.locator('h2', { hasText: 'Partenaires invités' }) });
	await submit(page, guests, /marquer présent/i);
	const text = await main.innerText();
	check(text.includes(contact) && text.includes('Ordre du jour') && text.includes('Documents de la réunion'),
		'the meeting does not show its agenda, papers and guests');
	await checkAxe(page, 'comité');
	shots.push(await shot(page, 'comite'));
	step('comité');

	// Training: a need noted, then planned on the training.
	await go(page, '/formation');
	await checkLayout(page, 'formation');
	const noter = main.locator('form[action="/formation/besoins"]');
	await selectByText(noter, 'Promeneur', 'Inès');
	await field(noter, 'Thème').fill('Droit à l\'image des mineurs');
	await field(noter, 'Noté lors de').fill('Entretien de suivi');
	await field(noter, 'Noté le').fill('2026-03-02');
	await submit(page, noter, /noter le besoin/i);
	const row = main.locator('tr', { hasText: 'Droit à l\'image des mineurs' }).first();
	await selectByText(row, 'Formation prévue', formation);
	await submit(page, row, /^planifier$/i);
	check((await main.innerText()).includes('planifié'), 'the need is not planned');
	await checkAxe(page, 'formation');
	shots.push(await shot(page, 'formation'));
	step('training planned');

	// A person's data.
	await go(page, `/promeneurs/${promeneur}/donnees`);
	await checkLayout(page, 'données personnelles');
	await checkAxe(page, 'données personnelles');
	shots.push(await shot(page, 'donnees'));
	step('personal data');
	return { shots };
});
