// check.cjs PAGE.html SHOT.png SRC_DIR NAME=FILE.json... : opens a `sanbao report`
// page in Debian's headless Chromium through puppeteer-core and fails (exit 1)
// on any console error, page error or network request; on a number cell whose
// text is not the value at its data-src in the named JSON file (read here,
// not from the page); on a chart without a canvas or with a blank one; on
// chart data that differs from the JSON; on an unmasked resident ID; or when
// the page takes 2 s or more to render. Saves a screenshot to SHOT.png.
'use strict';
const fs = require('fs');
const path = require('path');
const [page_, shot, src, ...files] = process.argv.slice(2);
const puppeteer = require(path.resolve(src, 'report/node_modules/puppeteer-core'));

// A CSV table read here (RFC 4180 quotes) as {header, rows}, the shape the
// report gives its cross-tables.
function csv(text) {
  const recs = [];
  let rec = [], f = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { f += '"'; i++; }
      else if (ch === '"') q = false;
      else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { rec.push(f); f = ''; }
    else if (ch === '\n') { rec.push(f.replace(/\r$/, '')); recs.push(rec); rec = []; f = ''; }
    else f += ch;
  }
  if (f || rec.length) { rec.push(f); recs.push(rec); }
  const [header, ...rows] = recs.filter((r) => r.length > 1 || r[0] !== '');
  return {header, rows};
}
const json = {};
for (const f of files) {
  const [name, file] = f.split('=');
  json[name] = file.endsWith('.csv') ? csv(fs.readFileSync(file, 'utf8')) : JSON.parse(fs.readFileSync(file, 'utf8'));
}
const problems = [];
const bad = (m) => problems.push(m);

// The display rules, written again here (not taken from the page).
const fixed = (n, d, s) => (Number(n.toFixed(d)) === 0 ? (0).toFixed(d) : (s && n > 0 ? '+' : '') + n.toFixed(d));
const group = (t) => t.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const fmt = {
  money: (v, s) => (v < 0 ? '-' : s && v > 0 ? '+' : '') + group(Math.abs(v).toFixed(2).split('.')[0]) + '.' +
                   Math.abs(v).toFixed(2).split('.')[1],
  count: (v, s) => (v < 0 ? '-' : s && v > 0 ? '+' : '') + group(String(Math.abs(Math.round(v)))),
  rate: (v, s) => fixed(v * 100, 2, s) + (s ? ' pt' : '%'),
  num: (v, s) => fixed(v, 4, s),
  pct: (v, s) => fixed(v, 2, s) + '%',
  year: (v) => String(Math.round(v)),
  months: (v, s) => fixed(v, 2, s),
};
const at = (o, p) => p.split('.').reduce((x, k) => (x == null ? x : x[k]), o);

(async () => {
  const dir = fs.mkdtempSync('/tmp/sanbao-chromium-');
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           '--user-data-dir=' + dir],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 900});
    page.on('console', (m) => { if (m.type() === 'error') bad('console error: ' + m.text()); });
    page.on('pageerror', (e) => bad('page error: ' + e.message));
    await page.setRequestInterception(true);
    const url = 'file://' + path.resolve(page_);
    page.on('request', (r) => {
      if (r.url() !== url) {
        bad('the page requested ' + r.url() + ': it must open offline');
        r.abort();
      } else {
        r.continue();
      }
    });
    // The render time (2 s at most): the fastest of up to three loads, so
    // that a test running beside others on a loaded machine measures the
    // page, not the moment; every load must become ready.
    let ms = Infinity;
    for (let k = 0; k < 3 && ms >= 2000; k++) {
      const t0 = Date.now();
      await page.goto(url, {waitUntil: 'load'});
      await page.waitForSelector('body[data-ready="1"]', {timeout: 10000});
      ms = Math.min(ms, Date.now() - t0);
    }
    if (ms >= 2000)
      bad(`the page took ${ms} ms to render (2 s at most, the fastest of three loads)`);

    // Every number cell against its JSON.
    const cells = await page.$$eval('td[data-src]', (tds) => tds.map((td) => ({
      src: td.dataset.src, fmt: td.dataset.fmt, text: td.textContent, isNull: !!td.dataset.null})));
    let checked = 0;
    const inputs = {};
    for (const c of cells) {
      const [kind, input, p] = c.src.split(':');
      const key = kind + input;
      inputs[key] = true;
      const doc = json[key];
      if (!doc) { bad('no JSON given for ' + key); continue; }
      const v = at(doc, p);
      if (v === undefined) { bad(`${c.src}: no such value in the JSON`); continue; }
      const signed = c.fmt.endsWith('+');
      const want = v === null ? '–' : fmt[c.fmt.replace('+', '')](Number(v), signed);
      if (c.text !== want)
        bad(`${c.src}: the page shows "${c.text}", the JSON has ${v} ("${want}")`);
      checked++;
    }
    if (checked < 50)
      bad(`only ${checked} number cells: the tables did not render`);

    // Every chart drew its canvas, and not a blank one.
    const charts = await page.$$eval('div.chart', (divs) => divs.map((d) => {
      const cv = d.querySelector('canvas');
      if (!cv) return {name: d.dataset.chart, canvas: false};
      const g = cv.getContext('2d');
      const img = g.getImageData(0, 0, cv.width, cv.height).data;
      let ink = 0;
      for (let i = 0; i < img.length; i += 4)
        if (img[i + 3] > 0 && (img[i] < 235 || img[i + 1] < 235 || img[i + 2] < 235)) ink++;
      return {name: d.dataset.chart, canvas: true, ink, pixels: cv.width * cv.height};
    }));
    if (!charts.length) bad('no charts');
    for (const c of charts) {
      if (!c.canvas) bad(`chart ${c.name}: no canvas`);
      else if (c.ink < c.pixels * 0.005) bad(`chart ${c.name}: blank (${c.ink} inked pixels of ${c.pixels})`);
    }

    // The charts' data are the JSON's.
    const series = await page.evaluate(() => Object.fromEntries(window.sbCharts.map((c) =>
      [c.name, c.chart.getOption().series.map((s) => s.data)])));
    const close = (a, b, eps) => a.length === b.length && a.every((x, i) => Math.abs(Number(x) - b[i]) <= eps);
    const cmp = json.compare0;
    if (cmp) {
      const d = cmp.differences[0];
      if (!close(series['compare-cost-by-region'][0], d.by_region.map((r) => r.fund), 0.005))
        bad('chart compare-cost-by-region: its bars are not differences[0].by_region[].fund');
      cmp.results.forEach((r, k) => {
        if (!close(series['compare-rates-by-region'][k], r.by_region.map((x) => x.effective_rate * 100), 1e-3))
          bad(`chart compare-rates-by-region: scenario ${k} is not results[${k}].by_region[].effective_rate`);
      });
      const y = d.winners_losers.persons[0];
      const w = series[`compare-winners-${d.scenario}-${y.year}`];
      ['gain_more_than_5pct', 'gain_less_than_5pct', 'no_change', 'lose_less_than_5pct', 'lose_more_than_5pct']
        .forEach((b, i) => {
          if (!close(w[i], y.by_decile.map((x) => (x.bands.total ? 100 * x.bands[b] / x.bands.total : 0)), 0.006))
            bad(`chart compare-winners: band ${b} is not the deciles' shares`);
        });
    }
    // roster and code-texts inputs, found by kind whatever their index
    for (const [key, doc] of Object.entries(json)) {
      if (key.startsWith('roster')) {
        const regions = Object.keys(doc.by_region);
        const s = series['roster-regions'];
        const findings = ['not_enrolled', 'stale_assistance', 'duplicates', 'roster_errors'];
        // a roster without findings gets a note, not an empty chart
        if (!regions.some((r) => findings.some((f) => doc.by_region[r][f]))) {
          if (s) bad('chart roster-regions drawn for a roster without findings');
          continue;
        }
        findings.forEach((f, k) => {
          if (!s || !close(s[k], regions.map((r) => doc.by_region[r][f]), 0))
            bad(`chart roster-regions: series ${f} is not by_region[].${f}`);
        });
      }
      if (key.startsWith('fund')) {
        const last = doc.years[doc.years.length - 1];
        const pooled = doc.accounts.filter((a) => a.year === last && a.fund !== 'assistance' && a.persons);
        const m = series['fund-months'];
        if (pooled.length && (!m || !close(m[0], pooled.map((a) => a.months_before), 0.005) ||
                              !close(m[1], pooled.map((a) => a.months), 0.005)))
          bad('chart fund-months: its bars are not accounts[].months_before and months of ' + last);
        doc.adjustment.filter((a) => a.present).forEach((a) => {
          const f = series['fund-flows-' + a.year];
          if (!f || !close(f[0], a.funds.map((x) => -x.paid_up), 0.005) ||
              !close(f[1], a.funds.map((x) => x.received), 0.005))
            bad(`chart fund-flows-${a.year}: its bars are not adjustment funds[].paid_up and received`);
        });
      }
      if (key.startsWith('texts')) {
        const t = doc.dimensions.tool, st = doc.stages;
        const types = series['texts-tool-types'], sub = series['texts-tools-by-stage'];
        t.groups.forEach((g, k) => {
          if (!types || !close(types[k], st.map((s) => g.by_stage[s].share), 0))
            bad(`chart texts-tool-types: ${g.name} is not groups[${k}].by_stage[].share`);
        });
        st.forEach((s, k) => {
          if (!sub || !close(sub[k], t.categories.map((c) => c.by_stage[s].share), 0))
            bad(`chart texts-tools-by-stage: stage ${s} is not categories[].by_stage.${s}.share`);
        });
      }
    }
    // audit inputs: the chart of amounts at risk by rule is by_rule[].at_risk
    for (const [key, doc] of Object.entries(json)) {
      if (!key.startsWith('audit')) continue;
      const name = 'audit-rules-' + key.slice('audit'.length), s = series[name];
      if (!doc.findings) {
        if (s) bad(`chart ${name} drawn for an audit without findings`);
      } else if (!s || !close(s[0], doc.by_rule.map((r) => Number(r.at_risk)), 0.005)) {
        bad(`chart ${name}: its bars are not audit.json by_rule[].at_risk`);
      }
    }
    // The projection's fan charts: the fund shown, its median and deterministic
    // balance and the p5-p95 band against projection.json; then another fund
    // chosen in the selector redraws the chart with that fund's numbers.
    const fans = () => page.evaluate(() => window.sbCharts.filter((c) => c.name.startsWith('project-fan-'))
      .map((c) => ({name: c.name, fund: c.fund, series: Object.fromEntries(
        c.chart.getOption().series.map((x) => [x.name, x.data]))})));
    const checkFan = (f, doc) => {
      const s = doc.projection.scenarios.find((x) => 'project-fan-' + x.name === f.name);
      if (!s) { bad(`chart ${f.name}: no such scenario in projection.json`); return; }
      const fund = s.funds[f.fund], ys = fund.years;
      if (!close(f.series['确定性 deterministic'], ys.map((y) => Number(y.balance)), 0.005))
        bad(`chart ${f.name}: the deterministic line is not funds[${f.fund}].years[].balance`);
      if (ys[0].mc) {
        if (!close(f.series['中位数 median'], ys.map((y) => Number(y.mc.balance.p50)), 0.005))
          bad(`chart ${f.name}: the median is not funds[${f.fund}].years[].mc.balance.p50`);
        if (!close(f.series['p5–p95'], ys.map((y) => Number(y.mc.balance.p95) - Number(y.mc.balance.p5)), 0.011))
          bad(`chart ${f.name}: the p5-p95 band is not p95 - p5`);
      }
    };
    for (const [key, doc] of Object.entries(json)) {
      if (!key.startsWith('projection')) continue;
      const list = await fans();
      if (list.length !== doc.projection.scenarios.length)
        bad(`${list.length} fan charts for ${doc.projection.scenarios.length} scenarios`);
      list.forEach((f) => checkFan(f, doc));
      if (list.length) {
        const other = list[0].fund === 0 ? 1 : 0;
        await page.select(`select[data-select="${list[0].name}"]`, String(other));
        const again = (await fans())[0];
        if (again.fund !== other) bad(`chart ${again.name}: the selector did not change the fund`);
        checkFan(again, doc);
      }
    }
    if (json.summary0) {
      const l = json.summary0.money.layers;
      if (!close(series['summary-layers'][0], Object.keys(l).map((k) => l[k].paid), 0.005))
        bad('chart summary-layers: its bars are not summary.json money.layers[].paid');
    }

    // No resident ID on the page.
    const html = await page.content();
    const id = html.match(/(^|[^0-9])([0-9]{17}[0-9Xx])([^0-9]|$)/);
    if (id) bad('an unmasked resident-ID-shaped token is on the page: ' + id[2].slice(0, 6) + '…');

    await page.screenshot({path: shot, fullPage: true});
    console.log(`check.cjs: ${checked} number cells and ${charts.length} charts checked, rendered in ${ms} ms; ` +
                `screenshot ${shot}`);
  } finally {
    await browser.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
  if (problems.length) {
    problems.slice(0, 20).forEach((p) => console.error('check.cjs: FAIL: ' + p));
    process.exit(1);
  }
})().catch((e) => { console.error('check.cjs: ' + (e && e.stack || e)); process.exit(1); });
