// repsled history pages: sessions by station and date, trends, one session's sets and reps.
// Reads the hub's JSON API (docs/hub.md); no framework, no CDN, nothing inline (CSP).
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const VELOCITY_LOSS_WARN_PCT = 20;

  function isNum(x) {
    return typeof x === "number" && Number.isFinite(x);
  }

  function fmt(x, digits) {
    return isNum(x) ? x.toFixed(digits) : "–";
  }

  function svg(name, attrs, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function linkCell(text, href) {
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    td.append(a);
    return td;
  }

  // Each athlete links to their profile page.
  function athletesCell(names) {
    const td = document.createElement("td");
    names.forEach((name, i) => {
      if (i > 0) td.append(", ");
      const a = document.createElement("a");
      a.href = `athlete.html${query({ name })}`;
      a.textContent = name;
      a.dataset.testid = "session-athlete";
      td.append(a);
    });
    return td;
  }

  function showError(text) {
    const el = document.querySelector("[data-testid=error]");
    el.textContent = text;
    el.hidden = !text;
  }

  async function getJson(url) {
    const response = await fetch(url, { cache: "no-store" });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      throw new Error((body && body.error) || `${url}: HTTP ${response.status}`);
    }
    if (!body || body.schema !== 1) throw new Error(`${url}: unknown API version`);
    return body;
  }

  function startedText(iso) {
    // "2026-12-01T07:15:00Z" -> "2026-12-01 07:15" (UTC, as stored)
    return typeof iso === "string" ? iso.replace("T", " ").slice(0, 16) : "–";
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
    const text = q.toString();
    return text ? `?${text}` : "";
  }

  // The live page's per-rep chart (repchart.js), for one finished set.
  function drawRepChart(svgEl, reps, target) {
    window.repsledRepChart.draw(svgEl, reps, target, { W: 320, H: 132, left: 26, right: 30, top: 8, bottom: 18 });
  }

  // Trends: one bar per session (mean eccentric s against the target), best velocity as a line.
  function drawTrendChart(svgEl, rows, target) {
    const asReps = rows.map((r, i) => ({
      rep: i + 1,
      eccentric_s: r.mean_eccentric_s,
      mean_concentric_velocity_m_s: r.best_concentric_velocity_m_s,
      flags: [],
    }));
    drawRepChart(svgEl, asReps, target);
  }

  // ---- history.html ----

  async function historyPage() {
    const form = document.querySelector("[data-testid=filters]");
    const params = new URLSearchParams(location.search);
    const filters = {
      station: params.get("station") || "",
      since: params.get("since") || "",
      until: params.get("until") || "",
    };
    // The page's CSP forbids form submission (form-action 'none'): navigate from here instead.
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      location.search = query({
        station: form.elements.station.value,
        since: form.elements.since.value,
        until: form.elements.until.value,
      });
    });
    form.elements.since.value = filters.since;
    form.elements.until.value = filters.until;
    document.querySelector("[data-testid=csv-link]").href = `export.csv${query(filters)}`;
    try {
      const stations = (await getJson("api/v1/stations")).stations;
      const select = form.elements.station;
      for (const name of stations) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        select.append(option);
      }
      select.value = filters.station;
      await Promise.all([renderSessions(filters), renderTrends(filters)]);
      document.body.dataset.loaded = "true";
    } catch (err) {
      showError(String(err.message || err));
    }
  }

  async function renderSessions(filters) {
    const body = await getJson(`api/v1/sessions${query({ ...filters, limit: "500" })}`);
    const tbody = document.querySelector("[data-testid=sessions-table] tbody");
    tbody.replaceChildren(...body.sessions.map((s) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-testid", "session-row");
      tr.dataset.station = s.station;
      tr.dataset.session = s.session;
      const href = `session.html${query({ station: s.station, session: s.session })}`;
      tr.append(
        linkCell(startedText(s.started_at), href),
        cell(s.station, "text"),
        cell(s.session, "text"),
        cell(String(s.sets)),
        cell(String(s.reps)),
        athletesCell(s.athletes || []),
      );
      return tr;
    }));
    document.querySelector("[data-testid=no-sessions]").hidden = body.sessions.length > 0;
  }

  async function renderTrends(filters) {
    if (!filters.station) return;
    const body = await getJson(`api/v1/trends${query({ ...filters, limit: "200" })}`);
    const target = body.target_eccentric_s;
    document.querySelector(".trends-hint").hidden = true;
    document.querySelector(".trends-station").textContent = filters.station;
    document.querySelector(".trends-chart .target-s").textContent = fmt(target, 1);
    const chart = document.querySelector(".trends-chart");
    const table = document.querySelector(".trends-table");
    chart.hidden = body.sessions.length === 0;
    table.hidden = body.sessions.length === 0;
    drawTrendChart(chart.querySelector("svg"), body.sessions, target);
    table.querySelector("tbody").replaceChildren(...body.sessions.map((s) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-testid", "trend-row");
      tr.dataset.session = s.session;
      const ecc = s.mean_eccentric_s;
      const share = isNum(s.full_lockout_share) ? `${Math.round(s.full_lockout_share * 100)} %` : "–";
      tr.append(
        linkCell(startedText(s.started_at), `session.html${query({ station: s.station, session: s.session })}`),
        cell(String(s.reps)),
        cell(`${fmt(ecc, 1)} s`, isNum(ecc) ? (ecc >= target - 0.05 ? "good" : "warn") : ""),
        cell(share),
        cell(fmt(s.best_concentric_velocity_m_s, 2)),
        cell(fmt(s.mean_concentric_velocity_m_s, 2)),
        cell(`${fmt(s.time_under_tension_s, 0)} s`),
      );
      return tr;
    }));
  }

  // ---- session.html ----

  async function sessionPage() {
    const params = new URLSearchParams(location.search);
    const station = params.get("station") || "";
    const session = params.get("session") || "";
    document.querySelector("[data-testid=csv-link]").href = `export.csv${query({ station, session })}`;
    try {
      const url = `api/v1/sessions/${encodeURIComponent(station)}/${encodeURIComponent(session)}`;
      const body = await getJson(url);
      renderSession(body);
      document.body.dataset.loaded = "true";
    } catch (err) {
      showError(String(err.message || err));
    }
  }

  function renderSession(body) {
    const target = isNum(body.target_eccentric_s) ? body.target_eccentric_s : 3;
    document.querySelector("[data-testid=session-title]").textContent = `${body.station} · ${body.session}`;
    document.querySelector("[data-testid=session-meta]").textContent =
      `started ${startedText(body.started_at)} UTC · ${body.sets.length} sets · ${body.reps.length} reps`;
    document.title = `repsled · ${body.station} · ${body.session}`;

    const setRows = body.sets.map((s) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-testid", "set-row");
      tr.dataset.set = String(s.set);
      const loss = s.velocity_loss_pct;
      tr.append(
        cell(String(s.set)),
        cell(s.leg || "both", "text"),
        cell(String(s.reps)),
        cell(`${fmt(s.mean_eccentric_s, 1)} s`),
        cell(fmt(s.best_concentric_velocity_m_s, 2)),
        cell(isNum(loss) ? `${loss.toFixed(0)} %` : "–", isNum(loss) && loss >= VELOCITY_LOSS_WARN_PCT ? "warn" : ""),
        cell(`${fmt(s.time_under_tension_s, 0)} s`),
        cell(s.reason || "", "text"),
      );
      return tr;
    });
    document.querySelector("[data-testid=sets-table] tbody").replaceChildren(...setRows);
    document.querySelector("[data-testid=no-sets]").hidden = body.sets.length > 0;

    const bySet = new Map();
    for (const r of body.reps) {
      if (!bySet.has(r.set)) bySet.set(r.set, []);
      bySet.get(r.set).push(r);
    }
    const finished = new Set(body.sets.map((s) => s.set));
    const template = document.getElementById("set-panel-template");
    const panels = [...bySet.keys()].sort((a, b) => a - b).map((setNo) => {
      const reps = bySet.get(setNo).sort((a, b) => a.rep - b.rep);
      const panel = template.content.firstElementChild.cloneNode(true);
      panel.dataset.set = String(setNo);
      panel.querySelector(".set-title").textContent =
        `Set ${setNo}${finished.has(setNo) ? "" : " (not finished)"}`;
      drawRepChart(panel.querySelector("svg"), reps, target);
      const vels = reps.map((r) => r.mean_concentric_velocity_m_s).filter(isNum);
      if (vels.length > 1) {
        const best = Math.max(...vels);
        const loss = best > 0 ? ((best - vels[vels.length - 1]) / best) * 100 : 0;
        const el = panel.querySelector(".vel-loss");
        el.textContent = `velocity loss ${loss.toFixed(0)} %`;
        el.classList.toggle("warn", loss >= VELOCITY_LOSS_WARN_PCT);
      }
      panel.querySelector("tbody").replaceChildren(...reps.map((r) => repRow(r, target)));
      return panel;
    });
    document.querySelector("[data-testid=set-panels]").replaceChildren(...panels);
  }

  function repRow(r, target) {
    const tr = document.createElement("tr");
    tr.setAttribute("data-testid", "rep-row");
    tr.dataset.id = r.id;
    const flags = Array.isArray(r.flags) ? r.flags : [];
    const eccClass = flags.includes("fast_eccentric") ? "bad" : isNum(r.eccentric_s) && r.eccentric_s >= target - 0.05 ? "good" : "warn";
    const lockClass = r.lockout === "full" ? "good" : r.lockout === "locked" ? "bad" : "warn";
    tr.append(
      cell(String(r.rep)),
      cell(`${fmt(r.eccentric_s, 1)} s`, eccClass),
      cell(`${fmt(r.concentric_s, 1)} s`),
      cell(`${fmt(r.top_pause_s, 1)} s`),
      cell(`${fmt(r.bottom_pause_s, 1)} s`),
      cell(r.lockout || "–", lockClass),
      cell(isNum(r.eccentric_score) ? String(r.eccentric_score) : "–"),
      cell(fmt(r.mean_concentric_velocity_m_s, 2)),
      cell(flags.map((f) => f.replace(/_/g, " ")).join(", "), "text"),
    );
    return tr;
  }

  if (document.body.dataset.page === "history") historyPage();
  else if (document.body.dataset.page === "session") sessionPage();
})();
