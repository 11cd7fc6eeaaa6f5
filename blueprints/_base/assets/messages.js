// "Pass the word" page: copy buttons, and the volunteer's referral code on every link.
// Without JavaScript the page still works: each message is plain, selectable text.
(function () {
  "use strict";
  var REF = /^[A-Za-z0-9_-]{12}$/;

  function referralCode() {
    var match = /[?&]ref=([^&#]*)/.exec(window.location.search);
    var code = match ? decodeURIComponent(match[1]) : "";
    return REF.test(code) ? code : "";
  }

  // Links of this site inside the texts and the share links gain ?ref=CODE.
  function withRef(text, site, code) {
    return text.split(site).map(function (part, index) {
      if (index === 0) return part;
      var end = part.search(/[\s)]|$/);
      var path = part.slice(0, end);
      if (path.indexOf("ref=") !== -1) return part;
      return path + (path.indexOf("?") === -1 ? "?" : "&") + "ref=" + code + part.slice(end);
    }).join(site);
  }

  function applyRef(root) {
    var code = referralCode();
    var site = root.getAttribute("data-site-url");
    if (!code || !site) return;
    root.querySelectorAll(".message-text").forEach(function (el) {
      el.textContent = withRef(el.textContent, site, code);
    });
    root.querySelectorAll(".message").forEach(function (el) {
      var text = el.querySelector(".message-text").textContent;
      el.querySelectorAll("a.share-link").forEach(function (a) {
        var base = a.getAttribute("href").replace(/(text|body)=.*$/, "$1=");
        a.setAttribute("href", base + encodeURIComponent(text));
      });
    });
    root.querySelectorAll("a.share-page, a.share-pledge").forEach(function (a) {
      var href = withRef(a.getAttribute("href"), site, code);
      a.setAttribute("href", href);
      a.textContent = href;
    });
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function setUp() {
    var root = document.querySelector(".pass-word");
    if (!root) return;
    root.classList.add("js");
    applyRef(root);
    var status = root.querySelector(".copy-status");
    root.querySelectorAll("button.copy-button").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        copy(source.textContent).then(function () {
          status.textContent = status.getAttribute("data-copied");
          button.setAttribute("data-copied", "true");
        }, function () {
          status.textContent = status.getAttribute("data-failed");
          window.getSelection().selectAllChildren(source);
        });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
