/// The dashboard, shipped inside the binary: one page, one script, one style sheet; no CDN,
/// no build step. The script builds every element with `textContent` and `setAttribute`,
/// never from HTML text, so nothing from the registry is ever parsed as markup; the
/// Content-Security-Policy allows only this origin's script and style.
enum ServePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>imi-sync: in-flight work</title>
        <link rel="stylesheet" href="/app.css">
        <link rel="icon" href="/favicon.svg" type="image/svg+xml">
        </head>
        <body>
        <header>
          <h1>In-flight work</h1>
          <span id="live" class="live" data-state="connecting">connecting…</span>
        </header>
        <main id="projects" aria-live="polite"></main>
        <section id="pair" hidden></section>
        <section id="activity" hidden></section>
        <footer id="summary"></footer>
        <script src="/app.js" defer></script>
        </body>
        </html>
        """#

    /// Two worktrees branching off a trunk.
    static let icon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M4 2v12M4 8c4 0 8-2 8-6M4 8c4 0 8 2 8 6" fill="none" stroke="#28a745" stroke-width="2"/></svg>
        """#

    static let style = #"""
        :root { color-scheme: light dark; --fg: #1b1f23; --bg: #fff; --muted: #6a737d; --line: #e1e4e8;
          --conflict: #d73a49; --clean: #28a745; --overlap: #b08800; --chip: #f1f3f5; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e1e4e8; --bg: #0d1117; --muted: #8b949e; --line: #30363d; --chip: #161b22;
            --conflict: #f85149; --clean: #3fb950; --overlap: #d29922; } }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; align-items: baseline; gap: 1em; padding: .75em 1em; border-bottom: 1px solid var(--line); }
        h1 { font-size: 1.2em; margin: 0; }
        h2 { font-size: 1.05em; margin: 1.2em 1em .4em; }
        .live { font-size: .85em; color: var(--muted); }
        .live[data-state="live"]::before { content: "● "; color: var(--clean); }
        .live[data-state="reconnecting"]::before { content: "● "; color: var(--overlap); }
        .scroll { overflow-x: auto; margin: 0 1em; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; color: var(--muted); font-size: .85em; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        .status { padding: 0 .4em; border-radius: .6em; background: var(--chip); white-space: nowrap; }
        .stale { color: var(--conflict); font-size: .85em; }
        .muted { color: var(--muted); }
        details { margin: .4em 1em; }
        table.matrix { width: auto; }
        .matrix td, .matrix th { text-align: center; min-width: 4.5em; }
        .cell { cursor: pointer; border: 0; background: var(--chip); color: var(--fg); border-radius: .3em; padding: .2em .4em; font: inherit; }
        .cell[data-verdict="conflict"] { color: #fff; background: var(--conflict); }
        .cell[data-verdict="clean"] { color: #fff; background: var(--clean); }
        .cell[data-verdict="overlap"] { color: #000; background: var(--overlap); }
        #pair, #activity { margin: 1em; padding: .5em 1em; border: 1px solid var(--line); border-radius: .4em; }
        .sides pre { overflow-x: auto; background: var(--chip); padding: .5em; font-size: .85em; }
        h3 { font-size: .95em; margin: .6em 0 .2em; }
        button.name { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; text-align: left; }
        footer { margin: 1em; color: var(--muted); font-size: .85em; }
        @media (max-width: 640px) {
          .wide { display: none; }
          th, td { padding: .25em .3em; }
        }
        """#

    static let script = #"""
        "use strict";
        const state = { token: sessionStorage.getItem("imi-token"), inflight: [], pairs: [], open: null };

        function headers() { return state.token ? { Authorization: "Bearer " + state.token } : {}; }

        function askToken() {
          const given = window.prompt("This dashboard needs its token");
          if (given) { state.token = given.trim(); sessionStorage.setItem("imi-token", state.token); }
        }

        // A 401 asks for the token once (not again for answers to requests sent before it was given).
        async function api(path) {
          for (let attempt = 0; attempt < 2; attempt++) {
            const used = state.token;
            const response = await fetch(path, { headers: headers(), cache: "no-store" });
            if (response.status === 401) { if (state.token === used) askToken(); continue; }
            if (!response.ok) throw new Error(path + " answered " + response.status);
            return response.json();
          }
          throw new Error("the token was refused");
        }

        function el(tag, attributes, ...children) {
          const element = document.createElement(tag);
          for (const [name, value] of Object.entries(attributes || {})) {
            if (value !== null && value !== undefined) element.setAttribute(name, String(value));
          }
          for (const child of children) {
            if (child === null || child === undefined) continue;
            element.append(child instanceof Node ? child : document.createTextNode(String(child)));
          }
          return element;
        }

        function age(iso) {
          if (!iso) return "never";
          const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
          if (seconds < 90) return Math.round(seconds) + " s ago";
          if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
          if (seconds < 129600) return Math.round(seconds / 3600) + " h ago";
          return Math.round(seconds / 86400) + " d ago";
        }

        function subject(message) { return message ? message.split("\n")[0] : ""; }

        function row(work) {
          const host = el("td", { class: "wide" }, work.host || "", work.stale ? el("span", { class: "stale" }, " stale") : null);
          const name = el("button", { class: "name", type: "button", title: "recent activity" }, work.worktree);
          name.addEventListener("click", () => showActivities(work));
          return el("tr", { "data-worktree-id": work.worktree_id, "data-status": work.status },
            el("td", {}, name, el("div", { class: "muted" }, work.branch)),
            host,
            el("td", {}, el("span", { class: "status" }, work.status)),
            el("td", { class: "number" }, work.uncommitted_files_count ?? ""),
            el("td", { class: "number" }, (work.ahead_of_trunk ?? "?") + " / " + (work.behind_trunk ?? "?")),
            el("td", { class: "wide" }, subject(work.last_commit_message), el("div", { class: "muted" }, "synced " + age(work.last_sync_at))),
            el("td", {}, work.agent_id || ""));
        }

        function table(rows) {
          const head = el("tr", {}, el("th", {}, "worktree"), el("th", { class: "wide" }, "host"), el("th", {}, "status"),
            el("th", {}, "uncommitted"), el("th", {}, "ahead / behind"), el("th", { class: "wide" }, "last commit"), el("th", {}, "agent"));
          return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
        }

        function verdict(pair) { return pair.conflict === true ? "conflict" : pair.conflict === false ? "clean" : "overlap"; }

        function matrix(project, pairs) {
          const names = new Map();
          for (const pair of pairs) {
            names.set(pair.worktree_a.id, pair.worktree_a.worktree);
            names.set(pair.worktree_b.id, pair.worktree_b.worktree);
          }
          const ids = [...names.keys()].sort();
          const byKey = new Map(pairs.map(pair => {
            const [a, b] = [pair.worktree_a.id, pair.worktree_b.id].sort();
            return [a + ":" + b, pair];
          }));
          const head = el("tr", {}, el("th", {}, ""), ...ids.map(id => el("th", {}, names.get(id))));
          const body = ids.map(a => el("tr", {}, el("th", {}, names.get(a)), ...ids.map(b => {
            if (a >= b) return el("td", {}, "");
            const pair = byKey.get(a + ":" + b);
            if (!pair) return el("td", {}, "");
            const word = verdict(pair);
            const cell = el("button", { class: "cell", type: "button", "data-pair": a + ":" + b, "data-verdict": word,
              title: names.get(a) + " × " + names.get(b) }, word);
            cell.addEventListener("click", () => { state.open = a + ":" + b; showPair(); });
            return el("td", {}, cell);
          })));
          return el("details", { open: "" }, el("summary", {}, "overlaps in " + project + " (" + pairs.length + ")"),
            el("div", { class: "scroll" }, el("table", { class: "matrix" }, el("thead", {}, head), el("tbody", {}, ...body))));
        }

        function showPair() {
          const box = document.getElementById("pair");
          const pair = state.pairs.find(p => [p.worktree_a.id, p.worktree_b.id].sort().join(":") === state.open);
          box.replaceChildren();
          if (!pair) { box.hidden = true; return; }
          box.hidden = false;
          const close = el("button", { type: "button" }, "close");
          close.addEventListener("click", () => { state.open = null; showPair(); });
          const paths = pair.paths.map(p => {
            const item = el("li", { "data-path": p.path }, p.path + " (" + p.kind_a + " / " + p.kind_b + ")",
              p.conflict === true ? " conflicts" : p.conflict === false ? " merges cleanly" : " not merged here");
            if (p.conflict === true) {
              const show = el("button", { type: "button", class: "hunks" }, "both sides");
              show.addEventListener("click", () => showHunks(pair, p.path, item));
              item.append(" ", show);
            }
            return item;
          });
          box.append(el("h2", {}, pair.worktree_a.worktree + " × " + pair.worktree_b.worktree + ": " + verdict(pair)),
            el("ul", {}, ...paths), close);
        }

        // What each side changed in a conflicting path since its merge base (read on this host).
        async function showHunks(pair, path, item) {
          const query = "?a=" + encodeURIComponent(pair.worktree_a.id) + "&b=" + encodeURIComponent(pair.worktree_b.id) +
            "&path=" + encodeURIComponent(path);
          const old = item.querySelector(".sides");
          if (old) old.remove();
          const sides = el("div", { class: "sides" });
          item.append(sides);
          try {
            const response = await fetch("/api/hunks" + query, { headers: headers(), cache: "no-store" });
            const answer = await response.json();
            if (!response.ok) { sides.append(el("p", { class: "muted" }, answer.error || String(response.status))); return; }
            for (const side of answer.sides) {
              sides.append(el("h3", {}, side.worktree),
                side.diff !== null ? el("pre", { "data-side": side.worktree_id }, side.diff) : el("p", { class: "muted" }, side.problem));
            }
          } catch (error) { sides.append(el("p", { class: "muted" }, error.message)); }
        }

        async function showActivities(work) {
          const box = document.getElementById("activity");
          try {
            const answer = await api("/api/worktrees/" + encodeURIComponent(work.worktree_id) + "/activities");
            const close = el("button", { type: "button" }, "close");
            close.addEventListener("click", () => { box.hidden = true; box.replaceChildren(); });
            const items = answer.activities.map(a => el("li", { "data-activity": a.type },
              age(a.created_at) + " · " + a.agent_id + " · " + a.type + (a.file_path ? " " + a.file_path : "") +
              (a.description ? ": " + a.description : "")));
            box.replaceChildren(el("h2", {}, "recent activity in " + work.worktree),
              items.length ? el("ul", {}, ...items) : el("p", { class: "muted" }, "no activity recorded"), close);
            box.hidden = false;
          } catch (error) { setLive(error.message); }
        }

        function render() {
          const projects = new Map();
          for (const work of state.inflight) {
            if (!projects.has(work.project)) projects.set(work.project, []);
            projects.get(work.project).push(work);
          }
          for (const pair of state.pairs) if (!projects.has(pair.project)) projects.set(pair.project, []);
          const sections = [...projects.keys()].sort().map(project => {
            const rows = projects.get(project);
            const live = rows.filter(w => w.status !== "merged").map(row);
            const merged = rows.filter(w => w.status === "merged").map(row);
            const pairs = state.pairs.filter(p => p.project === project);
            return el("section", { "data-project": project }, el("h2", {}, project),
              live.length ? table(live) : el("p", { class: "muted" }, "nothing in flight"),
              merged.length ? el("details", {}, el("summary", {}, merged.length + " merged with uncommitted changes"), table(merged)) : null,
              pairs.length ? matrix(project, pairs) : null);
          });
          document.getElementById("projects").replaceChildren(...sections);
          const conflicts = state.pairs.filter(p => p.conflict === true).length;
          document.getElementById("summary").textContent =
            state.inflight.length + " in flight, " + state.pairs.length + " overlapping pairs, " + conflicts + " conflicting";
          showPair();
        }

        function setLive(word) {
          const live = document.getElementById("live");
          live.dataset.state = word;
          live.textContent = word;
        }

        // What the page shows is generation `feed.generation` of the server's documents: read
        // whole (/api/snapshot) on every (re)connect, then patched by each `event: patch` whose
        // `from` is that generation. A patch from elsewhere (one was lost) reads it again; patches
        // that arrive during a read wait for it, so nothing older than what was read is shown.
        const feed = { generation: null, reading: false, again: false, pending: [] };

        function patched(rows, changes, keyOf) {
          const removed = new Set(changes.remove);
          const upserts = new Map(changes.upsert.map(r => [keyOf(r), r]));
          let next = rows.filter(r => !removed.has(keyOf(r))).map(r => {
            const replacement = upserts.get(keyOf(r));
            if (replacement === undefined) return r;
            upserts.delete(keyOf(r));
            return replacement;
          });
          next.push(...upserts.values());
          if (changes.order) {
            const byKey = new Map(next.map(r => [keyOf(r), r]));
            next = changes.order.map(key => byKey.get(key));
            if (next.some(r => r === undefined)) return null;
          }
          return next;
        }

        const workKey = work => work.worktree_id;
        const pairKey = pair => pair.worktree_a.id + ":" + pair.worktree_b.id;

        // Applies one patch; false when it does not follow what is shown (read again).
        function apply(patch) {
          if (patch.to <= feed.generation) return true;
          if (patch.from !== feed.generation) return false;
          const inflight = patched(state.inflight, patch.inflight, workKey);
          const pairs = patched(state.pairs, patch.pairs, pairKey);
          if (!inflight || !pairs) return false;
          state.inflight = inflight;
          state.pairs = pairs;
          feed.generation = patch.to;
          return true;
        }

        function take(patch) {
          if (feed.generation === null) {
            if (feed.pending.length < 256) feed.pending.push(patch);
            if (!feed.reading) reread();
            return;
          }
          if (apply(patch)) render(); else reread();
        }

        // Coalesced: asked again while a read runs, it reads once more after it.
        async function reread() {
          if (feed.reading) { feed.again = true; return; }
          feed.reading = true;
          try {
            do {
              feed.again = false;
              feed.generation = null;
              const snapshot = await api("/api/snapshot");
              state.inflight = snapshot.inflight;
              state.pairs = snapshot.pairs;
              feed.generation = snapshot.generation;
              for (const patch of feed.pending.splice(0)) if (!apply(patch)) feed.again = true;
            } while (feed.again);
            render();
          } catch (error) {
            feed.generation = null;
            setLive(error.message);
          } finally { feed.reading = false; }
        }

        // Server-sent events read with fetch, so the token travels in a header, not the URL.
        async function follow() {
          let delay = 500;
          for (;;) {
            try {
              const used = state.token;
              const response = await fetch("/events?patches=1", { headers: headers(), cache: "no-store" });
              if (response.status === 401) {
                if (state.token === used) askToken();
                if (state.token !== used) continue;
                throw new Error("unauthorized");
              }
              if (!response.ok || !response.body) throw new Error("events answered " + response.status);
              setLive("live");
              delay = 500;
              // Subscribed before this read: every later change comes as a patch.
              reread();
              const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
              let buffer = "";
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += value;
                let end;
                while ((end = buffer.indexOf("\n\n")) >= 0) {
                  const block = buffer.slice(0, end);
                  buffer = buffer.slice(end + 2);
                  // Split at line feeds only, as the stream is: a regular expression's `.` and
                  // `$` would also stop at U+2028 inside a JSON string.
                  let kind = null, data = null;
                  for (const line of block.split("\n")) {
                    if (line.startsWith("event: ")) kind = line.slice(7);
                    else if (line.startsWith("data: ")) data = line.slice(6);
                  }
                  if (kind === "patch" && data !== null) take(JSON.parse(data));
                }
              }
            } catch (error) { /* reconnect below */ }
            // Patches may be lost while disconnected: the next connection reads again.
            feed.generation = null;
            feed.pending.length = 0;
            setLive("reconnecting");
            await new Promise(resolve => setTimeout(resolve, delay));
            delay = Math.min(delay * 2, 10000);
          }
        }

        // Ask for the token before the first request when the server wants one, so no request
        // is refused on the way.
        async function start() {
          try {
            const health = await (await fetch("/healthz", { cache: "no-store" })).json();
            if (health.token_required && !state.token) askToken();
          } catch (error) { /* the requests below say what is wrong */ }
          follow();
        }

        start();
        """#
}
