// DGM4+ review page. Served by `dgm4plus review` (mode "server": pages of cards come from the
// server, decisions are POSTed to it) or written whole by `dgm4plus review --static` (mode
// "static": the cards are embedded, decisions are only listed as a command to run). The page
// keeps nothing itself: no storage, no cookies, nothing fetched from anywhere but its server.
"use strict";

(function () {
  const CONFIG = JSON.parse(document.getElementById("review-config").textContent);
  const DATA = JSON.parse(document.getElementById("review-data").textContent);
  const STATIC = CONFIG.mode === "static";
  const PAGE = 60;
  const $ = (sel) => document.querySelector(sel);

  const state = {
    view: "samples", filters: {}, cards: [], total: 0, loading: false, done: false,
    sel: -1, gen: 0, undo: [], pending: new Map(), gateOffset: 0, gateDone: false,
  };

  // ---- data sources ------------------------------------------------------------------
  function query(filters) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v && v !== "all") p.set(k, v);
    return p;
  }

  function staticStatus(card) {
    const d = state.pending.get(card.id);
    return d ? (d.decision === "reject" ? "rejected" : "accepted") : card.status;
  }

  function staticMatch(card, f) {
    if (f.fake_cls && card.fake_cls !== f.fake_cls) return false;
    if (f.shot && card.shot !== f.shot) return false;
    if (f.backdrop_kind && card.backdrop_kind !== f.backdrop_kind) return false;
    const s = staticStatus(card), want = f.status || "all";
    if (want === "all") return true;
    if (want === "reviewed") return s !== "unreviewed";
    return s === want;
  }

  async function fetchPage(offset) {
    if (STATIC) {
      const all = DATA.cards.filter((c) => staticMatch(c, state.filters));
      return { total: all.length, cards: all.slice(offset, offset + PAGE) };
    }
    const p = query(state.filters);
    p.set("offset", offset); p.set("limit", PAGE);
    return getJSON("api/samples?" + p);
  }

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  async function postDecision(id, decision, reason) {
    if (STATIC) {
      const card = DATA.cards.find((c) => c.id === id);
      if (decision === "undo") state.pending.delete(id);
      else state.pending.set(id, { decision, reason });
      showPending();
      return { card: Object.assign({}, card, { status: staticStatus(card), reason: (state.pending.get(id) || {}).reason || card.reason }) };
    }
    const r = await fetch("api/decision", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Review-Token": CONFIG.token },
      body: JSON.stringify({ id, decision, reason }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  function showPending() {
    const box = $("#pending");
    const rejects = [...state.pending.entries()].filter(([, d]) => d.decision === "reject");
    box.hidden = rejects.length === 0;
    const byReason = new Map();
    for (const [id, d] of rejects) {
      if (!byReason.has(d.reason)) byReason.set(d.reason, []);
      byReason.get(d.reason).push(id);
    }
    const quote = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";
    $("#pending-cmd").textContent = [...byReason.entries()]
      .map(([reason, ids]) => `dgm4plus reject --data-dir ${CONFIG.store} ${ids.join(" ")} --reason ${quote(reason)}`)
      .join("\n");
  }

  // ---- rendering -----------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }

  function picture(src, boxes, lazy) {
    const pic = el("div", { class: "pic" });
    const img = el("img", { src, alt: "sample image", decoding: "async" });
    if (lazy) img.loading = "lazy";
    pic.append(img);
    for (const [l, t, w, h] of boxes || []) {
      const b = el("div", { class: "box" });
      b.style.left = l + "%"; b.style.top = t + "%"; b.style.width = w + "%"; b.style.height = h + "%";
      pic.append(b);
    }
    return pic;
  }

  function caption(segments) {
    const p = el("p", { class: "cap" });
    for (const [text, marked] of segments) p.append(marked ? el("mark", { text }) : document.createTextNode(text));
    return p;
  }

  function verdict(card) {
    if (card.status === "rejected") return el("div", { class: "verdict rejected", text: "rejected: " + (card.reason || "") });
    if (card.status === "accepted") return el("div", { class: "verdict accepted", text: "accepted" });
    return null;
  }

  function renderCard(card) {
    const c = el("article", { class: "card " + card.status, "data-id": String(card.id), tabindex: "-1" },
      picture(card.image, card.boxes, true),
      caption(card.segments),
      el("div", { class: "meta" },
        el("span", { class: "cls-" + card.fake_cls, text: card.fake_cls }),
        el("span", { text: card.shot }),
        el("span", { text: card.backdrop_kind }),
        el("code", { text: card.plan_key }),
        el("span", { text: String(card.id) })),
      verdict(card));
    c.addEventListener("click", () => select(state.cards.findIndex((x) => x.id === card.id)));
    c.addEventListener("dblclick", () => openDetail());
    return c;
  }

  function replaceCard(card) {
    const i = state.cards.findIndex((x) => x.id === card.id);
    if (i < 0) return;
    state.cards[i] = card;
    const old = $("#grid").children[i];
    const fresh = renderCard(card);
    if (i === state.sel) fresh.classList.add("sel");
    old.replaceWith(fresh);
  }

  function select(i) {
    const grid = $("#grid");
    if (state.sel >= 0 && grid.children[state.sel]) grid.children[state.sel].classList.remove("sel");
    state.sel = Math.max(0, Math.min(i, state.cards.length - 1));
    const c = grid.children[state.sel];
    if (!c) return;
    c.classList.add("sel");
    c.scrollIntoView({ block: "nearest" });
    if (state.sel >= state.cards.length - 6) loadMore();
  }

  function setStatus(text) { $("#status-line").textContent = text; }

  async function loadMore() {
    if (state.loading || state.done || state.view !== "samples") return;
    state.loading = true;
    const gen = state.gen;
    try {
      const page = await fetchPage(state.cards.length);
      if (gen !== state.gen) return;
      state.total = page.total;
      const frag = document.createDocumentFragment();
      for (const card of page.cards) { state.cards.push(card); frag.append(renderCard(card)); }
      $("#grid").append(frag);
      state.done = state.cards.length >= page.total || page.cards.length === 0;
      if (state.cards.length === 0) setStatus("no sample matches these filters");
      else setStatus(`${state.cards.length} of ${page.total} shown` + (state.done ? "" : " (scroll for more)"));
      if (state.sel < 0 && state.cards.length) select(0);
    } catch (err) {
      setStatus("error: " + err.message);
    } finally {
      if (gen === state.gen) state.loading = false;
    }
    if (!state.done && sentinelVisible()) loadMore();
  }

  function sentinelVisible() {
    const r = $("#sentinel").getBoundingClientRect();
    return r.top < window.innerHeight + 800;
  }

  function reset() {
    state.gen += 1; state.cards = []; state.sel = -1; state.done = false; state.loading = false;
    $("#grid").replaceChildren();
    loadMore();
  }

  async function refreshSummary() {
    let s = DATA && DATA.summary;
    if (!STATIC) { try { s = await getJSON("api/summary"); } catch (err) { return; } }
    if (!s) return;
    if (STATIC) {
      const rej = [...state.pending.values()].filter((d) => d.decision === "reject").length;
      $("#summary").textContent = `${s.total} samples in ${CONFIG.store} · ${s.reviewed} reviewed · ${s.rejected} rejected` + (rej ? ` · ${rej} new rejections below` : "") + (DATA.note ? " · " + DATA.note : "");
      return;
    }
    $("#summary").textContent = `${s.total} samples · ${s.reviewed} reviewed · ${s.rejected} rejected · ${s.unreviewed} to go`;
  }

  async function loadFacets() {
    let f = DATA && DATA.facets;
    if (!STATIC) { try { f = await getJSON("api/facets"); } catch (err) { setStatus("error: " + err.message); return; } }
    for (const [name, values] of Object.entries(f || {})) {
      const sel = document.querySelector(`#filters select[name="${name}"]`);
      if (!sel) continue;
      for (const v of values) sel.append(el("option", { value: v, text: v }));
    }
  }

  // ---- decisions -----------------------------------------------------------------------
  async function decide(decision, reason) {
    const card = state.cards[state.sel];
    if (!card) return;
    try {
      const res = await postDecision(card.id, decision, reason);
      state.undo.push(card.id);
      replaceCard(res.card);
      refreshSummary();
      select(state.sel + 1);
    } catch (err) { setStatus("error: " + err.message); }
  }

  async function undo() {
    const id = state.undo.pop();
    if (id === undefined) { setStatus("nothing to undo"); return; }
    try {
      const res = await postDecision(id, "undo", null);
      replaceCard(res.card);
      const i = state.cards.findIndex((x) => x.id === id);
      if (i >= 0) select(i);
      refreshSummary();
      setStatus(`undid the last decision on ${id}`);
    } catch (err) { setStatus("error: " + err.message); state.undo.push(id); }
  }

  function openReject() {
    const card = state.cards[state.sel];
    if (!card) return;
    $("#reject-id").textContent = `${card.plan_key} (${card.id})`;
    $("#reject-reason").value = "";
    $("#reject-dialog").showModal();
    $("#reject-reason").focus();
  }

  // ---- detail view ---------------------------------------------------------------------
  async function openDetail() {
    const card = state.cards[state.sel];
    if (!card) return;
    let d;
    if (STATIC) d = { record: DATA.records[String(card.id)] || {}, card, history: [] };
    else { try { d = await getJSON("api/sample/" + card.id); } catch (err) { setStatus("error: " + err.message); return; } }
    const rows = el("table");
    for (const [k, v] of Object.entries(d.record)) {
      const val = typeof v === "string" ? v : JSON.stringify(v);
      rows.append(el("tr", {}, el("td", { text: k }), el("td", {}, el("pre", { text: val }))));
    }
    const hist = d.history.length
      ? el("p", { text: "history: " + d.history.map((h) => `${h.time} ${h.decision}${h.reason ? " (" + h.reason + ")" : ""}`).join("; ") })
      : null;
    $("#detail").replaceChildren(el("h2", { text: `${card.plan_key} · ${card.id}` }),
      picture(card.image, card.boxes, false), caption(card.segments), verdict(d.card), hist, rows);
    $("#detail-dialog").showModal();
    $("#detail").focus();  // not the Close button at the bottom: the dialog opens at its top
    $("#detail-dialog").scrollTop = 0;
  }

  // ---- gate rejects --------------------------------------------------------------------
  async function loadGate() {
    if (state.gateDone) return;
    let page;
    if (STATIC) page = DATA.gate || { total: 0, with_images: 0, items: [] };
    else {
      try { page = await getJSON(`api/gate?images=1&offset=${state.gateOffset}&limit=${PAGE}`); }
      catch (err) { setStatus("error: " + err.message); return; }
    }
    const box = $("#gate");
    if (state.gateOffset === 0 && page.items.length === 0) {
      box.append(el("p", { class: "empty", text: "No rejected attempt was kept. Run generate with --keep-rejected to keep the images the gate rejects, so you can judge the gate." }));
    }
    for (const it of page.items) {
      const pics = el("div", { class: "gate-pics" });
      for (const src of it.images) pics.append(el("img", { src, alt: "rejected attempt", loading: "lazy" }));
      box.append(el("article", { class: "card rejected" }, pics,
        el("div", { class: "meta" }, el("span", { class: "cls-" + it.fake_cls, text: it.fake_cls }), el("code", { text: it.plan_key })),
        el("div", { class: "verdict rejected", text: "gate: " + it.reason + (it.attempt_reasons.length ? " (attempts: " + it.attempt_reasons.join(", ") + ")" : "") })));
    }
    state.gateOffset += page.items.length;
    state.gateDone = STATIC || page.items.length < PAGE;
    setStatus(`${state.gateOffset} of ${page.total} gate rejects with images`);
  }

  function showView(view) {
    state.view = view;
    $("#grid").hidden = view !== "samples";
    $("#gate").hidden = view !== "gate";
    $("#filters").hidden = view !== "samples";
    $("#tab-samples").classList.toggle("on", view === "samples");
    $("#tab-gate").classList.toggle("on", view === "gate");
    if (view === "gate") loadGate(); else setStatus(`${state.cards.length} of ${state.total} shown`);
  }

  // ---- wiring --------------------------------------------------------------------------
  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if ($("#reject-dialog").open || $("#detail-dialog").open) return;
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
    const k = ev.key;
    if (k === "g") { showView(state.view === "gate" ? "samples" : "gate"); ev.preventDefault(); return; }
    if (state.view !== "samples") return;
    const map = {
      j: () => select(state.sel + 1), ArrowRight: () => select(state.sel + 1),
      k: () => select(state.sel - 1), ArrowLeft: () => select(state.sel - 1),
      a: () => decide("accept", null), r: openReject, u: undo, Enter: openDetail,
    };
    if (map[k]) { ev.preventDefault(); map[k](); }
  }

  function init() {
    $("#store").textContent = CONFIG.store + (STATIC ? " (static copy)" : "");
    document.addEventListener("keydown", onKey);
    $("#filters").addEventListener("change", () => {
      state.filters = Object.fromEntries(new FormData($("#filters")).entries());
      reset();
    });
    $("#tab-samples").addEventListener("click", () => showView("samples"));
    $("#tab-gate").addEventListener("click", () => showView("gate"));
    $("#reject-form").addEventListener("submit", (ev) => {
      const reason = $("#reject-reason").value.trim();
      if (!reason) { ev.preventDefault(); return; }
      $("#reject-dialog").close();
      decide("reject", reason);
    });
    $("#reject-cancel").addEventListener("click", () => $("#reject-dialog").close());
    for (const b of document.querySelectorAll(".presets button")) {
      b.addEventListener("click", () => { $("#reject-reason").value = b.dataset.reason; $("#reject-reason").focus(); });
    }
    $("#reject-dialog").addEventListener("keydown", (ev) => {
      if (/^[1-5]$/.test(ev.key) && ev.target === $("#reject-reason") && !$("#reject-reason").value) {
        ev.preventDefault();
        $("#reject-reason").value = document.querySelectorAll(".presets button")[Number(ev.key) - 1].dataset.reason;
      }
    });
    $("#detail-close").addEventListener("click", () => $("#detail-dialog").close());
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { if (state.view === "gate") loadGate(); else loadMore(); }
    }, { rootMargin: "800px" }).observe($("#sentinel"));
    // The first page first: facets and counts need the whole store indexed.
    loadMore().then(() => { loadFacets(); refreshSummary(); });
  }

  init();
})();
