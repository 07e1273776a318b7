/*! signalbridge.js: switch the signalbridge support assistant on and off from a web page.
 *
 * Load it next to the Crisp chatbox, in any order:
 *
 *   <script src="https://bridge.example/signalbridge.js" data-signalbridge-key="enum" async></script>
 *   <button data-signalbridge="start">Ask the AI</button>
 *   <button data-signalbridge="pause">Stop the AI</button>
 *   <button data-signalbridge="handover">Talk to a human</button>
 *   <button data-signalbridge="greet">Say hello</button>
 *
 * or from page code: SignalBridge.start(), SignalBridge.pause(), SignalBridge.handover(),
 * SignalBridge.init({key, start, pause, handover, strategy, delay, nonceSeparator, dummy, poll, stateKey,
 * reasonKey, signedStartUrl, website, bridgeUrl, onState}). SignalBridge.start({signed: value}) writes a start value signed
 * by the website's backend; with signedStartUrl set, start() fetches one from there first.
 *
 * SignalBridge.greet() asks the assistant to greet the visitor now (once per conversation, only while
 * the assistant is on and nobody has written); data-signalbridge-greet="<ms>" on the script tag
 * greets after that many milliseconds on the page.
 *
 * SignalBridge.hours([website]) resolves with the website's support hours, {open, until, next, time_zone,
 * forced_closed} (times in RFC 3339), read from the bridge that served this script (or bridgeUrl),
 * for the website of window.CRISP_WEBSITE_ID (or website); it rejects when the website has none.
 *
 * Every command is a Crisp session data write pushed through the $crisp queue:
 *   $crisp.push(["set", "session:data", [[[key, value]]]])
 * window.$crisp is read at each push, so the write reaches Crisp whether the chatbox script loaded
 * before or after this one (before it loads, $crisp is a plain array that Crisp drains on start).
 *
 * Crisp may drop a write whose value equals the current one, so a repeated click must still be a new
 * value. Strategy "nonce" (the default) writes "start_chatbot#k3v9x2" (the bridge strips the suffix);
 * strategy "dummy" writes "noop#k3v9x2" first and the exact "start_chatbot" after `delay` ms.
 *
 * State: onState(state) is called with {state, active, paused, human, reason, key, value} whenever
 * the state changes. The bridge's own write-back of its mode under stateKey ("enum_state": active,
 * waiting, paused, human) is the authority when present; otherwise the signal key's value is read
 * (a start value is active, a pause value or chatbot_paused:<reason> paused, ...). It reads $crisp.get("session:data", key) when the
 * Crisp session loads (the "session:loaded" event), right after each write, and every `poll` ms
 * (default 1000; 0 turns polling off) while the page is visible. Polling is used because the
 * chatbox exposes no event for session data changed by the server (the bridge writes
 * "chatbot_paused:human" on handover).
 *
 * Config sources, later wins: defaults, window.SignalBridgeConfig, the script tag's data attributes
 * (data-signalbridge-key, -start, -pause, -handover, -strategy, -delay, -nonce-separator, -dummy,
 * -poll, -state-key, -reason-key, -signed-start-url, -on-state = name of a global function), SignalBridge.init(options). A button's own
 * data-signalbridge-key overrides the key for that button.
 */
(function (window, document) {
  "use strict";

  if (window.SignalBridge && window.SignalBridge.version) {
    return; // loaded twice: keep the first instance and its listeners
  }

  var COMMANDS = { start: true, pause: true, handover: true, greet: true };

  var config = {
    key: "enum",
    start: "start_chatbot",
    pause: "pause_chatbot",
    handover: "handover_chatbot",
    greet: "greet_chatbot", // asks the assistant to greet the visitor (proactive greeting)
    pausedPrefix: "chatbot_paused",
    strategy: "nonce", // "nonce" | "dummy"
    delay: 1000, // ms between the dummy and the exact value (strategy "dummy")
    nonceSeparator: "#",
    dummy: "noop",
    poll: 1000, // ms between state reads; 0 = no polling
    stateKey: "enum_state", // the bridge's write-back of its mode: the authority when present
    reasonKey: "enum_reason", // the bridge's write-back of the reason
    signedStartUrl: "", // the website backend's URL that returns a signed start value
    website: "", // website id for hours(); default window.CRISP_WEBSITE_ID
    bridgeUrl: "", // bridge base URL for hours(); default where this script was served from
    onState: null
  };

  var MODES = { active: true, waiting: true, paused: true, human: true };

  var script = document.currentScript || findScript();
  var lastValue; // last value reported through onState (undefined = none yet)
  var lastState = null;
  var pollTimer = null;
  var sessionHooked = false;
  var counter = 0;

  function findScript() {
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/signalbridge(\.min)?\.js(\?|#|$)/.test(all[i].src || "")) {
        return all[i];
      }
    }
    return null;
  }

  function attr(el, name) {
    if (!el || !el.getAttribute) {
      return null;
    }
    var v = el.getAttribute("data-signalbridge-" + name);
    return v === null || v === "" ? null : v;
  }

  function toInt(v, fallback) {
    var n = parseInt(v, 10);
    return isNaN(n) || n < 0 ? fallback : n;
  }

  function apply(opts) {
    if (!opts) {
      return;
    }
    var names = ["key", "start", "pause", "handover", "greet", "pausedPrefix", "strategy", "nonceSeparator", "dummy",
      "stateKey", "reasonKey", "signedStartUrl", "website", "bridgeUrl"];
    for (var i = 0; i < names.length; i++) {
      if (typeof opts[names[i]] === "string" && opts[names[i]] !== "") {
        config[names[i]] = opts[names[i]];
      }
    }
    if (opts.delay !== undefined && opts.delay !== null) {
      config.delay = toInt(opts.delay, config.delay);
    }
    if (opts.poll !== undefined && opts.poll !== null) {
      config.poll = toInt(opts.poll, config.poll);
    }
    if (typeof opts.onState === "function") {
      config.onState = opts.onState;
    }
  }

  function fromScript(el) {
    if (!el) {
      return null;
    }
    var onState = attr(el, "on-state");
    return {
      key: attr(el, "key"),
      start: attr(el, "start"),
      pause: attr(el, "pause"),
      handover: attr(el, "handover"),
      pausedPrefix: attr(el, "paused-prefix"),
      strategy: attr(el, "strategy"),
      nonceSeparator: attr(el, "nonce-separator"),
      dummy: attr(el, "dummy"),
      delay: attr(el, "delay"),
      poll: attr(el, "poll"),
      stateKey: attr(el, "state-key"),
      reasonKey: attr(el, "reason-key"),
      signedStartUrl: attr(el, "signed-start-url"),
      website: attr(el, "website"),
      bridgeUrl: attr(el, "bridge-url"),
      onState: onState && typeof window[onState] === "function" ? window[onState] : null
    };
  }

  function queue() {
    window.$crisp = window.$crisp || [];
    return window.$crisp;
  }

  function random() {
    var s = "";
    if (window.crypto && window.crypto.getRandomValues) {
      var a = new Uint32Array(2);
      window.crypto.getRandomValues(a);
      s = a[0].toString(36) + a[1].toString(36);
    } else {
      s = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
    }
    // The counter makes two values of one page distinct even if the random parts collide.
    counter = (counter + 1) % 1296;
    return s.slice(0, 8) + counter.toString(36);
  }

  function write(key, value) {
    queue().push(["set", "session:data", [[[key, String(value)]]]]);
  }

  // parse maps a signal value to a state object, or null for values that are not states (dummies).
  function parse(key, value) {
    if (value === null || value === undefined) {
      return null;
    }
    var v = String(value);
    var s = null;
    var reason = "";
    var prefix = config.pausedPrefix + ":";
    if (v.indexOf(prefix) === 0) {
      reason = v.slice(prefix.length);
      s = reason === "human" ? "human" : "paused";
    } else if (v.indexOf(config.start) === 0) {
      s = "active";
      reason = "signal";
    } else if (v.indexOf(config.pause) === 0) {
      s = "paused";
      reason = "signal";
    } else if (v.indexOf(config.handover) === 0) {
      s = "human";
      reason = "human";
    }
    if (!s) {
      return null;
    }
    return stateOf(s, reason, key, v);
  }

  function stateOf(s, reason, key, value) {
    return {
      state: s,
      active: s === "active",
      paused: s === "paused",
      human: s === "human",
      reason: reason,
      key: key,
      value: value
    };
  }

  // current is the state to report: the bridge's mode written back under stateKey when it is
  // there (it is the truth after a resume or a resolution, which the signal key cannot say), else
  // the reading of the signal key's value.
  function current(value, mode) {
    var parsed = parse(config.key, value);
    if (typeof mode !== "string" || !MODES[mode]) {
      return parsed;
    }
    var reason = config.reasonKey ? read(config.reasonKey) : null;
    if (typeof reason !== "string" || reason === "") {
      reason = parsed && parsed.state === mode ? parsed.reason : "";
    }
    return stateOf(mode, reason, config.key, value === null || value === undefined ? "" : String(value));
  }

  function read(key) {
    var c = window.$crisp;
    if (!c || typeof c.get !== "function") {
      return undefined; // Crisp not loaded yet
    }
    try {
      return c.get("session:data", key);
    } catch (e) {
      return undefined; // session not ready
    }
  }

  function check() {
    if (!config.onState) {
      return;
    }
    var value = read(config.key);
    if (value === undefined) {
      return;
    }
    var mode = config.stateKey ? read(config.stateKey) : null;
    var seen = String(mode) + "\u0000" + String(value);
    if (seen === lastValue) {
      return;
    }
    lastValue = seen;
    var st = current(value, mode);
    if (!st) {
      return;
    }
    lastState = st;
    if (document.documentElement) {
      document.documentElement.setAttribute("data-signalbridge-state", st.state);
    }
    try {
      config.onState(st);
    } catch (e) {
      report(e);
    }
  }

  function report(e) {
    if (window.console && window.console.error) {
      window.console.error("signalbridge:", e);
    }
  }

  function watch() {
    if (!config.onState) {
      return;
    }
    if (!sessionHooked) {
      sessionHooked = true;
      // UNCONFIRMED: whether Crisp keeps one handler per event; polling below covers us either way.
      queue().push(["on", "session:loaded", function () {
        check();
      }]);
    }
    if (pollTimer) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
    if (config.poll > 0) {
      pollTimer = window.setInterval(function () {
        if (!document.hidden) {
          check();
        }
      }, config.poll);
    }
    check();
  }

  function later(fn) {
    window.setTimeout(fn, 0);
  }

  // signedValue checks a signed start value from the website's backend: the start value, the nonce
  // separator, then "v2.<nonce>.<exp>.<sig>" (or the retired "<nonce>.<exp>.<sig>", accepted by the
  // bridge during its grace period).
  function signedValue(v) {
    v = typeof v === "string" ? v.trim() : "";
    var p = config.start + config.nonceSeparator;
    var parts = v.indexOf(p) === 0 ? v.slice(p.length).split(".") : [];
    if (!(parts.length === 4 && parts[0] === "v2") && parts.length !== 3) {
      throw new Error("signalbridge: signed start must look like " + p + "v2.<nonce>.<exp>.<sig>");
    }
    return v;
  }

  function sessionID() {
    var c = window.$crisp;
    try {
      return c && typeof c.get === "function" ? c.get("session:identifier") || "" : "";
    } catch (e) {
      return "";
    }
  }

  // fetchSigned asks the website's backend (signedStartUrl, same origin or CORS with credentials)
  // for a signed start of this session: GET <url>?session_id=<id>, answered with the value as
  // text or as JSON {"value": "..."}.
  function fetchSigned(url) {
    var id = sessionID();
    if (!id) {
      return window.Promise.reject(new Error("signalbridge: no Crisp session yet: cannot ask for a signed start"));
    }
    url += (url.indexOf("?") < 0 ? "?" : "&") + "session_id=" + encodeURIComponent(id);
    return window.fetch(url, { credentials: "include", headers: { Accept: "application/json, text/plain" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("signalbridge: signed start: " + url + " answered " + r.status);
        }
        return r.text();
      })
      .then(function (body) {
        var v = body.trim();
        if (v.charAt(0) === "{") {
          v = JSON.parse(v).value;
        }
        return signedValue(v);
      });
  }

  // hours reads the website's support hours from the bridge: GET <bridge>/hours/<website>.
  function hours(website) {
    website = website || config.website || window.CRISP_WEBSITE_ID || "";
    var base = config.bridgeUrl || (script && script.src ? script.src.replace(/\/signalbridge(\.min)?\.js([?#].*)?$/, "") : "");
    if (typeof window.fetch !== "function") {
      return window.Promise.reject(new Error("signalbridge: hours() needs fetch"));
    }
    if (!website || !base) {
      return window.Promise.reject(new Error("signalbridge: hours() needs a website id (CRISP_WEBSITE_ID) and the bridge URL"));
    }
    var url = base.replace(/\/$/, "") + "/hours/" + encodeURIComponent(website);
    return window.fetch(url, { credentials: "omit", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        throw new Error("signalbridge: hours: " + url + " answered " + r.status);
      }
      return r.json();
    });
  }

  function writeNow(key, value) {
    write(key, value);
    later(check);
    return value;
  }

  // send writes the value of command; it returns a Promise (where supported) resolved with the
  // value once it has been pushed (after the delay with strategy "dummy"). A start with
  // opts.signed writes that signed value as is; with signedStartUrl set, a start fetches one.
  function send(command, opts) {
    if (!COMMANDS[command]) {
      throw new Error("signalbridge: unknown command " + command);
    }
    opts = opts || {};
    var key = opts.key || config.key;
    if (command === "start" && opts.signed !== undefined) {
      var v = writeNow(key, signedValue(opts.signed));
      return typeof window.Promise === "function" ? window.Promise.resolve(v) : undefined;
    }
    if (command === "start" && config.signedStartUrl) {
      return fetchSigned(config.signedStartUrl).then(function (v) {
        return writeNow(key, v);
      });
    }
    var strategy = opts.strategy || config.strategy;
    var value = config[command];
    var done;
    var result = typeof window.Promise === "function" ? new window.Promise(function (resolve) {
      done = resolve;
    }) : undefined;
    if (strategy === "dummy") {
      write(key, config.dummy + config.nonceSeparator + random());
      window.setTimeout(function () {
        write(key, value);
        later(check);
        if (done) {
          done(value);
        }
      }, config.delay);
      return result;
    }
    value = value + config.nonceSeparator + random();
    write(key, value);
    later(check);
    if (done) {
      done(value);
    }
    return result;
  }

  function closest(el) {
    while (el && el.nodeType === 1) {
      if (el.hasAttribute("data-signalbridge")) {
        return el;
      }
      el = el.parentNode;
    }
    return null;
  }

  function onClick(ev) {
    var el = closest(ev.target);
    if (!el) {
      return;
    }
    var command = el.getAttribute("data-signalbridge");
    if (!COMMANDS[command] || el.disabled) {
      return;
    }
    ev.preventDefault();
    var r = send(command, { key: attr(el, "key") || undefined, strategy: attr(el, "strategy") || undefined });
    if (r && typeof r.then === "function") {
      r.then(null, report);
    }
  }

  apply(window.SignalBridgeConfig);
  apply(fromScript(script));
  document.addEventListener("click", onClick, false);

  window.SignalBridge = {
    version: "1",
    // init merges options into the configuration and (re)starts state watching when onState is set.
    init: function (opts) {
      apply(opts);
      watch();
      return window.SignalBridge;
    },
    start: function (opts) {
      return send("start", opts);
    },
    pause: function (opts) {
      return send("pause", opts);
    },
    handover: function (opts) {
      return send("handover", opts);
    },
    greet: function (opts) {
      return send("greet", opts);
    },
    send: send,
    hours: hours,
    parse: function (value) {
      return parse(config.key, value);
    },
    state: function () {
      return lastState;
    },
    config: function () {
      var c = {};
      for (var k in config) {
        if (Object.prototype.hasOwnProperty.call(config, k)) {
          c[k] = config[k];
        }
      }
      return c;
    },
    refresh: check
  };

  watch();

  // data-signalbridge-greet="<ms>" on the script tag: greet after that long on this page.
  var greetAfter = attr(script, "greet");
  if (greetAfter !== null && /^\d+$/.test(greetAfter)) {
    window.setTimeout(function () {
      var r = send("greet");
      if (r && typeof r.then === "function") {
        r.then(null, report);
      }
    }, Number(greetAfter));
  }
})(window, document);
