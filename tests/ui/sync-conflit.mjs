// sync-conflit.mjs - the "Synchroniser" button against a real relaisd, a
// conflict made by a second replica driven with the relais CLI, its
// resolution in the conflicts page, and the message when the server is gone.
//
// Environment (besides lib.mjs's):
//   RELAIS_HOME_B      the CLI replica's home (same département, another login)
//   RELAIS_UI_STRUCT   id of a structure that B created and synced before
//   RELAIS_UI_NAME     its name
//   RELAIS_DAEMON_PID  relaisd's pid, stopped at the end for the offline case

import {
	scenario, openUi, go, shot, submit, check, field, relais, need, idOf, step, follow,
} from './lib.mjs';

const MINE = 'Capvern-les-Bains';
const THEIRS = 'Lannemezan-Nord';

// Clicks "Synchroniser" on the home page and waits for the outcome that the
// live region announces (its state class: terminee or echec); returns the
// message, read again from a fresh home page, where it stays shown.
async function sync(page, expectOk) {
	await go(page, '/');
	const main = page.getByRole('main');
	await main.getByRole('button', { name: /synchroniser/i }).click();
	await page.waitForFunction(() => {
		const e = document.querySelector('[aria-live].etat-sync');
		return e && (e.classList.contains('terminee') || e.classList.contains('echec'));
	}, null, { timeout: 30000 });
	const live = page.locator('[aria-live].etat-sync');
	const ok = await live.evaluate((e) => e.classList.contains('terminee'));
	const text = (await live.innerText()).trim();
	check(ok === expectOk, `after "Synchroniser" the state is ${ok ? 'done' : 'failed'}: "${text}"`);
	check(text.length > 0, 'the sync announced nothing in its live region');
	if (!expectOk)
		check(/impossible|injoignable|hors ligne|connexion/i.test(text),
			`the failed sync's message does not say why: "${text}"`);
	await go(page, '/');
	check((await page.locator('[aria-live].etat-sync').innerText()).trim() === text,
		'the sync\'s message is not kept on the home page');
	step(`sync ${ok ? 'done' : 'failed'}: ${text}`);
	return text;
}

await scenario('sync-conflit', async (browser, state) => {
	const B = need('RELAIS_HOME_B');
	const sid = need('RELAIS_UI_STRUCT');
	const name = need('RELAIS_UI_NAME');
	const { page } = await openUi(browser);
	state.page = page;
	const main = page.getByRole('main');
	const shots = [];

	// The structure that B made reaches this replica with the button.
	await sync(page, true);
	shots.push(await shot(page, 'accueil-synchronise'));
	await go(page, `/structures/${sid}`);
	check((await page.locator('h1').innerText()).includes(name), `the synced structure ${sid} is not shown`);

	// Both replicas change the commune; B later, so B's value wins the merge
	// and this replica's becomes the conflict's losing side.
	await follow(page, main.getByRole('link', { name: /modifier/i }).first());
	await field(main, 'Commune').fill(MINE);
	await submit(page, main, /enregistrer/i);
	check(idOf(page) === sid, 'after the edit the page is not the structure\'s');
	step('edited here');
	relais(B, 'structure', 'set', sid, '--commune', THEIRS);
	relais(B, 'sync');
	step('edited and synced by the CLI replica');
	await sync(page, true);

	// The conflicts page shows both sides, who and which row.
	await follow(page, page.getByRole('navigation').first().getByRole('link', { name: /conflits/i }).first());
	const text = await main.innerText();
	for (const t of [MINE, THEIRS, 'coord-a', 'coord-b', name, 'Commune'])
		check(text.includes(t), `the conflicts page does not show "${t}"`);
	const sideBySide = main.getByRole('row').filter({ hasText: MINE }).filter({ hasText: THEIRS });
	check(await sideBySide.count() === 1, 'the two values are not side by side in one table row');
	shots.push(await shot(page, 'conflits'));
	step('conflict shown');

	// Keep mine: it becomes the value here, and everywhere after the sync.
	await submit(page, main, /mienne|ma valeur/i);
	check(new URL(page.url()).pathname.startsWith('/conflits'), `keeping mine led to ${page.url()}`);
	await go(page, `/structures/${sid}`);
	check((await main.innerText()).includes(MINE), 'after keeping mine, the structure does not show it');
	await go(page, '/conflits');
	check(!(await main.innerText()).includes(THEIRS), 'the resolved conflict is still listed as open');
	await sync(page, true);

	// The server is gone: a clear message, nothing lost.
	process.kill(Number(need('RELAIS_DAEMON_PID')), 'SIGKILL');
	const msg = await sync(page, false);
	shots.push(await shot(page, 'hors-ligne'));
	return { structure: sid, commune: MINE, offline: msg, shots };
});
