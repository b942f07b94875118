/* relais ui - a little JavaScript: every page works without it.
 * - the sync button posts in the background and polls the progress into
 *   the aria-live region #etat-sync;
 * - the directory's search field updates the results while typing. */
(function () {
	'use strict';

	function csrf() {
		var m = document.querySelector('meta[name="csrf"]');
		return m ? m.getAttribute('content') : '';
	}

	function setState(el, etat, message) {
		el.className = 'etat-sync ' + etat;
		el.textContent = message;
	}

	function poll(el, button) {
		fetch('/synchronisation/etat', { credentials: 'same-origin' })
			.then(function (r) { return r.json(); })
			.then(function (s) {
				setState(el, s.etat, s.message || 'Synchronisation en cours…');
				if (s.etat === 'en_cours') {
					setTimeout(function () { poll(el, button); }, 1000);
				} else {
					if (button)
						button.disabled = false;
					/* The counts of the page changed: reload it, the result stays shown. */
					if (s.etat === 'terminee' && document.getElementById('attente'))
						setTimeout(function () { window.location.reload(); }, 1500);
				}
			})
			.catch(function () {
				setTimeout(function () { poll(el, button); }, 2000);
			});
	}

	function initSync() {
		var form = document.getElementById('form-sync');
		var el = document.getElementById('etat-sync');
		if (!el)
			return;
		if (el.getAttribute('data-suivre') === '1' || el.classList.contains('en_cours'))
			poll(el, null);
		if (!form)
			return;
		form.addEventListener('submit', function (ev) {
			ev.preventDefault();
			var button = form.querySelector('button');
			button.disabled = true;
			setState(el, 'en_cours', 'Synchronisation en cours…');
			var body = new URLSearchParams();
			body.append('csrf', csrf());
			body.append('js', '1');
			fetch('/synchroniser', { method: 'POST', body: body, credentials: 'same-origin' })
				.then(function () { poll(el, button); })
				.catch(function () {
					button.disabled = false;
					setState(el, 'echec', "L'interface ne répond plus : relancez « relais ui ».");
				});
		});
	}

	function initSearch() {
		var form = document.getElementById('form-annuaire');
		var out = document.getElementById('resultats');
		if (!form || !out)
			return;
		var timer = null, seq = 0;
		function update() {
			var params = new URLSearchParams(new FormData(form));
			params.append('partiel', '1');
			var mine = ++seq;
			fetch('/annuaire?' + params.toString(), { credentials: 'same-origin' })
				.then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
				.then(function (html) {
					if (mine !== seq)
						return;
					out.innerHTML = html;
					params.delete('partiel');
					history.replaceState(null, '', '/annuaire?' + params.toString());
				})
				.catch(function () { /* the button still works */ });
		}
		form.addEventListener('input', function () {
			clearTimeout(timer);
			timer = setTimeout(update, 150);
		});
		/* A select or a box ticked; a text field already updated as it was
		 * typed in (its change, when it loses the focus, would refresh the
		 * results under the link being clicked). */
		form.addEventListener('change', function (e) {
			if (e.target.type !== 'search' && e.target.type !== 'text')
				update();
		});
	}

	/* A form sent back with errors: the summary gets the focus, so that a
	 * screen reader reads it first and Tab leads to its links. */
	function initErrors() {
		var summary = document.getElementById('resume-erreurs');
		if (summary)
			summary.focus();
	}

	document.addEventListener('DOMContentLoaded', function () {
		initErrors();
		initSync();
		initSearch();
	});
})();
