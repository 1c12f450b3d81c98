import { PGlite } from '@electric-sql/pglite';
import fs from 'node:fs';
let t0 = Date.now();
if (!fs.existsSync('/tmp/tpl.tgz')) {
const db = await PGlite.create('memory://');
const blob = await db.dumpDataDir('gzip');
fs.writeFileSync('/tmp/tpl.tgz', Buffer.from(await blob.arrayBuffer()));
await db.close();
console.log('dumped', Date.now()-t0, fs.statSync('/tmp/tpl.tgz').size);
}
t0 = Date.now();
const buf = fs.readFileSync('/tmp/tpl.tgz');
rmSync: fs.rmSync('/tmp/pgd2', {recursive:true, force:true});
const db2 = await PGlite.create('/tmp/pgd2', { loadDataDir: new Blob([buf]) });
console.log('loaded', Date.now()-t0, (await db2.query('select 1 as x')).rows);
await db2.close();
t0 = Date.now();
const db3 = await PGlite.create('memory://', { loadDataDir: new Blob([buf]) });
console.log('loaded mem', Date.now()-t0);
