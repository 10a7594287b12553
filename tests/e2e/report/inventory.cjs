// inventory.cjs PAGE.html SRC_DIR: opens a `sanbao report` page in headless
// Chromium and prints, as JSON, its tables (data-table), its charts
// (window.sbCharts) and its number cells counted by input (kind:index).
'use strict';
const fs = require('fs');
const path = require('path');
const [page_, src] = process.argv.slice(2);
const puppeteer = require(path.resolve(src, 'report/node_modules/puppeteer-core'));
(async () => {
  const dir = fs.mkdtempSync('/tmp/sanbao-chromium-');
  const b = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run', '--user-data-dir=' + dir],
  });
  try {
    const p = await b.newPage();
    await p.goto('file://' + path.resolve(page_), {waitUntil: 'load'});
    await p.waitForSelector('body[data-ready="1"]', {timeout: 10000});
    const r = await p.evaluate(() => {
      const cells = {};
      document.querySelectorAll('td[data-src]').forEach((td) => {
        const k = td.dataset.src.split(':').slice(0, 2).join(':');
        cells[k] = (cells[k] || 0) + 1;
      });
      return {tables: [...document.querySelectorAll('table[data-table]')].map((t) => t.dataset.table),
              charts: window.sbCharts.map((c) => c.name), cells};
    });
    console.log(JSON.stringify(r));
  } finally {
    await b.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
})().catch((e) => { console.error('inventory.cjs: ' + (e && e.stack || e)); process.exit(1); });
