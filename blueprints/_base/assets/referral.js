// A pledge hunter's code (?ref=CODE on their share link) goes into the page's forms
// and onto the links to the site's other pages, so a pledge made after a click or two
// is still credited to them. The code says nothing about the hunter.
(function () {
  "use strict";
  var match = /[?&]ref=([A-Za-z0-9_-]{12})(?:&|#|$)/.exec(window.location.search);
  if (!match) return;
  var code = match[1];
  function showOwnLink() {
    document.querySelectorAll("[data-hunter-link]").forEach(function (box) {
      var a = box.querySelector("a.share-own");
      var url = a.getAttribute("data-base") + "?ref=" + code;
      a.setAttribute("href", url);
      a.textContent = url;
      box.hidden = false;
    });
  }
  function setUp() {
    showOwnLink();
    document.querySelectorAll('input[type="hidden"][name="ref"]').forEach(function (input) {
      input.value = code;
    });
    document.querySelectorAll("a[href]").forEach(function (a) {
      var href = a.getAttribute("href");
      if (/^[a-z]+:|^\/\/|^#/i.test(href) || href.indexOf("ref=") !== -1) return;
      if (a.classList.contains("share-own")) return;
      var hash = href.indexOf("#");
      var path = hash === -1 ? href : href.slice(0, hash);
      var rest = hash === -1 ? "" : href.slice(hash);
      a.setAttribute("href", path + (path.indexOf("?") === -1 ? "?" : "&") + "ref=" + code + rest);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
