// coverage.mjs: which rules of the demo province a generated province
// actually exercises (by hand; not part of `make bench`).
//   node coverage.mjs DATA_DIR
// Runs settle.sql's CTEs and counts, e.g., claims whose payment a cap limits,
// penalties, skips, 990200's minors, 大病 payments by region and mode,
// person-years whose identity (and so 医疗救助 cap) changes. A rule that no claim
// exercises is a rule the payment check says nothing about.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node coverage.mjs DATA_DIR');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const db = await DuckDBInstance.create(':memory:', { threads: String(availableParallelism()) });
const con = await db.connect();
const money = 'DECIMAL(18,2)';
await con.run(`CREATE TABLE persons AS SELECT * FROM read_csv('${dir}/persons.csv', header = true,
  columns = {'id': 'VARCHAR', 'scheme': 'VARCHAR', 'region': 'VARCHAR', 'household': 'VARCHAR',
  'employment': 'VARCHAR', 'income': '${money}',
  'wage_base': '${money}', 'residence': 'VARCHAR'})`);
await con.run(`CREATE TABLE identities AS SELECT * FROM read_csv('${dir}/identities.csv', header = true,
  columns = {'person': 'VARCHAR', 'identity': 'VARCHAR', 'from': 'DATE', 'to': 'DATE'})`);
await con.run(`CREATE TABLE claims AS SELECT * FROM read_csv('${dir}/claims.csv', header = true,
  columns = {'id': 'VARCHAR', 'person': 'VARCHAR', 'date': 'DATE', 'visit': 'VARCHAR',
  'level': 'VARCHAR', 'care_region': 'VARCHAR', 'filing': 'VARCHAR', 'facility': 'VARCHAR',
  'total': '${money}', 'in_scope': '${money}', 'pre_selfpay': '${money}',
  'over_limit': '${money}', 'out_of_scope': '${money}'})`);
const sql = readFileSync(join(here, 'settle.sql'), 'utf8');
const head = sql.slice(0, sql.lastIndexOf('SELECT id, person, region'));
const qs = {
  'basic layers: claims, cap-limited, penalised, skipped, 990200 minors':
    `SELECT layer, count(*) claims, count(*) FILTER (WHERE room < u) cap_limited,
            count(*) FILTER (WHERE basic_penalty > 0) penalised, count(*) FILTER (WHERE skip) skipped,
            count(*) FILTER (WHERE layer = 'basic_res' AND region = '990200' AND age <= 17) minors
     FROM basic GROUP BY layer ORDER BY layer`,
  '大病 paid, by region, version, special group, mode; claims paid beyond the first band':
    `SELECT c.region, c.vfrom, c.special, c.mode, count(DISTINCT c.id) FILTER (WHERE o > 0) paid,
            count(DISTINCT c.id) FILTER (WHERE o > 0 AND band_from > 0) beyond_first_band
     FROM (SELECT c.*, cb.band_from, GREATEST(0,
             LEAST(c.c0 + c.base, CASE WHEN cb.band_to IS NULL THEN 1000000000.00
                                       WHEN c.mode = 'cumulative' THEN GREATEST(cb.band_to, c.ded)
                                       ELSE cb.band_to + c.ded END)
           - GREATEST(c.c0, CASE WHEN c.mode = 'cumulative' THEN GREATEST(cb.band_from, c.ded)
                                 ELSE cb.band_from + c.ded END)) o
           FROM crit_c c JOIN critical_bands cb
             ON cb.region = c.region AND cb.vfrom = c.vfrom AND cb.special = c.special) c
     GROUP BY ALL ORDER BY ALL`,
  '大病 cap-limited': `SELECT count(*) FILTER (WHERE paid_sum < u_sum) n FROM crit_s`,
  '医疗救助: applies, paid, cap-limited, with a deductible, base less penalties':
    `SELECT count(*) applies, count(*) FILTER (WHERE u > 0) paid,
            count(*) FILTER (WHERE paid_sum < u_sum) cap_limited,
            count(*) FILTER (WHERE ded > 0 AND u > 0) deductible
     FROM assist_s`,
  '医疗救助 base reduced by a penalty':
    `SELECT count(*) n FROM basic WHERE basic_penalty > 0 AND visit IN ('inpatient', 'chronic_outpatient')
       AND identity IN ('tekun', 'dibao', 'monitored', 'dibao_edge', 'illness_poor')`,
  '医疗救助 person-years whose cap changes (identity change)':
    `SELECT count(*) n FROM (SELECT person, year FROM assist_in GROUP BY ALL HAVING count(DISTINCT cap) > 1)`,
  '倾斜救助: applies, paid, cap-limited':
    `SELECT count(*) applies, count(*) FILTER (WHERE tilted_pay > 0) paid,
            count(*) FILTER (WHERE tilted_pay < u) cap_limited
     FROM tilted JOIN (SELECT id, LEAST(base, ROUND(rate * GREATEST(0, base - ded), 2)) u FROM tilt_in) USING (id)`,
  'person-years whose applied identity changes':
    `SELECT count(*) n FROM (SELECT person, year FROM ctx GROUP BY ALL HAVING count(DISTINCT identity) > 1)`,
  'claims by version': `SELECT vfrom, count(*) n FROM ctx GROUP BY ALL ORDER BY ALL`,
};
for (const [what, q] of Object.entries(qs)) {
  console.log(`${what}:`);
  for (const r of (await con.runAndReadAll(`${head} ${q}`)).getRowObjectsJson())
    console.log('  ' + Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', '));
}
