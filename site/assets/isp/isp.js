/* ISP dashboard widgets: reports, trends, pivot table, CSV and XLSX downloads.
 *
 * The data of a page sits in <script type="application/json" class="isp-data"> INSIDE the page's
 * encrypted content, so this script finds it only after mkdocs-encryptcontent has decrypted the
 * page: it runs on the plugin's "encryptcontent_event", on Material's document$ and on load, and
 * initialises each .isp-widget once. Cubes arrive deflated and base64-encoded (see
 * scripts/isp/site/cube.py); DecompressionStream inflates them. Nothing is fetched.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- small DOM helpers
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function (kv) {
      if (kv[0] === "text") node.textContent = kv[1];
      else if (kv[0] === "on") Object.entries(kv[1]).forEach(function (ev) { node.addEventListener(ev[0], ev[1]); });
      else node.setAttribute(kv[0], kv[1]);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.append(child);
    });
    return node;
  }

  function select(name, options, value, onChange) {
    var box = el("select", { name: name, "data-isp-control": name });
    options.forEach(function (opt) {
      var o = el("option", { value: opt[0], text: opt[1] });
      if (String(opt[0]) === String(value)) o.selected = true;
      box.append(o);
    });
    box.addEventListener("change", function () { onChange(box.value); });
    return box;
  }

  function labelled(text, control) {
    return el("label", { class: "isp-control" }, [el("span", { text: text }), control]);
  }

  function fmt(n) {
    return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US");
  }

  /* A period code kept left-to-right inside Arabic text (2026-H2, not H2-2026): Unicode isolates
   * where no element can carry dir (an <option>). */
  var PERIOD = /^\d{4}(-(\d{2}|Q[1-4]|H[12]))?$/;
  function iso(doc, text) {
    return doc.lang === "ar" && PERIOD.test(String(text)) ? "\u2066" + text + "\u2069" : String(text);
  }

  /* Agency-months received of expected for some periods (suspended months are not expected). */
  function completeness(doc, labels) {
    var got = 0, want = 0, partial = [];
    labels.forEach(function (label) {
      var cov = (doc.coverage || {})[label];
      if (!cov) return;
      var am = cov.agency_months || { reported: cov.reported, expected: cov.expected };
      if (am.expected === undefined) return;
      var expected = Math.max(0, am.expected - (cov.suspended || 0));
      got += am.reported; want += expected;
      if (am.reported < expected) partial.push(label);
    });
    return want ? { reported: got, expected: want, partial: partial } : null;
  }

  function completenessText(doc, c) {
    var t = doc.t;
    return t.completeness + ": " + t.completeness_text.replace("{reported}", c.reported).replace("{expected}", c.expected);
  }

  function completenessLine(doc, labels, revised) {
    var c = completeness(doc, labels);
    if (!c) return null;
    var t = doc.t;
    var text = completenessText(doc, c) + (revised ? " (" + t.revised + ")" : "");
    var line = el("p", { class: "isp-coverage" + (c.partial.length ? " isp-partial" : ""), "data-isp-complete": c.partial.length ? "no" : "yes" }, [text]);
    if (c.partial.length) {
      line.append(el("br"), el("strong", { text: "⚠ " + t.partial }));
      if (labels.length > 1) line.append(" (" + t.partial_months + ": ", el("bdi", { text: c.partial.join(", ") }), ")");
    }
    return line;
  }

  /* Wide tables whose last columns are the latest months open scrolled to them (either direction). */
  function scrollToLatest(box) {
    var heads = Array.from(box.querySelectorAll("thead th")).slice(1);
    var periods = heads.filter(function (h) { return PERIOD.test(h.textContent.replace(/[\u2066\u2069]/g, "").trim()); });
    if (!periods.length || heads.indexOf(periods[periods.length - 1]) < heads.length - 2) return;  // months last (a total may follow)
    // Material makes the table itself the scroller (display: inline-block; overflow: auto)
    [box, box.querySelector("table")].forEach(function (node) {
      if (!node || node.scrollWidth <= node.clientWidth) return;
      var rtl = getComputedStyle(node).direction === "rtl";
      node.scrollLeft = rtl ? -node.scrollWidth : node.scrollWidth;
    });
  }

  // ---------------------------------------------------------------- data
  function pageData() {
    var node = document.querySelector("script.isp-data");
    if (!node) return null;
    if (!node._isp) node._isp = JSON.parse(node.textContent);
    return node._isp;
  }

  /* base64 -> raw DEFLATE -> unsigned LEB128 varints (see scripts/isp/site/cube.py). */
  async function inflate(b64, count) {
    var packed = Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
    var stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    var bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    var out = new Float64Array(count);
    for (var i = 0, k = 0; k < count; k++) {
      var b = bytes[i++], v = b & 127, scale = 128;
      while (b & 128) { b = bytes[i++]; v += (b & 127) * scale; scale *= 128; }
      out[k] = v;
    }
    return out;
  }

  function Cube(payload, cells) {
    this.axes = payload.axes;
    this.shape = payload.shape;
    this.cells = cells;
    this.names = ["period", "site", "indicator", "sex", "age_group", "nationality"];
    this.strides = [];
    var s = 1;
    for (var d = this.shape.length - 1; d >= 0; d--) { this.strides[d] = s; s *= this.shape[d]; }
  }
  Cube.prototype.dim = function (name) { return this.names.indexOf(name); };
  Cube.prototype.codes = function (name) { return this.axes[name]; };

  async function cubeOf(doc) {
    if (!doc._cube) {
      var count = doc.cube.shape.reduce(function (a, b) { return a * b; }, 1);
      doc._cube = inflate(doc.cube.cells, count).then(function (cells) { return new Cube(doc.cube, cells); });
    }
    return doc._cube;
  }

  /* Sum cells over every index allowed by `pick` (dim -> list of indices), grouped by `by` dims.
   * Stock indicators, when the period is not a grouping dim, take the last period only. */
  function aggregate(doc, cube, pick, by) {
    var stock = doc.indicators.map(function (i) { return i.aggregation === "stock"; });
    var ranges = cube.names.map(function (name, d) {
      return pick[name] || Array.from({ length: cube.shape[d] }, function (_, i) { return i; });
    });
    var periodGrouped = by.indexOf("period") >= 0;
    var lastPeriod = ranges[0][ranges[0].length - 1];
    var byDims = by.map(function (name) { return cube.dim(name); });
    var out = new Map();
    var st = cube.strides, cells = cube.cells;
    var idx = [0, 0, 0, 0, 0, 0];
    function walk(d, offset) {
      if (d === 6) {
        var v = cells[offset];
        if (!v) return;
        var key = byDims.map(function (bd) { return idx[bd]; }).join("|");
        out.set(key, (out.get(key) || 0) + v);
        return;
      }
      var r = ranges[d];
      for (var k = 0; k < r.length; k++) {
        idx[d] = r[k];
        if (d === 2 && stock[r[k]] && !periodGrouped && idx[0] !== lastPeriod) continue;
        walk(d + 1, offset + r[k] * st[d]);
      }
    }
    walk(0, 0);
    return out;
  }

  function axisLabel(doc, name, code) {
    if (name === "period") return code;
    var names = doc.names[name] || {};
    return names[code] || code;
  }

  // ---------------------------------------------------------------- tables and downloads
  function tableOf(header, rows, options) {
    options = options || {};
    var body = rows.map(function (row) {
      var isGroup = row._group;
      return el("tr", isGroup ? { class: "isp-group" } : {}, row.map(function (cell, i) {
        if (isGroup) return i === 0 ? el("th", { colspan: String(header.length), text: cell }) : null;
        if (typeof cell === "number") return el(i < (options.labelColumns || 1) ? "th" : "td", { text: fmt(cell) });
        return el(i < (options.labelColumns || 1) ? "th" : "td", {}, [PERIOD.test(cell) ? el("bdi", { text: cell }) : cell]);
      }));
    });
    var head = el("tr", {}, header.map(function (h) {
      return el("th", {}, [PERIOD.test(h) ? el("bdi", { text: h }) : h]);
    }));
    var table = el("table", { "data-isp-table": options.name || "" }, [el("thead", {}, [head]), el("tbody", {}, body)]);
    var box = el("div", { class: "isp-scroll" }, [table]);
    requestAnimationFrame(function () { scrollToLatest(box); });
    return box;
  }

  function download(name, blob) {
    var a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  /* A download carries what it holds: an "internal" mark, then any meta lines (indicator, scope,
   * completeness), a blank line, then the table. Without meta (report tables) the header comes first. */
  function csvText(header, rows, meta) {
    function q(v) {
      var s = v === null || v === undefined ? "" : String(v);
      // OWASP CSV injection: a text (a site name) opening with = + - @ tab or CR is a formula to Excel.
      if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
      return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    }
    var lines = meta && meta.length ? meta.map(function (m) { return [m]; }).concat([[]]) : [];
    return "\ufeff" + lines.concat([header], rows).map(function (r) { return r.map(q).join(","); }).join("\r\n") + "\r\n";
  }

  async function xlsxBlob(header, rows, meta) {
    var top = meta && meta.length ? meta.map(function (m, i) { return [{ value: m, fontWeight: i === 0 ? "bold" : undefined }]; }).concat([[null]]) : [];
    var data = top.concat([header].concat(rows).map(function (r, i) {
      return r.map(function (v) {
        if (v === null || v === undefined || v === "") return null;
        return typeof v === "number" ? { value: v, type: Number } : { value: String(v), fontWeight: i === 0 ? "bold" : undefined };
      });
    }));
    return window.writeXlsxFile(data, { sheet: "ISP internal" }).toBlob();
  }

  function downloads(doc, getTable, stem) {
    var t = doc.t;
    return el("div", { class: "isp-downloads" }, [
      el("button", { class: "md-button", type: "button", "data-isp-download": "csv", on: { click: function () {
        var tb = getTable();
        download(stem() + ".csv", new Blob([csvText(tb.header, tb.rows, tb.meta)], { type: "text/csv;charset=utf-8" }));
      } } }, [t.download_csv]),
      el("button", { class: "md-button", type: "button", "data-isp-download": "xlsx", on: { click: async function () {
        var tb = getTable();
        download(stem() + ".xlsx", await xlsxBlob(tb.header, tb.rows, tb.meta));
      } } }, [t.download_xlsx]),
    ]);
  }

  function plain(rows) {
    return rows.filter(function (r) { return !r._group; });
  }

  // ---------------------------------------------------------------- report widget
  function siteHeader(doc, code) {
    var other = (doc.names.site_other || {})[code];
    var main = doc.names.site[code] || code;
    return other && other !== main ? main + " / " + other : main;
  }

  function indicatorRows(doc, cube, valueOf, columns) {
    var rows = [];
    var group = null;
    cube.codes("indicator").forEach(function (code, i) {
      var meta = doc.indicators[i];
      if (meta.group !== group) {
        group = meta.group;
        var g = [doc.groups[group] || group];
        g._group = true;
        rows.push(g);
      }
      rows.push([doc.names.indicator[code] || code].concat(columns.map(function (c) { return valueOf(i, c); })));
    });
    return rows;
  }

  async function report(node, doc) {
    var cube = await cubeOf(doc);
    var t = doc.t;
    var periods = cube.codes("period");
    var sites = cube.codes("site");
    var state = { period: periods.length - 1, site: 0 };
    var out = el("div", { class: "isp-report-body" });

    function bySite() {
      var sums = aggregate(doc, cube, { period: [state.period] }, ["indicator", "site"]);
      var cols = sites.map(function (_, s) { return s; });
      var rows = indicatorRows(doc, cube, function (i, s) { return sums.get(i + "|" + s) || 0; }, cols);
      return { header: [t.indicator].concat(sites.map(function (c) { return siteHeader(doc, c); })), rows: rows };
    }

    function breakdown() {
      var cols = [];
      ["sex", "age_group", "nationality"].forEach(function (dim) {
        cube.codes(dim).forEach(function (code, k) { cols.push([dim, k, axisLabel(doc, dim, code)]); });
      });
      var pick = { period: [state.period], site: [state.site] };
      var per = {};
      ["sex", "age_group", "nationality"].forEach(function (dim) { per[dim] = aggregate(doc, cube, pick, ["indicator", dim]); });
      var total = aggregate(doc, cube, pick, ["indicator"]);
      var rows = indicatorRows(doc, cube, function (i, c) {
        return c === null ? total.get(String(i)) || 0 : per[c[0]].get(i + "|" + c[1]) || 0;
      }, cols.concat([null]));
      return { header: [t.indicator].concat(cols.map(function (c) { return c[2]; }), [t.total]), rows: rows };
    }

    /* A report download carries the internal mark, what it is and its period's completeness. */
    function reportMeta(what) {
      var label = periods[state.period];
      var lines = [t.internal, t.scope + ": " + (doc.scope || doc.filename) + "; " + label + "; " + what];
      var c = completeness(doc, [label]);
      if (c) lines.push(completenessText(doc, c) + (c.partial.length ? " – " + t.partial : ""));
      return lines;
    }

    function coverageLine() {
      var cov = (doc.coverage || {})[periods[state.period]];
      return cov ? completenessLine(doc, [periods[state.period]], cov.revised) : null;
    }

    function render() {
      var a = bySite(), b = breakdown();
      var stem = doc.filename + "-" + periods[state.period];
      out.replaceChildren(
        coverageLine() || "",
        el("h2", {}, [t.by_site + ": ", el("bdi", { text: periods[state.period] })]),
        downloads(doc, function () { return { header: a.header, rows: plain(a.rows), meta: reportMeta(t.by_site) }; },
          function () { return stem + "-sites-internal"; }),
        tableOf(a.header, a.rows, { name: "by-site" }),
        el("h2", { text: t.breakdown + ": " + siteHeader(doc, sites[state.site]) }),
        labelled(t.site, select("site", sites.map(function (c, s) { return [s, siteHeader(doc, c)]; }), state.site,
          function (v) { state.site = Number(v); render(); })),
        downloads(doc, function () { return { header: b.header, rows: plain(b.rows), meta: reportMeta(siteHeader(doc, sites[state.site])) }; },
          function () { return stem + "-" + sites[state.site] + "-internal"; }),
        tableOf(b.header, b.rows, { name: "breakdown" })
      );
    }

    var options = periods.map(function (p, i) { return [i, iso(doc, p)]; }).reverse();
    node.replaceChildren(
      el("div", { class: "isp-controls" }, [
        labelled(t.period, select("period", options, state.period, function (v) { state.period = Number(v); render(); })),
      ]),
      out
    );
    render();
  }

  // ---------------------------------------------------------------- charts
  function lineChart(target, months, series, monthLabel) {
    target.replaceChildren();
    if (!window.uPlot || !months.length) return;
    var xs = months.map(function (_, i) { return i; });
    var palette = ["#3f51b5", "#009688", "#e91e63", "#ff9800", "#607d8b", "#8bc34a", "#9c27b0"];
    var label = function (v) { return Number.isInteger(v) && months[v] ? months[v] : ""; };
    var opts = {
      width: chartWidth(target),
      height: 280,
      scales: { x: { time: false } },
      series: [{ label: monthLabel || "", value: function (u, v) { return v === null ? "--" : label(v); } }].concat(
        series.map(function (s, i) { return { label: s.label, stroke: palette[i % palette.length], width: 2 }; })),
      axes: [{ incrs: [1, 2, 3, 6, 12, 24, 60], values: function (u, vals) { return vals.map(label); } }, { size: 60 }],
    };
    target._plot = new window.uPlot(opts, [xs].concat(series.map(function (s) { return s.values; })), target);
    followWidth(target);
  }

  // A chart is drawn while its page may still be hidden (just decrypted, width 0): size it to the
  // viewport then, and follow its box afterwards, so it never runs off a phone's screen.
  function chartWidth(target) {
    var w = target.clientWidth || Math.min(window.innerWidth - 32, 720);
    return Math.max(240, Math.min(w, 960));
  }

  function followWidth(target) {
    if (!window.ResizeObserver || target._follow) return;
    target._follow = new ResizeObserver(function () {
      if (target._plot && target.clientWidth && Math.abs(target._plot.width - chartWidth(target)) > 1) {
        target._plot.setSize({ width: chartWidth(target), height: 280 });
      }
    });
    target._follow.observe(target);
  }

  function homeTrend(node, doc) {
    var tr = doc.trend || { months: [], series: {} };
    var series = Object.keys(tr.series).map(function (code) {
      return { label: doc.names.indicator[code] || code, values: tr.series[code] };
    });
    var box = el("div", { class: "isp-chart" });
    node.replaceChildren(box);
    lineChart(box, tr.months, series, doc.t.month);
  }

  async function trend(node, doc) {
    var cube = await cubeOf(doc);
    var t = doc.t;
    var months = cube.codes("period");
    var state = { indicator: 0, site: -1 };
    var box = el("div", { class: "isp-chart" });
    function render() {
      var pick = { indicator: [state.indicator] };
      if (state.site >= 0) pick.site = [state.site];
      var sums = aggregate(doc, cube, pick, ["period"]);
      var values = months.map(function (_, p) { return sums.get(String(p)) || 0; });
      var site = state.site >= 0 ? siteHeader(doc, cube.codes("site")[state.site]) : t.national;
      var name = doc.names.indicator[cube.codes("indicator")[state.indicator]];
      lineChart(box, months, [{ label: name + (doc.lang === "ar" ? "، " : ", ") + site, values: values }], t.month);
    }
    var indicators = cube.codes("indicator").map(function (c, i) { return [i, doc.names.indicator[c] || c]; });
    var sites = [[-1, t.national]].concat(cube.codes("site").map(function (c, s) { return [s, siteHeader(doc, c)]; }));
    node.replaceChildren(
      el("div", { class: "isp-controls" }, [
        labelled(t.indicator, select("trend-indicator", indicators, state.indicator, function (v) { state.indicator = Number(v); render(); })),
        labelled(t.site, select("trend-site", sites, state.site, function (v) { state.site = Number(v); render(); })),
      ]),
      box
    );
    render();
  }

  // ---------------------------------------------------------------- pivot table
  var DIMS = ["period", "site", "indicator", "sex", "age_group", "nationality"];
  var FILTERS = ["site", "sex", "age_group", "nationality"];

  /* Rows x columns over a month range, one indicator unless the indicator is a row or column dim,
   * filtered by site, sex, age group and nationality. Every total is summed by `aggregate` itself,
   * so a stock (active cases) is never added up across months: over a range it is its last month. */
  async function pivot(node, doc) {
    var cube = await cubeOf(doc);
    var t = doc.t;
    var months = cube.codes("period");
    var state = { rows: "site", cols: "sex", from: Math.max(0, months.length - 12), to: months.length - 1, indicator: 0,
                  filter: { site: -1, sex: -1, age_group: -1, nationality: -1 } };
    var out = el("div", { class: "isp-pivot-body" });
    var dimLabel = function (d) { return d === "period" ? t.month : t[d]; };
    var all = function (dim) { return cube.codes(dim).map(function (_, i) { return i; }); };

    function range() {
      var lo = Math.min(state.from, state.to), hi = Math.max(state.from, state.to);
      var list = [];
      for (var p = lo; p <= hi; p++) list.push(p);
      return list;
    }

    function compute() {
      var pick = { period: range() };
      FILTERS.forEach(function (dim) { if (state.filter[dim] >= 0) pick[dim] = [state.filter[dim]]; });
      var usesIndicator = state.rows === "indicator" || state.cols === "indicator";
      if (!usesIndicator) pick.indicator = [state.indicator];
      var same = state.rows === state.cols;
      var by = same ? [state.rows] : [state.rows, state.cols];
      var sums = aggregate(doc, cube, pick, by);
      var rowIdx = pick[state.rows] || all(state.rows);
      var colIdx = same ? [null] : (pick[state.cols] || all(state.cols));
      // adding different indicators up means nothing: no total across the indicator dim
      var rowTotals = !same && state.cols !== "indicator";
      var colTotals = state.rows !== "indicator";
      var rowSums = rowTotals ? aggregate(doc, cube, pick, [state.rows]) : null;
      var colSums = colTotals && !same ? aggregate(doc, cube, pick, [state.cols]) : null;
      var grand = colTotals && (rowTotals || same) ? aggregate(doc, cube, pick, []).get("") || 0 : null;
      var header = [dimLabel(state.rows) + (same ? "" : " \\ " + dimLabel(state.cols))];
      colIdx.forEach(function (c) { header.push(c === null ? t.value : axisLabel(doc, state.cols, cube.codes(state.cols)[c])); });
      if (rowTotals) header.push(t.total);
      var rows = rowIdx.map(function (r) {
        var row = [axisLabel(doc, state.rows, cube.codes(state.rows)[r])];
        colIdx.forEach(function (c) { row.push(sums.get(c === null ? String(r) : r + "|" + c) || 0); });
        if (rowTotals) row.push(rowSums.get(String(r)) || 0);
        return row;
      });
      if (colTotals) {
        var totalRow = [t.total];
        colIdx.forEach(function (c) { totalRow.push(c === null ? grand : colSums.get(String(c)) || 0); });
        if (rowTotals) totalRow.push(grand);
        rows.push(totalRow);
      }
      var labels = pick.period.map(function (p) { return months[p]; });
      return { header: header, rows: rows, range: labels[0] + "_" + labels[labels.length - 1], labels: labels,
               meta: meta(labels, usesIndicator) };
    }

    /* What a download holds: internal mark, indicator (and how months combine), scope, completeness. */
    function meta(labels, usesIndicator) {
      var lines = [t.internal];
      if (!usesIndicator) {
        var ind = doc.indicators[state.indicator];
        lines.push(t.indicator + ": " + (doc.names.indicator[ind.code] || ind.code) + " (" +
          (ind.aggregation === "stock" ? t.stock_last : t.flow_sum) + ")");
      }
      var filters = FILTERS.map(function (dim) {
        var k = state.filter[dim];
        return dimLabel(dim) + " = " + (k >= 0 ? axisLabel(doc, dim, cube.codes(dim)[k]) : t.all);
      });
      lines.push(t.scope + ": " + labels[0] + " – " + labels[labels.length - 1] + "; " + filters.join("; "));
      var c = completeness(doc, labels);
      if (c) lines.push(completenessText(doc, c) + (c.partial.length ? " – " + t.partial + " (" + c.partial.join(", ") + ")" : ""));
      return lines;
    }

    var current = null;
    function stem() {
      var what = state.rows === "indicator" || state.cols === "indicator" ? "indicators" : cube.codes("indicator")[state.indicator];
      var picked = FILTERS.filter(function (d) { return state.filter[d] >= 0; }).map(function (d) { return cube.codes(d)[state.filter[d]]; });
      return [doc.filename, what, current.range].concat(picked, ["internal"]).join("-");
    }
    function render() {
      current = compute();
      indicatorBox.disabled = state.rows === "indicator" || state.cols === "indicator";
      out.replaceChildren(
        completenessLine(doc, current.labels, false) || "",
        downloads(doc, function () { return current; }, stem),
        tableOf(current.header, current.rows, { name: "pivot" })
      );
    }

    var dimOptions = DIMS.map(function (d) { return [d, dimLabel(d)]; });
    var monthOptions = months.map(function (m, i) { return [i, iso(doc, m)]; });
    var indicatorBox = select("pivot-indicator", cube.codes("indicator").map(function (c, i) { return [i, doc.names.indicator[c] || c]; }),
      state.indicator, function (v) { state.indicator = Number(v); render(); });
    var filterBoxes = FILTERS.map(function (dim) {
      var options = [[-1, t.all]].concat(cube.codes(dim).map(function (c, i) {
        return [i, dim === "site" ? siteHeader(doc, c) : axisLabel(doc, dim, c)];
      }));
      return labelled(dimLabel(dim), select("pivot-filter-" + dim, options, -1, function (v) { state.filter[dim] = Number(v); render(); }));
    });
    node.replaceChildren(
      el("div", { class: "isp-controls" }, [
        labelled(t.rows, select("pivot-rows", dimOptions, state.rows, function (v) { state.rows = v; render(); })),
        labelled(t.columns, select("pivot-cols", dimOptions, state.cols, function (v) { state.cols = v; render(); })),
        labelled(t.from, select("pivot-from", monthOptions, state.from, function (v) { state.from = Number(v); render(); })),
        labelled(t.to, select("pivot-to", monthOptions, state.to, function (v) { state.to = Number(v); render(); })),
        labelled(t.indicator, indicatorBox),
      ]),
      el("fieldset", { class: "isp-controls isp-filters" }, [el("legend", { text: t.filters })].concat(filterBoxes)),
      out
    );
    render();
  }

  // ---------------------------------------------------------------- passphrase of another page
  /* The page refused the passphrase. When the level chosen in "whose passphrase is it?" does not
   * open this page and its keystore entry (put on the page by the site hooks) accepts the
   * passphrase, it is a real passphrase, but for another audience: say so rather than "Wrong
   * passphrase". One derivation, and only then: a level that opens the page was simply wrong.
   * Same scheme as encryptcontent: PBKDF2-SHA256, then AES-256-CBC. */
  function b64(text) { return Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); }); }

  async function opensEntry(pass, entry, iterations) {
    var parts = (entry || "").split(";");
    if (parts.length < 3) return false;
    var raw = await crypto.subtle.importKey("raw", new TextEncoder().encode(encodeURIComponent(pass)), "PBKDF2", false, ["deriveKey"]);
    var key = await crypto.subtle.deriveKey({ name: "PBKDF2", salt: b64(parts[2]), iterations: iterations, hash: "SHA-256" },
      raw, { name: "AES-CBC", length: 256 }, false, ["decrypt"]);
    try {
      var plain = await crypto.subtle.decrypt({ name: "AES-CBC", iv: b64(parts[0]) }, key, b64(parts[1]));
      JSON.parse(new TextDecoder().decode(plain));
      return true;
    } catch (e) { return false; }
  }

  function watchPassphrase() {
    var node = document.getElementById("isp-passphrase-check");
    var input = document.getElementById("mkdocs-content-password");
    var who = document.getElementById("mkdocs-content-user");
    var msg = document.getElementById("mkdocs-decrypt-msg");
    if (!node || !input || !who || !msg || input._ispWatched) return;
    input._ispWatched = true;
    var check = JSON.parse(node.textContent);
    var last = null;
    function grab() { if (input.value) last = { pass: input.value, level: who.value }; }
    input.addEventListener("keydown", grab, true);
    input.addEventListener("input", grab);
    var button = document.getElementById("mkdocs-decrypt-button");
    if (button) button.addEventListener("pointerdown", grab, true);
    new MutationObserver(function () {
      var tried = last;
      if (!tried || !msg.textContent || msg.textContent === check.message) return;
      last = null;
      if (check.opens.indexOf(tried.level) >= 0) return;  // that level opens this page: the passphrase is wrong
      opensEntry(tried.pass, check.entries[tried.level], check.iterations).then(function (yes) {
        if (yes) { msg.textContent = check.message; msg.setAttribute("data-isp-reason", "other-page"); }
      });
    }).observe(msg, { childList: true, characterData: true, subtree: true });
  }

  // ---------------------------------------------------------------- whose passphrase
  /* The form's "whose passphrase is it?" starts at the choice made earlier in this tab (the
   * level's name only, never the passphrase: encryptcontent keeps the page keys it opened). */
  var WHO = "isp-whose-passphrase";

  function rememberWho() {
    var who = document.getElementById("mkdocs-content-user");
    if (!who || who._ispRemembered) return;
    who._ispRemembered = true;
    var earlier = sessionStorage.getItem(WHO);
    if (earlier && Array.from(who.options).some(function (o) { return o.value === earlier; })) who.value = earlier;
    function keep() { sessionStorage.setItem(WHO, who.value); }
    who.addEventListener("change", keep);
    var input = document.getElementById("mkdocs-content-password");
    if (input) input.addEventListener("keydown", function (e) { if (e.key === "Enter") keep(); }, true);
    var button = document.getElementById("mkdocs-decrypt-button");
    if (button) button.addEventListener("pointerdown", keep, true);
  }

  // ---------------------------------------------------------------- navigation
  /* Once a passphrase has opened something, the navigation leaves out the pages it does not open
   * (encryptcontent remembers the keys of every level a passphrase opens, by id, for the session).
   * Only appearance: a hidden page stays encrypted and its link still works. */
  function trimNavigation() {
    var node = document.getElementById("isp-levels"), config = document.getElementById("__config");
    if (!node || !config) return;
    var levels = JSON.parse(node.textContent);
    var held = levels.ids.filter(function (id) { return sessionStorage.getItem(id); });
    if (!held.length) return;
    var root = new URL(JSON.parse(config.textContent).base + "/", location.href);
    document.querySelectorAll("nav.md-nav a.md-nav__link[href]").forEach(function (a) {
      var path = new URL(a.getAttribute("href"), location.href).pathname;
      if (!path.startsWith(root.pathname)) return;
      var id = levels.pages[path.slice(root.pathname.length)];
      var item = a.closest("li.md-nav__item");
      if (id && item && held.indexOf(id) < 0) { item.hidden = true; item.setAttribute("data-isp-hidden", "level"); }
    });
    document.querySelectorAll("nav.md-nav li.md-nav__item--nested").forEach(function (section) {
      var links = section.querySelectorAll("li.md-nav__item:not(.md-nav__item--nested)");
      if (links.length && Array.from(links).every(function (li) { return li.hidden; })) section.hidden = true;
    });
  }

  // ---------------------------------------------------------------- boot
  var WIDGETS = { report: report, trend: trend, pivot: pivot, "home-trend": homeTrend };

  function boot() {
    rememberWho();
    watchPassphrase();
    trimNavigation();
    document.querySelectorAll(".md-typeset__table, .md-typeset__scrollwrap").forEach(scrollToLatest);
    var doc = pageData();
    if (!doc) return;
    document.querySelectorAll(".isp-widget:not([data-isp-ready])").forEach(function (node) {
      var widget = WIDGETS[node.getAttribute("data-widget")];
      if (!widget) return;
      node.setAttribute("data-isp-ready", "loading");
      Promise.resolve(widget(node, doc)).then(
        function () { node.setAttribute("data-isp-ready", "yes"); },
        function (err) { node.setAttribute("data-isp-ready", "error"); node.textContent = String(err); }
      );
    });
  }

  window.addEventListener("encryptcontent_event", boot);
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(boot);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
