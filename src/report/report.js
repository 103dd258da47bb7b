// flowscore report: draws the summary `flowscore report` embedded in this
// page (<script id="report-data">) with Chart.js, inlined above. No network:
// the page's Content-Security-Policy forbids every request. Text goes in by
// textContent only, so nothing from the EVE input can become markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const main = document.getElementById("report");
  // 20 distinguishable colours (Tableau 20), so classes do not share one.
  const palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8",
    "#fabfd2", "#d7b5a6", "#79706e"];
  const colour = (i) => palette[i % palette.length];
  let charts = 0;

  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };
  const fmtInt = (n) => Number(n).toLocaleString("en-US");
  const fmtBytes = (n) => {
    const units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let i = 0;
    for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
    return (i ? n.toFixed(1) : n) + " " + units[i];
  };
  const iso = (t) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
  const shortTime = (t, span) => {
    const s = new Date(t * 1000).toISOString();
    return span > 2 * 86400 ? s.slice(5, 16).replace("T", " ") : span > 3600 ? s.slice(11, 16) : s.slice(11, 19);
  };
  const duration = (s) => s >= 86400 ? (s / 86400).toFixed(s % 86400 ? 1 : 0) + " d" : s >= 3600 ?
    (s / 3600).toFixed(s % 3600 ? 1 : 0) + " h" : s >= 60 ? (s / 60).toFixed(s % 60 ? 1 : 0) + " min" : s + " s";

  function section(id, title, note) {
    const s = el("section", {id}, el("h2", {}, title));
    if (note) s.append(el("p", {class: "note"}, note));
    main.append(s);
    return s;
  }

  function table(headers, rows, numeric) {
    const t = el("table", {}, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))));
    const body = el("tbody");
    for (const r of rows) {
      body.append(el("tr", {}, ...r.map((c, i) => el("td", numeric && numeric[i] ? {class: "num"} : {}, c))));
    }
    t.append(body);
    return t;
  }

  // One chart in its own box; marks the box once Chart.js has drawn it, with
  // the number of data points bound (tests/report checks both).
  function chart(parent, id, config) {
    const box = el("div", {class: "chart", id});
    const canvas = el("canvas", {role: "img", "aria-label": id});
    box.append(canvas);
    parent.append(box);
    config.options = Object.assign({animation: false, responsive: true, maintainAspectRatio: false,
      interaction: {mode: "index", intersect: false}}, config.options || {});
    const c = new Chart(canvas, config);
    const points = c.data.datasets.reduce((n, d) => n + d.data.length, 0);
    box.dataset.rendered = "true";
    box.dataset.points = String(points);
    charts++;
    return c;
  }

  const T = data.totals;
  const S = data.series;
  const span = Math.max(0, T.last - T.first);

  // ---- What the report covers ---------------------------------------------
  const cover = section("coverage", "What this report covers");
  cover.append(table(["", ""], [
    ["inputs", data.inputs.map((i) => i.name + (i.truncated ? " (cut short)" : "")).join(", ")],
    ["time span", T.flows + T.stats_events ? `${iso(T.first)} to ${iso(T.last)} (${duration(Math.round(span))})` : "no events"],
    ["sensors", data.hosts.length ? data.hosts.join(", ") : "(no host field: offline runs)"],
    ["models", data.models.length ? data.models.join(", ") : "(none: flows not scored)"],
    ["report", `flowscore ${data.report.version}, made ${data.report.generated}`],
  ]));
  const totals = el("div", {class: "totals"});
  for (const [k, v] of [["flows", fmtInt(T.flows)], ["packets", fmtInt(T.packets)], ["bytes", fmtBytes(T.bytes)],
    ["alerts", fmtInt(T.alerts)], ["campaigns", fmtInt(T.campaigns)]]) {
    totals.append(el("div", {class: "total", "data-total": k}, el("span", {class: "value"}, v), el("span", {}, k)));
  }
  cover.append(totals);
  if (T.unparsed_lines) {
    cover.append(el("p", {class: "warn"}, `${fmtInt(T.unparsed_lines)} of ${fmtInt(T.lines)} lines were not EVE events and were skipped.`));
  }

  // ---- Traffic over time ----------------------------------------------------
  const labels = S.start.map((t) => shortTime(t, span));
  const traffic = section("traffic", "Traffic over time",
    `Per ${duration(S.bin_seconds)} interval (UTC), stacked by protocol. Flows are counted when they start.`);
  const grid = el("div", {class: "grid3"});
  traffic.append(grid);
  for (const [key, title] of [["flows", "flows"], ["packets", "packets"], ["bytes", "bytes"]]) {
    chart(grid, "traffic-" + key, {
      type: "bar",
      data: {labels, datasets: data.protocols.map((p, i) => ({label: p, data: S[key][i], backgroundColor: colour(i)}))},
      options: {plugins: {title: {display: true, text: title + " per interval"}},
        scales: {x: {stacked: true}, y: {stacked: true, ticks: key === "bytes" ? {callback: (v) => fmtBytes(v)} : {}}}},
    });
  }

  // ---- Verdicts over time ---------------------------------------------------
  const verdicts = section("verdicts", "Verdicts over time",
    "Alerts per class per interval (bars, left axis) and the share of scored flows judged benign (line, right axis).");
  const alertSets = data.classes.map((c, i) => ({type: "bar", label: c, data: S.alerts[i], backgroundColor: colour(i),
    stack: "alerts", yAxisID: "y"})).filter((d) => d.data.some((v) => v > 0));
  chart(verdicts, "verdict-timeline", {
    data: {labels, datasets: [...alertSets, {type: "line", label: "benign share", data: S.benign_share,
      borderColor: "#333", pointRadius: 0, yAxisID: "share", spanGaps: true}]},
    options: {plugins: {title: {display: true, text: "alerts per interval"}},
      scales: {x: {stacked: true}, y: {stacked: true, title: {display: true, text: "alerts"}},
        share: {position: "right", min: 0, max: 1, grid: {drawOnChartArea: false}, title: {display: true, text: "benign share"}}}},
  });
  const perClass = data.per_class;
  verdicts.append(table(["class", "flows (predicted)", "alerts", "alerts per flow"],
    perClass.map((c) => [c.class, fmtInt(c.flows), fmtInt(c.alerts), c.flows ? (c.alerts / c.flows).toFixed(3) : "-"]),
    [false, true, true, true]));
  const rules = Object.entries(data.campaigns_by_rule);
  if (rules.length) {
    verdicts.append(el("h3", {}, "Campaigns (opened)"));
    verdicts.append(table(["class / rule", "campaigns"], rules.map(([r, n]) => [r, fmtInt(n)]), [false, true]));
  }

  // ---- Scores ---------------------------------------------------------------
  const scores = section("scores", "Score distributions",
    "The winning class's probability, per predicted class (20 bins from 0 to 1, log scale).");
  chart(scores, "score-histograms", {
    type: "line",
    data: {labels: Array.from({length: 20}, (_, i) => (i / 20).toFixed(2)),
      datasets: perClass.map((c, i) => ({label: c.class, data: c.score_histogram, borderColor: colour(i),
        backgroundColor: colour(i), pointRadius: 2}))},
    options: {scales: {y: {type: "logarithmic", title: {display: true, text: "flows"}},
      x: {title: {display: true, text: "score"}}}},
  });

  // ---- Top talkers ------------------------------------------------------------
  const tops = section("top", "Top talkers and targets",
    "Sources and destinations by flows, bytes and alerts; pairs by alerts, with the Community ID of their last alert to pivot into a SIEM.");
  const topGrid = el("div", {class: "grid3"});
  tops.append(topGrid);
  const topTable = (title, list, byBytes) => {
    const box = el("div", {class: "top", "data-top": title});
    box.append(el("h3", {}, title + (list.exact ? "" : ` (counts may be low by up to ${fmtInt(list.error_bound)})`)));
    const max = list.rows.length ? list.rows[0].count : 1;
    box.append(table(["", byBytes ? "bytes" : "count"], list.rows.map((r) => {
      const bar = el("span", {class: "bar", style: `width:${Math.max(1, Math.round(60 * r.count / max))}px`});
      return [el("span", {class: "key", title: r.key}, r.key), el("span", {}, bar, byBytes ? fmtBytes(r.count) : fmtInt(r.count))];
    }), [false, true]));
    return box;
  };
  const top = data.top;
  for (const [t, l, b] of [["sources by flows", top.sources_by_flows], ["sources by bytes", top.sources_by_bytes, true],
    ["sources by alerts", top.sources_by_alerts], ["targets by flows", top.targets_by_flows],
    ["targets by bytes", top.targets_by_bytes, true], ["targets by alerts", top.targets_by_alerts]]) {
    topGrid.append(topTable(t, l, b));
  }
  tops.append(el("h3", {}, "Alert pairs"));
  tops.append(table(["source > target", "alerts", "class of the last", "Community ID of the last"],
    top.alert_pairs.rows.map((r) => {
      const [cls, cid] = (r.note || " ").split(" ");
      return [r.key, fmtInt(r.count), cls, el("code", {}, cid || "")];
    }), [false, true, false, false]));

  // ---- Per input --------------------------------------------------------------
  const inputs = section("inputs", "Per input");
  inputs.append(table(["input", "flows", "alerts", "campaigns", "stats events", "NIC drops", "not flowed", "records dropped"],
    data.inputs.map((i) => [i.name + (i.truncated ? " (cut short)" : ""), fmtInt(i.flows), fmtInt(i.alerts),
      fmtInt(i.campaigns), fmtInt(i.stats_events), fmtInt(i.kernel_drops), fmtInt(i.not_flowed), fmtInt(i.records_dropped)]),
    [false, true, true, true, true, true, true, true]));
  // Per in_iface: where the flows came in (a capture file offline, a port
  // live). NIC drops are per port number in stats events, not per name, so
  // they stay in the table above and in Sensor health.
  const I = data.interfaces;
  const ifaceRows = I.listed.map((i) => [i.name || "(no in_iface)", fmtInt(i.flows), fmtInt(i.alerts),
    fmtInt(i.packets), fmtInt(i.bytes)]);
  if (I.unlisted.flows || I.unlisted.alerts) {
    ifaceRows.push([`other interfaces (past the first ${I.listed.length})`, fmtInt(I.unlisted.flows),
      fmtInt(I.unlisted.alerts), fmtInt(I.unlisted.packets), fmtInt(I.unlisted.bytes)]);
  }
  inputs.append(el("h3", {}, "Per interface (in_iface)"));
  inputs.append(table(["in_iface", "flows", "alerts", "packets", "bytes"], ifaceRows, [false, true, true, true, true]));

  // ---- Health -------------------------------------------------------------------
  const H = data.health;
  const health = section("health", "Sensor health",
    H.points.length ? "From the live stats events: what was lost per interval between two events, per reason." :
      "No stats events in the input: offline runs write none (their drops are in the run summary).");
  if (H.points.length) {
    const delta = (key) => H.points.map((p, i) => i && p.host === H.points[i - 1].host ? Math.max(0, p[key] - H.points[i - 1][key]) : 0);
    chart(health, "health-drops", {
      type: "line",
      data: {labels: H.points.map((p) => shortTime(p.t, span)), datasets: [
        ["kernel_drops", "NIC drops (imissed)"], ["not_flowed", "packets not flowed"],
        ["records_dropped", "records dropped"], ["write_failures", "write failures"], ["model_reloads", "model reloads"],
      ].map(([k, label], i) => ({label, data: delta(k), borderColor: colour(i), pointRadius: 0}))},
      options: {plugins: {title: {display: true, text: "losses per stats interval"}}},
    });
    const reasons = [];
    for (const [host, byReason] of Object.entries(H.not_flowed_by_reason)) {
      for (const [reason, n] of Object.entries(byReason)) reasons.push([host || "-", reason, fmtInt(n)]);
    }
    if (reasons.length) health.append(table(["sensor", "packets not flowed: reason", "count (last event)"], reasons, [false, false, true]));
  }

  // ---- Model card -------------------------------------------------------------------
  if (data.model_card) {
    const card = section("model-card", "Model card", "Held-out metrics of the model (scripts/evaluate's metrics.json). " +
      "Classes with recall or precision under 0.5 are flagged.");
    const m = data.model_card;
    const rows = Object.entries(m.per_class || {}).map(([c, v]) => {
      const weak = v.recall < 0.5 || v.precision < 0.5;
      return [c + (weak ? " (weak)" : ""), (v.precision ?? 0).toFixed(3), (v.recall ?? 0).toFixed(3),
        (v.f1 ?? 0).toFixed(3), fmtInt(v.support ?? 0)];
    });
    card.append(table(["class", "precision", "recall", "F1", "support"], rows, [false, true, true, true, true]));
    for (const tr of card.querySelectorAll("tbody tr")) if (tr.firstChild.textContent.endsWith("(weak)")) tr.className = "weak";
  }

  document.body.dataset.charts = String(charts);
  document.body.dataset.ready = "true";
})();
