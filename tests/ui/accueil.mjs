// accueil.mjs - the smoke scenario: the home page of a seeded replica, every
// screen of the menu (layout, axe-core, a screenshot each), keyboard-only
// navigation through the menu, and the refusals of a browser without the
// secret and of a foreign Host header.
//
// Environment (besides lib.mjs's): RELAIS_UI_EXPECT, a JSON object
// { "pending": N, "texts": [...] }: the number of local changes waiting to be
// synced and texts that the home page must show (from the seeded rows).

import http from 'node:http';
import {
	scenario, openUi, shot, check, checkLayout, checkAxe, checkKeyboardMenu, base, need, step, follow,
} from './lib.mjs';

const MENU = [
	['annuaire', /annuaire/i],
	['demandes', /demandes/i],
	['evenements', /événements/i],
	['fiches/partenaire', /partenaires/i],
	['fiches/resource', /ressources/i],
	['courrier', /courrier/i],
	['conflits', /conflits/i],
	['synthese', /synthèse/i],
];

// A raw request carrying the session cookie but another Host header: the
// check against DNS rebinding must refuse it.
function foreignHost(cookie) {
	const u = new URL(base());
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: '127.0.0.1', port: u.port, path: '/', method: 'GET',
			headers: { Host: `relais.example.org:${u.port}`, Cookie: cookie },
		}, (res) => { res.resume(); resolve(res.statusCode); });
		req.on('error', reject);
		req.end();
	});
}

await scenario('accueil', async (browser, state) => {
	const expect = JSON.parse(need('RELAIS_UI_EXPECT'));
	const { context, page } = await openUi(browser);
	state.page = page;
	step('home page opened');

	await checkLayout(page, 'accueil');
	await page.getByRole('button', { name: /synchroniser/i }).waitFor();
	const main = page.getByRole('main');
	const text = await main.innerText();
	// The count of changes waiting to be synced, as the definition of its term.
	const pending = await main.locator('dt', { hasText: /en attente/i }).locator('xpath=following-sibling::dd[1]').innerText();
	check(pending.trim() === String(expect.pending),
		`accueil: ${pending.trim()} changes waiting to be synced shown, ${expect.pending} expected`);
	await checkKeyboardMenu(page, 'accueil');
	step('keyboard navigation');
	await checkAxe(page, 'accueil');
	await page.evaluate(() => document.activeElement && document.activeElement.blur());
	const shots = [await shot(page, 'accueil')];
	step('home checked');

	// Each screen through its menu link.
	const nav = page.getByRole('navigation').first();
	for (const [name, label] of MENU) {
		await follow(page, nav.getByRole('link', { name: label }).first());
		check(new URL(page.url()).pathname.startsWith(`/${name}`),
			`the menu link ${label} led to ${page.url()}`);
		await checkLayout(page, name);
		await checkAxe(page, name);
		shots.push(await shot(page, name.replace('/', '-')));
		step(`screen ${name}`);
	}

	// The session cookie works; a foreign Host with it does not.
	const cookies = await context.cookies(base());
	check(cookies.length >= 1, 'no cookie was set by the secret URL');
	const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
	const hostStatus = await foreignHost(cookie);
	check(hostStatus === 403 || hostStatus === 421,
		`a request with a foreign Host header answered ${hostStatus}, not 403 or 421`);

	// A browser that never saw the secret, or a wrong one, is refused.
	const stranger = await browser.newContext();
	const p2 = await stranger.newPage();
	for (const target of ['/', '/annuaire', '/?cle=0123456789abcdef0123456789abcdef']) {
		const resp = await p2.goto(base() + target);
		check(resp.status() === 403, `without the secret, GET ${target} answered ${resp.status()}, not 403`);
	}
	await stranger.close();
	// What needs doing (relais suivi), checked last so that a missing item
	// still leaves every screenshot behind.
	for (const t of expect.texts)
		check(text.includes(t), `accueil: the list of what needs doing does not show "${t}"`);
	return { shots, host_status: hostStatus };
});
