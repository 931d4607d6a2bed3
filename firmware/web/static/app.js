// repsled live dashboard: subscribes to {prefix}/+/# over MQTT/WebSockets, one panel per station.
// Everything from the broker (or the hub) is untrusted: each message is checked on arrival and
// dropped when it does not fit, so no message can freeze a panel; text only ever reaches the
// page as textContent.
"use strict";

(function () {
  const STALE_AFTER_MS = 5000;
  const DEFAULT_TARGET_S = 3.0;
  const DEFAULT_WS_PORT = 9001;
  const VELOCITY_LOSS_WARN_PCT = 20;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const KNOWN_SCHEMA = 1; // payloads of a newer schema are ignored (docs/payloads.md)
  const MAX_COUNT = 10000; // no set or rep number is larger: a bigger one is not a real payload
  const MAX_SECONDS = 3600; // phase and set durations above an hour are not real
  const MAX_VELOCITY_M_S = 20;
  const MAX_NAME = 100; // station and session names longer than this are not real
  const MAX_STATIONS = 64;
  const MAX_IDS = 5000; // ids remembered per session for dropping duplicates
  const TARGET_KEY = "repsled.target_s"; // the page's own eccentric target, kept in the browser
  const PHASES = ["rest", "concentric", "top_pause", "eccentric", "bottom_pause"];
  const LOCKOUTS = ["locked", "full", "partial"];
  const LEGS = ["both", "left", "right"];
  // The next-set message's rules (docs/prescriptions.md), as firmware/station/next_set.py
  // and tempo/prescription.py check them: the page refuses what a station would ignore.
  const NEXT_SCHEMA = 1;
  const NEXT_FIELDS = ["type", "schema", "athlete", "load_kg", "leg", "tempo"];
  const MAX_ATHLETE_CHARS = 40;
  const ATHLETE_PUNCTUATION = " .'-_";
  const MAX_LOAD_KG = 1500;
  const LOAD_STEP_KG = 2.5; // the smallest plates are 1.25 kg a side
  const MAX_PHASE_S = 30;
  const TEMPO_EXAMPLE = "3-1-X-0";
  const TEMPO_PHASES = [["eccentric", true], ["bottom pause", false], ["concentric", true], ["top pause", false]];
  const MAX_ATHLETES = 200; // names offered in the form's list

  const params = new URLSearchParams(window.location.search);
  const queryTarget = positiveNumber(params.get("target"));

  const stations = new Map(); // name -> Station
  const container = document.getElementById("stations");
  const template = document.getElementById("station-template");
  const connEl = document.querySelector("[data-testid=connection]");
  const connText = connEl.querySelector(".conn-text");
  const targetInput = document.querySelector("[data-testid=target-input]");
  let prefix = "repsled";
  let connected = false;
  let client = null; // the MQTT client, once connected: the form publishes through it
  let formCount = 0; // for the ids that tie each panel's labels and list to their inputs
  const athletes = new Set(); // athletes seen in next messages and reps, for the forms' list
  let pageTarget = storedTarget();

  // ---- small helpers --------------------------------------------------------------------------

  function positiveNumber(text) {
    if (text === null || text === undefined || text === "") return null;
    const n = Number(text);
    return Number.isFinite(n) && n > 0 && n <= 60 ? n : null;
  }

  function storedTarget() {
    try {
      return positiveNumber(window.localStorage.getItem(TARGET_KEY));
    } catch (err) {
      return null; // storage disabled: the page still works, the setting is not kept
    }
  }

  function isNum(x) {
    return typeof x === "number" && Number.isFinite(x);
  }

  function isCount(x, min) {
    return Number.isInteger(x) && x >= min && x <= MAX_COUNT;
  }

  function isName(x) {
    return typeof x === "string" && x.length > 0 && x.length <= MAX_NAME && !/[/+#\u0000-\u001f]/.test(x);
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

  function clock(ms) {
    const d = new Date(ms);
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  // ---- the next set: the same checks as the station's ---------------------------------------
  // Each check returns the clean value or throws NextError with one line naming the field.

  class NextError extends Error {}

  function checkAthlete(value) {
    if (value === null) return null;
    if (typeof value !== "string") throw new NextError("athlete: expected a name");
    const name = value.normalize("NFC").trim();
    if (!name) throw new NextError("athlete: empty name (use null for nobody)");
    const chars = [...name];
    if (chars.length > MAX_ATHLETE_CHARS) {
      throw new NextError(`athlete: ${chars.length} characters, at most ${MAX_ATHLETE_CHARS}`);
    }
    const bad = [...new Set(chars.filter((c) => !/^[\p{L}\p{N}]$/u.test(c) && !ATHLETE_PUNCTUATION.includes(c)))].sort();
    if (bad.length) {
      throw new NextError(`athlete: '${name}' has characters not allowed in a name: ${bad.map((c) => `'${c}'`).join(" ")} ` +
        "(letters, digits, space and . ' - _ are)");
    }
    return name;
  }

  function checkLoad(value) {
    if (value === null) return null;
    if (!isNum(value)) throw new NextError("load_kg: expected a number of kg");
    if (value <= 0) throw new NextError(`load_kg: ${value} kg: must be more than 0 (the sled itself counts)`);
    if (value > MAX_LOAD_KG) throw new NextError(`load_kg: ${value} kg is over the ${MAX_LOAD_KG} kg maximum`);
    return Math.round(value * 100) / 100;
  }

  function tempoPhase(part, label, moving, where) {
    if (part.toUpperCase() === "X") {
      if (!moving) throw new NextError(`${where}: ${label} cannot be X (X means as fast as possible; write 0 for no pause)`);
      return "X";
    }
    if (!part) throw new NextError(`${where}: ${label} is empty`);
    if (!/^\d+(\.\d)?$/.test(part)) {
      if (/^\d+\.\d{2,}$/.test(part)) throw new NextError(`${where}: ${label} '${part}' has more than one decimal`);
      throw new NextError(`${where}: ${label} '${part}' is not a number of seconds or X`);
    }
    const value = Number(part);
    if (value > MAX_PHASE_S) throw new NextError(`${where}: ${label} ${value} s is over the ${MAX_PHASE_S} s maximum`);
    if (value === 0 && moving) throw new NextError(`${where}: ${label} cannot take 0 s (write X for as fast as possible)`);
    return String(value);
  }

  // E-B-C-T in seconds (or the compact 31X0) -> the canonical text the station carries.
  function parseTempo(text) {
    if (typeof text !== "string") throw new NextError(`tempo must be a string like ${TEMPO_EXAMPLE}`);
    const where = `tempo '${text}'`;
    const stripped = text.trim();
    if (!stripped) throw new NextError(`${where}: empty; write E-B-C-T in seconds, e.g. ${TEMPO_EXAMPLE}`);
    const parts = !stripped.includes("-") && /^[0-9Xx]{4}$/.test(stripped) ? [...stripped] : stripped.split("-").map((x) => x.trim());
    if (parts.length !== TEMPO_PHASES.length) {
      throw new NextError(`${where}: ${parts.length} part(s), expected 4 ` +
        `(eccentric-bottom pause-concentric-top pause, e.g. ${TEMPO_EXAMPLE})`);
    }
    return parts.map((part, i) => tempoPhase(part, TEMPO_PHASES[i][0], TEMPO_PHASES[i][1], where)).join("-");
  }

  // The message text exactly as the station and `repsled next` write it (Python's JSON: a
  // whole load keeps its ".0").
  function nextJson(n) {
    const load = n.load_kg === null ? "null" : Number.isInteger(n.load_kg) ? n.load_kg.toFixed(1) : String(n.load_kg);
    return `{"type":"next","schema":${NEXT_SCHEMA},"athlete":${JSON.stringify(n.athlete)},"load_kg":${load},` +
      `"leg":${JSON.stringify(n.leg)},"tempo":${JSON.stringify(n.tempo)}}`;
  }

  function describeNext(n) {
    if (n === null) return "station defaults";
    const parts = [n.athlete === null ? "nobody named" : n.athlete];
    parts.push(n.load_kg === null ? "load unknown" : `${n.load_kg} kg`);
    parts.push(n.tempo === null ? "no tempo" : `tempo ${n.tempo}`);
    if (n.leg !== "both") parts.push(`${n.leg} leg`);
    return parts.join(" · ");
  }

  function validAthlete(x) {
    try {
      return typeof x === "string" ? checkAthlete(x) : null;
    } catch (err) {
      return null;
    }
  }

  function noteAthlete(name) {
    if (name === null || athletes.has(name) || athletes.size >= MAX_ATHLETES) return;
    athletes.add(name);
    const names = [...athletes].sort(byName);
    for (const st of stations.values()) st.renderAthletes(names);
  }

  // ---- checking what arrives -------------------------------------------------------------------
  // Each check returns a clean copy (numbers out of range become null) or null to drop it.

  function inRange(x, lo, hi) {
    return isNum(x) && x >= lo && x <= hi ? x : null;
  }

  const REP_NUMBERS = {
    concentric_s: MAX_SECONDS, top_pause_s: MAX_SECONDS, eccentric_s: MAX_SECONDS,
    bottom_pause_s: MAX_SECONDS, eccentric_score: 100, rom_fraction: 10,
    mean_concentric_velocity_m_s: MAX_VELOCITY_M_S, peak_concentric_velocity_m_s: MAX_VELOCITY_M_S,
    target_eccentric_s: 60,
  };
  const SET_NUMBERS = {
    mean_eccentric_s: MAX_SECONDS, time_under_tension_s: 24 * MAX_SECONDS,
    mean_concentric_velocity_m_s: MAX_VELOCITY_M_S, best_concentric_velocity_m_s: MAX_VELOCITY_M_S,
    last_concentric_velocity_m_s: MAX_VELOCITY_M_S, velocity_loss_pct: 100,
  };

  function common(p, type, name) {
    if (p === null || typeof p !== "object" || Array.isArray(p)) return false;
    if (p.type !== undefined && p.type !== type) return false;
    if (p.schema !== undefined && p.schema !== KNOWN_SCHEMA) return false;
    if (p.station !== undefined && p.station !== name) return false;
    if (p.session !== undefined && !isName(p.session)) return false;
    return p.leg === undefined || LEGS.includes(p.leg);
  }

  function cleanNumbers(p, limits) {
    const out = { ...p };
    for (const [key, hi] of Object.entries(limits)) {
      if (key in out) out[key] = inRange(out[key], 0, hi);
    }
    return out;
  }

  function checkRep(p, name) {
    if (!common(p, "rep", name) || !isCount(p.set, 1) || !isCount(p.rep, 1)) return null;
    if (p.id !== undefined && p.session !== undefined && p.id !== `${name}/${p.session}/s${p.set}/r${p.rep}`) return null;
    const r = cleanNumbers(p, REP_NUMBERS);
    r.flags = Array.isArray(p.flags) ? p.flags.filter((f) => typeof f === "string" && f.length < 40).slice(0, 10) : [];
    r.lockout = LOCKOUTS.includes(p.lockout) ? p.lockout : null;
    r.athlete = validAthlete(p.athlete);
    r.revision = p.revision === 1 ? 1 : 0; // 1: replaces the rep sent before with this id
    return r;
  }

  function checkSet(p, name) {
    if (!common(p, "set", name) || !isCount(p.set, 1) || !isCount(p.reps, 0)) return null;
    if (p.id !== undefined && p.session !== undefined && p.id !== `${name}/${p.session}/s${p.set}`) return null;
    const s = cleanNumbers(p, SET_NUMBERS);
    if (s.imbalance !== undefined && (s.imbalance === null || typeof s.imbalance !== "object")) delete s.imbalance;
    return s;
  }

  function checkState(p) {
    if (p === null || typeof p !== "object" || Array.isArray(p)) return null;
    if (p.schema !== undefined && p.schema !== KNOWN_SCHEMA) return null;
    if (!isCount(p.set, 1) || !isCount(p.rep, 0)) return null;
    return {
      set: p.set,
      rep: p.rep,
      phase: PHASES.includes(p.phase) ? p.phase : "unknown",
      position: inRange(p.position, -1, 2),
      distance_mm: inRange(p.distance_mm, 0, 10000),
    };
  }

  function checkSummary(p, name) {
    if (!common(p, "summary", name) || !isCount(p.set, 1) || !isCount(p.reps_in_set, 0)) return null;
    if (p.sets !== undefined && !isCount(p.sets, 0)) return null;
    const s = cleanNumbers(p, {
      last_eccentric_s: MAX_SECONDS, last_eccentric_score: 100, velocity_m_s: MAX_VELOCITY_M_S,
      peak_velocity_m_s: MAX_VELOCITY_M_S,
    });
    s.last_lockout = LOCKOUTS.includes(p.last_lockout) ? p.last_lockout : null;
    const at = typeof p.last_rep_at === "string" && p.last_rep_at.length < 40 ? Date.parse(p.last_rep_at) : NaN;
    s.lastRepMs = Number.isFinite(at) ? at : null;
    return s;
  }

  // The retained next-set message of a station, or null when it does not fit.
  function checkNext(p) {
    if (p === null || typeof p !== "object" || Array.isArray(p)) return null;
    if (p.type !== "next" || p.schema !== NEXT_SCHEMA || !LEGS.includes(p.leg)) return null;
    // Every field and no other, as the station reads it: a typo in a name is not half shown.
    const keys = Object.keys(p);
    if (keys.length !== NEXT_FIELDS.length || !NEXT_FIELDS.every((k) => keys.includes(k))) return null;
    try {
      return {
        athlete: checkAthlete(p.athlete),
        load_kg: checkLoad(p.load_kg),
        leg: p.leg,
        tempo: p.tempo === null ? null : parseTempo(p.tempo),
      };
    } catch (err) {
      if (err instanceof NextError) return null;
      throw err;
    }
  }

  // The session document (docs/mqtt.md): the retained PREFIX/STATION/session or one of the
  // hub's GET api/v1/live. A document of another schema is dropped whole.
  function checkSessionDoc(p, name) {
    if (p === null || typeof p !== "object" || Array.isArray(p)) return null;
    if (p.type !== "session" || p.schema !== KNOWN_SCHEMA || p.station !== name || !isName(p.session)) return null;
    if (!Array.isArray(p.sets) || !Array.isArray(p.reps)) return null;
    const mine = (x) => x && typeof x === "object" && x.session === p.session;
    return {
      session: p.session,
      sets: p.sets.filter(mine).map((s) => checkSet(s, name)).filter(Boolean),
      reps: p.reps.filter(mine).map((r) => checkRep(r, name)).filter(Boolean),
    };
  }

  // ---- one station ----------------------------------------------------------------------------

  class Station {
    constructor(name) {
      this.name = name;
      this.renderedSetsKey = null; // the sets the table shows, as JSON
      this.status = "unknown";
      this.onlineSinceMs = null;
      this.offlineSinceMs = null; // null: offline, since when unknown (a retained message)
      this.lastStateMs = null;
      this.state = null;
      this.session = null;
      this.resetSession(null);

      const root = template.content.firstElementChild.cloneNode(true);
      root.setAttribute("data-station", name);
      const q = (sel) => root.querySelector(sel);
      this.el = {
        root,
        name: q(".st-name"),
        leg: q(".leg-badge"),
        stale: q(".stale-badge"),
        status: q("[data-testid=status]"),
        offline: q("[data-testid=offline-since]"),
        repCount: q("[data-testid=rep-count]"),
        setCount: q("[data-testid=set-count]"),
        setDone: q("[data-testid=set-done]"),
        sdTitle: q(".sd-title"),
        sdReps: q(".sd-reps"),
        sdLoss: q(".sd-loss"),
        sdEcc: q(".sd-ecc"),
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
        mcv: q("[data-testid=mean-velocity]"),
        pcv: q("[data-testid=peak-velocity]"),
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
        form: q("[data-testid=next-form]"),
        nextCurrent: q("[data-testid=next-current]"),
        athlete: q("[data-testid=next-athlete]"),
        athleteList: q(".athletes"),
        load: q("[data-testid=next-load]"),
        loadLabel: q(".nf-load label"),
        loadMinus: q("[data-testid=next-load-minus]"),
        loadPlus: q("[data-testid=next-load-plus]"),
        tempo: q("[data-testid=next-tempo]"),
        nextLeg: q("[data-testid=next-leg]"),
        nextMessage: q("[data-testid=next-message]"),
      };
      setText(this.el.name, name);
      this.next = null; // the station's retained next set; null: none or cleared
      this.formEdited = false; // while true, a next message does not overwrite what is typed
      this.setupForm();
      this.renderAll();
    }

    // ---- the next-set form ----

    setupForm() {
      const e = this.el;
      formCount += 1;
      e.athleteList.id = `athletes-${formCount}`;
      e.athlete.setAttribute("list", e.athleteList.id);
      e.load.id = `next-load-${formCount}`;
      e.loadLabel.htmlFor = e.load.id;
      this.renderAthletes([...athletes].sort(byName));
      for (const input of [e.athlete, e.load, e.tempo, e.nextLeg]) {
        input.addEventListener("input", () => {
          this.formEdited = true;
          input.removeAttribute("aria-invalid");
        });
      }
      e.loadMinus.addEventListener("click", () => this.stepLoad(-1));
      e.loadPlus.addEventListener("click", () => this.stepLoad(1));
      e.form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        this.submitNext();
      });
    }

    renderAthletes(names) {
      this.el.athleteList.replaceChildren(...names.map((n) => {
        const option = document.createElement("option");
        option.value = n;
        return option;
      }));
    }

    stepLoad(direction) {
      const typed = this.el.load.value.trim();
      let load = typed === "" ? null : Number(typed);
      if (load === null || !Number.isFinite(load)) load = this.next && this.next.load_kg !== null ? this.next.load_kg : 0;
      load = Math.round((load + direction * LOAD_STEP_KG) * 100) / 100;
      load = Math.min(MAX_LOAD_KG, Math.max(LOAD_STEP_KG, load));
      this.el.load.value = String(load);
      this.el.load.removeAttribute("aria-invalid");
      this.formEdited = true;
    }

    // What the form says, checked as the station checks a message; throws NextError.
    readForm() {
      const e = this.el;
      const field = (input, check) => {
        try {
          return check();
        } catch (err) {
          if (err instanceof NextError) input.setAttribute("aria-invalid", "true");
          throw err;
        }
      };
      const athleteText = e.athlete.value.trim();
      const loadText = e.load.value.trim();
      const tempoText = e.tempo.value.trim();
      return {
        athlete: field(e.athlete, () => (athleteText === "" ? null : checkAthlete(athleteText))),
        load_kg: field(e.load, () => {
          if (loadText === "") return null;
          if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(loadText)) throw new NextError(`load_kg: '${loadText}' is not a number of kg`);
          return checkLoad(Number(loadText));
        }),
        leg: field(e.nextLeg, () => {
          if (!LEGS.includes(e.nextLeg.value)) throw new NextError(`leg: must be one of ${LEGS.join(", ")}`);
          return e.nextLeg.value;
        }),
        tempo: field(e.tempo, () => (tempoText === "" ? null : parseTempo(tempoText))),
      };
    }

    showNextMessage(text, state) {
      setText(this.el.nextMessage, text);
      this.el.nextMessage.setAttribute("data-state", state);
      this.el.nextMessage.hidden = false;
    }

    submitNext() {
      let next;
      try {
        next = this.readForm();
      } catch (err) {
        if (!(err instanceof NextError)) throw err;
        this.showNextMessage(`not sent: ${err.message}`, "error");
        return;
      }
      if (client === null || !connected) {
        this.showNextMessage("not sent: not connected to the broker", "error");
        return;
      }
      const topic = `${prefix}/${this.name}/next`;
      this.showNextMessage("sending…", "pending");
      client.publish(topic, nextJson(next), { qos: 1, retain: true }, (err) => {
        if (err) {
          this.showNextMessage(`not sent: ${err.message || err}`, "error");
          return;
        }
        this.formEdited = false;
        this.fillForm(next); // in canonical form: 31x0 shows as 3-1-X-0
        this.showNextMessage(`sent: ${describeNext(next)}`, "sent");
      });
    }

    onNext(next) {
      this.next = next;
      if (next !== null) noteAthlete(next.athlete);
      setText(this.el.nextCurrent, describeNext(next));
      if (!this.formEdited) this.fillForm(next);
    }

    fillForm(next) {
      const e = this.el;
      e.athlete.value = next && next.athlete !== null ? next.athlete : "";
      e.load.value = next && next.load_kg !== null ? String(next.load_kg) : "";
      e.tempo.value = next && next.tempo !== null ? next.tempo : "";
      e.nextLeg.value = next ? next.leg : "both";
      for (const input of [e.athlete, e.load, e.tempo, e.nextLeg]) input.removeAttribute("aria-invalid");
    }

    resetSession(session) {
      this.session = session;
      this.seenIds = new Set();
      this.repsBySet = new Map(); // set number -> Map(rep number -> rep payload)
      this.sets = []; // set payloads, oldest first
      this.lastRep = null;
      this.summary = null; // retained: what a page opened mid-set shows before the next rep
    }

    // Which session a message may touch. The station's own retained state (session document,
    // summary) says which session is current; a rep or set of another session takes over only
    // when it sorts after the current one (session ids sort by start time), so late messages
    // of an older session (a flushed outbox) are dropped, and a stray message of a made-up
    // session is undone by the station's next session document.
    acceptSession(session, authoritative) {
      if (session === undefined || session === this.session) return true;
      if (this.session === null || authoritative || session > this.session) {
        this.resetSession(session);
        return true;
      }
      return false;
    }

    firstSight(id) {
      if (typeof id !== "string") return true;
      if (this.seenIds.has(id)) return false; // QoS 1 redelivery, a replayed outbox, the hub
      this.seenIds.add(id);
      if (this.seenIds.size > MAX_IDS) this.seenIds.delete(this.seenIds.values().next().value);
      return true;
    }

    onStatus(text, retained) {
      const status = text === "online" || text === "offline" ? text : "unknown";
      if (status === "online" && this.status !== "online") this.onlineSinceMs = Date.now();
      if (status === "offline" && this.status !== "offline") {
        this.offlineSinceMs = retained ? null : Date.now();
      }
      this.status = status;
      this.renderStatus();
      this.renderLive();
    }

    onState(state) {
      this.state = state;
      this.lastStateMs = Date.now();
      this.renderLive();
      this.renderCounts();
      this.renderStatus();
    }

    addRep(rep) {
      // A revision (its end placed again, docs/payloads.md) is new once, like the rep.
      const key = rep.revision === 1 && typeof rep.id === "string" ? `${rep.id}#revision` : rep.id;
      if (!this.firstSight(key)) return false;
      noteAthlete(rep.athlete);
      if (!this.repsBySet.has(rep.set)) this.repsBySet.set(rep.set, new Map());
      const reps = this.repsBySet.get(rep.set);
      const kept = reps.get(rep.rep);
      if (kept && kept.revision === 1 && rep.revision !== 1) return false; // a late first version
      reps.set(rep.rep, rep);
      if (this.lastRep === null || rep.set > this.lastRep.set ||
          (rep.set === this.lastRep.set && rep.rep >= this.lastRep.rep)) {
        this.lastRep = rep;
      }
      return true;
    }

    addSet(done) {
      if (!this.firstSight(done.id)) return false;
      this.sets = this.sets.filter((s) => s.set !== done.set);
      this.sets.push(done);
      this.sets.sort((a, b) => a.set - b.set);
      return true;
    }

    onRep(rep) {
      if (!this.acceptSession(rep.session, false) || !this.addRep(rep)) return;
      this.renderData();
    }

    onSet(done) {
      if (!this.acceptSession(done.session, false) || !this.addSet(done)) return;
      this.renderData();
    }

    onSummary(summary) {
      if (!this.acceptSession(summary.session, true)) return;
      this.summary = summary;
      this.renderData();
      this.renderLive();
    }

    // From the station (retained, authoritative) or the hub (merged only when it is not older).
    onSessionDoc(doc, fromHub) {
      if (fromHub && this.session !== null && doc.session < this.session) return;
      if (!this.acceptSession(doc.session, true)) return;
      for (const s of doc.sets) this.addSet(s);
      for (const r of doc.reps) this.addRep(r);
      this.renderData();
    }

    // The summary as a partial rep, for the last-rep tiles until a real rep arrives.
    summaryRep() {
      const s = this.summary;
      if (s === null || s.reps_in_set < 1) return null;
      return {
        set: s.set,
        rep: s.reps_in_set,
        eccentric_s: s.last_eccentric_s,
        eccentric_score: s.last_eccentric_score,
        lockout: s.last_lockout,
        mean_concentric_velocity_m_s: s.velocity_m_s,
        peak_concentric_velocity_m_s: s.peak_velocity_m_s,
        flags: [],
      };
    }

    // The set the panel (counter, tiles and chart together) shows: the latest set with a rep.
    // A finished set stays on show until the next set's first rep; the live state of the next
    // set (rep 0) does not switch.
    shownSet() {
      const candidates = [...this.repsBySet.keys(), ...this.sets.map((s) => s.set)];
      if (this.summary && this.summary.reps_in_set > 0) candidates.push(this.summary.set);
      if (this.state && this.state.rep > 0) candidates.push(this.state.set);
      if (candidates.length) return Math.max(...candidates);
      if (this.state) return this.state.set;
      return this.summary ? this.summary.set : null;
    }

    targetS() {
      if (queryTarget !== null) return queryTarget;
      if (pageTarget !== null) return pageTarget;
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
      this.renderData();
    }

    renderData() {
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
      const offline = this.status === "offline";
      this.el.offline.hidden = !offline;
      if (offline) {
        const lastRepMs = this.summary ? this.summary.lastRepMs : null;
        let text = this.offlineSinceMs !== null ? `offline since ${clock(this.offlineSinceMs)}` : "offline";
        if (lastRepMs !== null) text += ` · last rep ${clock(lastRepMs)}`;
        setText(this.el.offline, text);
      }
      this.el.root.classList.toggle("is-stale", stale);
      this.el.root.classList.toggle("is-offline", offline);
    }

    renderLive() {
      const offline = this.status === "offline";
      const s = offline ? null : this.state; // an offline station has no phase: do not show its last
      const phase = offline ? "offline" : s ? s.phase : "unknown";
      setText(this.el.phase, phase === "unknown" ? "–" : phase.replace("_", " "));
      this.el.phase.setAttribute("data-phase", phase);
      this.el.root.setAttribute("data-phase", phase);
      const pos = s && isNum(s.position) ? Math.min(1, Math.max(0, s.position)) : 0;
      this.el.fill.style.transform = `scaleX(${pos})`;
      setText(this.el.distance, s && isNum(s.distance_mm) ? String(Math.round(s.distance_mm)) : "–");
    }

    renderCounts() {
      const current = this.shownSet();
      const done = this.sets.find((x) => x.set === current) || null;
      const reps = current === null ? null : this.repsBySet.get(current);
      // The station numbers its reps: the highest number is the count even when the page
      // missed some (opened mid-set); a redelivered rep has a number already seen.
      let count = reps && reps.size ? Math.max(...reps.keys()) : 0;
      if (this.state && this.state.set === current) count = Math.max(count, this.state.rep);
      if (this.summary && this.summary.set === current) count = Math.max(count, this.summary.reps_in_set);
      if (done) count = done.reps;
      setText(this.el.repCount, String(count));
      setText(this.el.setCount, current === null ? "–" : String(current));
      const anyRep = reps && reps.size ? reps.values().next().value : null;
      const leg = legLabel((done && done.leg) || (anyRep && anyRep.leg));
      this.el.leg.hidden = leg === "";
      setText(this.el.leg, leg);
      this.el.root.classList.toggle("set-done", done !== null);
      this.el.setDone.hidden = done === null;
      if (done) {
        setText(this.el.sdTitle, `set ${done.set} done`);
        setText(this.el.sdReps, `${done.reps} reps`);
        setText(this.el.sdLoss, `velocity loss ${fmt(done.velocity_loss_pct, 0)} %`);
        this.el.sdLoss.classList.toggle("warn", isNum(done.velocity_loss_pct) && done.velocity_loss_pct >= VELOCITY_LOSS_WARN_PCT);
        setText(this.el.sdEcc, `mean down ${fmt(done.mean_eccentric_s, 1)} s`);
      }
    }

    renderLastRep() {
      const current = this.shownSet();
      let r = this.lastRep || this.summaryRep();
      if (r !== null && current !== null && r.set !== current) r = null; // tiles follow the panel's set
      const target = this.targetS();
      setText(this.el.target, target.toFixed(1));
      if (r === null) {
        for (const key of ["ecc", "con", "mcv", "pcv", "top", "bottom", "lockout", "score"]) setText(this.el[key], "–");
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
      const flags = Array.isArray(r.flags) ? r.flags : [];
      setText(this.el.repNo, `· rep ${r.rep}`);
      setText(this.el.ecc, fmt(r.eccentric_s, 1));
      setText(this.el.con, fmt(r.concentric_s, 1));
      setText(this.el.mcv, fmt(r.mean_concentric_velocity_m_s, 2));
      setText(this.el.pcv, fmt(r.peak_concentric_velocity_m_s, 2));
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
      const current = this.shownSet();
      const byRep = current === null ? null : this.repsBySet.get(current);
      const reps = byRep ? [...byRep.values()].sort((a, b) => a.rep - b.rep) : [];
      const target = this.targetS();
      window.repsledRepChart.draw(
        svgEl, reps, target,
        { W: 320, H: 140, left: 28, right: 34, top: 16, bottom: 18 },
        { units: true, title: current === null ? "" : `set ${current} · rep`, empty: "reps of the set appear here" },
      );

      // The finished set's own figure once it is done; the running one before.
      const vels = reps.map((r) => r.mean_concentric_velocity_m_s).filter(isNum);
      const done = this.sets.find((x) => x.set === current);
      let loss = null;
      if (done && isNum(done.velocity_loss_pct)) {
        loss = done.velocity_loss_pct;
      } else if (vels.length > 1) {
        const best = Math.max(...vels);
        loss = best > 0 ? ((best - vels[vels.length - 1]) / best) * 100 : 0;
      }
      setText(this.el.velLoss, loss === null ? "" : `velocity loss ${loss.toFixed(0)} %`);
      this.el.velLoss.classList.toggle("warn", loss !== null && loss >= VELOCITY_LOSS_WARN_PCT);
    }

    renderSets() {
      // Rebuilt only when the sets change: a rep must not replace the table under the reader.
      const key = JSON.stringify(this.sets);
      if (key === this.renderedSetsKey) return;
      this.renderedSetsKey = key;
      const rows = [];
      for (const s of [...this.sets].reverse()) {
        const tr = document.createElement("tr");
        tr.setAttribute("data-testid", "set-row");
        const leg = legLabel(s.leg);
        const cells = [
          leg ? `${s.set} ${leg === "left" ? "L" : "R"}` : String(s.set),
          String(s.reps),
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
          if (i === 5) td.setAttribute("data-testid", "set-tut");
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
    const setNo = (x) => (isCount(x, 1) ? String(x) : "?");
    const parts = [
      `L/R (sets ${setNo(imb.left_set)} / ${setNo(imb.right_set)})`,
      `reps ${isNum(imb.reps_diff) ? (imb.reps_diff > 0 ? "+" : "") + imb.reps_diff.toFixed(0) : "–"} (${pct(imb.reps_pct)})`,
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
    if (stations.size >= MAX_STATIONS) return null;
    st = new Station(name);
    stations.set(name, st);
    const names = [...stations.keys()].sort(byName);
    const next = names[names.indexOf(name) + 1];
    container.insertBefore(st.el.root, next === undefined ? null : stations.get(next).el.root);
    document.getElementById("empty").hidden = true;
    return st;
  }

  function rerenderTargets() {
    for (const st of stations.values()) {
      st.renderLastRep();
      st.renderChart();
    }
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

  // One message: checked, then handed to its station; anything that does not fit is dropped.
  function onMessage(topic, payload, retained) {
    if (!topic.startsWith(`${prefix}/`)) return;
    const parts = topic.slice(prefix.length + 1).split("/");
    if (parts.length !== 2 || !isName(parts[0])) return;
    const [name, kind] = parts;
    const text = new TextDecoder().decode(payload);
    if (kind === "next" && text === "") {
      // The retained next set was cleared: the station is back to its config defaults.
      const st = stations.get(name);
      if (st) st.onNext(null);
      return;
    }
    if (kind === "status") {
      // An empty retained payload clears the status; the station stays, as unknown.
      if (text === "" && !stations.has(name)) return;
      const st = station(name);
      if (st) st.onStatus(text.trim().toLowerCase(), retained);
      return;
    }
    const checks = {
      state: (p) => checkState(p),
      rep: (p) => checkRep(p, name),
      set: (p) => checkSet(p, name),
      summary: (p) => checkSummary(p, name),
      session: (p) => checkSessionDoc(p, name),
      next: (p) => checkNext(p),
    };
    if (!(kind in checks)) return; // topics of a newer publisher: ignored
    const raw = parseJson(text, topic);
    const msg = raw && checks[kind](raw);
    if (!msg) {
      if (raw) console.warn(`repsled: dropping a ${kind} message that does not fit on ${topic}`);
      return;
    }
    const st = station(name);
    if (st === null) return;
    if (kind === "state") st.onState(msg);
    else if (kind === "rep") st.onRep(msg);
    else if (kind === "set") st.onSet(msg);
    else if (kind === "summary") st.onSummary(msg);
    else if (kind === "next") st.onNext(msg);
    else st.onSessionDoc(msg, false);
  }

  // The hub's latest session of every station, once when the page opens (docs/dashboard.md).
  async function loadFromHub() {
    let body;
    try {
      const res = await fetch("api/v1/live", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (err) {
      console.warn(`repsled: hub api/v1/live unavailable: ${err && err.message}`);
      return;
    }
    if (!body || body.schema !== KNOWN_SCHEMA || !Array.isArray(body.sessions)) return;
    for (const raw of body.sessions) {
      if (!raw || !isName(raw.station)) continue;
      const doc = checkSessionDoc(raw, raw.station);
      const st = doc && station(raw.station);
      if (st) st.onSessionDoc(doc, true);
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
    if (config === null || typeof config !== "object") config = {};
    return {
      brokerUrl: params.get("broker") || (typeof config.broker_ws === "string" && config.broker_ws) || defaultBrokerUrl(),
      prefix: params.get("prefix") || (typeof config.prefix === "string" && config.prefix) || "repsled",
      hub: config.hub === true,
      // The broker's dashboard login (reads all, writes only next sets), when the server has one.
      username: typeof config.broker_username === "string" ? config.broker_username : undefined,
      password: typeof config.broker_password === "string" ? config.broker_password : undefined,
    };
  }

  function setupTargetInput() {
    if (queryTarget !== null) {
      targetInput.value = String(queryTarget);
      targetInput.disabled = true;
      targetInput.title = "set by ?target= in the address";
      return;
    }
    targetInput.value = String(pageTarget !== null ? pageTarget : DEFAULT_TARGET_S);
    targetInput.addEventListener("change", () => {
      const value = positiveNumber(targetInput.value);
      targetInput.setAttribute("aria-invalid", value === null ? "true" : "false");
      if (value === null) return;
      pageTarget = value;
      try {
        window.localStorage.setItem(TARGET_KEY, String(value));
      } catch (err) {
        console.warn("repsled: cannot keep the target in this browser");
      }
      rerenderTargets();
    });
  }

  async function main() {
    setupTargetInput();
    const config = await loadConfig();
    prefix = config.prefix.replace(/\/+$/, "");
    const filter = `${prefix}/+/#`;
    setText(document.getElementById("empty-topic"), `${filter} at ${config.brokerUrl}`);
    if (config.hub) loadFromHub();
    if (typeof window.mqtt === "undefined") {
      showConnection("error", "MQTT client failed to load");
      return;
    }
    client = window.mqtt.connect(config.brokerUrl, {
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
    client.on("message", (topic, payload, packet) => {
      try {
        onMessage(topic, payload, Boolean(packet && packet.retain));
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
