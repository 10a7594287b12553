// settle.mjs: the DuckDB peer of `make bench`.
//   node settle.mjs DATA_DIR OUT_CSV
// Opens an in-memory DuckDB with one thread per core, loads persons.csv,
// identities.csv and claims.csv from DATA_DIR with explicit column types
// (money as DECIMAL(18,2), exact), runs settle.sql (the analyst's SQL for the
// demo province) and COPYs the settlements to OUT_CSV.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node settle.mjs DATA_DIR OUT_CSV');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const sql = readFileSync(join(here, 'settle.sql'), 'utf8').trim().replace(/;\s*$/, '');
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const threads = String(availableParallelism());

const db = await DuckDBInstance.create(':memory:', { threads });
const con = await db.connect();
// Row order is not needed (the output is one row per claim): lets the scans
// and the COPY run in parallel without reordering.
await con.run('SET preserve_insertion_order = false');

// ROUND on a DECIMAL must round half away from zero (= half up here).
const chk = (await con.runAndReadAll(
  `SELECT ROUND(0.005::DECIMAL(18,3), 2)::VARCHAR, ROUND(2.665::DECIMAL(18,3), 2)::VARCHAR,
          ROUND(1.124999::DECIMAL(18,6), 2)::VARCHAR, ROUND(0.125000::DECIMAL(18,6) * 1, 2)::VARCHAR`)).getRows()[0];
if (chk.join(' ') !== '0.01 2.67 1.12 0.13') {
  console.error(`duckdb: ROUND is not half up on DECIMAL here: ${chk.join(' ')}`);
  process.exit(1);
}

const money = 'DECIMAL(18,2)';
await con.run(`CREATE TABLE persons AS SELECT * FROM read_csv(${q(join(dir, 'persons.csv'))},
  header = true, columns = {'id': 'VARCHAR', 'scheme': 'VARCHAR', 'region': 'VARCHAR',
  'household': 'VARCHAR', 'employment': 'VARCHAR', 'income': '${money}',
  'wage_base': '${money}', 'residence': 'VARCHAR'})`);
await con.run(`CREATE TABLE identities AS SELECT * FROM read_csv(${q(join(dir, 'identities.csv'))},
  header = true, columns = {'person': 'VARCHAR', 'identity': 'VARCHAR', 'from': 'DATE', 'to': 'DATE'})`);
await con.run(`CREATE TABLE claims AS SELECT * FROM read_csv(${q(join(dir, 'claims.csv'))},
  header = true, columns = {'id': 'VARCHAR', 'person': 'VARCHAR', 'date': 'DATE', 'visit': 'VARCHAR',
  'level': 'VARCHAR', 'care_region': 'VARCHAR', 'filing': 'VARCHAR', 'facility': 'VARCHAR',
  'total': '${money}', 'in_scope': '${money}', 'pre_selfpay': '${money}',
  'over_limit': '${money}', 'out_of_scope': '${money}'})`);
await con.run(`COPY (${sql}) TO ${q(out)} (HEADER, DELIMITER ',')`);
