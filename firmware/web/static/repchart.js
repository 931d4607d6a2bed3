// The per-rep chart of a set, drawn the same way on the live page (app.js) and on the hub's
// session page (history.js): eccentric seconds as bars against the target, mean concentric
// velocity as a line. Loaded before either script; no framework, nothing inline (CSP).
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

  // `layout`: the box (W, H) and margins; `labels`: axis units and a title (live page) and the
  // text shown with no rep yet, each left out when not given.
  function draw(svgEl, reps, target, layout, labels) {
    const { W, H, left, right, top, bottom } = layout;
    const { units = false, title = null, empty = null } = labels || {};
    const plotW = W - left - right, plotH = H - top - bottom;
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
    if (units) nodes.push(svg("text", { x: left - 4, y: 8, class: "unit unit-ecc", "text-anchor": "end" }, "s"));
    nodes.push(svg("text", { x: left + plotW + 4, y: yVel(velMax / 1.15) + 3, class: "tick tick-vel" },
      (velMax / 1.15).toFixed(1)));
    nodes.push(svg("text", { x: left + plotW + 4, y: yVel(0) + 3, class: "tick tick-vel" }, "0"));
    if (units) nodes.push(svg("text", { x: W - 2, y: 8, class: "unit unit-vel", "text-anchor": "end" }, "m/s"));
    if (title !== null) {
      nodes.push(svg("text", { x: left + plotW / 2, y: 8, class: "unit", "text-anchor": "middle" }, title));
    }

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
    if (reps.length === 0 && empty !== null) {
      nodes.push(svg("text", { x: left + plotW / 2, y: top + plotH / 2, class: "chart-empty", "text-anchor": "middle" },
        empty));
    }
    svgEl.replaceChildren(...nodes);
  }

  window.repsledRepChart = { draw, svg, isNum };
})();
