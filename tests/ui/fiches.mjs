// fiches.mjs - a structure and a promeneur made through the forms: a bad
// value sent back with its message next to the field, the fixed form saved,
// an edit (again refused once, then saved), then the directory's instant
// search finding them and leaving the others out.
//
// Environment (besides lib.mjs's): RELAIS_UI_OTHER, the name of a seeded
// promeneur that the search must not return.

import {
	scenario, openUi, go, shot, submit, check, checkLayout, field, fieldError, selectByText, idOf, need, step, follow,
} from './lib.mjs';

const STRUCT = 'Maison des jeunes de Lannemezan';
const PRENOM = 'Inès', NOM = 'Fournier';

const save = (page) => submit(page, page.getByRole('main'), /enregistrer|créer|ajouter/i);

await scenario('fiches', async (browser, state) => {
	const other = need('RELAIS_UI_OTHER');
	const { page } = await openUi(browser);
	state.page = page;
	const nav = page.getByRole('navigation').first();
	const main = page.getByRole('main');

	// A new structure, first with an invalid address.
	await follow(page, nav.getByRole('link', { name: /annuaire/i }).first());
	await follow(page, main.getByRole('link', { name: /nouvelle structure|ajouter une structure|créer une structure/i }).first());
	step('new structure form');
	await checkLayout(page, 'nouvelle structure');
	await field(main, 'Nom').fill(STRUCT);
	await field(main, 'Commune').fill('Lannemezan');
	await field(main, 'Code postal').fill('65300');
	await field(main, 'Type de structure').selectOption('mjc');
	await field(main, 'Courriel').fill('mdj-lannemezan.example.org');
	await save(page);
	step('sent');
	await fieldError(main, 'Courriel', /adresse/i);
	check(await field(main, 'Nom').inputValue() === STRUCT, 'the form sent back lost the name typed');
	const shots = [await shot(page, 'structure-erreur')];
	step('structure form refused with its message');
	await field(main, 'Courriel').fill('mdj@lannemezan.example.org');
	await save(page);
	const structure = idOf(page);
	check((await page.locator('h1').innerText()).includes(STRUCT), 'the new structure\'s page does not show its name');

	step('structure created');

	// A promeneur of that structure.
	await follow(page, nav.getByRole('link', { name: /annuaire/i }).first());
	await follow(page, main.getByRole('link', { name: /nouveau promeneur|nouvelle promeneuse|ajouter un promeneur|créer un promeneur/i }).first());
	await field(main, 'Prénom').fill(PRENOM);
	await field(main, 'Nom').fill(NOM);
	await field(main, 'Courriel').fill('ines.fournier@example.org');
	await selectByText(main, 'Structure', STRUCT);
	await field(main, 'Public').selectOption('jeunesse');
	await save(page);
	const promeneur = idOf(page);
	const h1 = await page.locator('h1').innerText();
	check(h1.includes(PRENOM) && h1.includes(NOM), `the promeneur's page is titled "${h1}"`);
	check((await main.innerText()).includes(STRUCT), 'the promeneur\'s page does not name the structure');

	step('promeneur created');

	// Edit: 99 hours a week is refused next to its field, 3 is saved.
	await follow(page, main.getByRole('link', { name: /modifier/i }).first());
	check(await field(main, 'Prénom').inputValue() === PRENOM, 'the edit form does not hold the current values');
	await field(main, 'Téléphone').fill('06 12 34 56 78');
	await field(main, 'Heures en ligne par semaine').fill('99');
	await save(page);
	await fieldError(main, 'Heures en ligne par semaine', /40/);
	shots.push(await shot(page, 'promeneur-erreur'));
	await field(main, 'Heures en ligne par semaine').fill('3');
	await save(page);
	check(idOf(page) === promeneur, 'after the edit the page is not the promeneur\'s');
	const fiche = (await main.innerText()).replace(/[\s.]/g, '');
	check(fiche.includes('0612345678'), 'the promeneur\'s page does not show the new phone number');
	shots.push(await shot(page, 'promeneur'));

	step('promeneur edited');

	// Instant search: typing is enough, no submit.
	await follow(page, nav.getByRole('link', { name: /annuaire/i }).first());
	const search = main.getByRole('searchbox').first();
	await search.pressSequentially(NOM, { delay: 30 });
	const results = main.getByRole('link', { name: new RegExp(NOM) });
	await results.first().waitFor();
	await page.waitForFunction((o) => !document.querySelector('main').innerText.includes(o), other);
	check(!(await main.innerText()).includes(other), `the search for "${NOM}" still shows ${other}`);
	shots.push(await shot(page, 'annuaire-recherche'));
	step('search by name');
	await search.fill('');
	await search.pressSequentially('Lannemez', { delay: 30 });
	const structures = main.getByRole('table', { name: /^structures/i });
	const found = structures.getByRole('link', { name: new RegExp(STRUCT) }).first();
	await found.waitFor();
	step('search by commune');

	// Filters: only the labellised promeneurs (Inès is a candidate).
	await search.fill('');
	await field(main, 'Statut').selectOption('labellise');
	await submit(page, main, /filtrer/i);
	const promeneurs = main.getByRole('table', { name: /^promeneurs/i });
	await promeneurs.getByRole('link', { name: new RegExp(other) }).first().waitFor();
	await page.waitForFunction((n) => !document.querySelector('main').innerText.includes(n), NOM);
	step('filter by status');

	await go(page, '/annuaire');
	await search.pressSequentially('Lannemez', { delay: 30 });
	// The results of the whole word, not of its first letters (a slow
	// machine refreshes them once per pause in the typing).
	await page.waitForURL(/[?&]q=Lannemez(&|$)/);
	await found.waitFor();
	await follow(page, found);
	check(idOf(page) === structure, 'the search result does not lead to the structure\'s page');
	return { structure, promeneur, shots };
});
