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
  var visitor = rememberVisitor(root.getAttribute("data-visitor"));

  function rememberVisitor(fromPage) {
    // Embedded in another site, the cookie may be blocked: keep the signed id ourselves.
    try {
      var kept = window.localStorage.getItem("doorstep-visitor");
      if (kept) { return kept; }
      if (fromPage) { window.localStorage.setItem("doorstep-visitor", fromPage); }
    } catch (e) { /* storage disabled: the cookie alone identifies the visitor */ }
    return fromPage;
  }

  function setStatus(text) { statusLine.textContent = text; }

  function socketUrl() {
    var url = new URL("chat/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("lang", navigator.language || "");
    if (visitor) { url.searchParams.set("v", visitor); }
    return url.toString();
  }

  function connect() {
    setStatus(T.connecting);
    ws = new WebSocket(socketUrl());
    ws.onopen = function () {
      retries = 0;
      setStatus("");
      root.classList.add("online");
      while (outbox.length) { ws.send(JSON.stringify(outbox.shift())); }
    };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      receive(message);
    };
    ws.onclose = function (event) {
      root.classList.remove("online");
      if (event.code === 4401 && !sessionStorage.getItem("doorstep-reloaded")) {
        // An id we no longer accept (the server's secret changed): start as a new visitor.
        sessionStorage.setItem("doorstep-reloaded", "1");
        try { window.localStorage.removeItem("doorstep-visitor"); } catch (e) { /* none */ }
        window.location.reload();
        return;
      }
      setStatus(T.offline);
      var delay = Math.min(30000, 500 * Math.pow(2, retries++));
      window.setTimeout(connect, delay);
    };
  }

  function send(event) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(event));
    } else {
      outbox.push(event);
    }
  }

  function bubble(kind) {
    if (welcome) { welcome.remove(); welcome = null; }
    var div = document.createElement("div");
    div.className = "msg " + kind;
    log.appendChild(div);
    return div;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function mine(text) {
    bubble("me").textContent = text;
    scrollDown();
  }

  function note(text) {
    var div = bubble("note");
    div.setAttribute("role", "status");
    div.textContent = text;
    scrollDown();
  }

  function retireOldOptions() {
    // A newer offer renumbers the options: older buttons would pick the wrong thing.
    var old = log.querySelectorAll("button.option:not([data-turn='" + turn + "'])");
    for (var i = 0; i < old.length; i++) { old[i].disabled = true; }
  }

  function optionButton(option) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "option";
    button.setAttribute("data-turn", String(turn));
    button.textContent = option.label;
    button.addEventListener("click", function () {
      mine(option.label);
      send({ type: "option", n: option.n });
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
    if (message.type === "done") { turn += 1; return; }
    if (message.type === "toast") {
      setStatus(message.text);
      window.setTimeout(function () {
        if (statusLine.textContent === message.text) { setStatus(""); }
      }, 4000);
      return;
    }
    if (message.type !== "message") { return; }
    if (message.pushed) { turn += 1; }
    var div = bubble("bot");
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
      figure.appendChild(img);
      div.appendChild(figure);
    }
    if (message.text) {
      var text = document.createElement("div");
      text.className = "text";
      text.textContent = message.text;
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
      (message.options || []).forEach(function (o) { box.appendChild(optionButton(o)); });
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
    if (hasOptions) { retireOldOptions(); }
    scrollDown();
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

  document.getElementById("start").addEventListener("click", function () {
    mine(T.start);
    send({ type: "text", text: "/start" });
  });
  document.getElementById("share-location").addEventListener("click", shareLocation);
  document.getElementById("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    mine(text);
    send({ type: "text", text: text });
  });
  connect();
})();
