// signalbridge sandbox page: a visitor chatbox, an operator inbox and the session's data, driven
// by the fake Crisp's /_sandbox/ JSON API, live from its event stream, with the bridge's mode and
// audit trail polled from the admin API. The Start / Pause / Human buttons are handled by the real
// signalbridge.js, loaded from the bridge; the tiny $crisp shim below forwards its session:data
// writes to the sandbox visitor control, as the Crisp chatbox would forward them to Crisp.
(function () {
  "use strict";

  var cfg = window.SANDBOX_CONFIG || {};
  var SANDBOX = trimSlash(cfg.sandboxURL || "");
  var BRIDGE = trimSlash(cfg.bridgeURL || "");
  var BRIDGE_POLL_MS = 1000;

  var state = {
    website: cfg.websiteID || "",
    session: "", // the current conversation, shared by the three columns
    conv: null, // snapshot of the current conversation (sandbox)
    convs: [],
    operators: [],
    bridge: null, // the bridge's view of the current conversation
    lastSeq: 0,
    run: "", // the sandbox's run id: a new one means the demo restarted
    live: false, // the event stream is open and of this run: the bridge is worth asking
    composeMode: "reply", // the operator composer: "reply" (to the visitor) or "note" (private)
    visitorInfo: { nickname: "", locales: navigator.languages ? Array.prototype.slice.call(navigator.languages, 0, 3) : [] }
  };

  function $(id) {
    return document.getElementById(id);
  }

  function trimSlash(s) {
    return s.replace(/\/+$/, "");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = text;
    }
    return e;
  }

  function clock(ms) {
    if (!ms) {
      return "";
    }
    var d = new Date(ms);
    return d.toTimeString().slice(0, 8);
  }

  // hhmm is a message's time as a chat shows it ("14:05").
  function hhmm(ms) {
    return ms ? new Date(ms).toTimeString().slice(0, 5) : "";
  }

  var URL_RE = /https?:\/\/[^\s<>"'\u2026]+/g; // a truncated URL ("https://help.ni…") stops at the ellipsis

  // linked renders text with its http(s) URLs as links (new tab); the text content is unchanged.
  function linked(cls, text) {
    var span = el("span", cls);
    var at = 0;
    text.replace(URL_RE, function (u, i) {
      var trail = /[.,;:!?)\]]+$/.exec(u); // sentence punctuation after a URL is not part of it
      if (trail) {
        u = u.slice(0, u.length - trail[0].length);
      }
      span.appendChild(document.createTextNode(text.slice(at, i)));
      var a = el("a", "link", u);
      a.href = u;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      span.appendChild(a);
      at = i + u.length;
      return u;
    });
    span.appendChild(document.createTextNode(text.slice(at)));
    return span;
  }

  // looksLikeCommand is a text an operator meant as a command ("/ai on"), not for the visitor.
  function looksLikeCommand(text) {
    return /^\/[a-z]/i.test(text);
  }

  function shortSession(id) {
    return id ? id.replace(/^session_/, "").slice(0, 8) : "";
  }

  var toastTimer = null;
  function toast(msg, bad) {
    var t = $("toast");
    t.textContent = msg;
    t.className = "toast" + (bad ? " bad" : "");
    t.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () {
      t.hidden = true;
    }, 3500);
  }

  function pill(id, ok, text) {
    var p = $(id);
    p.className = "pill " + (ok === true ? "ok" : ok === false ? "bad" : "");
    p.textContent = text;
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  function request(method, url, body, headers) {
    var opts = { method: method, headers: headers || {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = { error: text };
        }
        if (!res.ok) {
          var err = new Error((data && data.error) || res.status + " " + res.statusText);
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  // sandbox is the fake Crisp's control API (not Crisp's own API).
  var sandbox = {
    websites: function () {
      return request("GET", SANDBOX + "/_sandbox/websites");
    },
    conversations: function () {
      return request("GET", SANDBOX + "/_sandbox/conversations?website_id=" + encodeURIComponent(state.website));
    },
    conversation: function (session) {
      return request("GET", SANDBOX + "/_sandbox/conversation?website_id=" + encodeURIComponent(state.website) +
        "&session_id=" + encodeURIComponent(session));
    },
    last: function () {
      return request("GET", SANDBOX + "/_sandbox/events?timeout=0");
    },
    post: function (path, body) {
      body.website_id = state.website;
      return request("POST", SANDBOX + "/_sandbox/" + path, body);
    }
  };

  // bridge is signalbridge's admin API.
  var bridge = {
    headers: function () {
      return cfg.adminToken ? { Authorization: "Bearer " + cfg.adminToken } : {};
    },
    // conversation answers null (204) while the bridge has not stored the conversation yet.
    conversation: function (session) {
      return request("GET", BRIDGE + "/v1/conversations/" + encodeURIComponent(state.website) + "/" +
        encodeURIComponent(session) + "?optional=true", undefined, bridge.headers());
    },
    control: function (session, command) {
      return request("POST", BRIDGE + "/v1/conversations/" + encodeURIComponent(state.website) + "/" +
        encodeURIComponent(session) + "/" + command, {}, bridge.headers());
    }
  };

  function newSessionID() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = "";
    for (var i = 0; i < 16; i++) {
      h += (b[i] + 0x100).toString(16).slice(1);
      if (i === 3 || i === 5 || i === 7 || i === 9) {
        h += "-";
      }
    }
    return "session_" + h;
  }

  // ensureSession returns the current session, starting a new one when there is none (the sandbox
  // creates the conversation on the visitor's first action).
  function ensureSession() {
    if (!state.session) {
      select(newSessionID());
    }
    return state.session;
  }

  function visitorBody(extra) {
    var b = {
      session_id: ensureSession(),
      locales: state.visitorInfo.locales
    };
    for (var k in extra) {
      if (Object.prototype.hasOwnProperty.call(extra, k)) {
        b[k] = extra[k];
      }
    }
    return b;
  }

  function act(promise, what) {
    return promise.then(function (r) {
      refreshSoon();
      return r;
    }, function (err) {
      toast(what + ": " + err.message, true);
      throw err;
    });
  }

  // ---- the $crisp shim --------------------------------------------------------------------------

  // Like the Crisp chatbox, the shim keeps the session data locally (so get() sees a write at once)
  // and forwards writes to the server; here the server is the sandbox visitor control.
  var crispHandlers = {};
  var localData = {};

  function crispPush(cmd) {
    if (!cmd || !cmd.length) {
      return;
    }
    if (cmd[0] === "set" && cmd[1] === "session:data") {
      var args = cmd[2] || [];
      var pairs = Array.isArray(args[0]) ? args[0] : [args]; // [[[k,v],...]] or the older [k,v]
      var data = {};
      for (var i = 0; i < pairs.length; i++) {
        if (Array.isArray(pairs[i]) && pairs[i].length === 2) {
          data[pairs[i][0]] = pairs[i][1];
          localData[pairs[i][0]] = pairs[i][1];
        }
      }
      logLocal("$crisp set session:data " + JSON.stringify(data));
      act(sandbox.post("visitor/data", visitorBody({ data: data })), "session data");
    } else if (cmd[0] === "on" && typeof cmd[2] === "function") {
      crispHandlers[cmd[1]] = cmd[2];
      if (cmd[1] === "session:loaded" && state.session) {
        fire("session:loaded", state.session);
      }
    } else if (cmd[0] === "off") {
      delete crispHandlers[cmd[1]];
    } else if (cmd[0] === "do" && cmd[1] === "message:send" && cmd[2]) {
      act(sandbox.post("visitor/send", visitorBody({ text: String(cmd[2][1]) })), "send");
    }
  }

  function fire(event, arg) {
    var h = crispHandlers[event];
    if (h) {
      window.setTimeout(function () {
        h(arg);
      }, 0);
    }
  }

  var queued = Array.isArray(window.$crisp) ? window.$crisp : [];
  window.$crisp = {
    push: crispPush,
    get: function (method, key) {
      if (method === "session:data") {
        if (key === undefined || key === null) {
          return localData;
        }
        return Object.prototype.hasOwnProperty.call(localData, key) ? String(localData[key]) : null;
      }
      if (method === "session:identifier") {
        return state.session || null;
      }
      return null;
    },
    is: function (method) {
      return method === "website:available" ? anyOnline() : false;
    }
  };
  for (var qi = 0; qi < queued.length; qi++) {
    crispPush(queued[qi]);
  }

  // refreshHours shows the website's support hours as the snippet reads them (hidden when the
  // website has none).
  function refreshHours() {
    if (!window.SignalBridge || !window.SignalBridge.hours) {
      return;
    }
    window.SignalBridge.hours(state.website).then(function (h) {
      // Shown in the team's time zone, as labelled (not the browser's).
      var when = function (iso) {
        var d = new Date(iso);
        var o = { weekday: "long", hour: "2-digit", minute: "2-digit" };
        try {
          return d.toLocaleString(undefined, Object.assign({ timeZone: h.time_zone }, o));
        } catch (e) {
          return d.toLocaleString(undefined, o) + " (your time)";
        }
      };
      $("hours-card").hidden = false;
      $("hours-closed").checked = !!h.forced_closed;
      var b = $("hours-state");
      b.textContent = (h.open ? "open until " + when(h.until) : "closed" + (h.forced_closed ? " (forced)" : "") +
        (h.next ? ", back " + when(h.next) : "")) + " · " + h.time_zone;
      b.className = "mode " + (h.open ? "active" : "paused");
    }, function () {
      $("hours-card").hidden = true;
    });
  }

  function loadSnippet() {
    var s = document.createElement("script");
    s.src = BRIDGE + "/signalbridge.js";
    s.async = true;
    s.setAttribute("data-signalbridge-poll", "500");
    s.onload = function () {
      if (!window.SignalBridge) {
        pill("conn-snippet", false, "snippet broken");
        return;
      }
      pill("conn-snippet", true, "snippet loaded");
      refreshHours();
      window.SignalBridge.init({
        onState: function (st) {
          var b = $("snippet-state");
          b.textContent = st.state + (st.reason && st.state !== "active" ? " (" + st.reason + ")" : "");
          b.className = "mode " + st.state;
        }
      });
    };
    s.onerror = function () {
      pill("conn-snippet", false, "snippet not loaded");
      toast("could not load " + s.src + ": the page buttons will not work", true);
    };
    document.head.appendChild(s);
  }

  // ---- rendering --------------------------------------------------------------------------------

  // sync makes list's children the rendered items, reusing the node of every item whose signature
  // did not change (so a half-typed field answer survives a refresh).
  function sync(list, items, key, sig, render) {
    var old = {};
    var i;
    for (i = 0; i < list.children.length; i++) {
      var c = list.children[i];
      if (c.dataset.key) {
        old[c.dataset.key] = c;
      }
    }
    var nodes = [];
    for (i = 0; i < items.length; i++) {
      var k = key(items[i]);
      var s = sig(items[i]);
      var n = old[k];
      if (!n || n.dataset.sig !== s) {
        n = render(items[i]);
        n.dataset.key = k;
        n.dataset.sig = s;
      }
      nodes.push(n);
    }
    var changed = nodes.length !== list.children.length;
    for (i = 0; !changed && i < nodes.length; i++) {
      changed = list.children[i] !== nodes[i];
    }
    if (changed) {
      var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      for (i = 0; i < nodes.length; i++) {
        list.appendChild(nodes[i]);
      }
      if (atBottom || list.scrollTop === 0) {
        list.scrollTop = list.scrollHeight;
      }
    }
  }

  function isBot(m) {
    return m.from === "operator" && (m.automated || /^urn:/.test(m.origin || ""));
  }

  function author(m) {
    if (m.from === "user") {
      return (state.conv && state.conv.nickname) || "Visitor";
    }
    var name = (m.user && m.user.nickname) || "Operator";
    return isBot(m) ? name + " (bot)" : name;
  }

  function msgSig(m) {
    return JSON.stringify([m.type, m.content, m.edited, m.mentions, m.timestamp]);
  }

  function operatorName(id) {
    var name = "";
    state.operators.forEach(function (o) {
      if (o.user_id === id) {
        name = o.nickname;
      }
    });
    return name || "operator " + String(id).slice(0, 8);
  }

  // renderMessage renders a message as Crisp shows it: text with links, a picker's choices as
  // buttons, a field as an input (read-only once answered), a note as a private yellow note with its
  // mentions. The message type is kept in data-type for tests, never shown as a tag.
  function renderMessage(m, side) {
    var mine = side === "visitor" ? m.from === "user" : m.from === "operator";
    var li = el("li", "msg " + (m.type === "note" ? "note" : mine ? "mine" : "theirs") + (isBot(m) ? " bot" : ""));
    li.dataset.fingerprint = m.fingerprint;
    li.dataset.from = m.from;
    li.dataset.type = m.type;
    var who = el("span", "who", author(m));
    if (m.type === "note") {
      who.appendChild(el("span", "private", " · private note"));
    }
    if (m.timestamp) {
      var at = el("time", "at", hhmm(m.timestamp));
      at.dateTime = new Date(m.timestamp).toISOString();
      at.title = new Date(m.timestamp).toLocaleString();
      who.appendChild(at);
    }
    li.appendChild(who);
    var c = m.content;
    if (typeof c === "string") {
      li.appendChild(linked("text", c));
      renderMentions(li, m);
      return li;
    }
    c = c || {};
    if (c.text) {
      li.appendChild(linked("text", c.text));
    }
    if (m.type === "picker") {
      var box = el("div", "choices");
      var chosen = (c.choices || []).some(function (ch) {
        return ch.selected;
      });
      (c.choices || []).forEach(function (ch) {
        var b = el("button", "choice" + (ch.selected ? " selected" : ""), ch.label || ch.value);
        b.type = "button";
        b.dataset.value = ch.value;
        if (side === "visitor") {
          b.addEventListener("click", function () {
            act(sandbox.post("visitor/click", visitorBody({ fingerprint: m.fingerprint, value: ch.value })), "click");
          });
        } else {
          b.disabled = true;
        }
        if (chosen && !ch.selected) {
          b.classList.add("other");
        }
        box.appendChild(b);
      });
      li.appendChild(box);
    } else if (m.type === "field") {
      var answered = c.value !== undefined && c.value !== null && c.value !== "";
      var f = el("form", "field" + (answered ? " answered" : ""));
      var input = el("input");
      input.type = "text";
      input.placeholder = c.explain || "";
      input.value = c.value || "";
      input.setAttribute("aria-label", c.text || "field");
      var send = el("button", "btn small", "OK");
      send.type = "submit";
      if (answered) {
        // Answered: shown as the value with a check, like Crisp's chatbox, no longer editable.
        input.readOnly = true;
        input.disabled = true;
        send.hidden = true;
        f.appendChild(input);
        f.appendChild(el("span", "check", "✓"));
        li.appendChild(f);
        return li;
      }
      if (side !== "visitor") {
        input.disabled = true;
        send.disabled = true;
      }
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (input.value.trim() === "") {
          return;
        }
        act(sandbox.post("visitor/fill", visitorBody({ fingerprint: m.fingerprint, value: input.value.trim() })), "fill");
      });
      f.appendChild(input);
      f.appendChild(send);
      li.appendChild(f);
    } else if (m.type === "file" || m.type === "animation" || m.type === "audio") {
      var a = el("a", "", c.name || c.url || m.type);
      a.href = c.url || "#";
      a.target = "_blank";
      a.rel = "noopener";
      li.appendChild(a);
    } else if (!c.text) {
      li.appendChild(el("span", "text muted", JSON.stringify(c)));
    }
    renderMentions(li, m);
    return li;
  }

  function renderMentions(li, m) {
    if (!m.mentions || !m.mentions.length) {
      return;
    }
    var box = el("div", "mentions");
    box.appendChild(el("span", "muted", "Mentions "));
    m.mentions.forEach(function (id) {
      var t = el("span", "mention", "@" + operatorName(id));
      t.dataset.user = id;
      box.appendChild(t);
    });
    li.appendChild(box);
  }

  function renderVisitor() {
    var list = $("visitor-messages");
    var msgs = state.conv ? state.conv.messages.filter(function (m) {
      return m.type !== "note" && m.type !== "event";
    }) : [];
    if (!msgs.length) {
      list.innerHTML = "";
      list.appendChild(el("li", "empty", state.session ? "Say hello to start the conversation." : "Start a conversation: write a message."));
    } else {
      sync(list, msgs, function (m) {
        return "v" + m.fingerprint;
      }, msgSig, function (m) {
        return renderMessage(m, "visitor");
      });
    }
    // The first questions are offered until the visitor wrote something.
    $("visitor-suggest").hidden = msgs.length > 0;
    var typing = !!(state.conv && state.conv.compose === "start");
    $("visitor-typing").hidden = !typing;
    var avail = $("visitor-availability");
    avail.className = "dot" + (anyOnline() ? " on" : "");
    avail.title = anyOnline() ? "an operator is online" : "no operator online";
  }

  function renderOperator() {
    var list = $("operator-messages");
    var c = state.conv;
    $("operator-title").textContent = c ? (c.nickname || "Visitor") + " · " + shortSession(c.session_id) : "No conversation";
    var badge = $("operator-state");
    badge.textContent = c ? c.state : "";
    badge.className = "badge " + (c ? c.state : "");
    $("operator-resolve").disabled = !c || c.state === "resolved";
    if (!c || !c.messages.length) {
      list.innerHTML = "";
      list.appendChild(el("li", "empty", "No messages yet."));
      return;
    }
    sync(list, c.messages, function (m) {
      return "o" + m.fingerprint;
    }, msgSig, function (m) {
      return renderMessage(m, "operator");
    });
  }

  var stateOrder = { pending: 0, unresolved: 1, resolved: 2 };

  function renderInbox() {
    var list = $("inbox-list");
    var convs = state.convs.slice().sort(function (a, b) {
      var d = (stateOrder[a.state] || 0) - (stateOrder[b.state] || 0);
      return d !== 0 ? d : b.updated_at - a.updated_at;
    });
    if (!convs.length) {
      list.innerHTML = "";
      list.appendChild(el("li", "empty", "No conversations yet."));
      return;
    }
    sync(list, convs, function (c) {
      return c.session_id;
    }, function (c) {
      return JSON.stringify([c.state, c.updated_at, c.session_id === state.session, c.messages.length, c.nickname]);
    }, function (c) {
      var li = el("li", c.session_id === state.session ? "active" : "");
      li.dataset.session = c.session_id;
      li.appendChild(el("span", "name", (c.nickname || "Visitor") + " · " + shortSession(c.session_id)));
      li.appendChild(el("span", "badge " + c.state, c.state));
      var last = c.messages.length ? c.messages[c.messages.length - 1] : null;
      var text = last ? (typeof last.content === "string" ? last.content : (last.content && last.content.text) || last.type) : "(no messages)";
      li.appendChild(el("span", "excerpt", (last && last.type === "note" ? "Note: " : "") + text));
      li.addEventListener("click", function () {
        select(c.session_id);
      });
      return li;
    });
  }

  var shownData = {};

  function renderSession() {
    var c = state.conv;
    $("session-id").textContent = state.session || "–";
    var body = $("data-panel").tBodies[0];
    body.innerHTML = "";
    var data = (c && c.data) || {};
    var keys = Object.keys(data).sort();
    if (!keys.length) {
      var tr0 = el("tr");
      var td0 = el("td", "muted", "no session data");
      td0.colSpan = 2;
      tr0.appendChild(td0);
      body.appendChild(tr0);
    }
    keys.forEach(function (k) {
      var v = String(data[k]);
      var tr = el("tr", shownData[k] !== undefined && shownData[k] !== v ? "flash" : "");
      tr.dataset.key = k;
      tr.appendChild(el("td", "", k));
      tr.appendChild(el("td", "", v));
      body.appendChild(tr);
    });
    shownData = {};
    keys.forEach(function (k) {
      shownData[k] = String(data[k]);
    });

    var facts = $("state-panel");
    facts.innerHTML = "";
    var assigned = "";
    if (c && c.assigned) {
      state.operators.forEach(function (o) {
        if (o.user_id === c.assigned) {
          assigned = o.nickname;
        }
      });
      assigned = assigned || c.assigned;
    }
    var rows = c ? [
      ["state", c.state],
      ["typing", c.compose === "start" ? "operator is typing…" : "–"],
      ["assigned", assigned || "–"],
      ["nickname", c.nickname || "–"],
      ["email", c.email || "–"],
      ["locales", (c.locales || []).join(", ") || "–"]
    ] : [["state", "no conversation"]];
    rows.forEach(function (r) {
      facts.appendChild(el("dt", "", r[0]));
      var dd = el("dd", "", r[1]);
      dd.dataset.fact = r[0];
      facts.appendChild(dd);
    });
    var tags = $("segments-panel");
    tags.innerHTML = "";
    ((c && c.segments) || []).forEach(function (s) {
      tags.appendChild(el("span", "tag", s));
    });
  }

  function renderBridge(err) {
    var mode = $("mode-value");
    var detail = $("mode-detail");
    var audit = $("audit-list");
    var v = state.bridge;
    if (err) {
      mode.textContent = err;
      mode.className = "mode waiting";
      detail.textContent = "";
      audit.innerHTML = "";
      return;
    }
    if (!v) {
      mode.textContent = "–";
      mode.className = "mode waiting";
      detail.textContent = state.session ? "not seen by the bridge yet" : "";
      audit.innerHTML = "";
      return;
    }
    mode.textContent = v.mode;
    mode.className = "mode " + v.mode;
    var parts = [];
    if (v.reason) {
      parts.push(v.reason);
    }
    if (v.since) {
      parts.push("since " + clock(v.since));
    }
    parts.push(v.replies + " repl" + (v.replies === 1 ? "y" : "ies") + " in total");
    detail.textContent = parts.join(" · ");
    var entries = (v.audit || []).slice().reverse();
    sync(audit, entries, function (a) {
      return a.at + ":" + a.from + ":" + a.to + ":" + a.source;
    }, function (a) {
      return JSON.stringify(a);
    }, function (a) {
      var li = el("li");
      li.appendChild(el("time", "", clock(a.at)));
      var w = el("span", "what", (a.from || "new") + " → " + a.to + " ");
      w.appendChild(el("span", "src", a.reason + " · " + a.source + (a.detail ? " · " + a.detail : "")));
      li.appendChild(w);
      return li;
    });
  }

  function renderOperators() {
    var o = state.operators[0];
    $("operator-name").textContent = o ? o.nickname + (o.online ? " · online" : " · offline") : "no operator";
    $("operator-online").checked = !!(o && o.online);
  }

  function anyOnline() {
    return state.operators.some(function (o) {
      return o.online;
    });
  }

  function renderSessions() {
    var sel = $("visitor-session");
    var ids = state.convs.map(function (c) {
      return c.session_id;
    });
    if (state.session && ids.indexOf(state.session) < 0) {
      ids.unshift(state.session);
    }
    var sig = JSON.stringify([ids, state.session]);
    if (sel.dataset.sig === sig) {
      return;
    }
    sel.dataset.sig = sig;
    sel.innerHTML = "";
    if (!ids.length) {
      sel.appendChild(el("option", "", "no conversation"));
    }
    ids.forEach(function (id) {
      var o = el("option", "", shortSession(id));
      o.value = id;
      o.selected = id === state.session;
      sel.appendChild(o);
    });
  }

  function renderAll() {
    renderSessions();
    renderInbox();
    renderVisitor();
    renderOperator();
    renderSession();
    renderOperators();
  }

  // ---- state --------------------------------------------------------------------------------------

  function select(session) {
    if (session === state.session) {
      return;
    }
    state.session = session;
    state.conv = null;
    state.bridge = null;
    localData = {};
    shownData = {};
    state.convs.forEach(function (c) {
      if (c.session_id === session) {
        state.conv = c;
        localData = copy(c.data);
      }
    });
    renderAll();
    renderBridge();
    refreshSoon();
    pollBridge();
    fire("session:loaded", session);
  }

  function copy(o) {
    var r = {};
    for (var k in o || {}) {
      if (Object.prototype.hasOwnProperty.call(o, k)) {
        r[k] = o[k];
      }
    }
    return r;
  }

  var refreshing = false;
  var refreshAgain = false;
  var refreshTimer = null;

  // refreshSoon coalesces refreshes: bursts of events cause one reload of the sandbox state.
  function refreshSoon() {
    if (refreshTimer) {
      return;
    }
    refreshTimer = window.setTimeout(function () {
      refreshTimer = null;
      refresh();
    }, 30);
  }

  function refresh() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    Promise.all([sandbox.conversations(), sandbox.websites()]).then(function (r) {
      state.convs = r[0].conversations || [];
      (r[1].websites || []).forEach(function (w) {
        if (w.website_id === state.website) {
          state.operators = w.operators || [];
        }
      });
      state.conv = null;
      state.convs.forEach(function (c) {
        if (c.session_id === state.session) {
          state.conv = c;
          localData = copy(c.data); // the server's data wins over the shim's optimistic copy
        }
      });
      if (!state.session && state.convs.length) {
        select(state.convs[state.convs.length - 1].session_id);
      }
      pill("conn-sandbox", true, "sandbox live");
      renderAll();
    }, function (err) {
      pill("conn-sandbox", false, "sandbox: " + err.message);
    }).then(function () {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        refreshSoon();
      }
    });
  }

  var bridgeBusy = false;

  // pingBridge shows whether the bridge is up before there is a conversation to ask it about: its
  // readiness probe answers 200 once it is connected to the sandbox and serving.
  function pingBridge() {
    bridgeBusy = true;
    request("GET", BRIDGE + "/readyz").then(function () {
      pill("conn-bridge", true, "bridge live");
    }, function (err) {
      pill("conn-bridge", false, err.status === 503 ? "bridge starting" : "bridge unreachable");
    }).then(function () {
      bridgeBusy = false;
    });
  }

  function pollBridge() {
    if (bridgeBusy || !state.website || !state.live) {
      return; // while the stream is down the demo may be restarting: an old token would be refused
    }
    if (!state.session || !state.conv || !state.conv.messages.length) {
      // Nothing happened in this conversation yet: the bridge cannot know it, do not ask.
      if (state.bridge) {
        state.bridge = null;
      }
      renderBridge();
      pingBridge();
      return;
    }
    bridgeBusy = true;
    var session = state.session;
    bridge.conversation(session).then(function (v) {
      if (session === state.session) {
        state.bridge = v;
        renderBridge();
      }
      pill("conn-bridge", true, "bridge live");
    }, function (err) {
      if (session === state.session) {
        state.bridge = null;
        if (err.status === 404) {
          renderBridge();
          pill("conn-bridge", true, "bridge live");
        } else if (err.status === 401) {
          renderBridge("unauthorized");
          pill("conn-bridge", false, "bridge: bad token");
          checkRun(); // a restarted demo has a new admin token: reload

        } else {
          renderBridge("unreachable");
          pill("conn-bridge", false, "bridge unreachable");
        }
      }
    }).then(function () {
      bridgeBusy = false;
    });
  }

  // ---- events -----------------------------------------------------------------------------------

  var EVENT_LOG_MAX = 60;

  function logLine(at, what, src) {
    var list = $("event-log");
    var li = el("li");
    li.appendChild(el("time", "", clock(at)));
    var w = el("span", "what", what + " ");
    if (src) {
      w.appendChild(el("span", "src", src));
    }
    li.appendChild(w);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > EVENT_LOG_MAX) {
      list.removeChild(list.lastChild);
    }
  }

  function logLocal(what) {
    logLine(Date.now(), what, "page");
  }

  function describe(ev) {
    var d = ev.data || {};
    switch (ev.event) {
    case "message:send":
    case "message:received":
      return ev.event + " " + (d.type || "") + (typeof d.content === "string" ? ": " + d.content.slice(0, 60) : "");
    case "session:set_data":
      return ev.event + " " + JSON.stringify(d.data || {});
    case "session:set_state":
      return ev.event + " " + d.state;
    case "session:set_segments":
      return ev.event + " " + JSON.stringify(d.segments || []);
    case "message:compose:receive":
    case "message:compose:send":
      return ev.event + " " + d.type;
    default:
      return ev.event;
    }
  }

  function onEvent(ev) {
    if (ev.seq <= state.lastSeq) {
      return;
    }
    state.lastSeq = ev.seq;
    if (ev.website_id !== state.website) {
      return;
    }
    if (!ev.session_id || ev.session_id === state.session) {
      logLine(ev.timestamp, describe(ev), ev.session_id ? "" : "website");
    }
    refreshSoon();
    if (ev.session_id && ev.session_id === state.session) {
      // The bridge reacts to Crisp events; look at it again shortly after.
      window.setTimeout(pollBridge, 150);
    }
  }

  // seenRun records the sandbox's run id; a different one means the demo was restarted while the
  // page was open: its conversations, token and event numbers are gone, so the page reloads.
  function seenRun(run) {
    if (!run) {
      return;
    }
    if (!state.run) {
      state.run = run;
    }
    state.live = run === state.run;
    if (run !== state.run && !restarted) {
      restarted = true;
      var b = $("restart-banner");
      b.hidden = false;
      pill("conn-sandbox", false, "demo restarted");
      window.setTimeout(function () {
        window.location.reload();
      }, 1500);
    }
  }

  var restarted = false;

  function checkRun() {
    sandbox.last().then(function (r) {
      seenRun(r && r.run);
    }, function () {});
  }

  function listen() {
    // The first URL says where to start; on a reconnect the browser sends Last-Event-ID, which the
    // sandbox prefers, so the stream resumes where it stopped.
    var es = new EventSource(SANDBOX + "/_sandbox/events/stream?after=" + Math.max(0, state.lastSeq));
    es.addEventListener("run", function (m) {
      try {
        seenRun(JSON.parse(m.data).run);
      } catch (e) {
        window.console.error("sandbox run", e);
      }
    });
    es.onmessage = function (m) {
      try {
        onEvent(JSON.parse(m.data));
      } catch (e) {
        window.console.error("sandbox event", e);
      }
    };
    es.onopen = function () {
      pill("conn-sandbox", true, "sandbox live");
    };
    es.onerror = function () {
      state.live = false;
      pill("conn-sandbox", false, "sandbox reconnecting");
    };
  }

  // ---- controls ---------------------------------------------------------------------------------

  function wire() {
    // The website owner's pages, when the bridge serves them (the demo does).
    [["link-settings", cfg.settingsURL], ["link-insights", cfg.insightsURL]].forEach(function (l) {
      if (l[1]) {
        $(l[0]).href = l[1];
        $(l[0]).hidden = false;
      }
    });
    $("visitor-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = $("visitor-input");
      var text = input.value.trim();
      if (!text) {
        return;
      }
      input.value = "";
      act(sandbox.post("visitor/send", visitorBody({ text: text })), "send");
    });
    Array.prototype.forEach.call(document.querySelectorAll("#visitor-suggest button"), function (b) {
      b.addEventListener("click", function () {
        act(sandbox.post("visitor/send", visitorBody({ text: b.textContent })), "send");
      });
    });
    $("visitor-new").addEventListener("click", function () {
      select(newSessionID());
      $("visitor-input").focus();
    });
    $("visitor-session").addEventListener("change", function (ev) {
      if (ev.target.value) {
        select(ev.target.value);
      }
    });
    $("operator-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      operatorSend(state.composeMode === "note" ? "operator/note" : "operator/reply", false);
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[name=compose-mode]"), function (r) {
      r.addEventListener("change", function () {
        if (r.checked) {
          setComposeMode(r.value);
        }
      });
    });
    $("operator-warn-note").addEventListener("click", function () {
      setComposeMode("note");
      operatorSend("operator/note", false);
    });
    $("operator-warn-send").addEventListener("click", function () {
      operatorSend("operator/reply", true);
    });
    $("operator-input").addEventListener("input", function () {
      $("operator-warn").hidden = true;
    });
    $("operator-resolve").addEventListener("click", function () {
      if (state.conv) {
        act(sandbox.post("operator/resolve", { session_id: state.session }), "resolve");
      }
    });
    $("hours-closed").addEventListener("change", function (ev) {
      request("POST", BRIDGE + "/v1/websites/" + encodeURIComponent(state.website) + "/hours",
        { forced_closed: ev.target.checked }, bridge.headers()).then(refreshHours, function (err) {
        toast("support hours: " + err.message, true);
      });
    });
    $("operator-online").addEventListener("change", function (ev) {
      var o = state.operators[0];
      act(sandbox.post(ev.target.checked ? "operator/online" : "operator/offline", { user_id: o ? o.user_id : "" }), "availability");
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-api]"), function (b) {
      b.addEventListener("click", function () {
        if (!state.session) {
          toast("no conversation selected", true);
          return;
        }
        var command = b.getAttribute("data-api");
        bridge.control(state.session, command).then(function (v) {
          state.bridge = v;
          pollBridge();
        }, function (err) {
          toast("bridge " + command + ": " + err.message, true);
        });
      });
    });
  }

  // setComposeMode switches the operator composer between a reply to the visitor and a private note.
  function setComposeMode(mode) {
    state.composeMode = mode === "note" ? "note" : "reply";
    var note = state.composeMode === "note";
    $("compose-reply").checked = !note;
    $("compose-note").checked = note;
    $("operator-form").classList.toggle("note", note);
    $("operator-send").textContent = note ? "Add note" : "Send";
    $("operator-input").placeholder = note ? "Private note, only operators see it (/ai on, /ai off)…" : "Reply to the visitor…";
    $("operator-warn").hidden = true;
  }

  // operatorSend posts the composer's text. A reply that looks like a command ("/ai on") is held
  // with a warning until the operator confirms it goes to the visitor, or sends it as a note.
  function operatorSend(path, confirmed) {
    var input = $("operator-input");
    var text = input.value.trim();
    if (!text) {
      return;
    }
    if (!state.conv) {
      toast("select a conversation with messages first", true);
      return;
    }
    if (path === "operator/reply" && !confirmed && looksLikeCommand(text)) {
      $("operator-warn-text").textContent = "\u201c" + text + "\u201d looks like a command. Commands work in private notes; as a reply the visitor reads it.";
      $("operator-warn").hidden = false;
      return;
    }
    $("operator-warn").hidden = true;
    input.value = "";
    act(sandbox.post(path, { session_id: state.session, text: text }), path === "operator/note" ? "note" : "reply");
  }

  function start() {
    wire();
    setComposeMode("reply");
    renderAll();
    renderBridge();
    var site = state.website ? Promise.resolve() : sandbox.websites().then(function (r) {
      var w = (r.websites || [])[0];
      if (!w) {
        throw new Error("the sandbox has no website");
      }
      state.website = w.website_id;
    });
    site.then(function () {
      $("website-id").textContent = state.website;
      return sandbox.last();
    }).then(function (r) {
      seenRun(r.run);
      state.lastSeq = Math.max(0, (r.last || 0) - 30); // show the recent past in the event log
      listen();
      refresh();
      window.setInterval(pollBridge, BRIDGE_POLL_MS);
      loadSnippet();
    }, function (err) {
      pill("conn-sandbox", false, "sandbox: " + err.message);
      toast("sandbox: " + err.message, true);
    });
  }

  start();
})();
