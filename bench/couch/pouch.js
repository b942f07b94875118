// The PouchDB that both sides of the comparison use: in memory, replicating
// over HTTP, as a PouchDB replica in a browser or a laptop would.
'use strict';
const PouchDB = require('pouchdb-core')
	.plugin(require('pouchdb-adapter-memory'))
	.plugin(require('pouchdb-adapter-http'))
	.plugin(require('pouchdb-replication'))
	.plugin(require('pouchdb-mapreduce'));
module.exports = PouchDB;
