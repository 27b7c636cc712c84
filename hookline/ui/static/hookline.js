// Hookline UI: show/hide and copy the signing secret, confirmations, one more header row,
// a delivery in progress kept up to date, and a framed portal page telling its host its height.
// Every page works without it; it only adds conveniences.
"use strict";

(function () {
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle-secret]");
    if (toggle) {
      var input = document.getElementById(toggle.getAttribute("data-toggle-secret"));
      var shown = input.type === "password";
      input.type = shown ? "text" : "password";
      toggle.textContent = shown ? "Hide" : "Show";
      toggle.setAttribute("aria-pressed", shown ? "true" : "false");
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      var text = source.value !== undefined ? source.value : source.textContent;
      var status = document.querySelector("[data-copy-status]");
      copyText(text).then(function () {
        copy.setAttribute("data-copied", text.length.toString());
        if (status) { status.textContent = "Copied to the clipboard."; }
      }, function () {
        if (status) { status.textContent = "Copying failed: select the secret and copy it yourself."; }
      });
      return;
    }
    var add = event.target.closest("[data-add-header]");
    if (add) {
      var rows = document.querySelector("[data-header-rows]");
      var last = rows.lastElementChild;
      var row = last.cloneNode(true);
      var count = rows.children.length + 1;
      row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      row.querySelectorAll(".sr-only").forEach(function (s, n) {
        s.textContent = "Header " + count + (n === 0 ? " name" : " value");
      });
      rows.appendChild(row);
      row.querySelector("input").focus();
    }
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Close an open action menu with Escape, returning focus to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details.menu[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });

  document.querySelectorAll("[data-add-header]").forEach(function (b) { b.hidden = false; });

  // Endpoint authentication: show only the fields of the kind chosen.
  function showAuthKind(select) {
    document.querySelectorAll("[data-auth-kind]").forEach(function (group) {
      group.hidden = group.getAttribute("data-auth-kind") !== select.value;
    });
  }
  // A queue, stream or topic: its settings instead of the endpoint URL and auth.
  function showDestination(select) {
    var http = select.value === "";
    document.querySelectorAll("[data-destination-settings]").forEach(function (part) { part.hidden = http; });
  }
  document.querySelectorAll("[data-destination-type]").forEach(function (select) {
    showDestination(select);
    select.addEventListener("change", function () { showDestination(select); });
  });
  document.querySelectorAll("[data-auth-type]").forEach(function (select) {
    showAuthKind(select);
    select.addEventListener("change", function () { showAuthKind(select); });
  });

  // A delivery in progress: fetch its page again every few seconds and swap in the fresh
  // part, until the page no longer asks for it (the delivery has settled).
  function refresh(part) {
    var seconds = parseInt(part.getAttribute("data-refresh"), 10) || 2;
    window.setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.text() : Promise.reject(new Error(response.statusText));
      }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(part.id);
        if (!fresh) { return; }
        part.replaceWith(fresh);
        if (fresh.hasAttribute("data-refresh")) { refresh(fresh); }
      }, function () { refresh(part); });
    }, seconds * 1000);
  }
  var live = document.querySelector("[data-refresh]");
  if (live) { refresh(live); }

  // A portal page in a frame of an allowed origin tells the host page its height, so that the
  // host can size the frame: {type: "hookline-portal:height", height: <CSS pixels>}.
  var allowed = (document.documentElement.getAttribute("data-embed-origins") || "").split(" ").filter(Boolean);
  if (window.parent !== window && allowed.length) {
    document.documentElement.classList.add("framed");
    var ancestors = window.location.ancestorOrigins;
    var parentOrigin = ancestors && ancestors.length ? ancestors[0] : null;
    var targets = parentOrigin ? allowed.filter(function (o) { return o === parentOrigin; }) : allowed;
    var told = -1;
    var tell = function () {
      var height = Math.ceil(document.body.getBoundingClientRect().height);
      if (height === told) { return; }
      told = height;
      targets.forEach(function (origin) {
        window.parent.postMessage({ type: "hookline-portal:height", height: height }, origin);
      });
    };
    if (window.ResizeObserver) { new ResizeObserver(tell).observe(document.body); }
    window.addEventListener("load", tell);
    tell();
  }
})();
