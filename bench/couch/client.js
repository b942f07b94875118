// node client.js seed URL ROWS.json        puts the rows into URL/annuaire
// node client.js run URL EDITS STALL_S     through a slow link that cuts:
//   the bootstrap of a new replica (replicated again after each cut until
//   complete), then EDITS one-field edits, each synced (push and pull)
//   again until it went through. Prints one JSON line of what it measured.
'use strict';
const fs = require('fs');
const PouchDB = require('./pouch');

function now() { return Number(process.hrtime.bigint()) / 1e9; }

async function seed(url, file) {
	const rows = JSON.parse(fs.readFileSync(file, 'utf8'));
	const db = new PouchDB(url + '/annuaire');
	for (let i = 0; i < rows.length; i += 1000)
		await db.bulkDocs(rows.slice(i, i + 1000));
	const info = await db.info();
	console.log(JSON.stringify({ docs: info.doc_count }));
}

// One replication (or sync) until it completes without an error: PouchDB's
// checkpoints let each attempt go on from where the last one stopped. A cut
// at some moments leaves PouchDB waiting forever (no timeout on its
// requests): an attempt silent for stall_s seconds is cancelled and run
// again, as a person would do.
let stall_s = 60;

async function until_done(start) {
	for (let attempt = 1; ; attempt++) {
		const rep = start();
		let timer;
		try {
			await new Promise((resolve, reject) => {
				const arm = () => {
					clearTimeout(timer);
					timer = setTimeout(() => reject(new Error('stalled')), stall_s * 1000);
				};
				arm();
				rep.on('change', arm);
				rep.on('active', arm);
				rep.then(resolve, reject);
			});
			return attempt;
		} catch (e) {
			if (process.env.BENCH_COUCH_DEBUG)
				console.error('attempt ' + attempt + ': ' + (e && e.message));
			rep.cancel();
			if (attempt >= 1000)
				throw e;
			await new Promise(r => setTimeout(r, 200));
		} finally {
			clearTimeout(timer);
		}
	}
}

async function run(url, edits) {
	// skip_setup: no request at construction, whose failure on a cut
	// would be nobody's to catch.
	const remote = new PouchDB(url + '/annuaire', { skip_setup: true });
	const local = new PouchDB('replica', { adapter: 'memory' });
	let t0 = now();
	const runs = await until_done(() => PouchDB.replicate(remote, local, { batch_size: 100 }));
	const boot = now() - t0;
	const info = await local.info();
	const docs = await local.allDocs({ limit: edits, include_docs: true });
	t0 = now();
	let syncs = 0;
	for (const row of docs.rows) {
		const d = row.doc;
		d.telephone = '05' + String(10000000 + syncs).slice(-8);
		await local.put(d);
		syncs += await until_done(() => PouchDB.sync(local, remote, { batch_size: 100 }));
	}
	const edit_s = now() - t0;
	console.log(JSON.stringify({ docs: info.doc_count, bootstrap_s: boot, bootstrap_runs: runs,
				     edits: docs.rows.length, edits_s: edit_s, edit_runs: syncs }));
}

// PouchDB leaves some of its own requests' failures unhandled (a cut
// during its setup of a replication); the replication itself still fails
// and is run again, so they are no reason to stop.
process.on('unhandledRejection', e => {
	if (process.env.BENCH_COUCH_DEBUG)
		console.error('unhandled: ' + (e && e.message));
});

const [cmd, url, arg, stall] = process.argv.slice(2);
if (stall)
	stall_s = Number(stall);
(cmd === 'seed' ? seed(url, arg) : run(url, Number(arg))).catch(e => {
	console.error('bench-couch: ' + (e && e.message ? e.message : e));
	process.exit(1);
});
