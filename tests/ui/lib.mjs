// lib.mjs - what every scenario of `relais ui` shares: the environment that
// tests/test-ui.c hands over, Debian's headless Chromium, screenshots, the
// accessibility checks (axe-core, keyboard) and running the relais CLI.
//
// A scenario is a script `node SCENARIO.mjs` run by tests/test-ui.c with:
//   RELAIS_UI_URL   the URL printed by `relais ui` (with ?cle=SECRET)
//   RELAIS_UI_OUT   the directory where screenshots go (the test directory)
//   RELAIS_BIN      the relais binary (for a second replica driven by CLI)
//   RELAIS_CHROMIUM the browser (default /usr/bin/chromium)
// plus what the scenario itself needs (see each script). It exits 0 when
// every step passed, 1 otherwise, after printing the failed step and saving
// echec-SCENARIO.png. On success it prints one JSON object on stdout (ids of
// what it created) for the C side to check in the replica.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

const T0 = Date.now();

// Notes a step on stderr with the time since the start: printed by the C
// side when the scenario fails, and a guide when it grows slow.
export function step(label) {
	process.stderr.write(`  [${((Date.now() - T0) / 1000).toFixed(1)} s] ${label}\n`);
}

export function need(name) {
	const v = process.env[name];
	if (!v)
		throw new Error(`environment variable ${name} is not set (run through relais-tests ui_e2e)`);
	return v;
}

export function fail(msg) {
	throw new Error(msg);
}

export function check(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

// Flags that keep Chromium on loopback: with background networking on, it
// calls Google's hosts at start, refused on a closed machine. --no-sandbox
// because CI runs as root, where Chromium's sandbox refuses to start.
const CHROMIUM_ARGS = [
	'--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	'--disable-default-apps', '--disable-extensions', '--no-proxy-server',
];

export async function launch() {
	const exe = process.env.RELAIS_CHROMIUM || '/usr/bin/chromium';
	if (!existsSync(exe))
		fail(`${exe} is missing: apt-get install chromium`);
	return chromium.launch({ executablePath: exe, headless: true, args: CHROMIUM_ARGS });
}

// A fresh browser context (its own cookies) with a page on the UI, entered
// through the secret URL. The redirect must drop the secret from the address.
export async function openUi(browser) {
	const context = await browser.newContext({
		viewport: { width: 1280, height: 860 },
		locale: 'fr-FR',
		timezoneId: 'Europe/Paris',
	});
	const page = await context.newPage();
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => { pageErrors.push(`${page.url()}: ${e.message}`); });
	// Console errors, such as a script or style refused by the
	// Content-Security-Policy. A page's own status (422 for a form sent back,
	// 403 for a refusal) is checked by the scenarios; a failed asset is not.
	page.on('console', (m) => {
		if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
			pageErrors.push(`${page.url()}: console: ${m.text()}`);
	});
	page.on('response', (r) => {
		const type = r.request().resourceType();
		if (r.status() >= 400 && type !== 'document' && !r.url().endsWith('/favicon.ico'))
			pageErrors.push(`${page.url()}: ${type} ${r.url()} answered ${r.status()}`);
	});
	const resp = await page.goto(need('RELAIS_UI_URL'));
	check(resp && resp.status() === 200, `opening the secret URL answered ${resp && resp.status()}`);
	const url = new URL(page.url());
	check(url.pathname === '/' && !url.search.includes('cle='),
		`after the secret URL the address is ${page.url()}, not / without the secret`);
	return { context, page };
}

// JavaScript and console errors of the pages: a scenario fails on any.
export const pageErrors = [];

export function base() {
	const u = new URL(need('RELAIS_UI_URL'));
	return `${u.protocol}//${u.host}`;
}

export async function go(page, pathname) {
	const resp = await page.goto(base() + pathname);
	check(resp && resp.status() === 200, `GET ${pathname} answered ${resp && resp.status()}`);
	return resp;
}

export async function shot(page, name) {
	const out = need('RELAIS_UI_OUT');
	mkdirSync(out, { recursive: true });
	const file = path.join(out, `${name}.png`);
	await page.screenshot({ path: file, fullPage: true });
	return file;
}

// The structure every page shares: French, one h1, a skip link, the menu.
export async function checkLayout(page, what) {
	check(await page.locator('html').getAttribute('lang') === 'fr', `${what}: <html lang> is not "fr"`);
	const h1 = await page.locator('h1').count();
	check(h1 === 1, `${what}: ${h1} h1 elements, expected exactly one`);
	check(await page.getByRole('navigation').count() >= 1, `${what}: no navigation landmark`);
	check(await page.getByRole('main').count() === 1, `${what}: no single main landmark`);
}

let axeSource = null;

// axe-core's WCAG 2.x A/AA rules (the RGAA's reference); fails on any
// serious or critical violation, naming the rule and the elements.
export async function checkAxe(page, what) {
	if (!axeSource)
		axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	// Evaluated through the DevTools protocol, so the page's
	// Content-Security-Policy (no inline script) does not stop it.
	await page.evaluate(axeSource);
	const res = await page.evaluate(() => globalThis.axe.run(document, {
		runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
		resultTypes: ['violations'],
	}));
	const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	if (bad.length) {
		const lines = bad.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n` +
			v.nodes.slice(0, 5).map((n) => `      ${n.target.join(' ')}: ${n.failureSummary.replace(/\n/g, ' ')}`).join('\n'));
		fail(`${what}: accessibility violations (axe-core)\n${lines.join('\n')}`);
	}
}

// Keyboard only: from the top of the page, Tab must reach the skip link
// first and then every link of the menu, each with a visible focus
// indicator (an outline or a box shadow while focused).
export async function checkKeyboardMenu(page, what) {
	const nav = page.getByRole('navigation').first();
	const hrefs = await nav.getByRole('link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
	check(hrefs.length >= 6, `${what}: the menu has ${hrefs.length} links, expected at least 6`);
	await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
	const seen = new Set();
	let first = null;
	for (let i = 0; i < 40 && seen.size < hrefs.length; i++) {
		await page.keyboard.press('Tab');
		const f = await page.evaluate(() => {
			const el = document.activeElement;
			if (!el || el === document.body)
				return null;
			const s = getComputedStyle(el);
			const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
			const shadow = s.boxShadow && s.boxShadow !== 'none';
			const inNav = !!el.closest('nav');
			return {
				tag: el.tagName, href: el.getAttribute('href'), text: (el.textContent || '').trim().slice(0, 40),
				visible: outline || shadow, inNav,
			};
		});
		if (!f)
			continue;
		if (!first)
			first = f;
		check(f.visible, `${what}: focus on <${f.tag}> "${f.text}" has no visible indicator (outline or box-shadow)`);
		if (f.inNav && f.href)
			seen.add(f.href);
	}
	check(first && first.tag === 'A' && first.href && first.href.startsWith('#'),
		`${what}: the first Tab stop is ${first ? `<${first.tag}> "${first.text}"` : 'nothing'}, not a skip link`);
	const missed = hrefs.filter((h) => !seen.has(h));
	check(missed.length === 0, `${what}: Tab never reached the menu links ${missed.join(', ')}`);
}

// Clicks the submit button named name (a RegExp) in scope and waits for the
// page that answers: the form sent back with its errors, or the page that
// the redirect after the post leads to.
export async function submit(page, scope, name) {
	await Promise.all([
		page.waitForEvent('load'),
		scope.getByRole('button', { name }).first().click(),
	]);
}

// Follows a link (a locator) and waits for the page it leads to.
export async function follow(page, link) {
	await Promise.all([page.waitForEvent('load'), link.click()]);
}

function reEscape(s) {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The form control labelled with the model's French label: the label may
// carry a required marker after it ("Nom *", "Nom (obligatoire)"), but "Nom"
// must not find "Prénom".
export function field(scope, label) {
	return scope.getByLabel(new RegExp(`^\\s*${reEscape(label)}(\\s|\\*|\\(|$)`));
}

// The error message tied to a field (aria-describedby), checked to be
// there, flagged with aria-invalid and to mention what pattern says.
export async function fieldError(scope, label, pattern) {
	const input = field(scope, label);
	check(await input.getAttribute('aria-invalid') === 'true', `the field "${label}" is not marked aria-invalid`);
	const ids = (await input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
	check(ids.length > 0, `the field "${label}" has no aria-describedby`);
	let text = '';
	for (const id of ids)
		text += ' ' + await scope.locator(`[id="${id}"]`).innerText();
	check(pattern.test(text), `the message tied to "${label}" is "${text.trim()}", expected ${pattern}`);
	return text.trim();
}

// Selects, in the select labelled label, the option whose text contains text.
export async function selectByText(scope, label, text) {
	const sel = field(scope, label);
	const value = await sel.locator('option').evaluateAll(
		(os, t) => { const o = os.find((x) => x.textContent.includes(t)); return o ? o.value : null; }, text);
	check(value !== null, `the list "${label}" offers no "${text}"`);
	await sel.selectOption(value);
}

// The UUID at the end of the page's path (/structures/ID).
export function idOf(page) {
	const m = new URL(page.url()).pathname.match(/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/);
	check(m, `no row id at the end of ${page.url()}`);
	return m[1];
}

// Runs the relais CLI on a replica home; returns stdout without its trailing newline.
export function relais(home, ...args) {
	const bin = need('RELAIS_BIN');
	try {
		return execFileSync(bin, ['--home', home, ...args], { encoding: 'utf8', timeout: 30000 }).replace(/\n$/, '');
	} catch (e) {
		fail(`relais --home ${home} ${args.join(' ')} failed (${e.status}): ${e.stderr || e.message}`);
	}
	return null;
}

// Runs one scenario: fn(browser) with a global time limit; prints its JSON
// result, or the error, a screenshot of the failing page and its text.
export async function scenario(name, fn) {
	const limit = setTimeout(() => {
		console.error(`${name}: time limit of 60 s reached`);
		process.exit(1);
	}, 60000);
	let browser = null;
	let state = { page: null };
	let rc = 0;
	try {
		browser = await launch();
		step('browser started');
		const result = await fn(browser, state);
		check(pageErrors.length === 0, `JavaScript errors in the pages:\n  ${pageErrors.join('\n  ')}`);
		process.stdout.write(JSON.stringify(result || {}) + '\n');
	} catch (e) {
		rc = 1;
		console.error(`${name}: ${e && e.stack ? e.stack : e}`);
		if (state.page) {
			try {
				console.error(`  page: ${state.page.url()}`);
				const text = await state.page.locator('body').innerText({ timeout: 2000 });
				console.error(`  text: ${text.slice(0, 1500).replace(/\n+/g, ' | ')}`);
				await shot(state.page, `echec-${name}`);
			} catch { /* the page may be gone */ }
		}
	} finally {
		if (browser)
			await browser.close().catch(() => {});
		clearTimeout(limit);
	}
	process.exitCode = rc;
}
