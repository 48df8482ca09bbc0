// Doorstep web chat: plain JavaScript, no build step. Talks to the bot over a WebSocket and
// reconnects when the connection drops; the server keeps messages sent while we were away.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var T = JSON.parse(root.getAttribute("data-texts"));
  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var input = document.getElementById("input");
  var welcome = document.getElementById("welcome");
  var ws = null;
  var retries = 0;
  var outbox = [];
  var turn = 0;
  var turnStart = null; // the first bot message answering the resident's last action
  var returning = root.getAttribute("data-returning") || "";
  var TRANSCRIPT_KEY = "doorstep-transcript";
  var transcript = Transcript();
  var ready = false;
  var screen = ""; // the id of the screen whose options are on display (see show)

  // The session token is an HttpOnly cookie we never see. Where the browser blocks it (an
  // embedding site's <iframe>), the server hands us a token in a "session" frame instead: it
  // is kept for this tab only and sent in the first frame, never in a URL.
  var TOKEN_KEY = "doorstep-session";
  function storedToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function storeToken(token) {
    try {
      if (token) { window.sessionStorage.setItem(TOKEN_KEY, token); }
      else { window.sessionStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage disabled: the cookie alone identifies the visitor */ }
  }
  function forgetTab() {
    // Logged out or deleted: nothing of this visitor stays in the tab (a shared phone).
    storeToken(null);
    try { window.sessionStorage.removeItem(TRANSCRIPT_KEY); } catch (e) { /* none */ }
  }

  // The status line shows the connection (and, briefly, a toast); `toastTimer` clears it.
  var toastTimer = null;
  function setStatus(text) {
    if (toastTimer) { window.clearTimeout(toastTimer); toastTimer = null; }
    statusLine.textContent = text;
  }

  // The page's own words, from the server's catalogs in the visitor's language: sent again
  // when it changes (a resident who picks 中文 gets a Chinese page at once).
  function applyTexts(message) {
    T = message.texts;
    document.documentElement.lang = message.lang;
    document.title = T.title;
    var marked = document.querySelectorAll("[data-text]");
    for (var i = 0; i < marked.length; i++) {
      var key = marked[i].getAttribute("data-text");
      if (T[key] !== undefined) { marked[i].textContent = T[key]; }
    }
    input.setAttribute("placeholder", T.placeholder);
    var start = document.getElementById("start");
    if (start) { start.textContent = returning === "member" ? T.resume : T.start; }
    var logoutButton = document.getElementById("logout");
    if (logoutButton) { logoutButton.textContent = T.logout; }
    log.setAttribute("aria-label", T.title);
  }

  function socketUrl() {
    var url = new URL("chat/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("lang", navigator.language || "");
    return url.toString();
  }

  function connect() {
    setStatus(T.connecting);
    ws = new WebSocket(socketUrl());
    ready = false;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: storedToken() }));
    };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "session") {
        if (message.fresh) {
          // The visitor deleted their data: this tab goes on as a new visitor. Nothing of
          // the old one is kept; the answer on screen (with its "Start again") still works.
          forgetTab();
          transcript.reset();
          returning = "";
        }
        storeToken(message.token);
        return;
      }
      if (message.type === "texts") { applyTexts(message); return; }
      if (message.type === "ready") {
        if (message.texts) { applyTexts(message); }
        ready = true;
        retries = 0;
        setStatus("");
        root.classList.add("online");
        try { sessionStorage.removeItem("doorstep-reloaded"); } catch (e) { /* none */ }
        while (outbox.length) { ws.send(JSON.stringify(outbox.shift())); }
        return;
      }
      if (message.type === "logged_out") { forgetTab(); setStatus(T.logged_out); return; }
      receive(message);
    };
    ws.onclose = function (event) {
      root.classList.remove("online");
      ready = false;
      if (event.code === 4401 && !sessionStorage.getItem("doorstep-reloaded")) {
        // A session that ended (logged out, deleted, expired): start as a new visitor.
        sessionStorage.setItem("doorstep-reloaded", "1");
        forgetTab();
        window.location.reload();
        return;
      }
      setStatus(T.offline);
      var delay = Math.min(30000, 500 * Math.pow(2, retries++));
      window.setTimeout(connect, delay);
    };
  }

  function send(event) {
    if (ws && ws.readyState === WebSocket.OPEN && ready) {
      ws.send(JSON.stringify(event));
    } else {
      outbox.push(event);
    }
  }

  // -- the transcript: kept in this tab's sessionStorage so that a reload shows the same
  // conversation (and asks nothing again); closing the tab forgets it, which suits a shared
  // phone better than keeping health messages on the device. The server keeps no transcript.
  function Transcript() {
    var key = TRANSCRIPT_KEY;
    var kept = { turn: 0, items: [] };
    var MAX_ITEMS = 120;
    try {
      // A visitor the server does not know (new, or deleted with /delete) has no history.
      if (!returning) { window.sessionStorage.removeItem(key); }
      var raw = window.sessionStorage.getItem(key);
      if (raw) { kept = JSON.parse(raw); }
    } catch (e) { kept = { turn: 0, items: [] }; }
    function save() {
      for (var tries = 0; tries < 3; tries++) {
        try {
          window.sessionStorage.setItem(key, JSON.stringify(kept));
          return;
        } catch (e) {
          // Over the storage quota (pictures are large): forget the older half.
          kept.items = kept.items.slice(Math.floor(kept.items.length / 2));
        }
      }
    }
    return {
      items: function () { return kept.items || []; },
      turn: function () { return kept.turn || 0; },
      add: function (item) {
        kept.items.push(item);
        if (kept.items.length > MAX_ITEMS) { kept.items.splice(0, kept.items.length - MAX_ITEMS); }
        kept.turn = turn;
        save();
      },
      setTurn: function (n) { kept.turn = n; save(); },
      reset: function () { kept = { turn: turn, items: [] }; }
    };
  }

  function bubble(kind) {
    if (welcome) { welcome.remove(); welcome = null; }
    var div = document.createElement("div");
    div.className = "msg " + kind;
    log.appendChild(div);
    return div;
  }

  // Keep the latest answer in view: scroll to the end, but never past the top of the first
  // message answering the resident's last action (a long answer followed by the menu and its
  // buttons would otherwise scroll out of sight above them).
  function reveal() {
    var bottom = log.scrollHeight - log.clientHeight;
    var target = bottom;
    if (turnStart) {
      var top = turnStart.offsetTop - 8;
      target = Math.min(bottom, Math.max(0, top));
    }
    log.scrollTop = target;
  }

  function mine(text, replaying) {
    bubble("me").textContent = text;
    turnStart = null;
    if (!replaying) { transcript.add({ me: text }); }
    reveal();
  }

  function note(text, replaying) {
    var div = bubble("note");
    div.setAttribute("role", "status");
    div.textContent = text;
    if (!replaying) { transcript.add({ note: text }); }
    reveal();
  }

  // Phone numbers in a message become tel: links (built as elements, never as HTML):
  // landlines 021-0000-0100, mobiles 139-0000-0110 or +86 138 0000 0000, and 120 / 110 / 119
  // where the text says to call them.
  var PHONE = /(?:\+86[\s-]?)?(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{4}[\s-]?\d{3,4})(?!\d)|(?:call |dial |拨打|呼叫|打)(?:120|110|119)(?!\d)/g;

  function withPhones(element, text) {
    var last = 0;
    var match;
    PHONE.lastIndex = 0;
    while ((match = PHONE.exec(text)) !== null) {
      var found = match[0];
      var start = match.index;
      if (start > 0 && /\d/.test(text.charAt(start - 1))) { continue; } // part of a longer number
      var lead = /^(call |dial |拨打|呼叫|打)/.exec(found);
      if (lead) { start += lead[0].length; found = found.slice(lead[0].length); }
      element.appendChild(document.createTextNode(text.slice(last, start)));
      var link = document.createElement("a");
      link.className = "tel";
      link.href = "tel:" + found.replace(/[\s-]/g, "");
      link.textContent = found;
      element.appendChild(link);
      last = start + found.length;
    }
    element.appendChild(document.createTextNode(text.slice(last)));
  }

  function retireOldOptions() {
    // A newer offer renumbers the options: older buttons would pick the wrong thing.
    var old = log.querySelectorAll("button.option:not([data-turn='" + turn + "'])");
    for (var i = 0; i < old.length; i++) { old[i].disabled = true; }
  }

  function optionButton(option, tag, screen) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = option.menu ? "option menu-key" : "option";
    button.setAttribute("data-turn", tag);
    // Its number (or, on a keypad screen, its letter) is shown: typing it presses it, as in
    // the sandbox and on WeChat.
    if (option.key) {
      var key = document.createElement("span");
      key.className = "key";
      key.setAttribute("aria-hidden", "true");
      key.textContent = option.key;
      button.appendChild(key);
    }
    var label = document.createElement("span");
    label.className = "label";
    label.textContent = option.label;
    button.appendChild(label);
    button.addEventListener("click", function () {
      mine(option.label);
      // The screen it belongs to: a tap in a tab showing an older screen is answered
      // "out of date" by the server, never acted on.
      send({ type: "option", n: option.n, screen: screen || "" });
    });
    return button;
  }

  function locationButton(label) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "location";
    button.textContent = label;
    button.addEventListener("click", shareLocation);
    return button;
  }

  function download(doc) {
    var bytes = Uint8Array.from(atob(doc.data), function (c) { return c.charCodeAt(0); });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([bytes], { type: doc.mime }));
    link.download = doc.filename;
    link.textContent = T.download + ": " + doc.filename;
    return link;
  }

  function receive(message) {
    if (message.type === "done") { turn += 1; transcript.setTurn(turn); return; }
    if (message.type === "toast") {
      // Shown for a few seconds, and never kept: a reload starts with the connection status.
      setStatus(message.text);
      toastTimer = window.setTimeout(function () { setStatus(""); }, 4000);
      return;
    }
    if (message.type !== "message") { return; }
    transcript.add({ bot: message, turn: turn });
    show(message);
  }

  function show(message) {
    // A pushed message (a reminder, a tip) is numbered by the server after the options on
    // screen, which keep their numbers: it belongs to the current turn and retires nothing.
    var div = bubble("bot");
    if (message.pushed || !turnStart) { turnStart = div; }
    if (message.venue) {
      var venue = document.createElement("div");
      venue.className = "venue";
      venue.textContent = "📍 " + message.venue.title + "\n" + message.venue.address + "\n";
      var map = document.createElement("a");
      map.href = message.venue.map;
      map.target = "_blank";
      map.rel = "noopener";
      map.textContent = T.map;
      venue.appendChild(map);
      div.appendChild(venue);
    }
    if (message.photo) {
      var figure = document.createElement("div");
      figure.className = "photo";
      var img = document.createElement("img");
      img.src = "data:" + message.photo.mime + ";base64," + message.photo.data;
      img.alt = message.text || "";
      img.addEventListener("load", reveal); // its height is known only now
      figure.appendChild(img);
      div.appendChild(figure);
      div.classList.add("has-photo");
    }
    if (message.text) {
      var text = document.createElement("div");
      text.className = "text";
      withPhones(text, message.text);
      div.appendChild(text);
    }
    if (message.document) {
      var doc = document.createElement("div");
      doc.className = "document";
      doc.appendChild(download(message.document));
      div.appendChild(doc);
    }
    var hasOptions = message.options && message.options.length;
    if (hasOptions || message.ask_location || (message.links && message.links.length)) {
      var box = document.createElement("div");
      box.className = "options";
      // A pushed message's buttons are tagged apart: retired by the next answer's buttons,
      // while they themselves retire nothing.
      var tag = message.pushed ? "p" + turn : String(turn);
      // The reply's rows, as the phone shows them: a keypad 3 to a row, elder mode 2. The
      // main-menu keys (long labels on a narrow screen) are one block, two to a row.
      var rows = [];
      (message.options || []).forEach(function (o) {
        var r = o.menu ? "menu" : o.row || 0;
        var last = rows[rows.length - 1];
        if (!last || last.row !== r) { last = { row: r, options: [] }; rows.push(last); }
        last.options.push(o);
      });
      rows.forEach(function (r) {
        var line = document.createElement("div");
        var cols = r.row === "menu" ? 2 : 4;
        line.className = "keys cols-" + Math.min(r.options.length, cols);
        r.options.forEach(function (o) { line.appendChild(optionButton(o, tag, message.screen)); });
        box.appendChild(line);
      });
      (message.links || []).forEach(function (l) {
        var a = document.createElement("a");
        a.className = "button";
        a.href = l.url;
        a.target = "_blank";
        a.rel = "noopener";
        a.textContent = l.label;
        box.appendChild(a);
      });
      if (message.ask_location) { box.appendChild(locationButton(message.ask_location)); }
      div.appendChild(box);
    }
    // A screen asking for a typed value replaces the offer too, even without options.
    if ((hasOptions || message.wants_text || message.free_text) && !message.pushed) {
      retireOldOptions();
      screen = message.screen || "";
    }
    reveal();
  }

  function replay() {
    var items = transcript.items();
    if (!items.length) { return; }
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (item.me !== undefined) { mine(item.me, true); }
      else if (item.note !== undefined) { note(item.note, true); }
      else if (item.bot) { turn = item.turn || 0; show(item.bot); }
    }
    turn = transcript.turn();
    turnStart = null;
    reveal();
  }

  function shareLocation() {
    if (!navigator.geolocation) { note(T.no_location); return; }
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        mine(T.location);
        send({ type: "location", lat: pos.coords.latitude, lon: pos.coords.longitude });
      },
      function () { note(T.no_location); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  var startButton = document.getElementById("start");
  if (returning === "member") { startButton.textContent = T.resume; }
  startButton.addEventListener("click", function () {
    // Someone who already chose a language and agreed is not asked again: the menu.
    var member = returning === "member";
    mine(member ? T.resume : T.start);
    send({ type: "text", text: member ? "/menu" : "/start" });
  });
  replay();
  document.getElementById("share-location").addEventListener("click", shareLocation);
  var logout = document.createElement("button");
  logout.type = "button";
  logout.id = "logout";
  logout.textContent = T.logout;
  logout.addEventListener("click", function () {
    if (window.confirm(T.logout_confirm)) { send({ type: "logout" }); }
  });
  document.querySelector("#chat header").appendChild(logout);
  document.getElementById("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    mine(text);
    // The screen on display: a typed option number is checked against it, as a tap is.
    send({ type: "text", text: text, screen: screen });
  });
  connect();
})();
