// repsled athlete page: the athletes, one athlete's load-velocity profile and e1RM trend.
// Reads the hub's JSON API (docs/hub.md); no framework, no CDN, nothing inline (CSP).
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  function isNum(x) {
    return typeof x === "number" && Number.isFinite(x);
  }

  function svg(name, attrs, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
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

  // A plot area with linear scales from data ranges to the SVG's viewBox.
  function frame(W, H, xMax, yMax) {
    const left = 30, right = 8, top = 8, bottom = 20;
    const plotW = W - left - right, plotH = H - top - bottom;
    return {
      left, top, plotW, plotH,
      x: (v) => left + (v / xMax) * plotW,
      y: (v) => top + plotH - (v / yMax) * plotH,
    };
  }

  function axes(f, xLabel, yLabel) {
    return [
      svg("line", { x1: f.left, x2: f.left + f.plotW, y1: f.top + f.plotH, y2: f.top + f.plotH, class: "axis" }),
      svg("line", { x1: f.left, x2: f.left, y1: f.top, y2: f.top + f.plotH, class: "axis" }),
      svg("text", { x: f.left + f.plotW, y: f.top + f.plotH + 14, class: "tick", "text-anchor": "end" }, xLabel),
      svg("text", { x: 2, y: f.top + 8, class: "tick" }, yLabel),
    ];
  }

  function drawProfile(svgEl, profile) {
    const points = profile.points;
    const ok = profile.status === "ok";
    const loads = points.map((p) => p.load_kg).concat(ok ? [profile.e1rm_kg] : []);
    const xMax = Math.max(1, ...loads) * 1.1;
    const yMax = Math.max(0.3, ...points.map((p) => p.velocity_m_s), ok ? profile.intercept_m_s : 0) * 1.1;
    const f = frame(320, 160, xMax, yMax);
    const nodes = axes(f, `${Math.round(xMax)} kg`, `${yMax.toFixed(2)} m/s`);
    if (ok) {
      const x2 = profile.e1rm_kg;
      nodes.push(svg("line", {
        x1: f.x(0), y1: f.y(profile.intercept_m_s), x2: f.x(x2), y2: f.y(profile.mvt_m_s),
        class: "fit-line", "data-testid": "fit-line",
      }));
      nodes.push(svg("line", {
        x1: f.left, x2: f.left + f.plotW, y1: f.y(profile.mvt_m_s), y2: f.y(profile.mvt_m_s), class: "target-line",
      }));
      nodes.push(svg("circle", {
        cx: f.x(x2), cy: f.y(profile.mvt_m_s), r: 5, class: "e1rm-marker", "data-testid": "e1rm-marker",
        "data-e1rm-kg": profile.e1rm_kg,
      }));
      nodes.push(svg("text", { x: f.x(x2), y: f.y(profile.mvt_m_s) + 14, class: "tick", "text-anchor": "end" },
        `e1RM ${profile.e1rm_kg.toFixed(1)} kg`));
    }
    for (const p of points) {
      nodes.push(svg("circle", {
        cx: f.x(p.load_kg), cy: f.y(p.velocity_m_s), r: 3.5, class: "vel-dot", "data-testid": "profile-point",
        "data-load-kg": p.load_kg,
      }));
    }
    svgEl.replaceChildren(...nodes);
  }

  function drawTrend(svgEl, trend) {
    const times = trend.map((t) => Date.parse(t.at));
    const t0 = Math.min(...times), span = Math.max(1, Math.max(...times) - t0);
    const yMax = Math.max(...trend.map((t) => t.e1rm_kg)) * 1.15;
    const f = frame(320, 120, 1, yMax);
    const nodes = axes(f, trend[trend.length - 1].at.slice(0, 10), `${Math.round(yMax)} kg`);
    const xy = trend.map((t, i) => [f.x(trend.length > 1 ? (times[i] - t0) / span : 0.5), f.y(t.e1rm_kg)]);
    if (xy.length > 1) nodes.push(svg("polyline", { points: xy.map((p) => p.join(",")).join(" "), class: "vel-line" }));
    trend.forEach((t, i) => {
      nodes.push(svg("circle", {
        cx: xy[i][0], cy: xy[i][1], r: 3, class: "vel-dot", "data-testid": "trend-point", "data-at": t.at,
      }));
    });
    svgEl.replaceChildren(...nodes);
  }

  function summary(profile) {
    if (profile.status !== "ok") return `Not enough data: ${profile.reason}`;
    return `${profile.points.length} loads, R² ${profile.r_squared.toFixed(3)}, ` +
      `e1RM ${profile.e1rm_kg.toFixed(1)} kg at ${profile.mvt_m_s} m/s`;
  }

  async function showProfile(name, station) {
    const q = station ? `?station=${encodeURIComponent(station)}` : "";
    const body = await getJson(`api/v1/athletes/${encodeURIComponent(name)}/profile${q}`);
    const panel = document.querySelector("[data-testid=profile]");
    panel.querySelector("[data-testid=profile-name]").textContent = station ? `${name} at ${station}` : name;
    panel.querySelector("[data-testid=profile-summary]").textContent = summary(body.profile);
    drawProfile(panel.querySelector("[data-testid=profile-chart]"), body.profile);
    const trendSvg = panel.querySelector("[data-testid=trend-chart]");
    const hasTrend = body.trend.length > 0 && body.trend.every((t) => isNum(t.e1rm_kg));
    panel.querySelector("[data-testid=no-trend]").hidden = hasTrend;
    trendSvg.parentElement.hidden = !hasTrend;
    if (hasTrend) drawTrend(trendSvg, body.trend);
    panel.hidden = false;
  }

  async function athletePage() {
    const params = new URLSearchParams(location.search);
    const chosen = params.get("name");
    try {
      const athletes = (await getJson("api/v1/athletes")).athletes;
      const list = document.querySelector("[data-testid=athletes]");
      for (const a of athletes) {
        const li = document.createElement("li");
        const link = document.createElement("a");
        link.href = `athlete.html?name=${encodeURIComponent(a.athlete)}`;
        link.textContent = a.athlete;
        link.dataset.testid = "athlete-link";
        li.append(link, ` · ${a.sets} set(s), last ${String(a.last_session_at).slice(0, 10)}`);
        list.append(li);
      }
      document.querySelector("[data-testid=no-athletes]").hidden = athletes.length > 0;
      if (chosen) await showProfile(chosen, params.get("station"));
      document.body.dataset.loaded = "true";
    } catch (err) {
      showError(String(err.message || err));
    }
  }

  athletePage();
})();
