// node server.js PORTFILE: a CouchDB-protocol server (express-pouchdb over an
// in-memory PouchDB) on 127.0.0.1, its port written to PORTFILE.
'use strict';
const fs = require('fs');
const express = require('express');
const PouchDB = require('./pouch');
const Mem = PouchDB.defaults({ adapter: 'memory' });
const app = express();
app.use('/', require('express-pouchdb')(Mem, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
const srv = app.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(process.argv[2] + '.tmp', String(srv.address().port));
	fs.renameSync(process.argv[2] + '.tmp', process.argv[2]);
});
