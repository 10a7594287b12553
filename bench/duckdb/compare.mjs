// compare.mjs: the untimed check of `make bench`.
//   node compare.mjs SANBAO_CSV OUT_JSON NAME=PEER_CSV [NAME=PEER_CSV ...]
// For every claim id, every layer column, fund and oop of each peer must equal
// sanbao's settlements.csv to the fen. Prints, per peer, the claims missing
// from or extra to its output and, per column, how many claims differ with up
// to 3 example claim ids; writes the same to OUT_JSON. Nothing is hidden: a
// difference is a difference, whatever its size.
import { DuckDBInstance } from '@duckdb/node-api';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const [sanbao, outJson, ...peers] = process.argv.slice(2);
if (!sanbao || !outJson || !peers.length) {
  console.error('usage: node compare.mjs SANBAO_CSV OUT_JSON NAME=PEER_CSV ...');
  process.exit(2);
}
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const db = await DuckDBInstance.create(':memory:', { threads: String(availableParallelism()) });
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();

// Every column between in_scope and fund is a layer (data-format.md).
const load = async (table, file) => {
  await con.run(`CREATE TABLE ${table} AS SELECT * FROM read_csv(${q(file)}, header = true,
    all_varchar = true)`);
  const cols = (await rows(`SELECT column_name FROM (DESCRIBE ${table})`)).map((r) => r.column_name);
  return cols;
};
const scols = await load('s', sanbao);
const layers = scols.slice(scols.indexOf('in_scope') + 1, scols.indexOf('fund'));
const money = new Set([...layers, 'fund', 'oop', 'oop_in_scope']);
// The payments first (what the benchmark requires), then the rest of the row.
const checked = [...layers, 'fund', 'oop', 'oop_in_scope', 'place', 'identity', 'version'];
const val = (t, c) => money.has(c) ? `${t}.${c}::DECIMAL(18,2)` : `${t}.${c}`;
const ne = (c) => `${val('s', c)} IS DISTINCT FROM ${val('p', c)}`;
const result = { sanbao_claims: Number((await rows('SELECT count(*) n FROM s'))[0].n), layers, peers: {} };

for (const spec of peers) {
  const [name, file] = spec.split(/=(.*)/s);
  const t = `p_${name.replace(/\W/g, '_')}`;
  const pcols = await load(t, file);
  const r = { claims: Number((await rows(`SELECT count(*) n FROM ${t}`))[0].n), columns: {} };
  const dup = await rows(`SELECT count(*) - count(DISTINCT id) n FROM ${t}`);
  r.duplicate_ids = Number(dup[0].n);
  const miss = await rows(`SELECT count(*) n, list(id ORDER BY id)[1:3] ex FROM s ANTI JOIN ${t} p USING (id)`);
  const extra = await rows(`SELECT count(*) n, list(id ORDER BY id)[1:3] ex FROM ${t} ANTI JOIN s USING (id)`);
  r.missing = { count: Number(miss[0].n), examples: miss[0].ex ?? [] };
  r.extra = { count: Number(extra[0].n), examples: extra[0].ex ?? [] };
  const sel = checked.map((c) => pcols.includes(c)
    ? `count(*) FILTER (WHERE ${ne(c)}) AS "n_${c}",
       (list(s.id ORDER BY s.id) FILTER (WHERE ${ne(c)}))[1:3] AS "x_${c}",
       ${money.has(c) ? `sum(abs(${val('s', c)} - ${val('p', c)}))::VARCHAR` : "''"} AS "a_${c}"`
    : `count(*) AS "n_${c}", (list(s.id ORDER BY s.id))[1:3] AS "x_${c}", 'column missing' AS "a_${c}"`).join(',\n');
  const d = (await rows(`SELECT ${sel}, count(*) FILTER (WHERE ${checked.filter((c) => pcols.includes(c))
    .map(ne).join(' OR ') || 'true'}) AS any_diff
    FROM s JOIN ${t} p USING (id)`))[0];
  for (const c of checked)
    r.columns[c] = { differ: Number(d[`n_${c}`]), examples: d[`x_${c}`] ?? [], abs_yuan: d[`a_${c}`] ?? '0' };
  r.claims_differing = Number(d.any_diff) + r.missing.count;
  result.peers[name] = r;

  console.log(`  ${name}: ${r.claims} rows; ${r.claims_differing} of ${result.sanbao_claims} claims differ` +
    ` from sanbao (missing ${r.missing.count}, extra ${r.extra.count}, duplicate ids ${r.duplicate_ids})`);
  for (const x of ['missing', 'extra'])
    if (r[x].count) console.log(`    ${x}: e.g. ${r[x].examples.join(' ')}`);
  for (const c of checked) {
    const v = r.columns[c];
    console.log(`    ${c.padEnd(14)} ${String(v.differ).padStart(9)} differ` +
      (v.differ ? `  (${v.abs_yuan ? `sum |diff| ${v.abs_yuan} yuan; ` : ''}e.g. ${v.examples.join(' ')})` : ''));
  }
}
writeFileSync(outJson, JSON.stringify(result, null, 2) + '\n');
