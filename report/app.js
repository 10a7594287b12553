/* app.js: the page script of `sanbao report` (inlined into each page after
 * ECharts). It reads the inputs' JSON from the page's application/json
 * scripts and builds the tables and charts. Every number cell carries
 * data-src (input kind:index:path in its JSON) and data-fmt, so a test can
 * check each displayed number against the file it came from; every chart
 * is listed in window.sbCharts by name. */
(function () {
  'use strict';

  var inputs = [];
  document.querySelectorAll('script.sb-data').forEach(function (s) {
    var i = Number(s.dataset.input);
    inputs[i] = inputs[i] || {};
    inputs[i][s.dataset.kind] = JSON.parse(s.textContent);
  });
  var root = document.getElementById('report');
  root.textContent = '';
  window.sbCharts = [];

  /* ---- formatting ------------------------------------------------------ */

  function group(intText) {
    return intText.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  function fmtMoney(v, signed) {
    var n = Number(v), neg = n < 0, t = Math.abs(n).toFixed(2).split('.');
    return (neg ? '-' : signed && n > 0 ? '+' : '') + group(t[0]) + '.' + t[1];
  }
  function fmtCount(v, signed) {
    var n = Number(v);
    return (n < 0 ? '-' : signed && n > 0 ? '+' : '') + group(String(Math.abs(Math.round(n))));
  }
  /* A decimal with d places; no "-0.00" for what rounds to zero. */
  function fixed(n, d, signed) {
    var t = n.toFixed(d);
    if (Number(t) === 0)
      return (0).toFixed(d);
    return (signed && n > 0 ? '+' : '') + t;
  }
  function fmtRate(v, signed) {
    return fixed(Number(v) * 100, 2, signed) + (signed ? ' pt' : '%');
  }
  function fmtNum(v, signed) {
    return fixed(Number(v), 4, signed);
  }
  /* A share already in percent (code-texts' tables: 48.86 is 48.86%). */
  function fmtPct(v, signed) {
    return fixed(Number(v), 2, signed) + '%';
  }
  /* A calendar year (no grouping) and months of payment (2 decimals). */
  function fmtYear(v) {
    return String(Math.round(Number(v)));
  }
  function fmtMonths(v, signed) {
    return fixed(Number(v), 2, signed);
  }
  var FMT = {money: fmtMoney, count: fmtCount, rate: fmtRate, num: fmtNum, pct: fmtPct,
             year: fmtYear, months: fmtMonths};

  function at(obj, path) {
    return path.split('.').reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  /* ---- building blocks --------------------------------------------------- */

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null)
      e.textContent = text;
    return e;
  }
  function section(title, note) {
    var s = el('section');
    s.appendChild(el('h2', null, title));
    if (note)
      s.appendChild(el('p', {class: 'note'}, note));
    root.appendChild(s);
    return s;
  }
  /* A number cell from src = {doc, kind, input, path} and a format. */
  function num(ref, path, fmt, signed) {
    var v = at(ref.doc, path);
    var td = el('td', {class: 'num', 'data-fmt': fmt + (signed ? '+' : ''),
                       'data-src': ref.kind + ':' + ref.input + ':' + path});
    if (v == null) {
      td.textContent = '–';
      td.setAttribute('data-null', '1');
    } else {
      td.textContent = FMT[fmt](v, signed);
      if (signed && Number(v) < 0)
        td.classList.add('neg');
    }
    return td;
  }
  function table(parent, name, head, rows) {
    var wrap = el('div', {class: 'tablewrap'});
    var t = el('table', {'data-table': name});
    var tr = el('tr');
    head.forEach(function (h, i) { tr.appendChild(el('th', i ? {class: 'num'} : null, h)); });
    var th = el('thead');
    th.appendChild(tr);
    t.appendChild(th);
    var tb = el('tbody');
    rows.forEach(function (cells) {
      var r = el('tr');
      cells.forEach(function (c) {
        r.appendChild(c instanceof Node ? c : el('td', null, c));
      });
      tb.appendChild(r);
    });
    t.appendChild(tb);
    wrap.appendChild(t);
    parent.appendChild(wrap);
    return t;
  }
  function chart(parent, name, option, height) {
    var div = el('div', {class: 'chart', 'data-chart': name});
    if (height)
      div.style.height = height + 'px';
    parent.appendChild(div);
    option.animation = false;
    option.textStyle = {fontFamily: getComputedStyle(document.body).fontFamily};
    if (!option.tooltip)
      option.tooltip = {trigger: 'axis'};
    var c = echarts.init(div, null, {renderer: 'canvas'});
    c.setOption(option);
    window.sbCharts.push({name: name, chart: c});
    return c;
  }
  function grid(parent) {
    var g = el('div', {class: 'grid'});
    parent.appendChild(g);
    var a = el('div'), b = el('div');
    g.appendChild(a);
    g.appendChild(b);
    return [a, b];
  }
  function cards(parent, list) {
    var box = el('div', {class: 'cards'});
    list.forEach(function (c) {
      var d = el('div', {class: 'card'});
      d.appendChild(el('div', {class: 'label'}, c[0]));
      d.appendChild(el('div', {class: 'value'}, c[1]));
      box.appendChild(d);
    });
    parent.appendChild(box);
  }
  function barOption(categories, series, yName, stacked) {
    return {
      legend: {top: 0},
      grid: {left: 70, right: 16, top: 64, bottom: 60},
      xAxis: {type: 'category', data: categories, axisLabel: {rotate: categories.length > 6 ? 30 : 0}},
      yAxis: {type: 'value', name: yName, nameGap: 12, nameTextStyle: {align: 'right'}},
      series: series.map(function (s) {
        return {name: s.name, type: 'bar', data: s.data, stack: stacked ? 'all' : undefined};
      })
    };
  }
  var yuan = function (v) { return Math.round(Number(v) * 100) / 100; };
  var pct = function (v) { return Math.round(Number(v) * 1e6) / 1e4; };

  var LAYER = {basic_emp: '职工基本医保 employee basic', basic_res: '居民基本医保 resident basic',
               critical: '大病保险 critical illness', assistance: '医疗救助 medical assistance',
               tilted: '倾斜救助 tilted assistance'};
  function layerLabel(id) {
    if (LAYER[id])
      return LAYER[id] + ' (' + id + ')';
    var base = id.replace(/_(mxb|opd)$/, '');
    var kind = /_mxb$/.test(id) ? ' 门诊慢特病 chronic' : /_opd$/.test(id) ? ' 门诊 outpatient' : '';
    return (LAYER[base] ? LAYER[base] + kind : id) + ' (' + id + ')';
  }
  var VISIT = {inpatient: '住院 inpatient', chronic_outpatient: '门诊慢特病 chronic outpatient',
               outpatient: '普通门诊 outpatient', pharmacy: '药店 pharmacy'};
  var SCHEME = {employee: '职工 employee', resident: '城乡居民 resident'};
  var IDENT = {none: '无 none', tekun: '特困 tekun', dibao: '低保 dibao', dibao_edge: '低保边缘 dibao edge',
               monitored: '监测对象 monitored', tuopin: '脱贫人口 tuopin', illness_poor: '因病致贫 illness poor'};
  var BANDS = [['gain_more_than_5pct', '获益 >5% gain more than 5%'],
               ['gain_less_than_5pct', '获益 <5% gain less than 5%'],
               ['no_change', '不变 no change (±0.1%)'],
               ['lose_less_than_5pct', '受损 <5% lose less than 5%'],
               ['lose_more_than_5pct', '受损 >5% lose more than 5%']];
  var BAND_COLORS = ['#1b5e20', '#81c784', '#cfd8dc', '#ef9a9a', '#b71c1c'];

  /* ---- settle: summary.json ------------------------------------------------ */

  function settleSection(i, s) {
    var ref = {doc: s, kind: 'summary', input: i};
    var sec = section('结算汇总 Settlement summary',
                      '医疗费用经各层支付 — money through the payer chain, from summary.json (' +
                      (s.inputs && s.inputs.claims ? s.inputs.claims : 'claims') + ')');
    var m = s.money;
    cards(sec, [['医疗费总额 total cost', fmtMoney(m.total)], ['基金支付 paid by funds', fmtMoney(m.fund)],
                ['个人负担 out of pocket', fmtMoney(m.oop)],
                ['有效报销率 effective rate', fmtRate(m.total ? m.fund / m.total : 0)]]);
    var layers = Object.keys(m.layers);
    var g = [sec, sec];
    g[0].appendChild(el('h3', null, '按支付层 Fund by layer'));
    table(g[0], 'summary-layers', ['层 layer', '支付笔数 claims paid', '支付 paid', '扣减 penalty'],
          layers.map(function (l) {
            var p = 'money.layers.' + l + '.';
            return [layerLabel(l), num(ref, p + 'claims_paid', 'count'), num(ref, p + 'paid', 'money'),
                    num(ref, p + 'penalty', 'money')];
          }));
    chart(g[1], 'summary-layers', barOption(layers, [{name: '支付 paid (yuan)',
          data: layers.map(function (l) { return yuan(m.layers[l].paid); })}], '元 yuan'));
    var regions = s.regions.map(function (r, k) { return [r, k]; })
                           .filter(function (x) { return x[0].claims > 0; });
    sec.appendChild(el('h3', null, '按统筹区 By pooling region'));
    var g2 = [sec, sec];
    table(g2[0], 'summary-regions', ['统筹区 region', '结算笔数 claims', '总额 total', '基金 fund',
                                     '个人 oop', '有效报销率 effective'],
          regions.map(function (x) {
            var p = 'regions.' + x[1] + '.', r = x[0];
            var rate = el('td', {class: 'num'}, fmtRate(r.total ? r.fund / r.total : 0));
            return [r.region + ' ' + (r.name || ''), num(ref, p + 'claims', 'count'),
                    num(ref, p + 'total', 'money'), num(ref, p + 'fund', 'money'),
                    num(ref, p + 'oop', 'money'), rate];
          }));
    var names = regions.map(function (x) { return x[0].region; });
    chart(g2[1], 'summary-regions', barOption(names, [
      {name: '基金 fund', data: regions.map(function (x) { return yuan(x[0].fund); })},
      {name: '个人 out of pocket', data: regions.map(function (x) { return yuan(x[0].oop); })}
    ], '元 yuan', true));
  }

  /* ---- settle --monitor: monitor.json -------------------------------------- */

  function monitorSection(i, mo) {
    var ref = {doc: mo, kind: 'monitor', input: i};
    var sec = section('因病返贫致贫风险监测 Early warning',
                      '预警与接近阈值 warnings and units approaching 80% of a threshold, from monitor.json');
    var rules = Object.keys(mo.by_rule);
    cards(sec, [['预警 warnings', fmtCount(mo.warnings)], ['接近阈值 approaching', fmtCount(mo.approaching)],
                ['阈值无法确定 unresolved', fmtCount(mo.claims_whose_threshold_could_not_be_resolved)]]);
    var g = [sec, sec];
    var head = ['统筹区 region'];
    rules.forEach(function (r) { head.push(r + ' 预警 warnings', r + ' 接近 approaching'); });
    table(g[0], 'monitor-regions', head, mo.by_region.map(function (r, k) {
      var row = [r.region];
      rules.forEach(function (rule) {
        row.push(num(ref, 'by_region.' + k + '.rules.' + rule + '.warnings', 'count'),
                 num(ref, 'by_region.' + k + '.rules.' + rule + '.approaching', 'count'));
      });
      return row;
    }));
    chart(g[1], 'monitor-regions', barOption(mo.by_region.map(function (r) { return r.region; }),
      rules.map(function (rule) {
        return {name: rule, data: mo.by_region.map(function (r) { return r.rules[rule].warnings; })};
      }), '预警 warnings', true));
    var idrows = mo.by_identity.filter(function (r) {
      return rules.some(function (rule) { return r.rules[rule].warnings || r.rules[rule].approaching; });
    });
    if (idrows.length) {
      sec.appendChild(el('h3', null, '按身份 By identity'));
      table(sec, 'monitor-identities', head.map(function (h, k) { return k ? h : '身份 identity'; }),
            mo.by_identity.map(function (r, k) { return [r, k]; }).filter(function (x) {
              return idrows.indexOf(x[0]) >= 0;
            }).map(function (x) {
              var row = [IDENT[x[0].identity] || x[0].identity];
              rules.forEach(function (rule) {
                row.push(num(ref, 'by_identity.' + x[1] + '.rules.' + rule + '.warnings', 'count'),
                         num(ref, 'by_identity.' + x[1] + '.rules.' + rule + '.approaching', 'count'));
              });
              return row;
            }));
    }
    var fp = mo.financial_protection || [];
    if (fp.length) {
      sec.appendChild(el('h3', null, '灾难性卫生支出 Catastrophic health spending (SDG 3.8.2)'));
      table(sec, 'monitor-sdg', ['年度 year', '有收入的家庭 households', '>10% 家庭 households',
                                 '>10% 占比 share', '>25% 家庭 households', '>25% 占比 share',
                                 '致贫 impoverished'],
            fp.map(function (y, k) {
              var p = 'financial_protection.' + k + '.';
              return [String(y.year), num(ref, p + 'households_with_income', 'count'),
                      num(ref, p + 'oop_over_10pct.households', 'count'),
                      num(ref, p + 'oop_over_10pct.household_share', 'rate'),
                      num(ref, p + 'oop_over_25pct.households', 'count'),
                      num(ref, p + 'oop_over_25pct.household_share', 'rate'),
                      y.impoverished ? num(ref, p + 'impoverished.households', 'count') : '–'];
            }));
      var last = fp[fp.length - 1];
      chart(sec, 'monitor-sdg', barOption(last.by_region.map(function (r) { return r.region; }), [
        {name: '>10% 家庭占比 households (%)', data: last.by_region.map(function (r) { return pct(r.oop_over_10pct.household_share); })},
        {name: '>25% 家庭占比 households (%)', data: last.by_region.map(function (r) { return pct(r.oop_over_25pct.household_share); })}
      ], '% ' + last.year));
    }
  }

  /* ---- compare: compare.json -------------------------------------------------- */

  function scenarioName(c, k) {
    return k ? '改革 reform ' + k : '基线 baseline';
  }

  function compareSection(i, c) {
    var ref = {doc: c, kind: 'compare', input: i};
    var res = c.results, diffs = c.differences;
    var sec = section('改革比较 Reform comparison',
                      '同一批结算在基线与改革政策下 — the same claims under the baseline and each reform, from compare.json. ' +
                      c.scenarios.map(function (s) { return scenarioName(c, s.scenario) + ': ' + s.policies; }).join(' · '));
    diffs.forEach(function (d, j) {
      var k = d.scenario, r0 = res[0].money, rk = res[k].money;
      var gain = 0, lose = 0, people = 0;
      d.winners_losers.persons.forEach(function (y) {
        gain += y.all.gain_more_than_5pct + y.all.gain_less_than_5pct;
        lose += y.all.lose_more_than_5pct + y.all.lose_less_than_5pct;
        people += y.all.total;
      });
      var fp0 = res[0].financial_protection, fpk = res[k].financial_protection;
      var last = fp0.length - 1;
      var disp = d.disparity.effective_rate;
      sec.appendChild(el('h3', null, scenarioName(c, k) + ' 要点 headline'));
      cards(sec, [
        ['基金支出变化 cost to the funds', fmtMoney(d.money.fund, true)],
        ['个人负担变化 out-of-pocket change', fmtMoney(d.money.oop, true)],
        ['有效报销率 effective rate', fmtRate(r0.effective_rate) + ' → ' + fmtRate(rk.effective_rate)],
        ['获益 / 受损 gain / lose (person-years)', fmtCount(gain) + ' / ' + fmtCount(lose) + ' of ' + fmtCount(people)],
        ['>10% 灾难性支出家庭 catastrophic households' + (last >= 0 ? ' ' + fp0[last].year : ''),
         last >= 0 ? fmtCount(fp0[last].oop_over_10pct.households) + ' → ' + fmtCount(fpk[last].oop_over_10pct.households) : '–'],
        ['地区差异 Gini of effective rates', disp.before.gini.toFixed(4) + ' → ' + disp.after.gini.toFixed(4)]
      ]);
      void j;
    });

    /* money by scenario */
    sec.appendChild(el('h3', null, '各情景资金 Money by scenario'));
    var mrows = res.map(function (r, k) {
      var p = 'results.' + k + '.money.';
      return [scenarioName(c, k), num(ref, p + 'claims', 'count'), num(ref, p + 'total', 'money'),
              num(ref, p + 'fund', 'money'), num(ref, p + 'oop', 'money'),
              num(ref, p + 'effective_rate', 'rate'), num(ref, p + 'in_scope_rate', 'rate')];
    });
    diffs.forEach(function (d, j) {
      var p = 'differences.' + j + '.money.';
      mrows.push(['差额 difference ' + d.scenario + ' − 0', num(ref, p + 'claims', 'count', true),
                  num(ref, p + 'total', 'money', true), num(ref, p + 'fund', 'money', true),
                  num(ref, p + 'oop', 'money', true), num(ref, p + 'effective_rate', 'rate', true),
                  num(ref, p + 'in_scope_rate', 'rate', true)]);
    });
    table(sec, 'compare-money', ['情景 scenario', '结算笔数 claims', '总额 total', '基金 fund',
                                 '个人 oop', '有效报销率 effective', '政策内报销率 in-scope'], mrows);

    /* by region */
    var regions = res[0].by_region;
    var names = regions.map(function (r) { return r.region; });
    sec.appendChild(el('h3', null, '按统筹区 By pooling region: 改革成本与报销率 cost and rates'));
    var head = ['统筹区 region', '参保人数 persons'];
    res.forEach(function (r, k) { head.push(scenarioName(c, k) + ' 基金 fund'); });
    diffs.forEach(function (d) { head.push('成本 cost ' + d.scenario); });
    res.forEach(function (r, k) { head.push(scenarioName(c, k) + ' 有效 effective'); });
    head.push('人均基金 fund per person (0)');
    table(sec, 'compare-regions', head, regions.map(function (r, g) {
      var row = [r.region + ' ' + (r.name || ''), num(ref, 'results.0.by_region.' + g + '.persons', 'count')];
      res.forEach(function (x, k) { row.push(num(ref, 'results.' + k + '.by_region.' + g + '.fund', 'money')); });
      diffs.forEach(function (d, j) { row.push(num(ref, 'differences.' + j + '.by_region.' + g + '.fund', 'money', true)); });
      res.forEach(function (x, k) { row.push(num(ref, 'results.' + k + '.by_region.' + g + '.effective_rate', 'rate')); });
      row.push(num(ref, 'results.0.by_region.' + g + '.fund_per_person', 'money'));
      return row;
    }));
    var g2 = grid(sec);
    chart(g2[0], 'compare-cost-by-region', barOption(names, diffs.map(function (d) {
      return {name: '基金支出变化 cost, reform ' + d.scenario + ' (yuan)',
              data: d.by_region.map(function (r) { return yuan(r.fund); })};
    }), '元 yuan'));
    chart(g2[1], 'compare-rates-by-region', barOption(names, res.map(function (x, k) {
      return {name: scenarioName(c, k) + ' 有效报销率 effective rate (%)',
              data: x.by_region.map(function (r) { return pct(r.effective_rate); })};
    }), '%'));

    /* by layer and fund code */
    sec.appendChild(el('h3', null, '按支付层 Fund by layer'));
    var lhead = ['层 layer'];
    res.forEach(function (r, k) { lhead.push(scenarioName(c, k)); });
    diffs.forEach(function (d) { lhead.push('差额 difference ' + d.scenario); });
    var lg = grid(sec);
    table(lg[0], 'compare-layers', lhead, res[0].by_layer.map(function (l, n) {
      var row = [layerLabel(l.layer)];
      res.forEach(function (x, k) { row.push(num(ref, 'results.' + k + '.by_layer.' + n + '.paid', 'money')); });
      diffs.forEach(function (d, j) { row.push(num(ref, 'differences.' + j + '.by_layer.' + n + '.paid', 'money', true)); });
      return row;
    }));
    table(lg[1], 'compare-fund-codes', ['基金代码 fund code'].concat(lhead.slice(1)), res[0].by_fund_code.map(function (f, n) {
      var row = [f.fund_code];
      res.forEach(function (x, k) { row.push(num(ref, 'results.' + k + '.by_fund_code.' + n + '.paid', 'money')); });
      diffs.forEach(function (d, j) { row.push(num(ref, 'differences.' + j + '.by_fund_code.' + n + '.paid', 'money', true)); });
      return row;
    }));

    /* rates by scheme, visit, identity */
    sec.appendChild(el('h3', null, '报销率 Reimbursement rates by scheme, visit and identity'));
    var rhead = ['分组 group'];
    res.forEach(function (r, k) { rhead.push(scenarioName(c, k) + ' 有效 effective', scenarioName(c, k) + ' 政策内 in-scope'); });
    var rrows = [];
    [['by_scheme', 'scheme', SCHEME], ['by_visit', 'visit', VISIT], ['by_identity', 'identity', IDENT]].forEach(function (t) {
      res[0][t[0]].forEach(function (g, n) {
        if (!g.claims)
          return;
        var row = [t[2][g[t[1]]] || g[t[1]]];
        res.forEach(function (x, k) {
          var p = 'results.' + k + '.' + t[0] + '.' + n + '.';
          row.push(num(ref, p + 'effective_rate', 'rate'), num(ref, p + 'in_scope_rate', 'rate'));
        });
        rrows.push(row);
      });
    });
    table(sec, 'compare-rates', rhead, rrows);

    /* winners and losers */
    diffs.forEach(function (d, j) {
      d.winners_losers.persons.forEach(function (y, yi) {
        sec.appendChild(el('h3', null, '赢家与输家 Winners and losers, reform ' + d.scenario + ', ' + y.year +
                                        ': 按收入十分位 by income decile (persons)'));
        var wg = [sec, sec];
        var base = 'differences.' + j + '.winners_losers.persons.' + yi + '.';
        table(wg[0], 'compare-winners-' + d.scenario + '-' + y.year,
              ['十分位 decile'].concat(BANDS.map(function (b) { return b[1]; })).concat(['合计 total']),
              y.by_decile.map(function (x, n) {
                return [String(x.decile)].concat(BANDS.map(function (b) {
                  return num(ref, base + 'by_decile.' + n + '.bands.' + b[0], 'count');
                })).concat([num(ref, base + 'by_decile.' + n + '.bands.total', 'count')]);
              }).concat([['全部 all'].concat(BANDS.map(function (b) {
                return num(ref, base + 'all.' + b[0], 'count');
              })).concat([num(ref, base + 'all.total', 'count')])]));
        var opt = barOption(y.by_decile.map(function (x) { return String(x.decile); }), BANDS.map(function (b) {
          return {name: b[1], data: y.by_decile.map(function (x) {
            return x.bands.total ? Math.round(x.bands[b[0]] / x.bands.total * 1e4) / 100 : 0;
          })};
        }), '% 人 persons', true);
        opt.color = BAND_COLORS;
        opt.legend = {top: 0, textStyle: {fontSize: 10}};
        opt.grid.top = 72;
        opt.yAxis.max = 100;
        chart(wg[1], 'compare-winners-' + d.scenario + '-' + y.year, opt);
      });
    });

    /* catastrophic spending */
    sec.appendChild(el('h3', null, '灾难性与致贫性卫生支出 Catastrophic and impoverishing spending (SDG 3.8.2)'));
    var crow = [];
    res[0].financial_protection.forEach(function (y, yi) {
      res.forEach(function (x, k) {
        var p = 'results.' + k + '.financial_protection.' + yi + '.';
        var fp = x.financial_protection[yi];
        crow.push([y.year + ' ' + scenarioName(c, k), num(ref, p + 'households_with_income', 'count'),
                   num(ref, p + 'oop_over_10pct.households', 'count'), num(ref, p + 'oop_over_10pct.household_share', 'rate'),
                   num(ref, p + 'oop_over_10pct.people', 'count'),
                   num(ref, p + 'oop_over_25pct.households', 'count'), num(ref, p + 'oop_over_25pct.household_share', 'rate'),
                   fp.impoverished ? num(ref, p + 'impoverished.households', 'count') : '–',
                   fp.impoverished ? num(ref, p + 'impoverished.people', 'count') : '–']);
      });
    });
    var cg = [sec, sec];
    table(cg[0], 'compare-catastrophic', ['情景 scenario', '家庭 households', '>10% 家庭 households', '>10% 占比 share',
                                          '>10% 人 people', '>25% 家庭 households', '>25% 占比 share',
                                          '致贫家庭 impoverished', '致贫人口 people'], crow);
    var fp0 = res[0].financial_protection;
    if (fp0.length) {
      var yl = fp0.length - 1;
      chart(cg[1], 'compare-catastrophic', barOption(['>10%', '>25%'].concat(c.poverty_line_per_person != null ? ['致贫 impoverished'] : []),
        res.map(function (x, k) {
          var f = x.financial_protection[yl];
          return {name: scenarioName(c, k) + ' ' + f.year + ' 家庭 households',
                  data: [f.oop_over_10pct.households, f.oop_over_25pct.households].concat(f.impoverished ? [f.impoverished.households] : [])};
        }), '家庭 households'));
    }

    /* disparity */
    diffs.forEach(function (d, j) {
      sec.appendChild(el('h3', null, '地区差异 Regional disparity, reform ' + d.scenario +
                                      ' (' + res[0].disparity.groups + ')'));
      var dg = [sec, sec];
      var mrow = [];
      [['fund_per_person', '人均基金 fund per person'], ['effective_rate', '有效报销率 effective rate']].forEach(function (m) {
        ['before', 'after', 'change'].forEach(function (w) {
          var p = 'differences.' + j + '.disparity.' + m[0] + '.' + w + '.';
          mrow.push([m[1] + ' ' + {before: '改革前 before', after: '改革后 after', change: '变化 change'}[w],
                     num(ref, p + 'gini', 'num', w === 'change'), num(ref, p + 'theil', 'num', w === 'change'),
                     num(ref, p + 'theil_between', 'num', w === 'change'), num(ref, p + 'theil_within', 'num', w === 'change'),
                     num(ref, p + 'cv', 'num', w === 'change'), num(ref, p + 'max_min', 'num', w === 'change')]);
        });
      });
      table(dg[0], 'compare-disparity-' + d.scenario, ['指标 measure', '基尼 Gini', '泰尔 Theil T',
                                                       '组间 between', '组内 within', '变异系数 CV', '最大/最小 max/min'], mrow);
      var lorenz = [0, d.scenario].map(function (k) {
        var rows = res[k].by_region.filter(function (r) { return r.persons > 0; })
                                   .slice().sort(function (a, b) { return a.fund_per_person - b.fund_per_person; });
        var P = rows.reduce(function (s, r) { return s + r.persons; }, 0);
        var F = rows.reduce(function (s, r) { return s + Number(r.fund); }, 0);
        var pts = [[0, 0]], cp = 0, cf = 0;
        rows.forEach(function (r) {
          cp += r.persons;
          cf += Number(r.fund);
          pts.push([Math.round(cp / P * 1e4) / 1e4, Math.round(cf / F * 1e4) / 1e4]);
        });
        return {name: scenarioName(c, k), type: 'line', data: pts, symbolSize: 6};
      });
      lorenz.push({name: '完全平等 equality', type: 'line', data: [[0, 0], [1, 1]], lineStyle: {type: 'dashed'},
                   symbol: 'none', color: '#9aa5b1'});
      chart(dg[1], 'compare-lorenz-' + d.scenario, {
        legend: {top: 0}, tooltip: {trigger: 'item'},
        grid: {left: 60, right: 20, top: 64, bottom: 50},
        xAxis: {type: 'value', min: 0, max: 1, name: '参保人累计占比 population share', nameLocation: 'middle', nameGap: 28},
        yAxis: {type: 'value', min: 0, max: 1, name: '基金累计占比 fund share'},
        series: lorenz
      });
    });
    if (c.monitoring)
      sec.appendChild(el('p', {class: 'note'}, '监测 monitoring: ' + c.monitoring));
    if (c.explained)
      explainSection(ref, c.explained, 'explained');
  }

  /* ---- one claim's settlement, from its trace ------------------------------ */

  function explainSection(ref, e, base) {
    var sec = section('一笔结算的计算过程 One claim, step by step (基线 baseline)',
                      '结算过程信息 from the settlement trace: claim ' + e.claim + ', person ' + e.person + ', ' +
                      e.date + ', ' + (VISIT[e.visit] || e.visit) + ', ' + e.level + ', ' + e.place +
                      '; policy ' + e.policy.region + ' ' + (e.policy.name || '') + ' version from ' +
                      e.policy.version_from + ', policy year ' + e.policy_year + '; ' +
                      (SCHEME[e.scheme] || e.scheme) + ', identity applied ' + (IDENT[e.identity] || e.identity));
    var p = base + '.';
    table(sec, 'explain-claim', ['', '总额 total', '政策内 in scope', '先行自付 pre-selfpay', '超限价 over limit',
                                 '范围外 out of scope', '基金 fund', '个人 oop', '政策内自付 oop in scope'],
          [['金额 amount', num(ref, p + 'total', 'money'), num(ref, p + 'in_scope', 'money'),
            num(ref, p + 'pre_selfpay', 'money'), num(ref, p + 'over_limit', 'money'),
            num(ref, p + 'out_of_scope', 'money'), num(ref, p + 'fund', 'money'), num(ref, p + 'oop', 'money'),
            num(ref, p + 'oop_in_scope', 'money')]]);
    var rows = [], idle = [];
    e.layers.forEach(function (l, i) {
      var q = p + 'layers.' + i + '.';
      if (!l.applied) {
        idle.push(l.layer + (l.when_held ? ' (跳过 skipped)' : ''));
        return;
      }
      var calc = l.calc || {};
      var bands = (calc.bands || []).map(function (b) {
        return fmtMoney(b.lo) + '–' + fmtMoney(b.hi) + ' × ' + b.rate + ' = ' + Number(b.part).toFixed(2);
      }).join('; ');
      var bt = el('td', {class: 'wrap'}, bands || '–');
      rows.push([(l.name || l.layer) + ' (' + l.layer + ')', l.fund_code || '–',
                 num(ref, q + 'base', 'money'),
                 calc.deductible != null ? num(ref, q + 'calc.deductible', 'money') : '–',
                 calc.c0 != null ? fmtMoney(calc.c0) + ' → ' + fmtMoney(calc.c1) : '–',
                 bt,
                 calc.cap && calc.cap.room != null ? num(ref, q + 'calc.cap.room', 'money') : '–',
                 num(ref, q + 'pays', 'money'),
                 l.in_scope_left != null ? num(ref, q + 'in_scope_left', 'money') : '–']);
    });
    table(sec, 'explain-layers', ['层 layer', '基金代码 fund code', '基数 base B', '起付线 deductible D',
                                  '累计 C0 → C1', '分段 bands', '封顶余额 cap room', '支付 pays',
                                  '政策内剩余 in scope left'], rows);
    if (idle.length)
      sec.appendChild(el('p', {class: 'note'}, '未适用的层 layers not applied: ' + idle.join(', ')));
    if (e.refused)
      sec.appendChild(el('p', {class: 'note'}, '拒付 refused: ' + e.refused));
  }

  /* ---- roster: roster_summary.json --------------------------------------- */

  var FINDING = [['not_enrolled', '漏保 not enrolled', '低保、特困等对象未参保 on the roster, not in persons.csv'],
                 ['stale_assistance', '身份失效仍获救助 assistance without identity', '医疗救助 paid on a date the person held no qualifying identity'],
                 ['duplicates', '重复参保 enrolled more than once', '同一人多地或多险种参保 across regions or schemes'],
                 ['roster_errors', '无法使用的名单行 unusable roster rows', '身份证号、日期或身份有误 bad ID, dates or identity']];

  function rosterSection(i, ro) {
    var ref = {doc: ro, kind: 'roster', input: i};
    var f = ro.findings;
    var sec = section('部门名单核查 Roster checks between departments',
                      '民政名单与参保、结算比对 the civil-affairs roster against enrolment and settlements, from roster_summary.json' +
                      (ro.inputs && ro.inputs.identities ? ' (' + ro.inputs.identities + ')' : ''));
    cards(sec, [['参保名单 persons rows', fmtCount(ro.rows.persons)], ['救助名单 roster rows', fmtCount(ro.rows.identities)],
                ['结算 settlements', fmtCount(ro.rows.settlements)],
                ['应追回救助 assistance to check (yuan)', fmtMoney(f.stale_assistance.amount)]]);
    sec.appendChild(el('h3', null, '发现 Findings'));
    table(sec, 'roster-findings', ['问题 finding', '行数 rows', '说明 detail', '明细 breakdown'], [
      [FINDING[0][1], num(ref, 'findings.not_enrolled.rows', 'count'), FINDING[0][2], '–'],
      [FINDING[1][1], num(ref, 'findings.stale_assistance.rows', 'count'), FINDING[1][2],
       num(ref, 'findings.stale_assistance.amount', 'money')],
      [FINDING[2][1], num(ref, 'findings.duplicates.rows', 'count'), FINDING[2][2],
       num(ref, 'findings.duplicates.persons', 'count')],
      [FINDING[3][1], num(ref, 'findings.roster_errors.rows', 'count'), FINDING[3][2], '–']
    ]);
    sec.appendChild(el('p', {class: 'note'}, '明细 breakdown: 救助金额 amount paid (yuan); 重复参保人数 persons enrolled twice ' +
                         '(跨统筹区 across regions ' + f.duplicates.across_regions + ', 跨险种 across schemes ' +
                         f.duplicates.across_schemes + '); 名单错误 roster errors: ID ' + f.roster_errors.id + ', 日期 date ' +
                         f.roster_errors.date + ', 身份 identity ' + f.roster_errors.identity + '.'));
    var regions = Object.keys(ro.by_region);
    sec.appendChild(el('h3', null, '按统筹区 By region'));
    table(sec, 'roster-regions', ['统筹区 region', '参保人 persons', '结算 settlements', '漏保 not enrolled',
                                   '身份失效救助 stale assistance', '金额 amount', '重复参保 duplicates',
                                   '名单错误 roster errors'],
          regions.map(function (r) {
            var p = 'by_region.' + r + '.';
            return [r === 'unknown' ? '未知 unknown' : r, num(ref, p + 'persons', 'count'),
                    num(ref, p + 'settlements', 'count'), num(ref, p + 'not_enrolled', 'count'),
                    num(ref, p + 'stale_assistance', 'count'), num(ref, p + 'stale_amount', 'money'),
                    num(ref, p + 'duplicates', 'count'), num(ref, p + 'roster_errors', 'count')];
          }));
    var any = regions.some(function (r) {
      return FINDING.some(function (x) { return ro.by_region[r][x[0]]; });
    });
    if (!any) {
      sec.appendChild(el('p', {class: 'note'}, '无发现 no findings: 名单、参保与结算一致 the roster, enrolment and settlements agree'));
      return;
    }
    chart(sec, 'roster-regions', barOption(regions, FINDING.map(function (x) {
      return {name: x[1], data: regions.map(function (r) { return ro.by_region[r][x[0]]; })};
    }), '行数 rows', true));
  }

  /* ---- fund: fund.json ----------------------------------------------------- */

  var FUND = {employee: '职工统筹 employee pooled', resident: '居民统筹 resident pooled',
              assistance: '医疗救助 assistance'};
  var WBAND = {shortage: '结余短缺 shortage', insufficient: '结余不足 insufficient', reasonable: '合理 reasonable',
               excess: '结余过多 excess'};
  var GROUP = {urban: '城镇 urban', rural: '农村 rural', residence_unknown: '居住地未知 residence unknown',
               q1: '最低 20% Q1', q2: 'Q2', q3: 'Q3', q4: 'Q4', q5: '最高 20% Q5', income_unknown: '收入未知 income unknown'};

  function fundSection(i, fu) {
    var ref = {doc: fu, kind: 'fund', input: i};
    var names = {};
    fu.regions.forEach(function (r) { names[r.region] = r.name; });
    var sec = section('基金收支 Fund accounts',
                      '各统筹区各基金各年度的收入、支出、结余与可支付月数 revenue, spending, balances and months of payment ' +
                      'by region, fund and year, from fund.json (' + fu.inputs.settlements + '); 支出与结算一致 spending equals the ' +
                      'settlements\' fund to the fen: ' + (fu.money.reconciled ? '是 yes' : '否 NO'));
    cards(sec, [['年度 years', fu.years.join(', ')], ['参保人 persons', fmtCount(fu.counts.persons)],
                ['收入 revenue (yuan)', fmtMoney(fu.money.revenue)], ['支出 spending (yuan)', fmtMoney(fu.money.spending)]]);
    var acc = fu.accounts.map(function (a, k) { return {a: a, k: k}; })
      .filter(function (x) { return x.a.persons || x.a.spending; });
    table(sec, 'fund-accounts', ['统筹区 region', '年度 year', '基金 fund', '人数 persons', '个人缴费 paid by persons',
                                 '资助参保 paid by assistance', '财政补助 subsidy / budget', '单位缴费 employer',
                                 '收入 revenue', '支出 spending', '期初 opening', '调剂前结余 closing before',
                                 '月数 months before', '上解 paid up', '调剂 received', '期末 closing', '可支付月数 months',
                                 '预警 band'],
          acc.map(function (x) {
            var p = 'accounts.' + x.k + '.';
            return [x.a.region, String(x.a.year), FUND[x.a.fund] || x.a.fund, num(ref, p + 'persons', 'count'),
                    num(ref, p + 'individual', 'money'), num(ref, p + 'assisted', 'money'), num(ref, p + 'subsidy', 'money'),
                    num(ref, p + 'employer', 'money'), num(ref, p + 'revenue', 'money'), num(ref, p + 'spending', 'money'),
                    num(ref, p + 'opening', 'money', true), num(ref, p + 'closing_before', 'money', true),
                    num(ref, p + 'months_before', 'months', true), num(ref, p + 'paid_up', 'money'),
                    num(ref, p + 'received', 'money'), num(ref, p + 'closing', 'money', true),
                    num(ref, p + 'months', 'months', true), x.a.band ? (WBAND[x.a.band] || x.a.band) : '–'];
          }));
    var last = fu.years[fu.years.length - 1];
    var pooled = fu.accounts.filter(function (a) { return a.year === last && a.fund !== 'assistance' && a.persons; });
    if (pooled.length)
      chart(sec, 'fund-months', barOption(pooled.map(function (a) { return a.region + ' ' + (a.fund === 'employee' ? '职工' : '居民'); }), [
        {name: '调剂前 before (' + last + ')', data: pooled.map(function (a) { return a.months_before; })},
        {name: '调剂后 after', data: pooled.map(function (a) { return a.months; })}], '可支付月数 months of payment'));
    if (fu.spending.length) {
      sec.appendChild(el('h3', null, '按层支出 Spending by layer and fund code'));
      table(sec, 'fund-spending', ['统筹区 region', '年度 year', '层 layer', '基金代码 fund code', '基金 fund',
                                   '结算 claims', '支付 paid'],
            fu.spending.map(function (x, k) {
              return [x.region, String(x.year), layerLabel(x.layer), x.fund_code || '–', FUND[x.fund] || x.fund,
                      num(ref, 'spending.' + k + '.claims', 'count'), num(ref, 'spending.' + k + '.paid', 'money')];
            }));
    }
    if (fu.premiums.length || fu.coverage.length) {
      var g = grid(sec);
      g[0].appendChild(el('h3', null, '资助参保 Premiums paid by assistance'));
      table(g[0], 'fund-premiums', ['统筹区 region', '年度 year', '身份 identity', '人数 persons', '金额 amount'],
            fu.premiums.map(function (x, k) {
              return [x.region, String(x.year), IDENT[x.identity] || x.identity,
                      num(ref, 'premiums.' + k + '.persons', 'count'), num(ref, 'premiums.' + k + '.amount', 'money')];
            }));
      g[1].appendChild(el('h3', null, '救助对象参保率 Coverage of the roster\'s groups'));
      table(g[1], 'fund-coverage', ['统筹区 region', '年度 year', '身份 identity', '名单 roster', '参保 enrolled', '参保率 share'],
            fu.coverage.map(function (x, k) {
              return [x.region, String(x.year), x.identity === 'any' ? '任一身份 any' : IDENT[x.identity] || x.identity,
                      num(ref, 'coverage.' + k + '.roster', 'count'), num(ref, 'coverage.' + k + '.enrolled', 'count'),
                      num(ref, 'coverage.' + k + '.share', 'rate')];
            }));
    }
    var ratios = fu.ratios.map(function (x, k) { return {x: x, k: k}; }).filter(function (r) { return r.x.region === 'all'; });
    if (ratios.length) {
      sec.appendChild(el('h3', null, '受益缴费比 Benefit per yuan contributed, resident scheme (逆向补贴?)'));
      table(sec, 'fund-ratios', ['年度 year', '组 group', '人数 persons', '个人缴费 premium', '财政补助 subsidy',
                                 '统筹受益 benefit', '救助受益 assistance', '受益/个人缴费 per premium',
                                 '受益/(个人+财政) per contribution'],
            ratios.map(function (r) {
              var p = 'ratios.' + r.k + '.';
              return [String(r.x.year), GROUP[r.x.group] || r.x.group, num(ref, p + 'persons', 'count'),
                      num(ref, p + 'premium', 'money'), num(ref, p + 'subsidy', 'money'), num(ref, p + 'benefit', 'money'),
                      num(ref, p + 'assistance', 'money'), num(ref, p + 'benefit_per_premium', 'num'),
                      num(ref, p + 'benefit_per_contribution', 'num')];
            }));
    }

    /* the adjustment fund */
    var adj = fu.adjustment.map(function (a, k) { return {a: a, k: k}; }).filter(function (x) { return x.a.present; });
    if (adj.length) {
      var s2 = section('省级调剂金 The provincial adjustment fund',
                       '上解、正常调剂、紧急调剂、预拨与清算 pay-up, normal and emergency allocation, advance and settlement; ' +
                       '期初 + 上解 = 调剂 + 期末 opening + paid up = allocated + closing, to the fen' +
                       (adj[0].a.source ? ' · ' + adj[0].a.source : ''));
      table(s2, 'fund-adjustment-years', ['年度 year', '期初 opening', '上解 paid up', '正常调剂 normal', '紧急调剂 emergency',
                                          '调剂合计 allocated', '期末 closing', '守恒 conserved', '预拨 advance',
                                          '清算 settlement'],
            adj.map(function (x) {
              var p = 'adjustment.' + x.k + '.';
              return [String(x.a.year), num(ref, p + 'opening', 'money'), num(ref, p + 'paid_up', 'money'),
                      num(ref, p + 'normal', 'money'), num(ref, p + 'emergency', 'money'), num(ref, p + 'allocated', 'money'),
                      num(ref, p + 'closing', 'money'), x.a.conserved ? '是 yes' : '否 NO', num(ref, p + 'advance', 'money'),
                      num(ref, p + 'settlement', 'money', true)];
            }));
      s2.appendChild(el('h3', null, '各地可支付月数的离散程度 Dispersion of months of payment across the funds'));
      table(s2, 'fund-dispersion', ['年度 year', '均值 mean before', '均值 mean after', '标准差 sd before', '标准差 sd after',
                                    '极差 range before', '极差 range after'],
            adj.map(function (x) {
              var p = 'adjustment.' + x.k + '.';
              return [String(x.a.year), num(ref, p + 'months_before.mean', 'months', true),
                      num(ref, p + 'months_after.mean', 'months', true), num(ref, p + 'months_before.sd', 'months'),
                      num(ref, p + 'months_after.sd', 'months'), num(ref, p + 'months_before.range', 'months'),
                      num(ref, p + 'months_after.range', 'months')];
            }));
      adj.forEach(function (x) {
        s2.appendChild(el('h3', null, x.a.year + ' 各基金 by fund'));
        table(s2, 'fund-adjustment-' + x.a.year, ['统筹区 region', '基金 fund', '收入 revenue', '支出 spending',
                                                   '上解 paid up', '缺口 gap', '扣减 deduction', '得分 score',
                                                   '正常调剂 normal', '紧急调剂 emergency', '预拨 advance', '清算 settlement',
                                                   '月数 months before', '月数 months after'],
              x.a.funds.map(function (f, j) {
                var p = 'adjustment.' + x.k + '.funds.' + j + '.';
                return [f.region, FUND[f.fund] || f.fund, num(ref, p + 'revenue', 'money'), num(ref, p + 'spending', 'money'),
                        num(ref, p + 'paid_up', 'money'), num(ref, p + 'gap', 'money'), num(ref, p + 'deduction', 'money'),
                        num(ref, p + 'score', 'months'), num(ref, p + 'normal', 'money'), num(ref, p + 'emergency', 'money'),
                        num(ref, p + 'advance', 'money'), num(ref, p + 'settlement', 'money', true),
                        num(ref, p + 'months_before', 'months', true), num(ref, p + 'months', 'months', true)];
              }));
        chart(s2, 'fund-flows-' + x.a.year, barOption(x.a.funds.map(function (f) {
          return f.region + ' ' + (f.fund === 'employee' ? '职工' : '居民');
        }), [{name: '上解 paid up', data: x.a.funds.map(function (f) { return -f.paid_up; })},
             {name: '调剂 received', data: x.a.funds.map(function (f) { return f.received; })}], '元 yuan'));
      });
    }

    /* the indicators */
    var defs = fu.indicators.defs;
    var s3 = section('绩效指标 Performance indicators by region',
                     '各指标定义见 README definitions in the README ("Indicators"); 排名 rank 1 = best (' +
                     defs.map(function (d) { return d.id + ': ' + d.better; }).join(', ') + ')');
    var head = ['统筹区 region', '年度 year'];
    defs.forEach(function (d) { head.push(d.name, '排名 rank'); });
    table(s3, 'fund-indicators', head, fu.indicators.rows.map(function (r, k) {
      var row = [r.region, String(r.year)];
      defs.forEach(function (d) {
        row.push(num(ref, 'indicators.rows.' + k + '.values.' + d.id, 'num'),
                 num(ref, 'indicators.rows.' + k + '.ranks.' + d.id, 'count'));
      });
      return row;
    }));
  }

  /* ---- code-texts: tables.json and the cross-tables ------------------------ */

  var STAGE = {'脱贫攻坚': '脱贫攻坚 poverty alleviation', '乡村振兴': '乡村振兴 rural revitalization',
               all: '合计 all'};
  var DIM = {goal: '政策目标 Policy goals (表2 table 2)', tool: '政策工具 Policy tools (表3 table 3)',
             coordination: '主体协同 Coordination (表4 table 4)', department: '部门 Departments named'};

  /* Groups with their categories beneath (or the categories alone). */
  function dimRows(ref, dim, stages) {
    var base = 'dimensions.' + dim + '.';
    var d = ref.doc.dimensions[dim];
    var cells = function (p, o) {
      var row = [];
      stages.forEach(function (s) {
        row.push(num(ref, p + '.by_stage.' + s + '.count', 'count'), num(ref, p + '.by_stage.' + s + '.share', 'pct'));
      });
      void o;
      return row;
    };
    var rows = [], trs = [];
    var emit = function (label, p, total) {
      rows.push([label].concat(cells(p)));
      trs.push(total);
    };
    if (d.groups.length) {
      d.groups.forEach(function (g, gi) {
        emit(g.name, base + 'groups.' + gi, true);
        d.categories.forEach(function (c, ci) {
          if (c.group === g.name)
            emit('　' + c.name + ' (' + c.id + ')', base + 'categories.' + ci, false);
        });
      });
    } else {
      d.categories.forEach(function (c, ci) { emit(c.name + ' (' + c.id + ')', base + 'categories.' + ci, false); });
    }
    return {rows: rows, totals: trs};
  }

  function crossTable(parent, name, x) {
    var ref = {doc: x.doc, kind: x.kind, input: x.input};
    var head = x.doc.header.map(function (h) {
      return h.replace(/ count$/, ' 条目 count').replace(/ share%$/, ' 占比 share').replace(/^stage$/, '阶段 stage')
              .replace(/^group$/, '类型 type').replace(/^category$/, '工具 tool').replace(/^id$/, 'id');
    });
    var t = table(parent, name, head, x.doc.rows.map(function (r, k) {
      return r.map(function (v, j) {
        var h = x.doc.header[j];
        if (/ count$/.test(h))
          return num(ref, 'rows.' + k + '.' + j, 'count');
        if (/ share%$/.test(h))
          return num(ref, 'rows.' + k + '.' + j, 'pct');
        return j === 0 ? (STAGE[v] || v) : v;
      });
    }));
    x.doc.rows.forEach(function (r, k) {
      if (!r[2] && !r[3])
        t.tBodies[0].rows[k].classList.add('total');
    });
  }

  function textsSection(i, tx, crosses) {
    var ref = {doc: tx, kind: 'texts', input: i};
    var stages = tx.stages.concat(['all']);
    var sec = section('政策文本编码 Policy texts coded on goals × tools × coordination',
                      '按条目编码 clause by clause with the frame "' + tx.frame + '", from tables.json; shares in % of the ' +
                      'dimension\'s codes in the stage (within the type for tools), as in 孙菊等 2024 tables 2–6');
    cards(sec, [['文件 documents', fmtCount(tx.documents)], ['条目 clauses', fmtCount(tx.clauses)],
                ['已编码 coded clauses', fmtCount(tx.coded_clauses)], ['未归位行 unplaced lines', fmtCount(tx.unplaced_lines)]]);
    var head = ['类别 category'];
    stages.forEach(function (s) { head.push((STAGE[s] || s) + ' 条目 count', (STAGE[s] || s) + ' 占比 share'); });
    ['goal', 'tool', 'coordination'].forEach(function (dim) {
      if (!tx.dimensions[dim])
        return;
      sec.appendChild(el('h3', null, DIM[dim]));
      var r = dimRows(ref, dim, stages);
      var t = table(sec, 'texts-' + dim, head, r.rows);
      r.totals.forEach(function (tot, k) { if (tot) t.tBodies[0].rows[k].classList.add('total'); });
      if (dim === 'tool') {
        var groups = tx.dimensions.tool.groups, cats = tx.dimensions.tool.categories;
        var g = grid(sec);
        chart(g[0], 'texts-tool-types', {
          legend: {top: 0}, tooltip: {trigger: 'axis'},
          grid: {left: 150, right: 20, top: 48, bottom: 40},
          xAxis: {type: 'value', max: 100, name: '%'},
          yAxis: {type: 'category', data: tx.stages.map(function (s) { return STAGE[s] || s; }), inverse: true},
          series: groups.map(function (gr) {
            return {name: gr.name, type: 'bar', stack: 'all', label: {show: true, formatter: '{c}%'},
                    data: tx.stages.map(function (s) { return gr.by_stage[s].share; })};
          })
        }, 260);
        chart(g[1], 'texts-tools-by-stage', {
          legend: {top: 0}, tooltip: {trigger: 'axis'},
          grid: {left: 60, right: 16, top: 48, bottom: 110},
          xAxis: {type: 'category', data: cats.map(function (c) { return c.group.slice(0, 2) + '·' + c.name; }),
                  axisLabel: {rotate: 45, interval: 0}},
          yAxis: {type: 'value', name: '类型内占比 share within type (%)', nameTextStyle: {align: 'left'}},
          series: tx.stages.map(function (s) {
            return {name: STAGE[s] || s, type: 'bar', data: cats.map(function (c) { return c.by_stage[s].share; })};
          })
        }, 380);
      }
    });
    crosses.forEach(function (x) {
      sec.appendChild(el('h3', null, x.kind === 'tool_goal' ? '工具—目标 Tool × goal (表5 table 5, ' + x.doc.file + ')'
                                                        : '协同—目标 Coordination × goal (表6 table 6, ' + x.doc.file + ')'));
      sec.appendChild(el('p', {class: 'note'}, '同时带有该行与该列编码的条目 clauses coded with both; 占比 share in % of the goal\'s column within the stage and type'));
      crossTable(sec, 'texts-' + x.kind, x);
    });
    var pairs = tx.department_pairs || [];
    if (pairs.length) {
      sec.appendChild(el('h3', null, '部门共现 Departments named together in a clause' +
                           (pairs.length > 20 ? ' (前 20 对 the 20 most frequent of ' + pairs.length + ' pairs)' : '')));
      table(sec, 'texts-departments', ['部门 department', '部门 department', '条目 clauses'],
            pairs.map(function (p, k) { return [p.a, p.b, num(ref, 'department_pairs.' + k + '.clauses', 'count')]; })
                 .slice(0, 20));
    }
    var joint = tx.joint_issuance || [];
    if (joint.length)
      sec.appendChild(el('p', {class: 'note'}, '联合发文 jointly issued: ' + joint.filter(function (j) { return j.joint; })
        .map(function (j) { return j.document + ' (' + j.issuers.join('、') + ')'; }).join('; ') +
        ' · ' + joint.filter(function (j) { return j.joint; }).length + ' of ' + joint.length + ' documents'));
  }

  /* ---- audit: audit.json and findings.csv ---------------------------------- */

  var RULE = {overpaid: '超标准支付 overpaid', underpaid: '少付 underpaid', duplicate: '重复结算 duplicate',
              split_stay: '分解住院 split stay', overlap: '挂床、冒名 overlapping stays',
              assistance_ineligible: '无资格救助 assistance without identity',
              cost_outlier: '次均费用异常 cost outlier'};
  var SEVERITY = {high: '高 high', medium: '中 medium', low: '低 low'};
  function ruleLabel(r) { return RULE[r] || r; }

  function auditSection(i, a, fd) {
    var ref = {doc: a, kind: 'audit', input: i};
    var sec = section('基金监管稽核 Fund supervision audit',
                      '按政策重新核算已支付结算 paid claims re-adjudicated through the policies, from audit.json; ' +
                      '规则 rules: ' + a.rules_name + ' (' + a.rules_file + ')');
    cards(sec, [['发现 findings', fmtCount(a.findings)], ['基金风险金额 at risk to the funds (yuan)', fmtMoney(a.at_risk)],
                ['应补付参保人 owed to persons (yuan)', fmtMoney(a.underpaid)],
                ['未比对结算 claims not compared', fmtCount(a.claims_not_compared)]]);
    sec.appendChild(el('h3', null, '按规则 By rule'));
    table(sec, 'audit-rules', ['规则 rule', '严重程度 severity', '启用 enabled', '发现 findings', '金额 at risk (yuan)'],
          a.by_rule.map(function (r, k) {
            return [ruleLabel(r.rule) + ' (' + r.rule + ')', SEVERITY[r.severity] || r.severity,
                    r.enabled ? '是 yes' : '否 no', num(ref, 'by_rule.' + k + '.findings', 'count'),
                    num(ref, 'by_rule.' + k + '.at_risk', 'money')];
          }));
    sec.appendChild(el('p', {class: 'note'}, '少付 underpaid 是欠参保人的金额，不计入基金风险 is owed to the person and not counted at risk to the funds.'));
    if (a.findings)
      chart(sec, 'audit-rules-' + i, barOption(a.by_rule.map(function (r) { return ruleLabel(r.rule); }),
        [{name: '金额 at risk (yuan)', data: a.by_rule.map(function (r) { return yuan(r.at_risk); })}], '元 yuan'));
    var part = function (name, list, key, label, title, most) {
      if (!list || !list.length)
        return;
      sec.appendChild(el('h3', null, title + (list.length > most ? ' (金额最大的 ' + most + ' 项 the ' + most +
                                                       ' largest of ' + list.length + ')' : '')));
      table(sec, name, [label, '规则 rule', '发现 findings', '金额 at risk (yuan)'],
            list.slice(0, most).map(function (r, k) {
              return [r[key] === '' ? '–' : key === 'layer' ? layerLabel(r[key]) : r[key], ruleLabel(r.rule),
                      num(ref, name.replace('audit-', 'by_') + '.' + k + '.findings', 'count'),
                      num(ref, name.replace('audit-', 'by_') + '.' + k + '.at_risk', 'money')];
            }));
    };
    part('audit-facility', a.by_facility, 'facility', '机构 facility', '按机构 By facility', 20);
    part('audit-region', a.by_region, 'region', '统筹区 region', '按统筹区 By region', 50);
    part('audit-layer', a.by_layer, 'layer', '险种层 layer or fund column', '按险种层 By layer', 50);
    if (!fd || !fd.rows.length) {
      if (!a.findings)
        sec.appendChild(el('p', {class: 'note'}, '无发现 no findings: 已付金额与政策一致 what was paid is what the policies give'));
      return;
    }
    var fref = {doc: fd, kind: 'findings', input: i};
    var col = {};
    fd.header.forEach(function (h, k) { col[h] = k; });
    sec.appendChild(el('h3', null, '金额最大的发现 Top findings by amount at risk (' + fd.rows.length + ' of ' +
                                   fd.rows_total + ', findings.csv; 身份证号已脱敏 persons masked)'));
    /* A money cell of page row k; its data-src names the row of the file
     * (fd.index), as check.cjs reads findings.csv itself. */
    var money = function (k, c) {
      if (fd.rows[k][col[c]] === '')
        return '–';
      var td = num(fref, 'rows.' + k + '.' + col[c], 'money');
      td.setAttribute('data-src', 'findings:' + i + ':rows.' + fd.index[k] + '.' + col[c]);
      return td;
    };
    table(sec, 'audit-top', ['发现 finding', '规则 rule', '结算 claim', '关联 related', '参保人 person', '机构 facility',
                             '日期 date', '险种层 layer', '已付 paid', '应付 due', '金额 at risk', '理由 reason'],
          fd.rows.map(function (r, k) {
            return [r[col.finding], ruleLabel(r[col.rule]), r[col.claim] || '–', r[col.related] || '–',
                    r[col.person] || '–', r[col.facility] || '–', r[col.date] || '–', r[col.layer] || '–',
                    money(k, 'paid'), money(k, 'due'), money(k, 'at_risk'), r[col.reason]];
          }));
  }

  /* ---- sanbao project: the funds' projection and its fan chart ------------- */

  var SCHEME = {employee: '职工 employee', resident: '居民 resident'};

  /* Percentile bands of a fund's balance as stacked areas: p5 (invisible
   * base), p5-p95 and p25-p75 on top of it, the median and the
   * deterministic path as lines; yuan. */
  function fanOption(p, f) {
    var years = f.years.map(function (y) { return y.year; });
    var mc = f.years[0].mc != null;
    var q = function (k) { return f.years.map(function (y) { return yuan(y.mc.balance[k]); }); };
    var series = [];
    if (mc) {
      var p5 = q('p5'), p25 = q('p25'), p75 = q('p75'), p95 = q('p95');
      series.push({name: 'p5', type: 'line', data: p5, stack: 'outer', symbol: 'none',
                   lineStyle: {opacity: 0}, areaStyle: {opacity: 0}, tooltip: {show: false}});
      series.push({name: 'p5–p95', type: 'line', stack: 'outer', symbol: 'none', lineStyle: {opacity: 0},
                   areaStyle: {color: '#9ecae1', opacity: 0.45}, itemStyle: {color: '#9ecae1'},
                   data: p95.map(function (v, k) { return yuan(v - p5[k]); })});
      series.push({name: 'p25', type: 'line', data: p25, stack: 'inner', symbol: 'none',
                   lineStyle: {opacity: 0}, areaStyle: {opacity: 0}, tooltip: {show: false}});
      series.push({name: 'p25–p75', type: 'line', stack: 'inner', symbol: 'none', lineStyle: {opacity: 0},
                   areaStyle: {color: '#3182bd', opacity: 0.45}, itemStyle: {color: '#3182bd'},
                   data: p75.map(function (v, k) { return yuan(v - p25[k]); })});
      series.push({name: '中位数 median', type: 'line', data: q('p50'), symbol: 'none',
                   lineStyle: {color: '#08519c', width: 2}, itemStyle: {color: '#08519c'}});
    }
    series.push({name: '确定性 deterministic', type: 'line', symbol: 'none',
                 lineStyle: {color: '#d62728', type: 'dashed', width: 2}, itemStyle: {color: '#d62728'},
                 data: f.years.map(function (y) { return yuan(y.balance); })});
    return {
      legend: {top: 0, data: series.filter(function (s) { return s.name !== 'p5' && s.name !== 'p25'; })
                                     .map(function (s) { return s.name; })},
      grid: {left: 90, right: 20, top: 48, bottom: 40},
      xAxis: {type: 'category', data: years, boundaryGap: false},
      yAxis: {type: 'value', name: '累计结余 balance (元 yuan)', nameTextStyle: {align: 'left'}},
      series: series
    };
  }

  function projectionSection(i, doc) {
    var p = doc.projection, ref = {doc: doc, kind: 'projection', input: i};
    var sec = section('基金可持续性预测 Fund projection',
      '基年 base year ' + p.base_year + ' · ' + p.years + ' 年 years · ' +
      (p.runs ? p.runs + ' 次蒙特卡洛 Monte Carlo runs (seed ' + p.seed + ')' : '无蒙特卡洛 no Monte Carlo') +
      ' · ' + p.rounding);
    var VISIT = {inpatient: '住院 inpatient', chronic_outpatient: '门诊慢特病 chronic',
                 outpatient: '门诊 outpatient', pharmacy: '药店 pharmacy'};
    if (p.scenarios.length) {
      sec.appendChild(el('h3', null, '基年 Base year ' + p.base_year + ': 参保人与基金支出 insured and fund spending by visit type'));
      table(sec, 'project-base', ['统筹区 region', '险种 scheme', '参保人 insured', '结算 claims']
        .concat(p.visits.map(function (v) { return VISIT[v] || v; }), ['合计 total']),
        p.scenarios[0].funds.map(function (f, j) {
          var b = 'projection.scenarios.0.funds.' + j;
          return [f.region, SCHEME[f.scheme] || f.scheme, num(ref, b + '.persons', 'count'),
                  num(ref, b + '.claims', 'count')].concat(p.visits.map(function (v) {
                    return num(ref, b + '.base_by_visit.' + v, 'money');
                  }), [num(ref, b + '.base_spending', 'money')]);
        }));
    }
    var last = p.years;
    var marks = [];
    for (var t = 5; t <= last; t += 5)
      marks.push(t);
    p.scenarios.forEach(function (s, k) {
      var base = 'projection.scenarios.' + k;
      sec.appendChild(el('h3', null, '情景 scenario ' + s.name + (s.description ? ': ' + s.description : '')));
      if (s.source)
        sec.appendChild(el('p', {class: 'note'}, '来源 source: ' + s.source));
      table(sec, 'project-' + s.name, ['统筹区 region', '险种 scheme', '基年支出 base spending',
        '期初结余 opening', '人均缴费 per contributor', '赤字年 first deficit',
        '耗尽年 exhausted', p.runs ? 'P(耗尽 exhausted) ' + (p.base_year + last) : '',
        (p.base_year + last) + ' 结余 balance', (p.base_year + last) + ' 月数 months']
        .filter(function (h) { return h !== ''; }),
        s.funds.map(function (f, j) {
          var b = base + '.funds.' + j;
          var row = [f.region, SCHEME[f.scheme] || f.scheme, num(ref, b + '.base_spending', 'money'),
                     num(ref, b + '.opening_balance', 'money'), num(ref, b + '.revenue_per_contributor', 'money'),
                     num(ref, b + '.first_deficit_year', 'year'), num(ref, b + '.exhaustion_year', 'year')];
          if (p.runs)
            row.push(num(ref, b + '.p_exhausted_by_end', 'rate'));
          row.push(num(ref, b + '.years.' + last + '.balance', 'money'),
                   num(ref, b + '.years.' + last + '.months', 'months'));
          return row;
        }));
      if (p.runs) {
        sec.appendChild(el('p', {class: 'note'}, '耗尽概率 probability of exhaustion by year (share of runs whose balance fell below 0 by then)'));
        table(sec, 'project-exhaustion-' + s.name, ['统筹区 region', '险种 scheme'].concat(
          marks.map(function (t) { return String(p.base_year + t); })),
          s.funds.map(function (f, j) {
            return [f.region, SCHEME[f.scheme] || f.scheme].concat(marks.map(function (t) {
              return num(ref, base + '.funds.' + j + '.years.' + t + '.mc.p_exhausted', 'rate');
            }));
          }));
      }
      /* the fan chart of one fund at a time, chosen here */
      var pick = el('select', {'data-select': 'project-fan-' + s.name});
      var first = 0;
      s.funds.forEach(function (f, j) {
        pick.appendChild(el('option', {value: String(j)}, f.region + ' ' + (SCHEME[f.scheme] || f.scheme)));
      });
      for (var j = 0; j < s.funds.length; j++)
        if (Number(s.funds[j].base_spending) > 0) { first = j; break; }
      pick.value = String(first);
      var label = el('label', {class: 'note'}, '扇形图 fan chart of the balance: ');
      label.appendChild(pick);
      sec.appendChild(label);
      var c = chart(sec, 'project-fan-' + s.name, fanOption(p, s.funds[first]), 340);
      window.sbCharts[window.sbCharts.length - 1].fund = first;
      pick.addEventListener('change', function () {
        var n = Number(pick.value);
        c.setOption(fanOption(p, s.funds[n]), true);
        window.sbCharts.forEach(function (x) { if (x.chart === c) x.fund = n; });
      });
    });
  }

  /* ---- the page ------------------------------------------------------------ */

  inputs.forEach(function (x, i) {
    if (!x)
      return;
    if (x.compare)
      compareSection(i, x.compare);
    if (x.summary)
      settleSection(i, x.summary);
    if (x.monitor)
      monitorSection(i, x.monitor);
    if (x.roster)
      rosterSection(i, x.roster);
    if (x.audit)
      auditSection(i, x.audit, x.findings);
    if (x.projection)
      projectionSection(i, x.projection);
    if (x.fund)
      fundSection(i, x.fund);
    if (x.texts)
      textsSection(i, x.texts, ['tool_goal', 'coordination_goal'].filter(function (k) { return x[k]; })
        .map(function (k) { return {kind: k, input: i, doc: x[k]}; }));
  });
  var foot = el('footer', null, 'sanbao report · 身份证号已脱敏 resident IDs masked · ' +
                'charts: Apache ECharts ' + (window.echarts ? echarts.version : ''));
  document.body.appendChild(foot);
  window.addEventListener('resize', function () {
    window.sbCharts.forEach(function (c) { c.chart.resize(); });
  });
  document.body.setAttribute('data-ready', '1');
})();
