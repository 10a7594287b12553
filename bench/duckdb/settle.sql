-- settle.sql: the demo province (policies/demo: 990000.yaml and the five
-- regions 990100 ... 990500 that extend it) settled the way an analyst at the
-- provincial 医保局 would write it in SQL: one query, CTEs per layer, window
-- functions for the per-person, per-policy-year running sums, CASE for the
-- conditions and adjust entries.
--
-- settle.mjs has loaded three tables before running this query:
--   persons(id, scheme, region, household, employment, income)
--   identities(person, identity, "from", "to")
--   claims(id, person, date, visit, level, care_region, filing, facility,
--          total, in_scope, pre_selfpay, over_limit, out_of_scope)
-- with every amount DECIMAL(18,2), so money is exact. ROUND(x, 2) on a DECIMAL
-- rounds half away from zero, which is half up for the non-negative amounts
-- here (settle.mjs checks it on start).
--
-- The regional parameters below are NOT read from the YAML: they are VALUES
-- tables typed by hand from policies/demo/*.yaml, each region's file already
-- merged over the province file (extends), the way an analyst would type them.
-- If a policy file changes, these tables must be retyped.
--
-- What the analyst knows about this data and so does not code for:
--   * gen writes no `tier` column, so 990300's tier-2 entry never holds;
--   * no claim carries paid_<layer> amounts, no place column, no code values
--     (310/390, 21/14/11/41): the extract uses the words;
--   * every base is `in_scope` (no layer uses in_scope_and_pre_selfpay) and no
--     layer has `repeat`;
--   * the policy year is the calendar year (no year_start);
--   * no adjust entry takes a rate outside [0, 1], so none is clamped.
--
-- Caps, the awkward part: a layer's payment is min(base, round(raw), room),
-- room = cap - what its pool has paid this year. Where the cap is one number
-- for the person's whole year (every basic pool, 倾斜救助) the pool has paid
-- min(cap, U), U the running sum of uncapped payments, which a window gives
-- exactly. Where the cap depends on the claim's identity (大病: none for
-- special groups; 医疗救助: 2万 for 因病致贫, else 3万) the paid amount is
-- S_i = U_i + min(0, min over j <= i of (cap_j - U_j)), also a window; it
-- equals the engine's running total unless a cap falls below what the pool
-- has already paid (an identity change mid-year), then it may differ.
WITH
-- ---- policy parameters, typed from policies/demo/*.yaml -------------------
-- The merged policy in force: a region's version from `vfrom` until `vto`.
-- (990300 has one version; the others change on 2024-01-01.)
versions(region, vfrom, vto) AS (VALUES
    ('990100', DATE '2023-01-01', DATE '2024-01-01'),
    ('990100', DATE '2024-01-01', DATE '9999-12-31'),
    ('990200', DATE '2023-01-01', DATE '2024-01-01'),
    ('990200', DATE '2024-01-01', DATE '9999-12-31'),
    ('990300', DATE '2023-01-01', DATE '9999-12-31'),
    ('990400', DATE '2023-01-01', DATE '2024-01-01'),
    ('990400', DATE '2024-01-01', DATE '9999-12-31'),
    ('990500', DATE '2023-01-01', DATE '2024-01-01'),
    ('990500', DATE '2024-01-01', DATE '9999-12-31')),
-- Per-capita disposable income (all), yuan, by region and year.
income(region, year, income_all) AS (VALUES
    ('990100', 2022, 46104.00), ('990100', 2023, 49023.00), ('990100', 2024, 51643.00),
    ('990200', 2022, 40571.00), ('990200', 2023, 43140.00), ('990200', 2024, 45445.00),
    ('990300', 2022, 31351.00), ('990300', 2023, 33335.00), ('990300', 2024, 35117.00),
    ('990400', 2022, 27662.00), ('990400', 2023, 29414.00), ('990400', 2024, 30986.00),
    ('990500', 2022, 36883.00), ('990500', 2023, 39218.00), ('990500', 2024, 41314.00)),
-- Identity priority (990000.yaml identities:, not overridden by any region).
priority(identity, prio) AS (VALUES
    ('tekun', 1), ('dibao', 2), ('monitored', 3), ('dibao_edge', 4),
    ('illness_poor', 5), ('tuopin', 6)),
-- Basic insurance, one row per region, version and layer: deductible and rate
-- by level (d1/r1 primary, d2/r2 secondary, d3/r3 tertiary), annual cap.
-- Pools: basic_emp + basic_emp_mxb share `basic_emp`, basic_res +
-- basic_res_mxb share `basic_res`; the *_opd layers have their own.
basic_params(region, vfrom, layer, d1, d2, d3, r1, r2, r3, cap) AS (VALUES
    -- 990100 2023: resident 300/600/1200, 85/80/65%, caps 30万 / 40万
    ('990100', DATE '2023-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 400000.00),
    ('990100', DATE '2023-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 400000.00),
    ('990100', DATE '2023-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990100', DATE '2023-01-01', 'basic_res',      300.00,  600.00, 1200.00, 0.85, 0.80, 0.65, 300000.00),
    ('990100', DATE '2023-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 300000.00),
    ('990100', DATE '2023-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    -- 990100 2024: tertiary resident deductible 1000
    ('990100', DATE '2024-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 400000.00),
    ('990100', DATE '2024-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 400000.00),
    ('990100', DATE '2024-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990100', DATE '2024-01-01', 'basic_res',      300.00,  600.00, 1000.00, 0.85, 0.80, 0.65, 300000.00),
    ('990100', DATE '2024-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 300000.00),
    ('990100', DATE '2024-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    -- 990200 (both versions): resident 400/400/800, 85/85/75%
    ('990200', DATE '2023-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 300000.00),
    ('990200', DATE '2023-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 300000.00),
    ('990200', DATE '2023-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990200', DATE '2023-01-01', 'basic_res',      400.00,  400.00,  800.00, 0.85, 0.85, 0.75, 200000.00),
    ('990200', DATE '2023-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 200000.00),
    ('990200', DATE '2023-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    ('990200', DATE '2024-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 300000.00),
    ('990200', DATE '2024-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 300000.00),
    ('990200', DATE '2024-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990200', DATE '2024-01-01', 'basic_res',      400.00,  400.00,  800.00, 0.85, 0.85, 0.75, 200000.00),
    ('990200', DATE '2024-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 200000.00),
    ('990200', DATE '2024-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    -- 990300: resident 100/400/800, province rates, cap 15万
    ('990300', DATE '2023-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 300000.00),
    ('990300', DATE '2023-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 300000.00),
    ('990300', DATE '2023-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990300', DATE '2023-01-01', 'basic_res',      100.00,  400.00,  800.00, 0.85, 0.75, 0.60, 150000.00),
    ('990300', DATE '2023-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 150000.00),
    ('990300', DATE '2023-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    -- 990400 (both versions): resident 150/400/700, 90/80/65%
    ('990400', DATE '2023-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 300000.00),
    ('990400', DATE '2023-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 300000.00),
    ('990400', DATE '2023-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990400', DATE '2023-01-01', 'basic_res',      150.00,  400.00,  700.00, 0.90, 0.80, 0.65, 200000.00),
    ('990400', DATE '2023-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 200000.00),
    ('990400', DATE '2023-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    ('990400', DATE '2024-01-01', 'basic_emp',      300.00,  600.00,  900.00, 0.90, 0.87, 0.85, 300000.00),
    ('990400', DATE '2024-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 300000.00),
    ('990400', DATE '2024-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990400', DATE '2024-01-01', 'basic_res',      150.00,  400.00,  700.00, 0.90, 0.80, 0.65, 200000.00),
    ('990400', DATE '2024-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 200000.00),
    ('990400', DATE '2024-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    -- 990500 (both versions): employee 200/500/1000, caps 40万
    ('990500', DATE '2023-01-01', 'basic_emp',      200.00,  500.00, 1000.00, 0.90, 0.87, 0.85, 400000.00),
    ('990500', DATE '2023-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 400000.00),
    ('990500', DATE '2023-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990500', DATE '2023-01-01', 'basic_res',      200.00,  500.00,  800.00, 0.85, 0.75, 0.60, 200000.00),
    ('990500', DATE '2023-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 200000.00),
    ('990500', DATE '2023-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00),
    ('990500', DATE '2024-01-01', 'basic_emp',      200.00,  500.00, 1000.00, 0.90, 0.87, 0.85, 400000.00),
    ('990500', DATE '2024-01-01', 'basic_emp_mxb',    0.00,    0.00,    0.00, 0.85, 0.85, 0.85, 400000.00),
    ('990500', DATE '2024-01-01', 'basic_emp_opd',  800.00,  800.00,  800.00, 0.50, 0.50, 0.50,   3000.00),
    ('990500', DATE '2024-01-01', 'basic_res',      200.00,  500.00,  800.00, 0.85, 0.75, 0.60, 200000.00),
    ('990500', DATE '2024-01-01', 'basic_res_mxb',    0.00,    0.00,    0.00, 0.60, 0.60, 0.60, 200000.00),
    ('990500', DATE '2024-01-01', 'basic_res_opd',    0.00,    0.00,    0.00, 0.60, 0.50, 0.50,    400.00)),
-- 大病 (critical): deductible 50% of last year's income (all), x ded_factor
-- for the special groups (tekun, dibao, monitored); mode; cap (NULL: none).
critical_params(region, vfrom, special, mode, ded_factor, cap) AS (VALUES
    ('990100', DATE '2023-01-01', false, 'cumulative',       1.0, 300000.00),
    ('990100', DATE '2023-01-01', true,  'cumulative',       0.5, NULL),
    ('990100', DATE '2024-01-01', false, 'cumulative',       1.0, 300000.00),
    ('990100', DATE '2024-01-01', true,  'cumulative',       0.5, NULL),
    ('990200', DATE '2023-01-01', false, 'cumulative',       1.0, 300000.00),
    ('990200', DATE '2023-01-01', true,  'cumulative',       0.5, NULL),
    ('990200', DATE '2024-01-01', false, 'cumulative',       1.0, 400000.00),
    ('990200', DATE '2024-01-01', true,  'cumulative',       0.5, NULL),
    ('990300', DATE '2023-01-01', false, 'above_deductible', 1.0, NULL),
    ('990300', DATE '2023-01-01', true,  'above_deductible', 0.5, NULL),
    ('990400', DATE '2023-01-01', false, 'above_deductible', 1.0, 300000.00),
    ('990400', DATE '2023-01-01', true,  'above_deductible', 0.5, NULL),
    ('990400', DATE '2024-01-01', false, 'above_deductible', 1.0, 300000.00),
    ('990400', DATE '2024-01-01', true,  'above_deductible', 0.5, NULL),
    ('990500', DATE '2023-01-01', false, 'cumulative',       1.0, 300000.00),
    ('990500', DATE '2023-01-01', true,  'cumulative',       0.5, NULL),
    ('990500', DATE '2024-01-01', false, 'cumulative',       1.0, 300000.00),
    ('990500', DATE '2024-01-01', true,  'cumulative',       0.5, NULL)),
-- 大病 bands: [band_from, band_to) and rate; special groups +5 points
-- (990300: one band at 70%). band_to NULL: no upper end.
critical_bands(region, vfrom, special, band_from, band_to, rate) AS (VALUES
    ('990100', DATE '2023-01-01', false,      0.00,  50000.00, 0.60),
    ('990100', DATE '2023-01-01', false,  50000.00, 100000.00, 0.70),
    ('990100', DATE '2023-01-01', false, 100000.00, NULL,      0.80),
    ('990100', DATE '2023-01-01', true,       0.00,  50000.00, 0.65),
    ('990100', DATE '2023-01-01', true,   50000.00, 100000.00, 0.75),
    ('990100', DATE '2023-01-01', true,  100000.00, NULL,      0.85),
    ('990100', DATE '2024-01-01', false,      0.00,  50000.00, 0.60),
    ('990100', DATE '2024-01-01', false,  50000.00, 100000.00, 0.70),
    ('990100', DATE '2024-01-01', false, 100000.00, NULL,      0.80),
    ('990100', DATE '2024-01-01', true,       0.00,  50000.00, 0.65),
    ('990100', DATE '2024-01-01', true,   50000.00, 100000.00, 0.75),
    ('990100', DATE '2024-01-01', true,  100000.00, NULL,      0.85),
    ('990200', DATE '2023-01-01', false,      0.00,  50000.00, 0.60),
    ('990200', DATE '2023-01-01', false,  50000.00, 100000.00, 0.70),
    ('990200', DATE '2023-01-01', false, 100000.00, NULL,      0.80),
    ('990200', DATE '2023-01-01', true,       0.00,  50000.00, 0.65),
    ('990200', DATE '2023-01-01', true,   50000.00, 100000.00, 0.75),
    ('990200', DATE '2023-01-01', true,  100000.00, NULL,      0.85),
    ('990200', DATE '2024-01-01', false,      0.00, 100000.00, 0.60),
    ('990200', DATE '2024-01-01', false, 100000.00, 200000.00, 0.65),
    ('990200', DATE '2024-01-01', false, 200000.00, 300000.00, 0.70),
    ('990200', DATE '2024-01-01', false, 300000.00, NULL,      0.75),
    ('990200', DATE '2024-01-01', true,       0.00, 100000.00, 0.65),
    ('990200', DATE '2024-01-01', true,  100000.00, 200000.00, 0.70),
    ('990200', DATE '2024-01-01', true,  200000.00, 300000.00, 0.75),
    ('990200', DATE '2024-01-01', true,  300000.00, NULL,      0.80),
    ('990300', DATE '2023-01-01', false,      0.00,  50000.00, 0.60),
    ('990300', DATE '2023-01-01', false,  50000.00, 100000.00, 0.65),
    ('990300', DATE '2023-01-01', false, 100000.00, NULL,      0.70),
    ('990300', DATE '2023-01-01', true,       0.00, NULL,      0.70),
    ('990400', DATE '2023-01-01', false,      0.00,  50000.00, 0.55),
    ('990400', DATE '2023-01-01', false,  50000.00, 100000.00, 0.65),
    ('990400', DATE '2023-01-01', false, 100000.00, NULL,      0.75),
    ('990400', DATE '2023-01-01', true,       0.00,  50000.00, 0.60),
    ('990400', DATE '2023-01-01', true,   50000.00, 100000.00, 0.70),
    ('990400', DATE '2023-01-01', true,  100000.00, NULL,      0.80),
    ('990400', DATE '2024-01-01', false,      0.00,  50000.00, 0.55),
    ('990400', DATE '2024-01-01', false,  50000.00, 100000.00, 0.65),
    ('990400', DATE '2024-01-01', false, 100000.00, NULL,      0.75),
    ('990400', DATE '2024-01-01', true,       0.00,  50000.00, 0.60),
    ('990400', DATE '2024-01-01', true,   50000.00, 100000.00, 0.70),
    ('990400', DATE '2024-01-01', true,  100000.00, NULL,      0.80),
    ('990500', DATE '2023-01-01', false,      0.00,  50000.00, 0.60),
    ('990500', DATE '2023-01-01', false,  50000.00, 100000.00, 0.70),
    ('990500', DATE '2023-01-01', false, 100000.00, NULL,      0.80),
    ('990500', DATE '2023-01-01', true,       0.00,  50000.00, 0.65),
    ('990500', DATE '2023-01-01', true,   50000.00, 100000.00, 0.75),
    ('990500', DATE '2023-01-01', true,  100000.00, NULL,      0.85),
    ('990500', DATE '2024-01-01', false,      0.00,  50000.00, 0.60),
    ('990500', DATE '2024-01-01', false,  50000.00, 100000.00, 0.70),
    ('990500', DATE '2024-01-01', false, 100000.00, NULL,      0.80),
    ('990500', DATE '2024-01-01', true,       0.00,  50000.00, 0.65),
    ('990500', DATE '2024-01-01', true,   50000.00, 100000.00, 0.75),
    ('990500', DATE '2024-01-01', true,  100000.00, NULL,      0.85)),
-- 医疗救助 (assistance), the province's table by identity: rate, deductible
-- as a share of last year's income (all), annual cap.
assistance_params(identity, rate, ded_share, cap) AS (VALUES
    ('tekun',        0.70, 0.00, 30000.00),
    ('dibao',        0.70, 0.00, 30000.00),
    ('monitored',    0.60, 0.00, 30000.00),
    ('dibao_edge',   0.60, 0.10, 30000.00),
    ('illness_poor', 0.50, 0.25, 20000.00)),
-- ... and 990400's overrides: 2023 cap 2万 for all; 2024 特困 100%.
assistance_region(region, vfrom, identity, rate, cap) AS (VALUES
    ('990400', DATE '2023-01-01', 'tekun',        NULL, 20000.00),
    ('990400', DATE '2023-01-01', 'dibao',        NULL, 20000.00),
    ('990400', DATE '2023-01-01', 'monitored',    NULL, 20000.00),
    ('990400', DATE '2023-01-01', 'dibao_edge',   NULL, 20000.00),
    ('990400', DATE '2024-01-01', 'tekun',        1.00, NULL)),
-- 倾斜救助 (tilted): deductible, rate, cap; 990500 has none before 2024.
tilted_params(region, vfrom, deductible, rate, cap) AS (VALUES
    ('990100', DATE '2023-01-01', 3000.00, 0.60, 30000.00),
    ('990100', DATE '2024-01-01', 2000.00, 0.60, 30000.00),
    ('990200', DATE '2023-01-01', 3000.00, 0.60, 20000.00),
    ('990200', DATE '2024-01-01', 3000.00, 0.60, 20000.00),
    ('990300', DATE '2023-01-01', 3000.00, 0.60, 20000.00),
    ('990400', DATE '2023-01-01', 3000.00, 0.60, 20000.00),
    ('990400', DATE '2024-01-01', 3000.00, 0.60, 20000.00),
    ('990500', DATE '2024-01-01', 3000.00, 0.60, 20000.00)),
-- ---- the claims in context -------------------------------------------------
ident AS (   -- the identity applied: the first in priority held on the date
    SELECT c.id, arg_min(i.identity, pr.prio) AS identity
    FROM claims c
    JOIN identities i ON i.person = c.person
     AND c.date >= i."from" AND c.date <= coalesce(i."to", DATE '9999-12-31')
    JOIN priority pr ON pr.identity = i.identity
    GROUP BY c.id),
enrolled AS MATERIALIZED (   -- each claim with its person's enrolment
    SELECT c.*, p.region, p.scheme, p.employment
    FROM claims c JOIN persons p ON p.id = c.person),
ctx AS (
    SELECT c.id, c.person, c.region, c.date, year(c.date) AS year, v.vfrom,
           c.visit, c.level, c.scheme, c.employment,
           CASE WHEN c.care_region = c.region THEN 'local'
                WHEN left(c.care_region, 2) = left(c.region, 2) THEN 'in_province'
                ELSE 'cross_province' END AS place,
           coalesce(nullif(c.filing, ''), 'filed') AS filing,
           coalesce(ic.identity, 'none') AS identity,
           -- whole years on the claim date, from the ID's birth date
           year(c.date) - CAST(substr(c.person, 7, 4) AS INTEGER)
             - CASE WHEN strftime(c.date, '%m%d') < substr(c.person, 11, 4) THEN 1 ELSE 0 END AS age,
           c.total, c.in_scope
    FROM enrolled c
    JOIN versions v ON v.region = c.region AND c.date >= v.vfrom AND c.date < v.vto
    LEFT JOIN ident ic ON ic.id = c.id),
-- ---- layer 1: basic insurance (exactly one of six layers per claim) ---------
basic_in AS (
    SELECT x.*, bp.cap,
           CASE x.level WHEN 'primary' THEN bp.d1 WHEN 'secondary' THEN bp.d2
                        WHEN 'tertiary' THEN bp.d3 END AS d0,
           CASE x.level WHEN 'primary' THEN bp.r1 WHEN 'secondary' THEN bp.r2
                        WHEN 'tertiary' THEN bp.r3 END AS r0,
           bp.layer,
           CASE WHEN bp.layer IN ('basic_emp', 'basic_emp_mxb') THEN 'basic_emp'
                WHEN bp.layer IN ('basic_res', 'basic_res_mxb') THEN 'basic_res'
                ELSE bp.layer END AS pool
    FROM ctx x
    JOIN basic_params bp ON bp.region = x.region AND bp.vfrom = x.vfrom
     AND bp.layer = CASE
         WHEN x.scheme = 'employee' AND x.visit = 'inpatient' THEN 'basic_emp'
         WHEN x.scheme = 'employee' AND x.visit = 'chronic_outpatient' THEN 'basic_emp_mxb'
         WHEN x.scheme = 'employee' THEN 'basic_emp_opd'
         WHEN x.visit = 'inpatient' THEN 'basic_res'
         WHEN x.visit = 'chronic_outpatient' THEN 'basic_res_mxb'
         ELSE 'basic_res_opd' END),
basic_adj AS (   -- the adjust entries, in each layer's order
    SELECT *,
        -- deductible
        CASE layer
          WHEN 'basic_emp' THEN d0 * CASE WHEN place = 'in_province' THEN 2 ELSE 1 END
          WHEN 'basic_emp_opd' THEN CASE WHEN employment = 'retired' THEN 600.00 ELSE d0 END
          WHEN 'basic_res' THEN
              CASE WHEN region = '990200' AND age BETWEEN 0 AND 17 THEN ROUND(d0 * 0.5, 2) ELSE d0 END
              * CASE WHEN place = 'in_province' THEN 2 ELSE 1 END
          ELSE d0 END AS ded,
        -- rate with the entries that are not penalties
        CASE layer
          WHEN 'basic_emp' THEN r0
              + CASE WHEN employment = 'retired' THEN 0.05 ELSE 0 END
              + CASE WHEN place = 'cross_province' AND filing IN ('referral', 'emergency') THEN -0.10 ELSE 0 END
          WHEN 'basic_emp_mxb' THEN r0 + CASE WHEN employment = 'retired' THEN 0.05 ELSE 0 END
          WHEN 'basic_emp_opd' THEN CASE WHEN employment = 'retired' THEN 0.60 ELSE r0 END
          WHEN 'basic_res' THEN r0
              + CASE WHEN region = '990200' AND age BETWEEN 0 AND 17 THEN 0.10 ELSE 0 END
              + CASE WHEN place = 'cross_province' AND filing IN ('referral', 'emergency') THEN -0.10 ELSE 0 END
          ELSE r0 END AS rate_bare,
        -- the penalty entries (unfiled off-site care)
        CASE WHEN layer IN ('basic_emp', 'basic_res') AND place = 'in_province' AND filing = 'unfiled' THEN -0.10
             WHEN layer IN ('basic_emp', 'basic_res', 'basic_emp_mxb', 'basic_res_mxb')
                  AND place = 'cross_province' AND filing = 'unfiled' THEN -0.20
             ELSE 0 END AS rate_penalty,
        -- ordinary outpatient: unfiled cross-province care is not paid
        layer IN ('basic_emp_opd', 'basic_res_opd') AND place = 'cross_province' AND filing = 'unfiled' AS skip
    FROM basic_in),
opd_c0 AS (      -- basic_emp_opd accumulates its base over the year (scope: year)
    SELECT id, CAST(coalesce(SUM(in_scope) OVER (
               PARTITION BY person, year ORDER BY date, id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS DECIMAL(18,2)) AS c0
    FROM basic_adj WHERE layer = 'basic_emp_opd' AND NOT skip),
basic_c0 AS (
    SELECT b.*, coalesce(o.c0, 0) AS c0 FROM basic_adj b LEFT JOIN opd_c0 o ON o.id = b.id),
basic_u AS (     -- payment before the cap: min(base, round(rate x part above D))
    SELECT *,
        CAST(CASE WHEN skip THEN 0 ELSE LEAST(in_scope, ROUND(
            (rate_bare + rate_penalty) * GREATEST(0, c0 + in_scope - GREATEST(c0, ded)), 2)) END AS DECIMAL(18,2)) AS u,
        CAST(CASE WHEN skip THEN 0 ELSE LEAST(in_scope, ROUND(
            rate_bare * GREATEST(0, c0 + in_scope - GREATEST(c0, ded)), 2)) END AS DECIMAL(18,2)) AS u_bare
    FROM basic_c0),
basic AS (       -- the pool's cap: room = cap - min(cap, earlier uncapped payments)
    SELECT *,
        LEAST(u, room) AS basic_pay,
        GREATEST(0, LEAST(u_bare, room) - LEAST(u, room)) AS basic_penalty
    FROM (SELECT *, GREATEST(0, cap - CAST(coalesce(SUM(u) OVER (
                 PARTITION BY person, year, pool ORDER BY date, id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS DECIMAL(18,2))) AS room
          FROM basic_u)),
-- ---- layer 2: 大病 (critical), residents' inpatient and chronic care ---------
crit_in AS (
    SELECT b.id, b.person, b.year, b.date, b.region, b.vfrom,
           b.in_scope - b.basic_pay AS base,
           b.identity IN ('tekun', 'dibao', 'monitored') AS special
    FROM basic b
    WHERE b.scheme = 'resident' AND b.visit IN ('inpatient', 'chronic_outpatient')),
crit_c AS (
    SELECT ci.*, cp.mode, cp.cap,
           ROUND(ROUND(inc.income_all * 0.5, 2) * cp.ded_factor, 2) AS ded,
           coalesce(SUM(ci.base) OVER (PARTITION BY ci.person, ci.year ORDER BY ci.date, ci.id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS c0
    FROM crit_in ci
    JOIN critical_params cp ON cp.region = ci.region AND cp.vfrom = ci.vfrom AND cp.special = ci.special
    JOIN income inc ON inc.region = ci.region AND inc.year = ci.year - 1),
crit_raw AS (    -- the integral of the band rates from C0 to C1 = C0 + base
    SELECT c.id, any_value(c.person) AS person, any_value(c.year) AS year,
           any_value(c.date) AS date, any_value(c.base) AS base, any_value(c.cap) AS cap,
           SUM(cb.rate * GREATEST(0,
               LEAST(c.c0 + c.base, CASE WHEN cb.band_to IS NULL THEN 1000000000.00
                                         WHEN c.mode = 'cumulative' THEN GREATEST(cb.band_to, c.ded)
                                         ELSE cb.band_to + c.ded END)
             - GREATEST(c.c0, CASE WHEN c.mode = 'cumulative' THEN GREATEST(cb.band_from, c.ded)
                                   ELSE cb.band_from + c.ded END))) AS raw
    FROM crit_c c
    JOIN critical_bands cb ON cb.region = c.region AND cb.vfrom = c.vfrom AND cb.special = c.special
    GROUP BY c.id),
crit_u AS (
    SELECT *, SUM(u) OVER w AS u_sum
    FROM (SELECT *, LEAST(base, ROUND(raw, 2)) AS u FROM crit_raw)
    WINDOW w AS (PARTITION BY person, year ORDER BY date, id ROWS UNBOUNDED PRECEDING)),
crit_s AS (      -- paid so far, under a cap that depends on the claim's identity
    SELECT *, u_sum + LEAST(0, MIN(coalesce(cap, 1000000000.00) - u_sum) OVER w) AS paid_sum
    FROM crit_u
    WINDOW w AS (PARTITION BY person, year ORDER BY date, id ROWS UNBOUNDED PRECEDING)),
critical AS (
    SELECT id, GREATEST(0, paid_sum - coalesce(LAG(paid_sum) OVER (
               PARTITION BY person, year ORDER BY date, id), 0)) AS critical_pay
    FROM crit_s),
-- ---- layer 3: 医疗救助 (assistance): excludes earlier layers' penalties -------
assist_in AS (
    SELECT b.id, b.person, b.year, b.date,
           GREATEST(0, b.in_scope - b.basic_pay - coalesce(k.critical_pay, 0) - b.basic_penalty) AS base,
           coalesce(ar.rate, ap.rate) AS rate,
           ROUND(ap.ded_share * inc.income_all, 2) AS ded,
           coalesce(ar.cap, ap.cap) AS cap
    FROM basic b
    LEFT JOIN critical k ON k.id = b.id
    JOIN assistance_params ap ON ap.identity = b.identity
    LEFT JOIN assistance_region ar ON ar.region = b.region AND ar.vfrom = b.vfrom AND ar.identity = b.identity
    JOIN income inc ON inc.region = b.region AND inc.year = b.year - 1
    WHERE b.visit IN ('inpatient', 'chronic_outpatient')),
assist_u AS (
    SELECT *, SUM(u) OVER w AS u_sum
    FROM (SELECT *, LEAST(base, ROUND(rate * GREATEST(0, base - ded), 2)) AS u FROM assist_in)
    WINDOW w AS (PARTITION BY person, year ORDER BY date, id ROWS UNBOUNDED PRECEDING)),
assist_s AS (
    SELECT *, u_sum + LEAST(0, MIN(cap - u_sum) OVER w) AS paid_sum
    FROM assist_u
    WINDOW w AS (PARTITION BY person, year ORDER BY date, id ROWS UNBOUNDED PRECEDING)),
assistance AS (
    SELECT id, GREATEST(0, paid_sum - coalesce(LAG(paid_sum) OVER (
               PARTITION BY person, year ORDER BY date, id), 0)) AS assistance_pay
    FROM assist_s),
-- ---- layer 4: 倾斜救助 (tilted): inpatient care in the province, filed -------
tilt_in AS (
    SELECT b.id, b.person, b.year, b.date, tp.deductible AS ded, tp.rate, tp.cap,
           b.in_scope - b.basic_pay - coalesce(k.critical_pay, 0) - coalesce(a.assistance_pay, 0) AS base
    FROM basic b
    JOIN tilted_params tp ON tp.region = b.region AND tp.vfrom = b.vfrom
    LEFT JOIN critical k ON k.id = b.id
    LEFT JOIN assistance a ON a.id = b.id
    WHERE b.identity IN ('tekun', 'dibao', 'monitored', 'dibao_edge', 'illness_poor')
      AND b.place IN ('local', 'in_province') AND b.visit = 'inpatient'
      AND b.filing <> 'unfiled'),
tilted AS (
    SELECT id, LEAST(u, GREATEST(0, cap - coalesce(SUM(u) OVER (
               PARTITION BY person, year ORDER BY date, id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS tilted_pay
    FROM (SELECT *, LEAST(base, ROUND(rate * GREATEST(0, base - ded), 2)) AS u FROM tilt_in)),
-- ---- the settlement row ------------------------------------------------------
settled AS (
    SELECT b.*, coalesce(k.critical_pay, 0) AS critical_pay,
           coalesce(a.assistance_pay, 0) AS assistance_pay,
           coalesce(t.tilted_pay, 0) AS tilted_pay
    FROM basic b
    LEFT JOIN critical k ON k.id = b.id
    LEFT JOIN assistance a ON a.id = b.id
    LEFT JOIN tilted t ON t.id = b.id)
SELECT id, person, region, strftime(date, '%Y-%m-%d') AS date, visit, level, place, identity,
       strftime(vfrom, '%Y-%m-%d') AS version, total, in_scope,
       CAST(CASE WHEN layer = 'basic_emp'     THEN basic_pay ELSE 0 END AS DECIMAL(18,2)) AS basic_emp,
       CAST(CASE WHEN layer = 'basic_emp_mxb' THEN basic_pay ELSE 0 END AS DECIMAL(18,2)) AS basic_emp_mxb,
       CAST(CASE WHEN layer = 'basic_emp_opd' THEN basic_pay ELSE 0 END AS DECIMAL(18,2)) AS basic_emp_opd,
       CAST(CASE WHEN layer = 'basic_res'     THEN basic_pay ELSE 0 END AS DECIMAL(18,2)) AS basic_res,
       CAST(CASE WHEN layer = 'basic_res_mxb' THEN basic_pay ELSE 0 END AS DECIMAL(18,2)) AS basic_res_mxb,
       CAST(CASE WHEN layer = 'basic_res_opd' THEN basic_pay ELSE 0 END AS DECIMAL(18,2)) AS basic_res_opd,
       CAST(critical_pay AS DECIMAL(18,2)) AS critical,
       CAST(assistance_pay AS DECIMAL(18,2)) AS assistance,
       CAST(tilted_pay AS DECIMAL(18,2)) AS tilted,
       CAST(basic_pay + critical_pay + assistance_pay + tilted_pay AS DECIMAL(18,2)) AS fund,
       CAST(total - (basic_pay + critical_pay + assistance_pay + tilted_pay) AS DECIMAL(18,2)) AS oop,
       CAST(in_scope - (basic_pay + critical_pay + assistance_pay + tilted_pay) AS DECIMAL(18,2)) AS oop_in_scope,
       filing
FROM settled
