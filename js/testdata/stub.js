// A recording stand-in for the Crisp chatbox script, for browser tests. Like Crisp it replaces the
// window.$crisp queue array with an object that has push/get/is, and replays what was queued.
(function () {
  "use strict";
  var calls = (window.__calls = []);
  var data = (window.__data = {});
  var handlers = {};
  var earlier = Array.isArray(window.$crisp) ? window.$crisp.slice() : [];
  var replaying = false;
  var crisp = {
    push: function (c) {
      calls.push({
        cmd: c[0],
        method: c[1],
        args: typeof c[2] === "function" ? null : c[2],
        t: performance.now(),
        replayed: replaying
      });
      if (c[0] === "set" && c[1] === "session:data") {
        var pairs = c[2][0];
        for (var i = 0; i < pairs.length; i++) {
          data[pairs[i][0]] = pairs[i][1];
        }
      }
      if (c[0] === "on") {
        handlers[c[1]] = c[2];
      }
    },
    get: function (method, key) {
      if (method === "session:identifier") {
        return window.__session || null;
      }
      if (method !== "session:data") {
        return null;
      }
      if (key === undefined || key === null) {
        return data;
      }
      return Object.prototype.hasOwnProperty.call(data, key) ? data[key] : null;
    },
    is: function () {
      return false;
    }
  };
  window.$crisp = crisp;
  replaying = true;
  for (var i = 0; i < earlier.length; i++) {
    crisp.push(earlier[i]);
  }
  replaying = false;
  // __serverWrite changes session data the way the server would (no push, no event).
  window.__serverWrite = function (key, value) {
    data[key] = value;
  };
  window.__sets = function () {
    return calls
      .filter(function (c) {
        return c.cmd === "set" && c.method === "session:data";
      })
      .map(function (c) {
        return { key: c.args[0][0][0], value: c.args[0][0][1], t: c.t, replayed: c.replayed };
      });
  };
  window.__session = "session_test";
  setTimeout(function () {
    if (handlers["session:loaded"]) {
      handlers["session:loaded"]("session_test");
    }
  }, 0);
})();
