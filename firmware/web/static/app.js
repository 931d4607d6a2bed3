// repsled live dashboard: subscribes to {prefix}/+/# over MQTT/WebSockets, one panel per station.
// Everything from the broker is untrusted text: it only ever reaches the page as textContent.
"use strict";

(function () {
  const STALE_AFTER_MS = 5000;
  const DEFAULT_TARGET_S = 3.0;
  const DEFAULT_WS_PORT = 9001;
  const VELOCITY_LOSS_WARN_PCT = 20;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const KNOWN_SCHEMA = 1; // payloads of a newer schema are ignored (docs/payloads.md)

  const params = new URLSearchParams(window.location.search);
  const queryTarget = positiveNumber(params.get("target"));

  const stations = new Map(); // name -> Station
  const container = document.getElementById("stations");
  const template = document.getElementById("station-template");
  const connEl = document.querySelector("[data-testid=connection]");
  const connText = connEl.querySelector(".conn-text");
  let prefix = "repsled";
  let connected = false;

  // ---- small helpers --------------------------------------------------------------------------

  function positiveNumber(text) {
    if (text === null || text === undefined || text === "") return null;
    const n = Number(text);
    return Number.isFinite(n) && n > 0 ? n : null;
  }

  function isNum(x) {
    return typeof x === "number" && Number.isFinite(x);
  }

  function fmt(x, digits) {
    return isNum(x) ? x.toFixed(digits) : "–";
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function svg(name, attrs, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function byName(a, b) {
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" }) || (a < b ? -1 : a > b ? 1 : 0);
  }

  function legLabel(leg) {
    return leg === "left" || leg === "right" ? leg : "";
  }

  // ---- one station ----------------------------------------------------------------------------

  class Station {
    constructor(name) {
      this.name = name;
      this.status = "unknown";
      this.onlineSinceMs = null;
      this.lastStateMs = null;
      this.state = null;
      this.session = null;
      this.oldSessions = new Set();
      this.seenIds = new Set();
      this.repsBySet = new Map(); // set number -> Map(rep number -> rep payload)
      this.sets = []; // set payloads, oldest first
      this.lastRep = null;
      this.summary = null; // retained: what a page opened mid-set shows before the next rep

      const root = template.content.firstElementChild.cloneNode(true);
      root.setAttribute("data-station", name);
      const q = (sel) => root.querySelector(sel);
      this.el = {
        root,
        name: q(".st-name"),
        leg: q(".leg-badge"),
        stale: q(".stale-badge"),
        status: q("[data-testid=status]"),
        repCount: q("[data-testid=rep-count]"),
        setCount: q("[data-testid=set-count]"),
        phase: q("[data-testid=phase]"),
        fill: q(".track .fill"),
        distance: q(".distance-mm"),
        eccTile: q(".ecc-tile"),
        repNo: q(".rep-no"),
        ecc: q("[data-testid=last-eccentric-s]"),
        gaugeFill: q(".gauge-fill"),
        gaugeTarget: q(".gauge-target"),
        target: q(".target-s"),
        con: q(".con-s"),
        mcv: q(".mcv"),
        top: q(".top-s"),
        bottom: q(".bottom-s"),
        lockoutTile: q(".lockout-tile"),
        lockout: q("[data-testid=last-lockout]"),
        lockoutHint: q(".lockout-hint"),
        scoreTile: q(".score-tile"),
        score: q("[data-testid=last-score]"),
        flags: q(".flags"),
        chart: q(".chart-svg"),
        velLoss: q(".vel-loss"),
        setsBody: q(".sets tbody"),
        noSets: q(".no-sets"),
      };
      setText(this.el.name, name);
      this.renderAll();
    }

    // Messages of an earlier session (an outbox flushed late) must not overwrite the current one.
    acceptSession(session) {
      if (typeof session !== "string" || session === this.session) return true;
      if (this.oldSessions.has(session)) return false;
      if (this.session !== null) this.oldSessions.add(this.session);
      this.session = session;
      this.repsBySet.clear();
      this.sets = [];
      this.lastRep = null;
      this.summary = null;
      return true;
    }

    onStatus(text) {
      const status = text === "online" || text === "offline" ? text : "unknown";
      if (status === "online" && this.status !== "online") this.onlineSinceMs = Date.now();
      this.status = status;
      this.renderStatus();
    }

    onState(state) {
      this.state = state;
      this.lastStateMs = Date.now();
      this.renderLive();
      this.renderCounts();
      this.renderStatus();
    }

    onRep(rep) {
      if (!isNum(rep.set) || !isNum(rep.rep)) return;
      if (typeof rep.id === "string") {
        if (this.seenIds.has(rep.id)) return; // QoS 1 redelivery or a replayed outbox
        this.seenIds.add(rep.id);
      }
      if (!this.acceptSession(rep.session)) return;
      if (!this.repsBySet.has(rep.set)) this.repsBySet.set(rep.set, new Map());
      this.repsBySet.get(rep.set).set(rep.rep, rep);
      if (this.lastRep === null || rep.set > this.lastRep.set ||
          (rep.set === this.lastRep.set && rep.rep >= this.lastRep.rep)) {
        this.lastRep = rep;
      }
      this.renderCounts();
      this.renderLastRep();
      this.renderChart();
    }

    onSummary(summary) {
      if (!isNum(summary.set) || !this.acceptSession(summary.session)) return;
      this.summary = summary;
      this.renderCounts();
      this.renderLastRep();
    }

    // The summary as a partial rep, for the last-rep tiles until a real rep arrives.
    summaryRep() {
      const s = this.summary;
      if (s === null || !isNum(s.reps_in_set) || s.reps_in_set < 1) return null;
      return {
        set: s.set,
        rep: s.reps_in_set,
        eccentric_s: s.last_eccentric_s,
        eccentric_score: s.last_eccentric_score,
        lockout: s.last_lockout,
        mean_concentric_velocity_m_s: s.velocity_m_s,
        flags: [],
      };
    }

    onSet(done) {
      if (!isNum(done.set)) return;
      if (typeof done.id === "string") {
        if (this.seenIds.has(done.id)) return;
        this.seenIds.add(done.id);
      }
      if (!this.acceptSession(done.session)) return;
      this.sets = this.sets.filter((s) => s.set !== done.set);
      this.sets.push(done);
      this.sets.sort((a, b) => a.set - b.set);
      this.renderCounts();
      this.renderSets();
    }

    currentSet() {
      let current = null;
      for (const n of this.repsBySet.keys()) current = current === null ? n : Math.max(current, n);
      for (const s of this.sets) current = current === null ? s.set : Math.max(current, s.set);
      if (this.summary) current = current === null ? this.summary.set : Math.max(current, this.summary.set);
      if (this.state && isNum(this.state.set)) {
        current = current === null ? this.state.set : Math.max(current, this.state.set);
      }
      return current;
    }

    targetS() {
      if (queryTarget !== null) return queryTarget;
      const fromRep = this.lastRep && positiveNumber(this.lastRep.target_eccentric_s);
      return fromRep || DEFAULT_TARGET_S;
    }

    isStale(nowMs) {
      if (this.status !== "online") return false;
      const since = this.lastStateMs !== null ? this.lastStateMs : this.onlineSinceMs;
      return since !== null && nowMs - since > STALE_AFTER_MS;
    }

    // ---- rendering ----

    renderAll() {
      this.renderStatus();
      this.renderLive();
      this.renderCounts();
      this.renderLastRep();
      this.renderChart();
      this.renderSets();
    }

    renderStatus() {
      setText(this.el.status, this.status);
      this.el.status.setAttribute("data-status", this.status);
      const now = Date.now();
      const stale = this.isStale(now);
      this.el.stale.hidden = !stale;
      if (stale) {
        const since = this.lastStateMs !== null ? this.lastStateMs : this.onlineSinceMs;
        setText(this.el.stale, `no data ${Math.round((now - since) / 1000)} s`);
      }
      this.el.root.classList.toggle("is-stale", stale);
      this.el.root.classList.toggle("is-offline", this.status === "offline");
    }

    renderLive() {
      const s = this.state;
      const phase = s && typeof s.phase === "string" ? s.phase : "unknown";
      setText(this.el.phase, phase === "unknown" ? "–" : phase.replace("_", " "));
      this.el.phase.setAttribute("data-phase", phase);
      this.el.root.setAttribute("data-phase", phase);
      const pos = s && isNum(s.position) ? Math.min(1, Math.max(0, s.position)) : 0;
      this.el.fill.style.transform = `scaleX(${pos})`;
      setText(this.el.distance, s && isNum(s.distance_mm) ? String(Math.round(s.distance_mm)) : "–");
    }

    renderCounts() {
      const current = this.currentSet();
      const reps = current === null ? null : this.repsBySet.get(current);
      // The station numbers its reps: the highest number is the count even when the page
      // missed some (opened mid-set); a redelivered rep has a number already seen.
      let count = reps && reps.size ? Math.max(...reps.keys()) : 0;
      if (this.state && this.state.set === current && isNum(this.state.rep)) {
        count = Math.max(count, this.state.rep);
      }
      if (this.summary && this.summary.set === current && isNum(this.summary.reps_in_set)) {
        count = Math.max(count, this.summary.reps_in_set);
      }
      setText(this.el.repCount, String(count));
      setText(this.el.setCount, current === null ? "–" : String(current));
      const anyRep = reps && reps.size ? reps.values().next().value : null;
      const done = this.sets.find((x) => x.set === current);
      const leg = legLabel((done && done.leg) || (anyRep && anyRep.leg));
      this.el.leg.hidden = leg === "";
      setText(this.el.leg, leg);
      this.el.root.classList.toggle("set-done", Boolean(done));
    }

    renderLastRep() {
      const r = this.lastRep || this.summaryRep();
      const target = this.targetS();
      setText(this.el.target, target.toFixed(1));
      if (r === null) {
        for (const key of ["ecc", "con", "mcv", "top", "bottom", "lockout", "score"]) setText(this.el[key], "–");
        setText(this.el.repNo, "");
        setText(this.el.lockoutHint, "");
        this.el.flags.replaceChildren();
        this.el.eccTile.setAttribute("data-verdict", "none");
        this.el.lockoutTile.setAttribute("data-lockout", "");
        this.el.scoreTile.setAttribute("data-grade", "");
        this.el.gaugeFill.style.transform = "scaleX(0)";
        this.placeGaugeTarget(target, target * 1.5);
        return;
      }
      const flags = Array.isArray(r.flags) ? r.flags.map(String) : [];
      setText(this.el.repNo, `· rep ${r.rep}`);
      setText(this.el.ecc, fmt(r.eccentric_s, 1));
      setText(this.el.con, fmt(r.concentric_s, 1));
      setText(this.el.mcv, fmt(r.mean_concentric_velocity_m_s, 2));
      setText(this.el.top, fmt(r.top_pause_s, 1));
      setText(this.el.bottom, fmt(r.bottom_pause_s, 1));

      let verdict = "none";
      if (isNum(r.eccentric_s)) {
        if (flags.includes("fast_eccentric")) verdict = "fast";
        else if (r.eccentric_s >= target - 0.05) verdict = "good";
        else verdict = "short";
      }
      this.el.eccTile.setAttribute("data-verdict", verdict);
      const scale = Math.max(target * 1.5, isNum(r.eccentric_s) ? r.eccentric_s : 0);
      const frac = isNum(r.eccentric_s) ? r.eccentric_s / scale : 0;
      this.el.gaugeFill.style.transform = `scaleX(${Math.min(1, Math.max(0, frac))})`;
      this.placeGaugeTarget(target, scale);

      const lockout = typeof r.lockout === "string" ? r.lockout : "–";
      setText(this.el.lockout, lockout);
      this.el.lockoutTile.setAttribute("data-lockout", lockout);
      const hints = { full: "full range", locked: "knees locked", partial: "go deeper" };
      setText(this.el.lockoutHint, hints[lockout] || "");

      setText(this.el.score, isNum(r.eccentric_score) ? String(Math.round(r.eccentric_score)) : "–");
      const grade = !isNum(r.eccentric_score) ? "" : r.eccentric_score >= 80 ? "good" :
        r.eccentric_score >= 50 ? "ok" : "poor";
      this.el.scoreTile.setAttribute("data-grade", grade);

      this.el.flags.replaceChildren(...flags.map((f) => {
        const chip = document.createElement("span");
        chip.className = "flag";
        chip.setAttribute("data-flag", f);
        chip.textContent = f.replace(/_/g, " ");
        return chip;
      }));
    }

    placeGaugeTarget(target, scale) {
      this.el.gaugeTarget.style.left = `${Math.min(100, (target / scale) * 100)}%`;
    }

    renderChart() {
      const svgEl = this.el.chart;
      const current = this.currentSet();
      const byRep = current === null ? null : this.repsBySet.get(current);
      const reps = byRep ? [...byRep.values()].sort((a, b) => a.rep - b.rep) : [];
      const W = 320, H = 132, left = 26, right = 30, top = 8, bottom = 18;
      const plotW = W - left - right, plotH = H - top - bottom;
      const target = this.targetS();
      const eccMax = Math.max(target * 1.4, ...reps.map((r) => (isNum(r.eccentric_s) ? r.eccentric_s : 0)));
      const vels = reps.map((r) => r.mean_concentric_velocity_m_s).filter(isNum);
      const velMax = Math.max(0.5, ...vels) * 1.15;
      const yEcc = (v) => top + plotH - (v / eccMax) * plotH;
      const yVel = (v) => top + plotH - (v / velMax) * plotH;
      const slots = Math.max(reps.length, 6);
      const slotW = plotW / slots;
      const nodes = [];

      nodes.push(svg("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, class: "axis" }));
      for (const t of [0, Math.round(eccMax / 2), Math.floor(eccMax)]) {
        nodes.push(svg("text", { x: left - 4, y: yEcc(t) + 3, class: "tick tick-ecc", "text-anchor": "end" }, String(t)));
      }
      nodes.push(svg("text", { x: left + plotW + 4, y: yVel(velMax / 1.15) + 3, class: "tick tick-vel" },
        (velMax / 1.15).toFixed(1)));
      nodes.push(svg("text", { x: left + plotW + 4, y: yVel(0) + 3, class: "tick tick-vel" }, "0"));

      reps.forEach((r, i) => {
        const x = left + i * slotW;
        const e = isNum(r.eccentric_s) ? r.eccentric_s : 0;
        const flags = Array.isArray(r.flags) ? r.flags : [];
        const cls = flags.includes("fast_eccentric") ? "bar bar-fast" : e >= target - 0.05 ? "bar bar-good" : "bar bar-short";
        nodes.push(svg("rect", {
          x: x + slotW * 0.18, width: slotW * 0.64, y: yEcc(e), height: Math.max(0, top + plotH - yEcc(e)),
          rx: 2, class: cls,
        }));
        nodes.push(svg("text", { x: x + slotW / 2, y: H - 5, class: "tick", "text-anchor": "middle" }, String(r.rep)));
      });

      nodes.push(svg("line", { x1: left, x2: left + plotW, y1: yEcc(target), y2: yEcc(target), class: "target-line" }));

      const points = [];
      reps.forEach((r, i) => {
        if (isNum(r.mean_concentric_velocity_m_s)) {
          points.push([left + i * slotW + slotW / 2, yVel(r.mean_concentric_velocity_m_s)]);
        }
      });
      if (points.length > 1) {
        nodes.push(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "vel-line" }));
      }
      for (const [x, y] of points) nodes.push(svg("circle", { cx: x, cy: y, r: 3, class: "vel-dot" }));
      if (reps.length === 0) {
        nodes.push(svg("text", { x: left + plotW / 2, y: top + plotH / 2, class: "chart-empty", "text-anchor": "middle" },
          "reps of the set appear here"));
      }
      svgEl.replaceChildren(...nodes);

      if (vels.length > 1) {
        const best = Math.max(...vels);
        const last = vels[vels.length - 1];
        const loss = best > 0 ? ((best - last) / best) * 100 : 0;
        setText(this.el.velLoss, `velocity loss ${loss.toFixed(0)} %`);
        this.el.velLoss.classList.toggle("warn", loss >= VELOCITY_LOSS_WARN_PCT);
      } else {
        setText(this.el.velLoss, "");
      }
    }

    renderSets() {
      const rows = [];
      for (const s of [...this.sets].reverse()) {
        const tr = document.createElement("tr");
        const leg = legLabel(s.leg);
        const cells = [
          leg ? `${s.set} ${leg === "left" ? "L" : "R"}` : String(s.set),
          String(isNum(s.reps) ? s.reps : "–"),
          `${fmt(s.mean_eccentric_s, 1)} s`,
          fmt(s.best_concentric_velocity_m_s, 2),
          `${fmt(s.velocity_loss_pct, 0)} %`,
          `${fmt(s.time_under_tension_s, 0)} s`,
        ];
        cells.forEach((text, i) => {
          const td = document.createElement("td");
          td.textContent = text;
          if (i === 4 && isNum(s.velocity_loss_pct) && s.velocity_loss_pct >= VELOCITY_LOSS_WARN_PCT) {
            td.className = "warn";
          }
          tr.appendChild(td);
        });
        if (leg) tr.title = `${leg} leg`;
        rows.push(tr);
        if (s.imbalance && typeof s.imbalance === "object") rows.push(imbalanceRow(s.imbalance));
      }
      this.el.setsBody.replaceChildren(...rows);
      this.el.noSets.hidden = this.sets.length > 0;
    }
  }

  function imbalanceRow(imb) {
    const tr = document.createElement("tr");
    tr.className = "imbalance";
    tr.setAttribute("data-testid", "imbalance");
    const td = document.createElement("td");
    td.colSpan = 6;
    const pct = (x) => (isNum(x) ? `${x > 0 ? "+" : ""}${x.toFixed(0)} %` : "–");
    const parts = [
      `L/R (sets ${imb.left_set ?? "?"} / ${imb.right_set ?? "?"})`,
      `reps ${isNum(imb.reps_diff) ? (imb.reps_diff > 0 ? "+" : "") + imb.reps_diff : "–"} (${pct(imb.reps_pct)})`,
      `velocity ${pct(imb.mean_velocity_diff_pct)}`,
      `down ${pct(imb.eccentric_s_diff_pct)}`,
    ];
    td.textContent = parts.join(" · ");
    const worst = Math.max(...[imb.reps_pct, imb.mean_velocity_diff_pct, imb.eccentric_s_diff_pct]
      .filter(isNum).map(Math.abs), 0);
    if (worst >= 10) tr.classList.add("warn");
    tr.appendChild(td);
    return tr;
  }

  function station(name) {
    let st = stations.get(name);
    if (st) return st;
    st = new Station(name);
    stations.set(name, st);
    const names = [...stations.keys()].sort(byName);
    const next = names[names.indexOf(name) + 1];
    container.insertBefore(st.el.root, next === undefined ? null : stations.get(next).el.root);
    document.getElementById("empty").hidden = true;
    return st;
  }

  // ---- MQTT -----------------------------------------------------------------------------------

  function parseJson(text, topic) {
    try {
      const value = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
      return isNum(value.schema) && value.schema > KNOWN_SCHEMA ? null : value;
    } catch (err) {
      console.warn(`repsled: ignoring non-JSON payload on ${topic}`);
      return null;
    }
  }

  function onMessage(topic, payload) {
    if (!topic.startsWith(`${prefix}/`)) return;
    const parts = topic.slice(prefix.length + 1).split("/");
    if (parts.length !== 2 || parts[0] === "") return;
    const [name, kind] = parts;
    const text = new TextDecoder().decode(payload);
    switch (kind) {
      case "status": {
        // An empty retained payload clears the status; the station stays, as unknown.
        if (text === "" && !stations.has(name)) return;
        station(name).onStatus(text.trim().toLowerCase());
        break;
      }
      case "state": {
        const s = parseJson(text, topic);
        if (s) station(name).onState(s);
        break;
      }
      case "rep": {
        const r = parseJson(text, topic);
        if (r && (r.type === undefined || r.type === "rep")) station(name).onRep(r);
        break;
      }
      case "set": {
        const s = parseJson(text, topic);
        if (s && (s.type === undefined || s.type === "set")) station(name).onSet(s);
        break;
      }
      case "summary": {
        const s = parseJson(text, topic);
        if (s) station(name).onSummary(s);
        break;
      }
      default:
        break; // topics of a newer publisher: ignored
    }
  }

  function showConnection(state, text) {
    connected = state === "connected";
    connEl.setAttribute("data-state", state);
    setText(connText, text);
    document.body.classList.toggle("disconnected", !connected);
  }

  function defaultBrokerUrl() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const host = window.location.hostname || "127.0.0.1";
    const bracketed = host.includes(":") ? `[${host}]` : host;
    return `${scheme}://${bracketed}:${DEFAULT_WS_PORT}`;
  }

  async function loadConfig() {
    let config = {};
    try {
      const res = await fetch("config.json", { cache: "no-store" });
      if (res.ok) config = await res.json();
    } catch (err) {
      console.warn("repsled: no config.json, using defaults");
    }
    return {
      brokerUrl: params.get("broker") || config.broker_ws || defaultBrokerUrl(),
      prefix: params.get("prefix") || config.prefix || "repsled",
      // The broker's read-only dashboard login, when the server was given one.
      username: typeof config.broker_username === "string" ? config.broker_username : undefined,
      password: typeof config.broker_password === "string" ? config.broker_password : undefined,
    };
  }

  async function main() {
    const config = await loadConfig();
    prefix = config.prefix.replace(/\/+$/, "");
    const filter = `${prefix}/+/#`;
    setText(document.getElementById("empty-topic"), `${filter} at ${config.brokerUrl}`);
    if (typeof window.mqtt === "undefined") {
      showConnection("error", "MQTT client failed to load");
      return;
    }
    const client = window.mqtt.connect(config.brokerUrl, {
      protocolVersion: 4,
      clean: true,
      clientId: `repsled-dash-${Math.random().toString(16).slice(2, 10)}`,
      reconnectPeriod: 2000,
      connectTimeout: 10000,
      keepalive: 30,
      resubscribe: false,
      username: config.username,
      password: config.password,
    });
    client.on("connect", () => {
      showConnection("connected", "live");
      client.subscribe(filter, { qos: 1 }, (err) => {
        if (err) showConnection("error", `subscribe failed: ${err.message}`);
      });
    });
    client.on("reconnect", () => showConnection("connecting", "reconnecting…"));
    client.on("close", () => {
      if (connected) showConnection("disconnected", "broker unreachable");
    });
    client.on("offline", () => showConnection("disconnected", "broker unreachable"));
    client.on("error", (err) => showConnection("error", err && err.message ? err.message : "error"));
    client.on("message", (topic, payload) => {
      try {
        onMessage(topic, payload);
      } catch (err) {
        console.error(`repsled: failed to show ${topic}`, err);
      }
    });
    window.repsled = { client, stations }; // for debugging from the console
  }

  // Stale badges and their "no data N s" counters need a tick even when no message arrives.
  setInterval(() => {
    for (const st of stations.values()) st.renderStatus();
  }, 1000);

  main();
})();
